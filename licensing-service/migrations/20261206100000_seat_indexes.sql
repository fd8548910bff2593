-- A seat take writes fewer index pages. `machines_license` covered every row
-- by license; the active ones are already covered by the unique index
-- `machines_one_active_seat` (license_id, fingerprint) WHERE active = 1, so
-- the freed ones get their own partial index, which a take never touches
-- (and which finds a freed seat to reuse by license and fingerprint).
-- A license's whole list reads both (db::machines::for_license).
DROP INDEX machines_license;
CREATE INDEX machines_freed_seat ON machines(license_id, fingerprint) WHERE active = 0;
