-- Recurring revenue (issue 14): subscriptions that renew, upgrades along a
-- product's tier ladder, per-license adjustments by the operator.

-- How long before the end of a period the buyer is asked to renew (7 days).
ALTER TABLE policies ADD COLUMN renewal_notice_seconds INTEGER NOT NULL DEFAULT 604800
    CHECK (renewal_notice_seconds >= 0);

-- What an invoice pays for: a new license (purchase), another period of
-- license `target_license_id` (renewal), or moving it to the invoice's tier (upgrade).
ALTER TABLE invoices ADD COLUMN purpose TEXT NOT NULL DEFAULT 'purchase'
    CHECK (purpose IN ('purchase', 'renewal', 'upgrade'));
ALTER TABLE invoices ADD COLUMN target_license_id TEXT REFERENCES licenses(id);
CREATE INDEX invoices_target_license ON invoices(target_license_id) WHERE target_license_id IS NOT NULL;

-- One per license of a recurring tier. The period end is the license's
-- expires_at; the scheduler moves the state forward as times pass.
CREATE TABLE subscriptions (
    id                  TEXT PRIMARY KEY NOT NULL,
    license_id          TEXT NOT NULL UNIQUE REFERENCES licenses(id),
    product_id          TEXT NOT NULL REFERENCES products(id),
    policy_id           TEXT NOT NULL REFERENCES policies(id),     -- the tier it renews at
    next_policy_id      TEXT REFERENCES policies(id),              -- a downgrade waiting for the next renewal
    state               TEXT NOT NULL CHECK (state IN ('active', 'notice', 'past_due', 'lapsed', 'canceled')),
    period_seconds      INTEGER NOT NULL CHECK (period_seconds > 0),
    current_period_end  INTEGER NOT NULL,
    notice_at           INTEGER NOT NULL,
    grace_until         INTEGER NOT NULL,
    renewals            INTEGER NOT NULL DEFAULT 0,
    canceled_at         INTEGER,
    canceled_by         TEXT,
    cancel_reason       TEXT,
    created_at          INTEGER NOT NULL,
    updated_at          INTEGER NOT NULL
) STRICT;
-- What the scheduler looks for, each an index seek.
CREATE INDEX subscriptions_notice ON subscriptions(notice_at) WHERE state = 'active';
CREATE INDEX subscriptions_period_end ON subscriptions(current_period_end) WHERE state IN ('active', 'notice');
CREATE INDEX subscriptions_grace ON subscriptions(grace_until) WHERE state = 'past_due';
CREATE INDEX subscriptions_product ON subscriptions(product_id, state);

-- Every change to an issued license's terms: a paid period (renewal,
-- upgrade), a tier changed by the operator, an adjustment. `reference`
-- (our invoice id, or a provider's id of a paid renewal) is applied once.
CREATE TABLE license_changes (
    id               TEXT PRIMARY KEY NOT NULL,
    license_id       TEXT NOT NULL REFERENCES licenses(id),
    kind             TEXT NOT NULL CHECK (kind IN ('renewal', 'upgrade', 'change_tier', 'adjust')),
    reference        TEXT UNIQUE,
    invoice_id       TEXT,
    from_policy_id   TEXT NOT NULL,
    to_policy_id     TEXT NOT NULL,
    -- The period paid for (renewal, upgrade, change_tier); period_end 0 = perpetual.
    period_start     INTEGER,
    period_end       INTEGER,
    paid_sats        INTEGER NOT NULL DEFAULT 0,
    paid_amount      TEXT,
    paid_currency    TEXT,
    old_expires_at   INTEGER NOT NULL,
    new_expires_at   INTEGER NOT NULL,
    actor            TEXT NOT NULL,
    created_at       INTEGER NOT NULL,
    CHECK ((paid_amount IS NULL) = (paid_currency IS NULL))
) STRICT;
CREATE INDEX license_changes_license ON license_changes(license_id, created_at);

-- nostr_messages of kind 'license' now say why in `notice`: NULL (issued),
-- 'renewed', 'upgraded', 'updated' (the current key, rendered when sent) or
-- 'renewal_due' (its text given when queued). No schema change is needed.
