//! The payment provider connection and the connect flow's state tokens.

use sqlx::{Executor, Sqlite};

use super::Tx;

/// The stored provider connection.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Connection {
    pub provider: String,
    pub base_url: String,
    pub api_key: String,
    pub store_id: Option<String>,
    pub store_name: Option<String>,
    pub webhook_id: Option<String>,
    pub webhook_secret: Option<String>,
    pub connected_at: i64,
    pub last_webhook_at: Option<i64>,
    pub last_error: Option<String>,
    pub last_error_at: Option<i64>,
    /// BTCPay's id of the user who created the key, when BTCPay said.
    pub key_owner: Option<String>,
    /// The key's permissions when it was connected (JSON array); `None` for
    /// connections made before refunds existed.
    pub permissions: Option<String>,
}

pub async fn connection<'e, E: Executor<'e, Database = Sqlite>>(e: E) -> Result<Option<Connection>, sqlx::Error> {
    sqlx::query_as(
        "SELECT provider, base_url, api_key, store_id, store_name, webhook_id, webhook_secret, connected_at, \
         last_webhook_at, last_error, last_error_at, key_owner, permissions FROM payment_connection WHERE id = 1",
    )
    .fetch_optional(e)
    .await
}

/// Replaces the connection.
pub async fn put_connection(tx: &mut Tx, c: &Connection) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT OR REPLACE INTO payment_connection (id, provider, base_url, api_key, store_id, store_name, webhook_id, \
         webhook_secret, connected_at, last_webhook_at, last_error, last_error_at, key_owner, permissions) \
         VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(&c.provider)
    .bind(&c.base_url)
    .bind(&c.api_key)
    .bind(&c.store_id)
    .bind(&c.store_name)
    .bind(&c.webhook_id)
    .bind(&c.webhook_secret)
    .bind(c.connected_at)
    .bind(c.last_webhook_at)
    .bind(&c.last_error)
    .bind(c.last_error_at)
    .bind(&c.key_owner)
    .bind(&c.permissions)
    .execute(&mut **tx)
    .await
    .map(|_| ())
}

pub async fn delete_connection(tx: &mut Tx) -> Result<bool, sqlx::Error> {
    Ok(sqlx::query("DELETE FROM payment_connection").execute(&mut **tx).await?.rows_affected() > 0)
}

pub async fn webhook_received<'e, E: Executor<'e, Database = Sqlite>>(e: E, now: i64) -> Result<(), sqlx::Error> {
    mark_webhook(e, "payment_connection", now).await
}

/// Remembers (or with `None`, clears) the last error talking to the provider.
pub async fn set_error<'e, E: Executor<'e, Database = Sqlite>>(
    e: E,
    error: Option<&str>,
    now: i64,
) -> Result<(), sqlx::Error> {
    mark_error(e, "payment_connection", error, now).await
}

/// A provider connection's (one-row `table`'s) last webhook time; the card
/// rail's `stripe_connection` has the same columns.
pub(super) async fn mark_webhook<'e, E: Executor<'e, Database = Sqlite>>(
    e: E,
    table: &'static str,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(&format!("UPDATE {table} SET last_webhook_at = ? WHERE id = 1")).bind(now).execute(e).await.map(|_| ())
}

/// A provider connection's last error (cleared with `None`).
pub(super) async fn mark_error<'e, E: Executor<'e, Database = Sqlite>>(
    e: E,
    table: &'static str,
    error: Option<&str>,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(&format!("UPDATE {table} SET last_error = ?, last_error_at = ? WHERE id = 1"))
        .bind(error)
        .bind(error.map(|_| now))
        .execute(e)
        .await
        .map(|_| ())
}

pub async fn insert_state(
    tx: &mut Tx,
    token: &str,
    base_url: &str,
    now: i64,
    expires_at: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM connect_states WHERE expires_at < ?").bind(now).execute(&mut **tx).await?;
    sqlx::query("INSERT INTO connect_states (token, base_url, created_at, expires_at) VALUES (?, ?, ?, ?)")
        .bind(token)
        .bind(base_url)
        .bind(now)
        .bind(expires_at)
        .execute(&mut **tx)
        .await
        .map(|_| ())
}

/// Uses a state token once: its BTCPay address, if it exists, is unused and unexpired.
pub async fn take_state(tx: &mut Tx, token: &str, now: i64) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar(
        "UPDATE connect_states SET used_at = ? WHERE token = ? AND used_at IS NULL AND expires_at >= ? \
         RETURNING base_url",
    )
    .bind(now)
    .bind(token)
    .bind(now)
    .fetch_optional(&mut **tx)
    .await
}
