-- The data hub: catalogue, imports with checkpoints, standardised rows,
-- quarantine, sharing grants, the access record and citizens' identities.
-- The same tables as the SQLite backend's 0013_data_hub.sql, in PostgreSQL
-- types. JSON documents and lists (fields, data, quality, reasons) are kept
-- as the text the caller gave, exactly as on SQLite. A quarantined line is
-- kept as its UTF-8 bytes: TEXT cannot hold the NUL a damaged line may carry.
CREATE TABLE hub_datasets (
    id               TEXT COLLATE "C" PRIMARY KEY,
    title            TEXT NOT NULL,
    description      TEXT NOT NULL,
    owner            TEXT COLLATE "C" NOT NULL REFERENCES departments (id),
    standard         TEXT COLLATE "C" NOT NULL,
    standard_version TEXT NOT NULL,
    update_frequency TEXT NOT NULL,
    fields           TEXT NOT NULL,
    created_at       TIMESTAMPTZ NOT NULL,
    updated_at       TIMESTAMPTZ NOT NULL
);

CREATE TABLE hub_imports (
    id              BIGSERIAL PRIMARY KEY,
    dataset         TEXT COLLATE "C" NOT NULL REFERENCES hub_datasets (id),
    mapping         TEXT NOT NULL,
    mapping_version TEXT NOT NULL,
    file_name       TEXT NOT NULL,
    file_sha256     TEXT COLLATE "C" NOT NULL,
    status          TEXT COLLATE "C" NOT NULL,
    accepted        BIGINT NOT NULL DEFAULT 0,
    rejected        BIGINT NOT NULL DEFAULT 0,
    next_offset     BIGINT NOT NULL DEFAULT 0,
    next_line       BIGINT NOT NULL,
    started_at      TIMESTAMPTZ NOT NULL,
    finished_at     TIMESTAMPTZ,
    by_user         BIGINT,
    quality         TEXT,
    fixes           BIGINT REFERENCES hub_imports (id)
);
CREATE INDEX hub_imports_by_file ON hub_imports (dataset, file_sha256, status);

CREATE TABLE hub_rows (
    dataset   TEXT COLLATE "C" NOT NULL REFERENCES hub_datasets (id),
    key       TEXT COLLATE "C" NOT NULL,
    import_id BIGINT NOT NULL REFERENCES hub_imports (id),
    line      BIGINT NOT NULL,
    data      TEXT NOT NULL,
    subject   TEXT COLLATE "C",
    PRIMARY KEY (dataset, key)
);
CREATE INDEX hub_rows_subject ON hub_rows (subject) WHERE subject IS NOT NULL;

CREATE TABLE hub_quarantine (
    id        BIGSERIAL PRIMARY KEY,
    import_id BIGINT NOT NULL REFERENCES hub_imports (id),
    line      BIGINT NOT NULL,
    raw       BYTEA NOT NULL,
    reasons   TEXT NOT NULL,
    fixed_by  BIGINT REFERENCES hub_imports (id)
);
CREATE INDEX hub_quarantine_import ON hub_quarantine (import_id, line);

CREATE TABLE hub_grants (
    id           BIGSERIAL PRIMARY KEY,
    dataset      TEXT COLLATE "C" NOT NULL REFERENCES hub_datasets (id),
    department   TEXT COLLATE "C" NOT NULL REFERENCES departments (id),
    fields       TEXT NOT NULL,
    purpose      TEXT NOT NULL,
    valid_from   TIMESTAMPTZ NOT NULL,
    valid_until  TIMESTAMPTZ NOT NULL,
    status       TEXT COLLATE "C" NOT NULL,
    requested_by BIGINT NOT NULL,
    requested_at TIMESTAMPTZ NOT NULL,
    decided_by   BIGINT,
    decided_at   TIMESTAMPTZ,
    note         TEXT NOT NULL DEFAULT ''
);
CREATE INDEX hub_grants_dataset ON hub_grants (dataset);
CREATE INDEX hub_grants_department ON hub_grants (department);

CREATE TABLE hub_access (
    id         BIGSERIAL PRIMARY KEY,
    at         TIMESTAMPTZ NOT NULL,
    dataset    TEXT COLLATE "C" NOT NULL,
    department TEXT COLLATE "C",
    reader     TEXT NOT NULL,
    grant_id   BIGINT,
    purpose    TEXT NOT NULL,
    subject    TEXT COLLATE "C" NOT NULL,
    fields     TEXT NOT NULL
);
CREATE INDEX hub_access_subject ON hub_access (subject, at);

CREATE TABLE hub_people (
    user_id BIGINT PRIMARY KEY REFERENCES users (id),
    subject TEXT COLLATE "C" NOT NULL
);
