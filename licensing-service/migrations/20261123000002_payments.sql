-- Payments: our invoices, the provider events seen once each, the payment
-- provider connection and the one-time state tokens of the connect flow.

-- One row per purchase attempt. Written before the provider invoice exists,
-- so a crash between the two leaves a row reconciliation can explain.
CREATE TABLE invoices (
    id                   TEXT PRIMARY KEY NOT NULL,
    product_id           TEXT NOT NULL REFERENCES products(id),
    policy_id            TEXT NOT NULL REFERENCES policies(id),
    status               TEXT NOT NULL CHECK (status IN ('pending', 'settled', 'expired', 'invalid')),
    -- Finer than status while pending: 'new' (waiting for payment) or 'processing' (paid, confirming).
    stage                TEXT NOT NULL DEFAULT 'new' CHECK (stage IN ('new', 'processing')),
    provider             TEXT NOT NULL,
    provider_invoice_id  TEXT,
    checkout_url         TEXT,
    amount_sats          INTEGER NOT NULL CHECK (amount_sats >= 0),
    base_price_sats      INTEGER NOT NULL,
    discount_sats        INTEGER NOT NULL DEFAULT 0,
    price_amount         TEXT,               -- fiat amount handed to the provider, after any code
    price_currency       TEXT,
    code_id              TEXT REFERENCES discount_codes(id),
    buyer_email          TEXT,
    buyer_npub           TEXT,               -- hex public key
    buyer_note           TEXT,
    redirect_url         TEXT,
    created_at           INTEGER NOT NULL,
    updated_at           INTEGER NOT NULL,
    settled_at           INTEGER,
    closed_at            INTEGER,            -- expired or invalid
    last_checked_at      INTEGER,            -- last reconciliation look-up
    UNIQUE (provider, provider_invoice_id)
) STRICT;
CREATE INDEX invoices_pending ON invoices(created_at) WHERE status = 'pending';
CREATE INDEX invoices_buyer_email ON invoices(buyer_email) WHERE buyer_email IS NOT NULL;
CREATE INDEX invoices_buyer_npub ON invoices(buyer_npub) WHERE buyer_npub IS NOT NULL;

-- Each provider delivery is acted on once.
CREATE TABLE provider_events (
    provider     TEXT NOT NULL,
    delivery_id  TEXT NOT NULL,
    event_type   TEXT NOT NULL,
    invoice_id   TEXT,                       -- ours, when the event was about one of our invoices
    received_at  INTEGER NOT NULL,
    PRIMARY KEY (provider, delivery_id)
) STRICT;

-- The connected payment provider (one row at most).
CREATE TABLE payment_connection (
    id               INTEGER PRIMARY KEY CHECK (id = 1),
    provider         TEXT NOT NULL,
    base_url         TEXT NOT NULL,          -- what the operator's browser uses
    api_key          TEXT NOT NULL,
    store_id         TEXT,                   -- NULL until the operator picks one
    store_name       TEXT,
    webhook_id       TEXT,
    webhook_secret   TEXT,
    connected_at     INTEGER NOT NULL,
    last_webhook_at  INTEGER,
    last_error       TEXT,
    last_error_at    INTEGER
) STRICT;

-- One-time, expiring tokens that tie an authorize callback to the request.
CREATE TABLE connect_states (
    token       TEXT PRIMARY KEY NOT NULL,
    base_url    TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    used_at     INTEGER
) STRICT;
