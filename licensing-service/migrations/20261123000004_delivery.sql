-- Delivery: Keysat's Nostr identity and direct messages, outbound webhooks
-- (endpoints, the event outbox, deliveries and their attempt log), and the
-- watermark of the license-expiry scan. Relays, the operator's npub and the
-- notification switches are rows of `settings`.

-- Keysat's own Nostr key pair: created on first start, never changed.
CREATE TABLE nostr_identity (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    secret_key  BLOB NOT NULL CHECK (length(secret_key) = 32),
    public_key  TEXT NOT NULL,                 -- x-only, lower-case hex
    created_at  INTEGER NOT NULL
) STRICT;

-- One NIP-17 direct message to send: a license to its buyer, the keys of an
-- npub that asked to recover them, or a notice to the operator. The text is
-- rendered at the first attempt; the gift wrap built then is kept so that
-- every retry sends the same event (relays deduplicate it).
CREATE TABLE nostr_messages (
    id               TEXT PRIMARY KEY NOT NULL,
    kind             TEXT NOT NULL CHECK (kind IN ('license', 'recovery', 'operator')),
    recipient        TEXT NOT NULL,             -- public key, hex
    license_id       TEXT REFERENCES licenses(id),
    notice           TEXT,                      -- operator notices: which kind
    text             TEXT,                      -- operator notices: given; others: rendered at the first attempt
    state            TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'failed')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  INTEGER NOT NULL,
    last_error       TEXT,
    event_id         TEXT,                      -- the gift wrap's id
    event_json       TEXT,
    acked_by         TEXT NOT NULL DEFAULT '[]', -- relays that answered OK true
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    delivered_at     INTEGER,
    CHECK ((kind = 'license') = (license_id IS NOT NULL))
) STRICT;
CREATE INDEX nostr_messages_due ON nostr_messages(next_attempt_at) WHERE state = 'pending';
CREATE INDEX nostr_messages_license ON nostr_messages(license_id) WHERE license_id IS NOT NULL;
CREATE INDEX nostr_messages_recipient ON nostr_messages(recipient, kind, created_at);

-- Where the seller's systems hear of events. The secret signs every body.
CREATE TABLE webhook_endpoints (
    id           TEXT PRIMARY KEY NOT NULL,
    url          TEXT NOT NULL,
    description  TEXT,
    events       TEXT NOT NULL,                 -- JSON array of event types; ["*"] = every type
    secret       TEXT NOT NULL,
    active       INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
) STRICT;

-- The outbox: every event, written by the transaction of its cause.
CREATE TABLE outbox_events (
    id          TEXT PRIMARY KEY NOT NULL,      -- evt_…: receivers deduplicate by it
    type        TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    data        TEXT NOT NULL                   -- JSON object
) STRICT;
CREATE INDEX outbox_events_created ON outbox_events(created_at);

-- One event to one endpoint; fanned out in the same transaction as the event.
CREATE TABLE webhook_deliveries (
    id                TEXT PRIMARY KEY NOT NULL,
    event_id          TEXT NOT NULL REFERENCES outbox_events(id) ON DELETE CASCADE,
    endpoint_id       TEXT NOT NULL REFERENCES webhook_endpoints(id) ON DELETE CASCADE,
    state             TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'dead')),
    attempts          INTEGER NOT NULL DEFAULT 0,
    next_attempt_at   INTEGER,                  -- NULL unless pending
    last_status       INTEGER,                  -- HTTP status of the last attempt
    last_latency_ms   INTEGER,
    last_error        TEXT,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL,
    delivered_at      INTEGER,
    UNIQUE (event_id, endpoint_id)
) STRICT;
CREATE INDEX webhook_deliveries_due ON webhook_deliveries(next_attempt_at) WHERE state = 'pending';
CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries(endpoint_id, created_at);

-- The delivery log: every attempt.
CREATE TABLE webhook_attempts (
    id           INTEGER PRIMARY KEY,
    delivery_id  TEXT NOT NULL REFERENCES webhook_deliveries(id) ON DELETE CASCADE,
    at           INTEGER NOT NULL,
    status_code  INTEGER,
    latency_ms   INTEGER NOT NULL,
    error        TEXT,
    manual       INTEGER NOT NULL DEFAULT 0 CHECK (manual IN (0, 1))
) STRICT;
CREATE INDEX webhook_attempts_delivery ON webhook_attempts(delivery_id, id);

-- The license-expiry scan walks forward through expiry times.
CREATE INDEX licenses_expires ON licenses(expires_at) WHERE expires_at > 0;
-- Expiries from this moment on are told; older ones are history.
INSERT INTO settings (key, value) VALUES ('expiry_scan_watermark', strftime('%s', 'now'));
