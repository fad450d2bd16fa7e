-- The data hub: catalogue, imports with checkpoints, standardised rows,
-- quarantine, sharing grants, the access record and citizens' identities.
CREATE TABLE hub_datasets (
    id               TEXT PRIMARY KEY,
    title            TEXT NOT NULL,
    description      TEXT NOT NULL,
    owner            TEXT NOT NULL REFERENCES departments (id),
    standard         TEXT NOT NULL,
    standard_version TEXT NOT NULL,
    update_frequency TEXT NOT NULL,
    fields           TEXT NOT NULL,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL
);

CREATE TABLE hub_imports (
    id              INTEGER PRIMARY KEY,
    dataset         TEXT NOT NULL REFERENCES hub_datasets (id),
    mapping         TEXT NOT NULL,
    mapping_version TEXT NOT NULL,
    file_name       TEXT NOT NULL,
    file_sha256     TEXT NOT NULL,
    status          TEXT NOT NULL,
    accepted        INTEGER NOT NULL DEFAULT 0,
    rejected        INTEGER NOT NULL DEFAULT 0,
    next_offset     INTEGER NOT NULL DEFAULT 0,
    next_line       INTEGER NOT NULL,
    started_at      TEXT NOT NULL,
    finished_at     TEXT,
    by_user         INTEGER,
    quality         TEXT,
    fixes           INTEGER REFERENCES hub_imports (id)
);
CREATE INDEX hub_imports_by_file ON hub_imports (dataset, file_sha256, status);

CREATE TABLE hub_rows (
    dataset   TEXT NOT NULL REFERENCES hub_datasets (id),
    key       TEXT NOT NULL,
    import_id INTEGER NOT NULL REFERENCES hub_imports (id),
    line      INTEGER NOT NULL,
    data      TEXT NOT NULL,
    subject   TEXT,
    PRIMARY KEY (dataset, key)
) WITHOUT ROWID;
CREATE INDEX hub_rows_subject ON hub_rows (subject) WHERE subject IS NOT NULL;

CREATE TABLE hub_quarantine (
    id        INTEGER PRIMARY KEY,
    import_id INTEGER NOT NULL REFERENCES hub_imports (id),
    line      INTEGER NOT NULL,
    raw       TEXT NOT NULL,
    reasons   TEXT NOT NULL,
    fixed_by  INTEGER REFERENCES hub_imports (id)
);
CREATE INDEX hub_quarantine_import ON hub_quarantine (import_id, line);

CREATE TABLE hub_grants (
    id           INTEGER PRIMARY KEY,
    dataset      TEXT NOT NULL REFERENCES hub_datasets (id),
    department   TEXT NOT NULL REFERENCES departments (id),
    fields       TEXT NOT NULL,
    purpose      TEXT NOT NULL,
    valid_from   TEXT NOT NULL,
    valid_until  TEXT NOT NULL,
    status       TEXT NOT NULL,
    requested_by INTEGER NOT NULL,
    requested_at TEXT NOT NULL,
    decided_by   INTEGER,
    decided_at   TEXT,
    note         TEXT NOT NULL DEFAULT ''
);
CREATE INDEX hub_grants_dataset ON hub_grants (dataset);
CREATE INDEX hub_grants_department ON hub_grants (department);

CREATE TABLE hub_access (
    id         INTEGER PRIMARY KEY,
    at         TEXT NOT NULL,
    dataset    TEXT NOT NULL,
    department TEXT,
    reader     TEXT NOT NULL,
    grant_id   INTEGER,
    purpose    TEXT NOT NULL,
    subject    TEXT NOT NULL,
    fields     TEXT NOT NULL
);
CREATE INDEX hub_access_subject ON hub_access (subject, at);

CREATE TABLE hub_people (
    user_id INTEGER PRIMARY KEY REFERENCES users (id),
    subject TEXT NOT NULL
);
