-- Foundation: settings, signing key, catalogue, licenses, machines, audit, validation log.
-- Times are unix seconds (INTEGER); ids are UUID strings; money is integer sats.

CREATE TABLE settings (
    key   TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
) STRICT;

CREATE TABLE signing_keys (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    secret_key  BLOB NOT NULL CHECK (length(secret_key) = 32),
    public_key  BLOB NOT NULL CHECK (length(public_key) = 32),
    created_at  INTEGER NOT NULL
) STRICT;

CREATE TABLE products (
    id                   TEXT PRIMARY KEY NOT NULL,
    slug                 TEXT NOT NULL UNIQUE,
    name                 TEXT NOT NULL,
    description          TEXT NOT NULL DEFAULT '',
    price_sats           INTEGER NOT NULL CHECK (price_sats >= 0),
    active               INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    entitlements_catalog TEXT NOT NULL DEFAULT '[]',
    created_at           INTEGER NOT NULL,
    updated_at           INTEGER NOT NULL
) STRICT;

CREATE TABLE policies (
    id                  TEXT PRIMARY KEY NOT NULL,
    product_id          TEXT NOT NULL REFERENCES products(id),
    slug                TEXT NOT NULL,
    name                TEXT NOT NULL,
    description         TEXT NOT NULL DEFAULT '',
    price_sats          INTEGER NOT NULL CHECK (price_sats >= 0),
    price_amount        TEXT,
    price_currency      TEXT,
    duration_seconds    INTEGER NOT NULL DEFAULT 0 CHECK (duration_seconds >= 0),
    grace_seconds       INTEGER NOT NULL DEFAULT 0 CHECK (grace_seconds >= 0),
    max_machines        INTEGER NOT NULL DEFAULT 0 CHECK (max_machines >= 0),
    entitlements        TEXT NOT NULL DEFAULT '[]',
    is_trial            INTEGER NOT NULL DEFAULT 0 CHECK (is_trial IN (0, 1)),
    public              INTEGER NOT NULL DEFAULT 1 CHECK (public IN (0, 1)),
    highlighted         INTEGER NOT NULL DEFAULT 0 CHECK (highlighted IN (0, 1)),
    tier_rank           INTEGER CHECK (tier_rank IS NULL OR tier_rank BETWEEN 0 AND 1000),
    archived            INTEGER NOT NULL DEFAULT 0 CHECK (archived IN (0, 1)),
    is_recurring        INTEGER NOT NULL DEFAULT 0 CHECK (is_recurring IN (0, 1)),
    renewal_period_days INTEGER,
    created_at          INTEGER NOT NULL,
    updated_at          INTEGER NOT NULL,
    CHECK ((price_amount IS NULL) = (price_currency IS NULL)),
    UNIQUE (product_id, slug)
) STRICT;

CREATE TABLE licenses (
    id              TEXT PRIMARY KEY NOT NULL,
    product_id      TEXT NOT NULL REFERENCES products(id),
    policy_id       TEXT NOT NULL REFERENCES policies(id),
    license_key     TEXT NOT NULL UNIQUE,
    status          TEXT NOT NULL CHECK (status IN ('active', 'suspended', 'revoked')),
    issued_at       INTEGER NOT NULL,
    expires_at      INTEGER NOT NULL DEFAULT 0,   -- 0 = perpetual, as in the key
    grace_seconds   INTEGER NOT NULL DEFAULT 0,
    max_machines    INTEGER NOT NULL DEFAULT 0,   -- 0 = unlimited
    entitlements    TEXT NOT NULL DEFAULT '[]',
    is_trial        INTEGER NOT NULL DEFAULT 0,
    fingerprint     TEXT,                          -- set when the key is fingerprint-bound
    buyer_email     TEXT,
    buyer_npub      TEXT,
    note            TEXT,
    source          TEXT NOT NULL,                 -- admin | purchase | redeem | renewal
    invoice_id      TEXT UNIQUE,                   -- one license per invoice
    revoked_reason  TEXT,
    version         INTEGER NOT NULL DEFAULT 0,    -- bumped by every change to the license or its machines
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
) STRICT;
CREATE INDEX licenses_product_created ON licenses(product_id, created_at);
CREATE INDEX licenses_created ON licenses(created_at);
CREATE INDEX licenses_email ON licenses(buyer_email COLLATE NOCASE) WHERE buyer_email IS NOT NULL;
CREATE INDEX licenses_npub ON licenses(buyer_npub) WHERE buyer_npub IS NOT NULL;

CREATE TABLE machines (
    id                   TEXT PRIMARY KEY NOT NULL,
    license_id           TEXT NOT NULL REFERENCES licenses(id),
    fingerprint          TEXT NOT NULL,
    hostname             TEXT,
    platform             TEXT,
    active               INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    activated_at         INTEGER NOT NULL,
    last_seen_at         INTEGER NOT NULL,
    deactivated_at       INTEGER,
    deactivation_reason  TEXT
) STRICT;
-- One seat per fingerprint per license; freed seats stay as history.
CREATE UNIQUE INDEX machines_one_active_seat ON machines(license_id, fingerprint) WHERE active = 1;
CREATE INDEX machines_license ON machines(license_id);
CREATE INDEX machines_fingerprint ON machines(fingerprint);

CREATE TABLE audit_log (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    at           INTEGER NOT NULL,
    actor        TEXT NOT NULL,
    action       TEXT NOT NULL,
    target_type  TEXT NOT NULL,
    target_id    TEXT NOT NULL,
    details      TEXT NOT NULL DEFAULT '{}'
) STRICT;
CREATE INDEX audit_at ON audit_log(at);
CREATE INDEX audit_action_at ON audit_log(action, at);
CREATE INDEX audit_target ON audit_log(target_id, at);

-- Written in batches off the hot path: the events of one batch (a quarter of
-- a second) with the same license, machine and result are folded into one row
-- with a count, the number of distinct client addresses (a key used from
-- many addresses is being shared) and the last address. Pruned by age and by
-- row count.
CREATE TABLE validation_events (
    id           INTEGER PRIMARY KEY,
    at           INTEGER NOT NULL,
    license_id   TEXT,
    fingerprint  TEXT,
    client_ip    TEXT,
    result       TEXT NOT NULL,
    count        INTEGER NOT NULL DEFAULT 1,
    ip_count     INTEGER NOT NULL DEFAULT 1
) STRICT;
CREATE INDEX validation_events_license ON validation_events(license_id, at);
