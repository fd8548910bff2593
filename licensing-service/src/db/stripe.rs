//! The Stripe connection (one row at most), beside BTCPay's.

use sqlx::{Executor, Sqlite};

use super::Tx;

/// The stored Stripe connection.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Connection {
    pub secret_key: String,
    pub livemode: bool,
    pub webhook_id: String,
    pub webhook_secret: String,
    pub connected_at: i64,
    pub last_webhook_at: Option<i64>,
    pub last_error: Option<String>,
    pub last_error_at: Option<i64>,
}

pub async fn connection<'e, E: Executor<'e, Database = Sqlite>>(e: E) -> Result<Option<Connection>, sqlx::Error> {
    sqlx::query_as(
        "SELECT secret_key, livemode, webhook_id, webhook_secret, connected_at, last_webhook_at, last_error, \
         last_error_at FROM stripe_connection WHERE id = 1",
    )
    .fetch_optional(e)
    .await
}

/// Replaces the connection.
pub async fn put(tx: &mut Tx, c: &Connection) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT OR REPLACE INTO stripe_connection (id, secret_key, livemode, webhook_id, webhook_secret, \
         connected_at, last_webhook_at, last_error, last_error_at) VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(&c.secret_key)
    .bind(c.livemode)
    .bind(&c.webhook_id)
    .bind(&c.webhook_secret)
    .bind(c.connected_at)
    .bind(c.last_webhook_at)
    .bind(&c.last_error)
    .bind(c.last_error_at)
    .execute(&mut **tx)
    .await
    .map(|_| ())
}

pub async fn delete(tx: &mut Tx) -> Result<bool, sqlx::Error> {
    Ok(sqlx::query("DELETE FROM stripe_connection").execute(&mut **tx).await?.rows_affected() > 0)
}

pub async fn webhook_received<'e, E: Executor<'e, Database = Sqlite>>(e: E, now: i64) -> Result<(), sqlx::Error> {
    super::payments::mark_webhook(e, "stripe_connection", now).await
}

/// Remembers (or with `None`, clears) the last error talking to Stripe.
pub async fn set_error<'e, E: Executor<'e, Database = Sqlite>>(
    e: E,
    error: Option<&str>,
    now: i64,
) -> Result<(), sqlx::Error> {
    super::payments::mark_error(e, "stripe_connection", error, now).await
}

/// Unpaid card invoices.
pub async fn count_pending<'e, E: Executor<'e, Database = Sqlite>>(e: E) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT count(*) FROM invoices WHERE status = 'pending' AND provider = 'stripe'")
        .fetch_one(e)
        .await
}
