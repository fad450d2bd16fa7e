-- The embedded store now gives a leaf its tree index when it is queued
-- (its single writer makes queue order the index order), so sequencing no
-- longer rewrites every leaf row. Leaves queued before this migration get
-- their indices here, in queue order. A leaf is sequenced once
-- idx < tlog_state.size.
UPDATE tlog_leaves SET idx = q.n
FROM (
    SELECT id, (SELECT size FROM tlog_state WHERE id = 1) + row_number() OVER (ORDER BY id) - 1 AS n
    FROM tlog_leaves WHERE idx IS NULL
) AS q
WHERE tlog_leaves.id = q.id;
DROP INDEX tlog_leaves_queued;
