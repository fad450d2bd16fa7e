-- Perception (issue 6): datastreams, their observations (unique per
-- datastream and phenomenon time, so redelivery stores nothing twice) and
-- alarms from raised to cleared.
CREATE TABLE datastreams (
    id              BIGSERIAL PRIMARY KEY,
    name            TEXT NOT NULL,
    thing           TEXT NOT NULL,
    property        TEXT COLLATE "C" NOT NULL,
    unit            TEXT NOT NULL,
    period_minutes  INTEGER NOT NULL,
    lon             DOUBLE PRECISION NOT NULL,
    lat             DOUBLE PRECISION NOT NULL,
    area_path       TEXT COLLATE "C" NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL,
    last_at         TIMESTAMPTZ
);

CREATE TABLE observations (
    datastream_id    BIGINT NOT NULL REFERENCES datastreams (id),
    phenomenon_time  TIMESTAMPTZ NOT NULL,
    result           DOUBLE PRECISION NOT NULL,
    received_at      TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (datastream_id, phenomenon_time)
);

CREATE TABLE alarms (
    id               BIGSERIAL PRIMARY KEY,
    rule_id          TEXT COLLATE "C" NOT NULL,
    datastream_id    BIGINT NOT NULL REFERENCES datastreams (id),
    severity         TEXT NOT NULL,
    reason           TEXT NOT NULL,
    raised_at        TIMESTAMPTZ NOT NULL,
    acknowledged_at  TIMESTAMPTZ,
    acknowledged_by  BIGINT,
    cleared_at       TIMESTAMPTZ,
    clear_reason     TEXT,
    case_id          BIGINT REFERENCES cases (id)
);
CREATE INDEX alarms_by_stream ON alarms (datastream_id, rule_id, id);
CREATE INDEX alarms_active ON alarms (id) WHERE cleared_at IS NULL;
