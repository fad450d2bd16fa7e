-- City vital signs over time: a sample of every indicator of the city and
-- each district, taken every few minutes by the server.
CREATE TABLE vital_samples (
    at         TIMESTAMPTZ NOT NULL,
    area_code  TEXT COLLATE "C" NOT NULL,
    indicator  TEXT COLLATE "C" NOT NULL,
    value      DOUBLE PRECISION,
    status     TEXT NOT NULL,
    PRIMARY KEY (area_code, indicator, at)
);
CREATE INDEX vital_samples_by_time ON vital_samples (at);
