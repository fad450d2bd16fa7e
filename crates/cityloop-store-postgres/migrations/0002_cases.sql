-- Cases: a summary row per case, its append-only history, its units, and
-- the SLA timers the scheduler claims and fires. The same tables as the
-- SQLite backend's 0002_cases.sql, in PostgreSQL types; codes and keys use
-- COLLATE "C" as in 0001.

-- Case ids are reserved before a case is written (ids may have gaps).
CREATE SEQUENCE case_ids AS BIGINT;

CREATE TABLE cases (
    id               BIGINT PRIMARY KEY,
    channel          TEXT COLLATE "C" NOT NULL,
    category         TEXT COLLATE "C" NOT NULL,
    urgency          TEXT COLLATE "C" NOT NULL,
    status           TEXT COLLATE "C" NOT NULL,
    open             BOOLEAN NOT NULL,
    lead_department  TEXT COLLATE "C",
    -- City first, each code followed by '/': '/310000/310107/'. "Within an
    -- area" is strpos(area_path, '/' || code || '/') > 0.
    area_path        TEXT COLLATE "C" NOT NULL,
    lon              DOUBLE PRECISION,
    lat              DOUBLE PRECISION,
    address          TEXT,
    description      TEXT NOT NULL,
    reporter         BIGINT,
    reporter_contact TEXT,
    parent           BIGINT,
    created_at       TIMESTAMPTZ NOT NULL,
    updated_at       TIMESTAMPTZ NOT NULL,
    version          BIGINT NOT NULL,
    due_at           TIMESTAMPTZ,
    warn_at          TIMESTAMPTZ,
    near_boundary    BOOLEAN NOT NULL,
    routed_department TEXT COLLATE "C"
);
CREATE INDEX cases_open_created ON cases (open, created_at);
CREATE INDEX cases_lead ON cases (lead_department, open);
CREATE INDEX cases_category ON cases (category, created_at);
CREATE INDEX cases_position ON cases (lat, lon);
CREATE INDEX cases_reporter ON cases (reporter);

CREATE TABLE case_units (
    case_id       BIGINT NOT NULL REFERENCES cases (id),
    department_id TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (case_id, department_id)
);
CREATE INDEX case_units_department ON case_units (department_id);

CREATE TABLE case_events (
    case_id          BIGINT NOT NULL REFERENCES cases (id),
    seq              BIGINT NOT NULL,
    at               TIMESTAMPTZ NOT NULL,
    kind             TEXT COLLATE "C" NOT NULL,
    actor_user       BIGINT,
    actor_role       TEXT COLLATE "C",
    actor_department TEXT COLLATE "C",
    payload          TEXT NOT NULL,
    PRIMARY KEY (case_id, seq)
);
CREATE INDEX case_events_at ON case_events (at);

CREATE FUNCTION case_events_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'case history is append-only';
END;
$$;
CREATE TRIGGER case_events_no_update BEFORE UPDATE ON case_events
    FOR EACH ROW EXECUTE FUNCTION case_events_append_only();
CREATE TRIGGER case_events_no_delete BEFORE DELETE ON case_events
    FOR EACH ROW EXECUTE FUNCTION case_events_append_only();
-- TRUNCATE skips row triggers; refuse it too.
CREATE TRIGGER case_events_no_truncate BEFORE TRUNCATE ON case_events
    FOR EACH STATEMENT EXECUTE FUNCTION case_events_append_only();

CREATE TABLE timers (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    case_id       BIGINT NOT NULL REFERENCES cases (id),
    stage         TEXT COLLATE "C" NOT NULL,
    kind          TEXT COLLATE "C" NOT NULL,
    due_at        TIMESTAMPTZ NOT NULL,
    claimed_by    TEXT COLLATE "C",
    claimed_until TIMESTAMPTZ,
    fired_at      TIMESTAMPTZ
);
CREATE INDEX timers_due ON timers (fired_at, due_at);
CREATE INDEX timers_case ON timers (case_id, fired_at);
