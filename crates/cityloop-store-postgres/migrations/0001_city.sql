-- The city model: areas, departments, categories, responsibility list,
-- users and API tokens, settings. The same tables as the SQLite backend's
-- 0001_city.sql, in PostgreSQL types.
--
-- Keys and codes use COLLATE "C" so that ORDER BY is bytewise, exactly as in
-- SQLite, whatever locale the database was created with (in en_US, for
-- example, "310107-cgzf" would sort after "310107015-jd").
-- Tables are created unqualified: the connection's search_path picks the
-- schema.
CREATE TABLE areas (
    code        TEXT COLLATE "C" PRIMARY KEY,
    name        TEXT NOT NULL,
    level       TEXT COLLATE "C" NOT NULL,
    parent_code TEXT COLLATE "C" REFERENCES areas (code),
    shape       TEXT
);
CREATE INDEX areas_parent ON areas (parent_code, code);
CREATE INDEX areas_level ON areas (level, code);

CREATE TABLE departments (
    id    TEXT COLLATE "C" PRIMARY KEY,
    name  TEXT NOT NULL,
    kind  TEXT COLLATE "C" NOT NULL,
    phone TEXT
);
CREATE TABLE department_areas (
    department_id TEXT COLLATE "C" NOT NULL REFERENCES departments (id) ON DELETE CASCADE,
    area_code     TEXT COLLATE "C" NOT NULL REFERENCES areas (code),
    PRIMARY KEY (department_id, area_code)
);
CREATE INDEX department_areas_area ON department_areas (area_code);

CREATE TABLE categories (
    kind       TEXT COLLATE "C" NOT NULL,
    code       TEXT COLLATE "C" NOT NULL,
    class_code TEXT COLLATE "C" NOT NULL,
    class_name TEXT NOT NULL,
    name       TEXT NOT NULL,
    standard   TEXT NOT NULL,
    PRIMARY KEY (kind, code)
);
CREATE INDEX categories_code ON categories (code, kind);

CREATE TABLE responsibilities (
    category      TEXT COLLATE "C" NOT NULL,
    area_code     TEXT COLLATE "C" NOT NULL REFERENCES areas (code),
    department_id TEXT COLLATE "C" NOT NULL REFERENCES departments (id),
    basis         TEXT,
    PRIMARY KEY (category, area_code)
);
CREATE INDEX responsibilities_area ON responsibilities (area_code);
CREATE INDEX responsibilities_department ON responsibilities (department_id);

CREATE TABLE users (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    username      TEXT COLLATE "C" NOT NULL UNIQUE,
    display_name  TEXT NOT NULL,
    role          TEXT COLLATE "C" NOT NULL,
    department_id TEXT COLLATE "C" REFERENCES departments (id),
    phone         TEXT,
    password_hash TEXT NOT NULL
);
CREATE INDEX users_department ON users (department_id);
CREATE TABLE user_areas (
    user_id   BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    area_code TEXT COLLATE "C" NOT NULL REFERENCES areas (code),
    PRIMARY KEY (user_id, area_code)
);

CREATE TABLE api_tokens (
    token_sha256 TEXT COLLATE "C" PRIMARY KEY,
    user_id      BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    label        TEXT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    expires_at   TIMESTAMPTZ,
    revoked_at   TIMESTAMPTZ
);
CREATE INDEX api_tokens_user ON api_tokens (user_id);

CREATE TABLE settings (
    key   TEXT COLLATE "C" PRIMARY KEY,
    value TEXT NOT NULL
);
