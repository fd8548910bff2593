-- Issue 19, lean rows: a license key's uniqueness is checked on a 16-byte
-- hash (key_hash, the first half of SHA-256 of the key text) instead of a
-- UNIQUE index over the whole text. SQLite cannot drop a column constraint,
-- so the table is rebuilt (rowids kept); the daemon fills key_hash for rows
-- written before this migration when it opens the database.
--
-- The migration runs in a transaction with foreign keys on: the rows are
-- copied aside, the old table dropped (its machines' references left
-- dangling, which deferred checking allows), and the new table, under the
-- same name, takes the rows back, which resolves every reference before commit.
PRAGMA defer_foreign_keys = ON;
CREATE TABLE licenses_copy AS SELECT rowid AS copy_rowid, * FROM licenses;
DROP TABLE licenses;
CREATE TABLE licenses (
    id              TEXT PRIMARY KEY NOT NULL,
    product_id      TEXT NOT NULL REFERENCES products(id),
    policy_id       TEXT NOT NULL REFERENCES policies(id),
    license_key     TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('active', 'suspended', 'revoked')),
    issued_at       INTEGER NOT NULL,
    expires_at      INTEGER NOT NULL DEFAULT 0,
    grace_seconds   INTEGER NOT NULL DEFAULT 0,
    max_machines    INTEGER NOT NULL DEFAULT 0,
    entitlements    TEXT NOT NULL DEFAULT '[]',
    is_trial        INTEGER NOT NULL DEFAULT 0,
    fingerprint     TEXT,
    buyer_email     TEXT,
    buyer_npub      TEXT,
    note            TEXT,
    source          TEXT NOT NULL,
    invoice_id      TEXT UNIQUE,
    revoked_reason  TEXT,
    version         INTEGER NOT NULL DEFAULT 0,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    key_hash        BLOB CHECK (key_hash IS NULL OR length(key_hash) = 16)
) STRICT;
INSERT INTO licenses (rowid, id, product_id, policy_id, license_key, status, issued_at, expires_at,
    grace_seconds, max_machines, entitlements, is_trial, fingerprint, buyer_email, buyer_npub, note, source,
    invoice_id, revoked_reason, version, created_at, updated_at)
SELECT copy_rowid, id, product_id, policy_id, license_key, status, issued_at, expires_at,
    grace_seconds, max_machines, entitlements, is_trial, fingerprint, buyer_email, buyer_npub, note, source,
    invoice_id, revoked_reason, version, created_at, updated_at FROM licenses_copy ORDER BY copy_rowid;
DROP TABLE licenses_copy;
CREATE UNIQUE INDEX licenses_key_hash ON licenses(key_hash) WHERE key_hash IS NOT NULL;
CREATE INDEX licenses_product_created ON licenses(product_id, created_at);
CREATE INDEX licenses_created ON licenses(created_at);
CREATE INDEX licenses_email ON licenses(buyer_email COLLATE NOCASE) WHERE buyer_email IS NOT NULL;
CREATE INDEX licenses_npub ON licenses(buyer_npub) WHERE buyer_npub IS NOT NULL;
CREATE INDEX licenses_expires ON licenses(expires_at) WHERE expires_at > 0;
CREATE TRIGGER counters_license_insert AFTER INSERT ON licenses BEGIN
    UPDATE counters SET value = value + 1 WHERE name = 'licenses';
END;
CREATE TRIGGER counters_license_delete AFTER DELETE ON licenses BEGIN
    UPDATE counters SET value = value - 1 WHERE name = 'licenses';
END;
UPDATE counters SET value = (SELECT count(*) FROM licenses) WHERE name = 'licenses';
-- Cleared by the daemon once every older row has its hash.
INSERT INTO settings (key, value) VALUES ('license_key_hash_backfill', '0');
