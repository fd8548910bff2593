-- Discount, referral and free-license codes, their uses, and idempotent
-- replays of public POSTs.

CREATE TABLE discount_codes (
    id                  TEXT PRIMARY KEY NOT NULL,
    code                TEXT NOT NULL UNIQUE,            -- upper-case; codes are case-insensitive
    product_id          TEXT NOT NULL REFERENCES products(id),
    kind                TEXT NOT NULL CHECK (kind IN ('percent_off', 'fixed_sats_off', 'set_price_sats', 'free_license')),
    value               INTEGER,                         -- percent or sats; NULL for free_license
    policies            TEXT NOT NULL DEFAULT '[]',      -- policy slugs; empty = every tier
    max_uses            INTEGER CHECK (max_uses IS NULL OR max_uses >= 0),
    max_uses_per_buyer  INTEGER CHECK (max_uses_per_buyer IS NULL OR max_uses_per_buyer >= 1),
    valid_from          INTEGER,
    valid_until         INTEGER,
    active              INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    featured            INTEGER NOT NULL DEFAULT 0 CHECK (featured IN (0, 1)),
    referrer            TEXT,
    created_at          INTEGER NOT NULL,
    updated_at          INTEGER NOT NULL
) STRICT;
CREATE INDEX discount_codes_product ON discount_codes(product_id);

-- A use is reserved by a pending purchase and consumed when it settles (or at
-- once by a free redemption); an expired or invalid invoice releases it.
CREATE TABLE code_uses (
    id          TEXT PRIMARY KEY NOT NULL,
    code_id     TEXT NOT NULL REFERENCES discount_codes(id),
    state       TEXT NOT NULL CHECK (state IN ('reserved', 'consumed', 'released')),
    buyer       TEXT,                 -- lower-case e-mail or npub hex, for per-buyer limits
    invoice_id  TEXT UNIQUE,          -- one use per invoice
    license_id  TEXT,
    sats        INTEGER NOT NULL DEFAULT 0,   -- what the buyer paid with the code
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
) STRICT;
CREATE INDEX code_uses_code_state ON code_uses(code_id, state);
CREATE INDEX code_uses_code_buyer ON code_uses(code_id, buyer) WHERE buyer IS NOT NULL;

-- The first answer to a public POST carrying an Idempotency-Key, replayed for
-- 24 hours.
CREATE TABLE idempotency_keys (
    scope        TEXT NOT NULL,
    key          TEXT NOT NULL,
    status       INTEGER NOT NULL,
    body         TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    PRIMARY KEY (scope, key)
) STRICT;
CREATE INDEX idempotency_keys_created ON idempotency_keys(created_at);
