//! Webhook endpoints: where the seller's systems hear of events.

use sqlx::{Executor, Sqlite, SqlitePool};
use uuid::Uuid;

use super::{Hyphenated, Tx};

/// An endpoint as stored (the secret included: it signs every body).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Endpoint {
    #[sqlx(try_from = "Hyphenated")]
    pub id: Uuid,
    pub url: String,
    pub description: Option<String>,
    #[sqlx(json)]
    pub events: Vec<String>,
    pub secret: String,
    pub active: bool,
    pub created_at: i64,
    pub updated_at: i64,
}

const COLUMNS: &str = "id, url, description, events, secret, active, created_at, updated_at";

pub async fn insert(tx: &mut Tx, e: &Endpoint) -> Result<(), sqlx::Error> {
    sqlx::query(&format!("INSERT INTO webhook_endpoints ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"))
        .bind(e.id.to_string())
        .bind(&e.url)
        .bind(&e.description)
        .bind(serde_json::to_string(&e.events).expect("strings serialise"))
        .bind(&e.secret)
        .bind(e.active)
        .bind(e.created_at)
        .bind(e.updated_at)
        .execute(&mut **tx)
        .await
        .map(|_| ())
}

/// Writes every changeable field of `e`.
pub async fn update(tx: &mut Tx, e: &Endpoint) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE webhook_endpoints SET url = ?, description = ?, events = ?, secret = ?, active = ?, updated_at = ? \
         WHERE id = ?",
    )
    .bind(&e.url)
    .bind(&e.description)
    .bind(serde_json::to_string(&e.events).expect("strings serialise"))
    .bind(&e.secret)
    .bind(e.active)
    .bind(e.updated_at)
    .bind(e.id.to_string())
    .execute(&mut **tx)
    .await
    .map(|_| ())
}

/// Deletes the endpoint with its deliveries and their log; false if unknown.
pub async fn delete(tx: &mut Tx, id: Uuid) -> Result<bool, sqlx::Error> {
    let done =
        sqlx::query("DELETE FROM webhook_endpoints WHERE id = ?").bind(id.to_string()).execute(&mut **tx).await?;
    Ok(done.rows_affected() == 1)
}

pub async fn by_id<'e, E: Executor<'e, Database = Sqlite>>(e: E, id: Uuid) -> Result<Option<Endpoint>, sqlx::Error> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM webhook_endpoints WHERE id = ?"))
        .bind(id.to_string())
        .fetch_optional(e)
        .await
}

/// Every endpoint, oldest first (by row within a second: ids made in one millisecond are not ordered).
pub async fn list(pool: &SqlitePool) -> Result<Vec<Endpoint>, sqlx::Error> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM webhook_endpoints ORDER BY created_at, rowid")).fetch_all(pool).await
}

/// Counts of an endpoint's deliveries by state: (pending, delivered, dead).
pub async fn delivery_counts(pool: &SqlitePool, id: Uuid) -> Result<(i64, i64, i64), sqlx::Error> {
    sqlx::query_as(
        "SELECT COALESCE(SUM(state = 'pending'), 0), COALESCE(SUM(state = 'delivered'), 0), \
         COALESCE(SUM(state = 'dead'), 0) FROM webhook_deliveries WHERE endpoint_id = ?",
    )
    .bind(id.to_string())
    .fetch_one(pool)
    .await
}
