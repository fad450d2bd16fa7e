-- The transparency log (cityloop-transparency): leaves are queued in the
-- transaction of the change they record (idx NULL) and given their place in
-- the Merkle tree by the sequencer, which holds tlog_state's row lock while
-- it stores the indices, the tiles and the signed checkpoint.

CREATE TABLE tlog_leaves (
    id      BIGSERIAL PRIMARY KEY,
    idx     BIGINT UNIQUE,
    subject TEXT COLLATE "C",
    data    BYTEA NOT NULL
);
CREATE INDEX tlog_leaves_queued ON tlog_leaves (id) WHERE idx IS NULL;
CREATE INDEX tlog_leaves_subject ON tlog_leaves (subject, id) WHERE subject IS NOT NULL;

-- Hash tiles (C2SP tlog-tiles, height 8): 32-byte hashes concatenated; a
-- partial tile grows until it holds 256.
CREATE TABLE tlog_tiles (
    level  INTEGER NOT NULL,
    idx    BIGINT NOT NULL,
    hashes BYTEA NOT NULL,
    PRIMARY KEY (level, idx)
);

CREATE TABLE tlog_checkpoints (
    size BIGINT PRIMARY KEY,
    note TEXT NOT NULL
);

-- One row: the tree size, locked by the sequencer.
CREATE TABLE tlog_state (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    size BIGINT NOT NULL
);
INSERT INTO tlog_state (id, size) VALUES (1, 0);
