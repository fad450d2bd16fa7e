-- Cases: a summary row per case, its append-only history, its units, and
-- the SLA timers the scheduler claims and fires.
CREATE TABLE case_ids (id INTEGER PRIMARY KEY AUTOINCREMENT);

CREATE TABLE cases (
    id               INTEGER PRIMARY KEY,
    channel          TEXT NOT NULL,
    category         TEXT NOT NULL,
    urgency          TEXT NOT NULL,
    status           TEXT NOT NULL,
    open             INTEGER NOT NULL,
    lead_department  TEXT,
    area_path        TEXT NOT NULL,
    lon              REAL,
    lat              REAL,
    address          TEXT,
    description      TEXT NOT NULL,
    reporter         INTEGER,
    reporter_contact TEXT,
    parent           INTEGER,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
    version          INTEGER NOT NULL,
    due_at           TEXT,
    warn_at          TEXT,
    near_boundary    INTEGER NOT NULL,
    routed_department TEXT
);
CREATE INDEX cases_open_created ON cases (open, created_at);
CREATE INDEX cases_lead ON cases (lead_department, open);
CREATE INDEX cases_category ON cases (category, created_at);
CREATE INDEX cases_position ON cases (lat, lon);
CREATE INDEX cases_reporter ON cases (reporter);

CREATE TABLE case_units (
    case_id       INTEGER NOT NULL REFERENCES cases (id),
    department_id TEXT NOT NULL,
    PRIMARY KEY (case_id, department_id)
);
CREATE INDEX case_units_department ON case_units (department_id);

CREATE TABLE case_events (
    case_id          INTEGER NOT NULL REFERENCES cases (id),
    seq              INTEGER NOT NULL,
    at               TEXT NOT NULL,
    kind             TEXT NOT NULL,
    actor_user       INTEGER,
    actor_role       TEXT,
    actor_department TEXT,
    payload          TEXT NOT NULL,
    PRIMARY KEY (case_id, seq)
);
CREATE INDEX case_events_at ON case_events (at);
CREATE TRIGGER case_events_no_update BEFORE UPDATE ON case_events
BEGIN SELECT RAISE(ABORT, 'case history is append-only'); END;
CREATE TRIGGER case_events_no_delete BEFORE DELETE ON case_events
BEGIN SELECT RAISE(ABORT, 'case history is append-only'); END;

CREATE TABLE timers (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    case_id       INTEGER NOT NULL REFERENCES cases (id),
    stage         TEXT NOT NULL,
    kind          TEXT NOT NULL,
    due_at        TEXT NOT NULL,
    claimed_by    TEXT,
    claimed_until TEXT,
    fired_at      TEXT
);
CREATE INDEX timers_due ON timers (fired_at, due_at);
CREATE INDEX timers_case ON timers (case_id, fired_at);
