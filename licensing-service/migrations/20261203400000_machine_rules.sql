-- Issue 20: offline leases, air-gapped activation, self-service seats,
-- floating seats and one trial per machine.

-- A tier's machine rules (domain::machine_rules::MachineRules).
ALTER TABLE policies ADD COLUMN lease_seconds INTEGER NOT NULL DEFAULT 604800;
ALTER TABLE policies ADD COLUMN self_reset_limit INTEGER NOT NULL DEFAULT 3;
ALTER TABLE policies ADD COLUMN seat_timeout_seconds INTEGER NOT NULL DEFAULT 0;
ALTER TABLE policies ADD COLUMN one_trial_per_machine INTEGER NOT NULL DEFAULT 0
    CHECK (one_trial_per_machine IN (0, 1));

-- Floating seats: a seat lapses at last_seen_at + lapse_after (0 = never),
-- lapse_after being its policy's seat_timeout_seconds. The scheduler's scan
-- is a seek in this index, whatever the number of machines that never lapse.
ALTER TABLE machines ADD COLUMN lapse_after INTEGER NOT NULL DEFAULT 0;
CREATE INDEX machines_lapse ON machines(last_seen_at + lapse_after) WHERE active = 1 AND lapse_after > 0;

-- Seats freed by buyers themselves, counted against self_reset_limit.
CREATE TABLE seat_resets (
    license_id  TEXT NOT NULL,
    at          INTEGER NOT NULL,
    freed       INTEGER NOT NULL
) STRICT;
CREATE INDEX seat_resets_license ON seat_resets(license_id, at);

-- Machines that held a trial of a product: the first 10 bytes of SHA-256 of
-- the fingerprint (what an air-gapped challenge carries too), never the
-- fingerprint itself.
CREATE TABLE trial_machines (
    product_id          TEXT NOT NULL,
    fingerprint_prefix  BLOB NOT NULL CHECK (length(fingerprint_prefix) = 10),
    license_id          TEXT NOT NULL,
    first_at            INTEGER NOT NULL,
    PRIMARY KEY (product_id, fingerprint_prefix)
) STRICT, WITHOUT ROWID;

-- Air-gapped challenges answered: each is good once.
CREATE TABLE activation_challenges (
    license_id          TEXT NOT NULL,
    nonce               BLOB NOT NULL CHECK (length(nonce) = 10),
    fingerprint_prefix  BLOB NOT NULL CHECK (length(fingerprint_prefix) = 10),
    machine_id          TEXT NOT NULL,
    used_at             INTEGER NOT NULL,
    expires_at          INTEGER NOT NULL,
    PRIMARY KEY (license_id, nonce)
) STRICT, WITHOUT ROWID;
