-- A seat take writes no page of a fingerprint index. The index
-- `machines_fingerprint_tail` (the last 8 characters of each machine's
-- fingerprint) made every take write one of its pages at a random place; it
-- serves only the operator's search for a fingerprint (db::search). Its
-- entries now live in `machine_tails`, filed in sorted batches about once a
-- second (db::machines::fold_tails, a scheduled job), where a batch writes
-- each page it touches once; a take only appends its machine's id to the
-- queue `machine_tails_new`, which the search also reads (so a machine is
-- found from the moment it is added). Measured (bench/scale's cold walk,
-- three alternated pairs, before the queue): the writer's CPU a seat taken
-- 36-41 microseconds without the index against 46-47 with it.
CREATE TABLE machine_tails (
    tail        TEXT NOT NULL,   -- substr(machines.fingerprint, -8)
    machine_id  TEXT NOT NULL,   -- machines.id (rowids may change in a VACUUM; ids do not)
    PRIMARY KEY (tail, machine_id)
) STRICT, WITHOUT ROWID;
CREATE TABLE machine_tails_new (
    machine_id  TEXT NOT NULL
) STRICT;
INSERT INTO machine_tails (tail, machine_id) SELECT substr(fingerprint, -8), id FROM machines ORDER BY 1, 2;
DROP INDEX machines_fingerprint_tail;
CREATE TRIGGER machine_tails_insert AFTER INSERT ON machines BEGIN
    INSERT INTO machine_tails_new (machine_id) VALUES (new.id);
END;
-- Neither is ever changed today; if one were, the machine is filed again.
CREATE TRIGGER machine_tails_update AFTER UPDATE OF id, fingerprint ON machines BEGIN
    DELETE FROM machine_tails WHERE tail = substr(old.fingerprint, -8) AND machine_id = old.id;
    INSERT INTO machine_tails_new (machine_id) VALUES (new.id);
END;
-- A machine deleted while still queued is skipped by the fold (it joins `machines`).
CREATE TRIGGER machine_tails_delete AFTER DELETE ON machines BEGIN
    DELETE FROM machine_tails WHERE tail = substr(old.fingerprint, -8) AND machine_id = old.id;
END;
