-- Perception (issue 6): datastreams, their observations (unique per
-- datastream and phenomenon time, so redelivery stores nothing twice) and
-- alarms from raised to cleared.
CREATE TABLE datastreams (
    id              INTEGER PRIMARY KEY,
    name            TEXT NOT NULL,
    thing           TEXT NOT NULL,
    property        TEXT NOT NULL,
    unit            TEXT NOT NULL,
    period_minutes  INTEGER NOT NULL,
    lon             REAL NOT NULL,
    lat             REAL NOT NULL,
    area_path       TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    last_at         TEXT
);

CREATE TABLE observations (
    datastream_id    INTEGER NOT NULL REFERENCES datastreams (id),
    phenomenon_time  TEXT NOT NULL,
    result           REAL NOT NULL,
    received_at      TEXT NOT NULL,
    PRIMARY KEY (datastream_id, phenomenon_time)
) WITHOUT ROWID;

CREATE TABLE alarms (
    id               INTEGER PRIMARY KEY,
    rule_id          TEXT NOT NULL,
    datastream_id    INTEGER NOT NULL REFERENCES datastreams (id),
    severity         TEXT NOT NULL,
    reason           TEXT NOT NULL,
    raised_at        TEXT NOT NULL,
    acknowledged_at  TEXT,
    acknowledged_by  INTEGER,
    cleared_at       TEXT,
    clear_reason     TEXT,
    case_id          INTEGER REFERENCES cases (id)
);
CREATE INDEX alarms_by_stream ON alarms (datastream_id, rule_id, id);
CREATE INDEX alarms_active ON alarms (id) WHERE cleared_at IS NULL;
