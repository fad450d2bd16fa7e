-- The citizens' door (issue 5): what a report brought besides its case
-- (Open311 attributes, the client, its token), photos, and the API keys of
-- Open311 clients.
CREATE TABLE case_reports (
    case_id     INTEGER PRIMARY KEY REFERENCES cases (id),
    attributes  TEXT NOT NULL,            -- JSON object
    client      TEXT,
    token       TEXT UNIQUE
);

CREATE TABLE media (
    id           TEXT PRIMARY KEY,        -- 32 random hex digits
    case_id      INTEGER NOT NULL REFERENCES cases (id),
    content_type TEXT NOT NULL,
    sha256       TEXT NOT NULL,
    size         INTEGER NOT NULL,
    public       INTEGER NOT NULL,        -- 0/1
    created_at   TEXT NOT NULL,
    bytes        BLOB NOT NULL
);
CREATE INDEX media_by_case ON media (case_id);

CREATE TABLE api_keys (
    key_sha256  TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    revoked_at  TEXT
);

