//! Refunds (at most one, whole, per invoice) and disputes (chargebacks).

use sqlx::{Executor, Sqlite};
use uuid::Uuid;

use super::Tx;

/// A refund as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Refund {
    pub invoice_id: String,
    /// `requested` (the provider is being asked) or `done`.
    pub state: String,
    pub provider: String,
    pub provider_refund_id: Option<String>,
    pub amount: Option<String>,
    pub currency: Option<String>,
    pub amount_sats: i64,
    pub claim_url: Option<String>,
    pub reason: String,
    pub revoke: bool,
    /// `admin`, `stripe` (Stripe's own refund event) or `dispute` (a chargeback lost).
    pub source: String,
    pub actor: String,
    pub requested_at: i64,
    pub refunded_at: Option<i64>,
}

impl Refund {
    pub fn is_done(&self) -> bool {
        self.state == "done"
    }
}

const COLUMNS: &str = "invoice_id, state, provider, provider_refund_id, amount, currency, amount_sats, claim_url, \
    reason, revoke, source, actor, requested_at, refunded_at";

pub async fn for_invoice<'e, E: Executor<'e, Database = Sqlite>>(
    e: E,
    invoice_id: Uuid,
) -> Result<Option<Refund>, sqlx::Error> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM refunds WHERE invoice_id = ?"))
        .bind(invoice_id.to_string())
        .fetch_optional(e)
        .await
}

/// Adds a refund row unless the invoice has one; true when this call added it.
pub async fn insert(tx: &mut Tx, r: &Refund) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(&format!(
        "INSERT INTO refunds ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING"
    ))
    .bind(&r.invoice_id)
    .bind(&r.state)
    .bind(&r.provider)
    .bind(&r.provider_refund_id)
    .bind(&r.amount)
    .bind(&r.currency)
    .bind(r.amount_sats)
    .bind(&r.claim_url)
    .bind(&r.reason)
    .bind(r.revoke)
    .bind(&r.source)
    .bind(&r.actor)
    .bind(r.requested_at)
    .bind(r.refunded_at)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Completes a requested refund with what the provider answered; true when
/// this call completed it (false: it was done already).
pub async fn complete(tx: &mut Tx, r: &Refund, now: i64) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE refunds SET state = 'done', provider_refund_id = coalesce(?, provider_refund_id), \
         amount = coalesce(?, amount), currency = coalesce(?, currency), claim_url = coalesce(?, claim_url), \
         refunded_at = ? WHERE invoice_id = ? AND state = 'requested'",
    )
    .bind(&r.provider_refund_id)
    .bind(&r.amount)
    .bind(&r.currency)
    .bind(&r.claim_url)
    .bind(now)
    .bind(&r.invoice_id)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Adds the provider's ids to a done refund that lacks them (the provider's
/// event applied it before the operator's call came back).
pub async fn fill(tx: &mut Tx, r: &Refund) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE refunds SET provider_refund_id = coalesce(provider_refund_id, ?), claim_url = coalesce(claim_url, ?) \
         WHERE invoice_id = ?",
    )
    .bind(&r.provider_refund_id)
    .bind(&r.claim_url)
    .bind(&r.invoice_id)
    .execute(&mut **tx)
    .await
    .map(|_| ())
}

/// Forgets a request the provider refused (so it can be asked again).
pub async fn forget_request<'e, E: Executor<'e, Database = Sqlite>>(e: E, invoice_id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM refunds WHERE invoice_id = ? AND state = 'requested'")
        .bind(invoice_id.to_string())
        .execute(e)
        .await
        .map(|_| ())
}

/// Refunds done in `[from, to)`, each as the sale it undoes (dated when
/// refunded, with what was refunded): revenue subtracts each once.
pub async fn done_between<'e, E: Executor<'e, Database = Sqlite>>(
    e: E,
    from: i64,
    to: i64,
) -> Result<Vec<super::sales::Sale>, sqlx::Error> {
    sqlx::query_as(
        "SELECT i.id AS invoice_id, r.refunded_at AS settled_at, i.product_id, i.policy_id, i.provider, c.code, \
         r.amount_sats AS amount_sats, i.price_amount, i.price_currency, i.buyer_email, i.buyer_npub \
         FROM refunds r JOIN invoices i ON i.id = r.invoice_id LEFT JOIN discount_codes c ON c.id = i.code_id \
         WHERE r.state = 'done' AND r.refunded_at >= ? AND r.refunded_at < ? ORDER BY r.refunded_at",
    )
    .bind(from)
    .bind(to)
    .fetch_all(e)
    .await
}

/// A dispute as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Dispute {
    pub provider: String,
    pub dispute_id: String,
    pub invoice_id: String,
    /// `open`, `won` or `lost`.
    pub status: String,
    /// Opening it suspended the license (so winning it unsuspends).
    pub suspended: bool,
    pub opened_at: i64,
    pub closed_at: Option<i64>,
}

pub async fn dispute<'e, E: Executor<'e, Database = Sqlite>>(
    e: E,
    provider: &str,
    dispute_id: &str,
) -> Result<Option<Dispute>, sqlx::Error> {
    sqlx::query_as(
        "SELECT provider, dispute_id, invoice_id, status, suspended, opened_at, closed_at FROM disputes \
         WHERE provider = ? AND dispute_id = ?",
    )
    .bind(provider)
    .bind(dispute_id)
    .fetch_optional(e)
    .await
}

pub async fn open_dispute(tx: &mut Tx, d: &Dispute) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "INSERT INTO disputes (provider, dispute_id, invoice_id, status, suspended, opened_at) \
         VALUES (?, ?, ?, 'open', ?, ?) ON CONFLICT DO NOTHING",
    )
    .bind(&d.provider)
    .bind(&d.dispute_id)
    .bind(&d.invoice_id)
    .bind(d.suspended)
    .bind(d.opened_at)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Closes an open dispute as `won` or `lost`; true when this call closed it.
pub async fn close_dispute(
    tx: &mut Tx,
    provider: &str,
    dispute_id: &str,
    status: &str,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE disputes SET status = ?, closed_at = ? WHERE provider = ? AND dispute_id = ? AND status = 'open'",
    )
    .bind(status)
    .bind(now)
    .bind(provider)
    .bind(dispute_id)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}
