-- A seat take writes no page of a fingerprint index. The index
-- `machines_fingerprint_tail` (the last 8 characters of each machine's
-- fingerprint) made every take write one of its pages at a random place; it
-- serves only the operator's search for a fingerprint (db::search). Its
-- entries now live in `machine_tails`, filed in sorted batches about once a
-- second (db::machines::fold_tails, a scheduled job), where a batch writes
-- each page it touches once; a take only appends its machine's rowid to the
-- queue `machine_tails_new`, which the search also reads (so a machine is
-- found from the moment it is added). Measured (bench/scale's cold walk,
-- three alternated pairs, before the queue): the writer's CPU a seat taken
-- 36-41 microseconds without the index against 46-47 with it.
--
-- Machines are named by their rowid, 3 or 4 bytes where their id takes 37:
-- a batch then writes a third of the pages. SQLite keeps a table's rowids in
-- VACUUM INTO (the snapshots) and in a VACUUM of a table with an index
-- (`machines` always has its primary key's), as of SQLite 3.46 (the copy
-- libsqlite3-sys bundles; sqlite3.c, xferOptimization); a rowid freed by a
-- delete and given to a new machine is filed again (the triggers below).
CREATE TABLE machine_tails (
    tail     TEXT NOT NULL,      -- substr(machines.fingerprint, -8)
    machine  INTEGER NOT NULL,   -- machines.rowid
    PRIMARY KEY (tail, machine)
) STRICT, WITHOUT ROWID;
CREATE TABLE machine_tails_new (
    machine  INTEGER NOT NULL    -- machines.rowid
) STRICT;
INSERT INTO machine_tails (tail, machine) SELECT substr(fingerprint, -8), rowid FROM machines ORDER BY 1, 2;
DROP INDEX machines_fingerprint_tail;
CREATE TRIGGER machine_tails_insert AFTER INSERT ON machines BEGIN
    INSERT INTO machine_tails_new (machine) VALUES (new.rowid);
END;
-- A fingerprint is never changed today; if one were, the machine is filed again.
CREATE TRIGGER machine_tails_update AFTER UPDATE OF fingerprint ON machines BEGIN
    DELETE FROM machine_tails WHERE tail = substr(old.fingerprint, -8) AND machine = old.rowid;
    INSERT INTO machine_tails_new (machine) VALUES (new.rowid);
END;
-- A machine deleted while still queued is skipped by the fold (it joins `machines`).
CREATE TRIGGER machine_tails_delete AFTER DELETE ON machines BEGIN
    DELETE FROM machine_tails WHERE tail = substr(old.fingerprint, -8) AND machine = old.rowid;
END;
