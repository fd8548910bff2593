-- Licenses brought in from another system (`POST /v1/admin/import/licenses`):
-- one row per imported CSV row, so a re-run of the same file skips what it
-- already created. `reference` is the row's id in the other system
-- (`external_id` / `license_id` column) or a hash of its content.
CREATE TABLE license_imports (
    reference   TEXT PRIMARY KEY NOT NULL,
    license_id  TEXT NOT NULL REFERENCES licenses(id) ON DELETE CASCADE,
    imported_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
