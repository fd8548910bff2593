-- Cards through an optional Stripe adapter; refunds and chargebacks (issue 15).

-- The Stripe connection (one row at most), beside BTCPay's `payment_connection`.
CREATE TABLE stripe_connection (
    id               INTEGER PRIMARY KEY CHECK (id = 1),
    secret_key       TEXT NOT NULL,             -- the seller's (restricted) secret key
    livemode         INTEGER NOT NULL CHECK (livemode IN (0, 1)),
    webhook_id       TEXT NOT NULL,             -- we_…: Keysat's endpoint at Stripe
    webhook_secret   TEXT NOT NULL,             -- whsec_…: signs Stripe's deliveries
    connected_at     INTEGER NOT NULL,
    last_webhook_at  INTEGER,
    last_error       TEXT,
    last_error_at    INTEGER
) STRICT;

-- The provider's payment behind a settled invoice (Stripe: the PaymentIntent),
-- which refunds, refund events and disputes name.
ALTER TABLE invoices ADD COLUMN provider_payment_id TEXT;
CREATE INDEX invoices_provider_payment ON invoices(provider, provider_payment_id)
    WHERE provider_payment_id IS NOT NULL;

-- The permissions BTCPay granted the key when it was connected (JSON array);
-- NULL for connections made before refunds existed (they are told to reconnect).
ALTER TABLE payment_connection ADD COLUMN permissions TEXT;

-- At most one (whole) refund per invoice. `requested` while the provider is
-- being asked; whoever completes it first (the operator's call, or the
-- provider's refund event) applies it, once.
CREATE TABLE refunds (
    invoice_id          TEXT PRIMARY KEY NOT NULL REFERENCES invoices(id),
    state               TEXT NOT NULL CHECK (state IN ('requested', 'done')),
    provider            TEXT NOT NULL,
    provider_refund_id  TEXT,                   -- re_… (Stripe) or the pull payment's id (BTCPay)
    amount              TEXT,                   -- as the provider refunds it: a decimal string
    currency            TEXT,
    amount_sats         INTEGER NOT NULL DEFAULT 0 CHECK (amount_sats >= 0), -- subtracted from sats revenue
    claim_url           TEXT,                   -- BTCPay: where the buyer claims the refund
    reason              TEXT NOT NULL,
    revoke              INTEGER NOT NULL CHECK (revoke IN (0, 1)),
    source              TEXT NOT NULL,          -- admin | stripe | dispute
    actor               TEXT NOT NULL,
    requested_at        INTEGER NOT NULL,
    refunded_at         INTEGER
) STRICT;
CREATE INDEX refunds_done ON refunds(refunded_at) WHERE state = 'done';

-- Chargebacks: a dispute suspends the license while open; won, it is restored;
-- lost, it is revoked and counted as refunded.
CREATE TABLE disputes (
    provider     TEXT NOT NULL,
    dispute_id   TEXT NOT NULL,
    invoice_id   TEXT NOT NULL REFERENCES invoices(id),
    status       TEXT NOT NULL CHECK (status IN ('open', 'won', 'lost')),
    suspended    INTEGER NOT NULL CHECK (suspended IN (0, 1)), -- opening it suspended the license
    opened_at    INTEGER NOT NULL,
    closed_at    INTEGER,
    PRIMARY KEY (provider, dispute_id)
) STRICT;
CREATE INDEX disputes_invoice ON disputes(invoice_id);

-- Direct messages gain the kind 'refund' (a buyer told their purchase was
-- refunded or charged back). SQLite cannot change a CHECK: the table is rebuilt.
CREATE TABLE nostr_messages_new (
    id               TEXT PRIMARY KEY NOT NULL,
    kind             TEXT NOT NULL CHECK (kind IN ('license', 'recovery', 'operator', 'refund')),
    recipient        TEXT NOT NULL,
    license_id       TEXT REFERENCES licenses(id),
    notice           TEXT,
    text             TEXT,
    state            TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'failed')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  INTEGER NOT NULL,
    last_error       TEXT,
    event_id         TEXT,
    event_json       TEXT,
    acked_by         TEXT NOT NULL DEFAULT '[]',
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    delivered_at     INTEGER,
    CHECK ((kind = 'license') = (license_id IS NOT NULL))
) STRICT;
INSERT INTO nostr_messages_new SELECT id, kind, recipient, license_id, notice, text, state, attempts,
    next_attempt_at, last_error, event_id, event_json, acked_by, created_at, updated_at, delivered_at
    FROM nostr_messages;
DROP TABLE nostr_messages;
ALTER TABLE nostr_messages_new RENAME TO nostr_messages;
CREATE INDEX nostr_messages_due ON nostr_messages(next_attempt_at) WHERE state = 'pending';
CREATE INDEX nostr_messages_license ON nostr_messages(license_id) WHERE license_id IS NOT NULL;
CREATE INDEX nostr_messages_recipient ON nostr_messages(recipient, kind, created_at);
