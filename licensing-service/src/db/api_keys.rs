//! Scoped admin API keys (`api_keys`): digests only.

use sqlx::{FromRow, SqliteExecutor};
use uuid::Uuid;

use super::Hyphenated;
use crate::domain::access::Scope;

#[derive(Debug, Clone, FromRow)]
pub struct ApiKey {
    #[sqlx(try_from = "Hyphenated")]
    pub id: Uuid,
    pub name: String,
    pub prefix: String,
    #[sqlx(json)]
    pub scopes: Vec<Scope>,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

const COLUMNS: &str = "id, name, prefix, scopes, created_at, last_used_at, revoked_at";

pub async fn insert(e: impl SqliteExecutor<'_>, k: &ApiKey, digest: &[u8; 32]) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO api_keys (id, name, prefix, key_digest, scopes, created_at) VALUES (?, ?, ?, ?, ?, ?)")
        .bind(k.id.to_string())
        .bind(&k.name)
        .bind(&k.prefix)
        .bind(&digest[..])
        .bind(serde_json::to_string(&k.scopes).expect("scopes serialise"))
        .bind(k.created_at)
        .execute(e)
        .await
        .map(|_| ())
}

/// The live (not revoked) key with this digest.
pub async fn by_digest(e: impl SqliteExecutor<'_>, digest: &[u8; 32]) -> Result<Option<ApiKey>, sqlx::Error> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM api_keys WHERE key_digest = ? AND revoked_at IS NULL"))
        .bind(&digest[..])
        .fetch_optional(e)
        .await
}

pub async fn by_id(e: impl SqliteExecutor<'_>, id: Uuid) -> Result<Option<ApiKey>, sqlx::Error> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM api_keys WHERE id = ?")).bind(id.to_string()).fetch_optional(e).await
}

/// Every key, newest first (revoked ones too, marked).
pub async fn list(e: impl SqliteExecutor<'_>) -> Result<Vec<ApiKey>, sqlx::Error> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM api_keys ORDER BY created_at DESC, rowid DESC")).fetch_all(e).await
}

pub async fn revoke(e: impl SqliteExecutor<'_>, id: Uuid, now: i64) -> Result<bool, sqlx::Error> {
    let r = sqlx::query("UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL")
        .bind(now)
        .bind(id.to_string())
        .execute(e)
        .await?;
    Ok(r.rows_affected() == 1)
}

pub async fn touch(e: impl SqliteExecutor<'_>, id: Uuid, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE api_keys SET last_used_at = ? WHERE id = ?")
        .bind(now)
        .bind(id.to_string())
        .execute(e)
        .await
        .map(|_| ())
}
