//! The audit log: written in the same transaction as the change it records.

use serde::Serialize;
use sqlx::{QueryBuilder, Sqlite};

use super::Tx;

/// One audit record to write.
pub struct NewAudit<'a> {
    pub actor: &'a str,
    pub action: &'a str,
    pub target_type: &'a str,
    pub target_id: String,
    pub details: serde_json::Value,
}

/// An audit record: held until it is written (see [`record_all`]), or read.
#[derive(Debug, Serialize, sqlx::FromRow)]
pub struct Held {
    pub at: i64,
    pub actor: String,
    pub action: String,
    pub target_type: String,
    pub target_id: String,
    /// The details, as JSON text.
    pub details: String,
}

/// Writes `all` in one statement (one bound JSON array, so the statement
/// is the same whatever the count), in their order: their ids ascend as if
/// they had been written one by one.
pub async fn record_all(tx: &mut Tx, all: &[Held]) -> Result<(), sqlx::Error> {
    if all.is_empty() {
        return Ok(());
    }
    let rows = serde_json::to_string(all).expect("audit records serialise");
    sqlx::query(
        "INSERT INTO audit_log (at, actor, action, target_type, target_id, details) \
         SELECT j.value ->> 'at', j.value ->> 'actor', j.value ->> 'action', j.value ->> 'target_type', \
                j.value ->> 'target_id', j.value ->> 'details' \
         FROM json_each(?) j ORDER BY j.key",
    )
    .bind(rows)
    .execute(&mut **tx)
    .await
    .map(|_| ())
}

pub async fn record(tx: &mut Tx, now: i64, a: NewAudit<'_>) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO audit_log (at, actor, action, target_type, target_id, details) VALUES (?, ?, ?, ?, ?, ?)")
        .bind(now)
        .bind(a.actor)
        .bind(a.action)
        .bind(a.target_type)
        .bind(&a.target_id)
        .bind(a.details.to_string())
        .execute(&mut **tx)
        .await
        .map(|_| ())
}

/// A stored audit record.
#[derive(Debug, sqlx::FromRow)]
pub struct AuditRow {
    pub id: i64,
    #[sqlx(flatten)]
    pub record: Held,
}

/// Filters for listing; every one optional. Newest first, `before_id` pages.
#[derive(Debug, Default)]
pub struct AuditFilter {
    pub action: Option<String>,
    pub target_id: Option<String>,
    pub target_type: Option<String>,
    pub since: Option<i64>,
    pub until: Option<i64>,
    pub before_id: Option<i64>,
    pub limit: i64,
}

pub async fn list(pool: &sqlx::SqlitePool, f: &AuditFilter) -> Result<Vec<AuditRow>, sqlx::Error> {
    let mut q: QueryBuilder<Sqlite> =
        QueryBuilder::new("SELECT id, at, actor, action, target_type, target_id, details FROM audit_log WHERE 1 = 1");
    if let Some(a) = &f.action {
        q.push(" AND action = ").push_bind(a.clone());
    }
    if let Some(t) = &f.target_id {
        q.push(" AND target_id = ").push_bind(t.clone());
    }
    if let Some(t) = &f.target_type {
        q.push(" AND target_type = ").push_bind(t.clone());
    }
    if let Some(s) = f.since {
        q.push(" AND at >= ").push_bind(s);
    }
    if let Some(u) = f.until {
        q.push(" AND at < ").push_bind(u);
    }
    if let Some(b) = f.before_id {
        q.push(" AND id < ").push_bind(b);
    }
    q.push(" ORDER BY id DESC LIMIT ").push_bind(f.limit);
    q.build_query_as().fetch_all(pool).await
}
