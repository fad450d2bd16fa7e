-- SensorThings API (issue 6): observations get an id of their own (their
-- `@iot.id`), a FeatureOfInterest and the other members a client gave
-- (resultTime, resultQuality, validTime, parameters); (datastream,
-- phenomenon time) stays unique. The other entities (Things, Locations,
-- Sensors, …) are JSON documents with their links inside.
CREATE TABLE observations_v9 (
    id               INTEGER PRIMARY KEY,
    datastream_id    INTEGER NOT NULL REFERENCES datastreams (id),
    phenomenon_time  TEXT NOT NULL,
    result           REAL NOT NULL,
    received_at      TEXT NOT NULL,
    feature_id       INTEGER,
    extra            TEXT
);
INSERT INTO observations_v9 (datastream_id, phenomenon_time, result, received_at)
    SELECT datastream_id, phenomenon_time, result, received_at FROM observations
    ORDER BY phenomenon_time, datastream_id;
DROP TABLE observations;
ALTER TABLE observations_v9 RENAME TO observations;
CREATE UNIQUE INDEX observations_by_stream ON observations (datastream_id, phenomenon_time);

CREATE TABLE sta_entities (
    entity_set  TEXT NOT NULL,
    id          INTEGER NOT NULL,
    doc         TEXT NOT NULL,
    PRIMARY KEY (entity_set, id)
) WITHOUT ROWID;
