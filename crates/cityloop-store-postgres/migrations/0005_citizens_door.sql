-- The citizens' door (issue 5): what a report brought besides its case
-- (Open311 attributes, the client, its token), photos, and the API keys of
-- Open311 clients.
CREATE TABLE case_reports (
    case_id     BIGINT PRIMARY KEY REFERENCES cases (id),
    attributes  TEXT NOT NULL,            -- JSON object
    client      TEXT,
    token       TEXT COLLATE "C" UNIQUE
);

CREATE TABLE media (
    id           TEXT COLLATE "C" PRIMARY KEY,   -- 32 random hex digits
    case_id      BIGINT NOT NULL REFERENCES cases (id),
    content_type TEXT NOT NULL,
    sha256       TEXT NOT NULL,
    size         BIGINT NOT NULL,
    public       BOOLEAN NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    bytes        BYTEA NOT NULL
);
CREATE INDEX media_by_case ON media (case_id);

CREATE TABLE api_keys (
    key_sha256  TEXT COLLATE "C" PRIMARY KEY,
    name        TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    revoked_at  TIMESTAMPTZ
);

