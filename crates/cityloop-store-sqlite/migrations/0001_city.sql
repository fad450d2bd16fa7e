-- The city model: areas, departments, categories, responsibility list,
-- users and API tokens, settings.
CREATE TABLE areas (
    code        TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    level       TEXT NOT NULL,
    parent_code TEXT REFERENCES areas (code),
    shape       TEXT
);
CREATE INDEX areas_parent ON areas (parent_code, code);
CREATE INDEX areas_level ON areas (level, code);

CREATE TABLE departments (
    id    TEXT PRIMARY KEY,
    name  TEXT NOT NULL,
    kind  TEXT NOT NULL,
    phone TEXT
);
CREATE TABLE department_areas (
    department_id TEXT NOT NULL REFERENCES departments (id) ON DELETE CASCADE,
    area_code     TEXT NOT NULL REFERENCES areas (code),
    PRIMARY KEY (department_id, area_code)
);
CREATE INDEX department_areas_area ON department_areas (area_code);

CREATE TABLE categories (
    kind       TEXT NOT NULL,
    code       TEXT NOT NULL,
    class_code TEXT NOT NULL,
    class_name TEXT NOT NULL,
    name       TEXT NOT NULL,
    standard   TEXT NOT NULL,
    PRIMARY KEY (kind, code)
);

CREATE TABLE responsibilities (
    category      TEXT NOT NULL,
    area_code     TEXT NOT NULL REFERENCES areas (code),
    department_id TEXT NOT NULL REFERENCES departments (id),
    basis         TEXT,
    PRIMARY KEY (category, area_code)
);
CREATE INDEX responsibilities_area ON responsibilities (area_code);
CREATE INDEX responsibilities_department ON responsibilities (department_id);

CREATE TABLE users (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    username      TEXT NOT NULL UNIQUE,
    display_name  TEXT NOT NULL,
    role          TEXT NOT NULL,
    department_id TEXT REFERENCES departments (id),
    phone         TEXT,
    password_hash TEXT NOT NULL
);
CREATE INDEX users_department ON users (department_id);
CREATE TABLE user_areas (
    user_id   INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    area_code TEXT NOT NULL REFERENCES areas (code),
    PRIMARY KEY (user_id, area_code)
);

CREATE TABLE api_tokens (
    token_sha256 TEXT PRIMARY KEY,
    user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    label        TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    expires_at   TEXT,
    revoked_at   TEXT
);
CREATE INDEX api_tokens_user ON api_tokens (user_id);

CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
