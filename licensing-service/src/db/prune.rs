//! Forgetting rows that only history needs, so that spam cannot grow the
//! database without bound. Each statement deletes what is older than a
//! cutoff; freed pages are reused by later writes.

use sqlx::SqlitePool;

/// How many rows each prune removed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Pruned {
    pub idempotency_keys: u64,
    pub unpaid_invoices: u64,
    pub released_code_uses: u64,
    pub provider_events: u64,
    pub freed_machines: u64,
    pub webhook_attempts: u64,
    pub connect_states: u64,
}

impl Pruned {
    pub fn total(&self) -> u64 {
        self.idempotency_keys
            + self.unpaid_invoices
            + self.released_code_uses
            + self.provider_events
            + self.freed_machines
            + self.webhook_attempts
            + self.connect_states
    }
}

/// Cutoffs (unix seconds): rows older than these go.
#[derive(Debug, Clone, Copy)]
pub struct Cutoffs {
    /// Idempotency answers past their replay window.
    pub idempotency: i64,
    /// Never-paid invoices, released code holds, provider delivery records.
    pub unpaid: i64,
    /// Webhook attempt logs.
    pub history: i64,
    /// Freed seats: kept past `history` while the validation log, which
    /// names a seat's calls by its machine, may still hold them.
    pub freed_seats: i64,
    pub now: i64,
}

async fn delete(pool: &SqlitePool, sql: &str, cutoff: i64) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query(sql).bind(cutoff).execute(pool).await?.rows_affected())
}

pub async fn run(pool: &SqlitePool, c: Cutoffs) -> Result<Pruned, sqlx::Error> {
    Ok(Pruned {
        idempotency_keys: delete(pool, "DELETE FROM idempotency_keys WHERE created_at < ?", c.idempotency).await?,
        // Expired or invalid, never paid, no license, nothing for the operator
        // to look at (a mismatch stays); a late payment comes within a day.
        unpaid_invoices: delete(
            pool,
            "DELETE FROM invoices WHERE status IN ('expired', 'invalid') AND closed_at < ?1 \
             AND settled_at IS NULL AND mismatch IS NULL \
             AND NOT EXISTS (SELECT 1 FROM licenses l WHERE l.invoice_id = invoices.id)",
            c.unpaid,
        )
        .await?,
        released_code_uses: delete(pool, "DELETE FROM code_uses WHERE state = 'released' AND updated_at < ?", c.unpaid)
            .await?,
        // Replays of deliveries this old change nothing: their invoices are
        // settled (final) or gone.
        provider_events: delete(pool, "DELETE FROM provider_events WHERE received_at < ?", c.unpaid).await?,
        freed_machines: delete(pool, "DELETE FROM machines WHERE active = 0 AND deactivated_at < ?", c.freed_seats)
            .await?,
        webhook_attempts: delete(pool, "DELETE FROM webhook_attempts WHERE at < ?", c.history).await?,
        connect_states: delete(pool, "DELETE FROM connect_states WHERE expires_at < ?", c.now).await?,
    })
}
