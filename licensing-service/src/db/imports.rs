//! Which imported rows already became licenses (`license_imports`).

use sqlx::SqliteExecutor;
use uuid::Uuid;

use super::{Hyphenated, Tx};

/// The license an imported row became, if it was imported before.
pub async fn license_of(e: impl SqliteExecutor<'_>, reference: &str) -> Result<Option<Uuid>, sqlx::Error> {
    let id = sqlx::query_scalar::<_, Hyphenated>("SELECT license_id FROM license_imports WHERE reference = ?")
        .bind(reference)
        .fetch_optional(e)
        .await?;
    Ok(id.map(Uuid::from))
}

pub async fn record(tx: &mut Tx, reference: &str, license_id: Uuid, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO license_imports (reference, license_id, imported_at) VALUES (?, ?, ?)")
        .bind(reference)
        .bind(license_id.to_string())
        .bind(now)
        .execute(&mut **tx)
        .await
        .map(|_| ())
}
