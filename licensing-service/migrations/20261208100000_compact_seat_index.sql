-- A seat take writes into a seat index a quarter the size. The unique index
-- `machines_one_active_seat` held each active seat's license id (36
-- characters) and whole fingerprint (64 hex characters from a client
-- library, PROTOCOL.md §3): about 105 bytes an entry, and every take wrote a
-- page of it at a random place. `machines_seat` holds the last 8 characters
-- of each (random in a UUID and in a hash): about 25 bytes an entry. Queries
-- seek it by both tails and compare the whole values (db::machines::held_seats_of!).
-- The whole values are compared under a unary `+`, so that no SQLite
-- mistakes them for the seek (3.40, Debian 12's, would scan the index).
-- Its entries are not unique, so one active seat per fingerprint per license
-- is kept by the two triggers below, which seek the same index; a take's own
-- statement never trips them (it inserts only where the license holds the
-- seats its caller saw, none of them this machine's). Measured (bench/scale's
-- cold walk, three alternated pairs): the writer's CPU a seat taken 53-54
-- microseconds against 59-63, p99 20-25 ms against 28-32.
DROP INDEX machines_one_active_seat;
CREATE INDEX machines_seat ON machines(substr(license_id, -8), substr(fingerprint, -8)) WHERE active = 1;
CREATE TRIGGER machines_one_active_seat_insert BEFORE INSERT ON machines
WHEN new.active = 1 AND EXISTS (SELECT 1 FROM machines m
    WHERE substr(m.license_id, -8) = substr(new.license_id, -8) AND substr(m.fingerprint, -8) = substr(new.fingerprint, -8)
    AND m.active = 1 AND +m.license_id = new.license_id AND +m.fingerprint = new.fingerprint)
BEGIN
    SELECT RAISE(ABORT, 'UNIQUE constraint failed: machines.license_id, machines.fingerprint (one active seat)');
END;
CREATE TRIGGER machines_one_active_seat_update BEFORE UPDATE OF active, license_id, fingerprint ON machines
WHEN new.active = 1 AND EXISTS (SELECT 1 FROM machines m
    WHERE substr(m.license_id, -8) = substr(new.license_id, -8) AND substr(m.fingerprint, -8) = substr(new.fingerprint, -8)
    AND m.active = 1 AND +m.license_id = new.license_id AND +m.fingerprint = new.fingerprint AND m.rowid <> old.rowid)
BEGIN
    SELECT RAISE(ABORT, 'UNIQUE constraint failed: machines.license_id, machines.fingerprint (one active seat)');
END;
