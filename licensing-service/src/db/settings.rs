//! Key/value settings and the secrets kept in the data volume.

use serde::de::DeserializeOwned;
use sqlx::types::Json;
use sqlx::{Executor, Sqlite};

/// Setting keys.
pub const OPERATOR_NAME: &str = "operator_name";
pub const ADMIN_API_KEY: &str = "admin_api_key";
/// The seller's contact, support and terms (JSON, `domain::seller::SellerIdentity`).
pub const SELLER_IDENTITY: &str = "seller_identity";

pub async fn get<'e, E: Executor<'e, Database = Sqlite>>(e: E, key: &str) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT value FROM settings WHERE key = ?").bind(key).fetch_optional(e).await
}

/// A setting holding JSON.
pub async fn get_json<'e, E, T>(e: E, key: &str) -> Result<Option<T>, sqlx::Error>
where
    E: Executor<'e, Database = Sqlite>,
    T: DeserializeOwned + Send + Unpin + 'static,
{
    let value: Option<Json<T>> =
        sqlx::query_scalar("SELECT value FROM settings WHERE key = ?").bind(key).fetch_optional(e).await?;
    Ok(value.map(|v| v.0))
}

pub async fn set<'e, E: Executor<'e, Database = Sqlite>>(e: E, key: &str, value: &str) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value")
        .bind(key)
        .bind(value)
        .execute(e)
        .await
        .map(|_| ())
}

pub async fn delete<'e, E: Executor<'e, Database = Sqlite>>(e: E, key: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM settings WHERE key = ?").bind(key).execute(e).await.map(|_| ())
}

/// The stored Ed25519 secret key bytes, if one exists.
pub async fn signing_key<'e, E: Executor<'e, Database = Sqlite>>(e: E) -> Result<Option<Vec<u8>>, sqlx::Error> {
    sqlx::query_scalar("SELECT secret_key FROM signing_keys WHERE id = 1").fetch_optional(e).await
}

/// Stores the signing key; only ever the first one (`id = 1`).
pub async fn insert_signing_key<'e, E: Executor<'e, Database = Sqlite>>(
    e: E,
    secret: &[u8; 32],
    public: &[u8; 32],
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO signing_keys (id, secret_key, public_key, created_at) VALUES (1, ?, ?, ?)")
        .bind(&secret[..])
        .bind(&public[..])
        .bind(now)
        .execute(e)
        .await
        .map(|_| ())
}
