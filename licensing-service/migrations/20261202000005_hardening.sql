-- Hardening against a hostile internet (issue 11).

-- An Idempotency-Key answers only the request it was first used with: the
-- hash of method, path and body is kept beside the answer. Keys are stored
-- scoped to the client's address bucket (see http/idempotency.rs).
ALTER TABLE idempotency_keys ADD COLUMN request_hash TEXT NOT NULL DEFAULT '';

-- The address bucket an unpaid invoice came from, to cap open invoices per address.
ALTER TABLE invoices ADD COLUMN client_addr TEXT;
CREATE INDEX invoices_pending_addr ON invoices(client_addr) WHERE status = 'pending';
-- Why a provider invoice did not settle ours (store, amount or currency differ); NULL when it matched.
ALTER TABLE invoices ADD COLUMN mismatch TEXT;

-- What the prune job walks.
CREATE INDEX invoices_closed ON invoices(closed_at) WHERE status IN ('expired', 'invalid');
CREATE INDEX code_uses_released ON code_uses(updated_at) WHERE state = 'released';
CREATE INDEX machines_freed ON machines(deactivated_at) WHERE active = 0;
CREATE INDEX webhook_attempts_at ON webhook_attempts(at);
CREATE INDEX webhook_deliveries_done ON webhook_deliveries(updated_at) WHERE state != 'pending';

-- Who created the BTCPay API key Keysat uses (BTCPay's userId from the
-- authorize callback), shown to the operator so a swapped key is noticed.
ALTER TABLE payment_connection ADD COLUMN key_owner TEXT;
