-- City vital signs over time: a sample of every indicator of the city and
-- each district, taken every few minutes by the server.
CREATE TABLE vital_samples (
    at         TEXT NOT NULL,
    area_code  TEXT NOT NULL,
    indicator  TEXT NOT NULL,
    value      REAL,
    status     TEXT NOT NULL,
    PRIMARY KEY (area_code, indicator, at)
) WITHOUT ROWID;
CREATE INDEX vital_samples_by_time ON vital_samples (at);
