-- Issue 19: a seat's calls are logged with its machine's id, not its
-- fingerprint. The fingerprint was looked up in `machines` as each row was
-- written: two seeks at random among the newest machines (a page read each,
-- past the writer's cache), two thirds of a row's cost in a first-sight walk
-- (10.4 µs a row against 3.5, SQLite 3.46, 16,000 rows). The log's reader
-- (`db::events::for_license`, 50 rows) finds the fingerprint instead, and a
-- freed seat stays while the log may name it (`jobs::prune_history`). Rows written
-- before keep their fingerprint.
ALTER TABLE validation_events ADD COLUMN machine_id TEXT;
