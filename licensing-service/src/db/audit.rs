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

/// Writes several records in one statement, in the order given (their ids ascend in it).
pub async fn record_all(tx: &mut Tx, now: i64, all: &[NewAudit<'_>]) -> Result<(), sqlx::Error> {
    if all.is_empty() {
        return Ok(());
    }
    let mut q: QueryBuilder<Sqlite> =
        QueryBuilder::new("INSERT INTO audit_log (at, actor, action, target_type, target_id, details) ");
    q.push_values(all, |mut row, a| {
        row.push_bind(now)
            .push_bind(a.actor)
            .push_bind(a.action)
            .push_bind(a.target_type)
            .push_bind(&a.target_id)
            .push_bind(a.details.to_string());
    });
    q.build().persistent(true).execute(&mut **tx).await.map(|_| ())
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
#[derive(Debug, Serialize, sqlx::FromRow)]
pub struct AuditRow {
    pub id: i64,
    pub at: i64,
    pub actor: String,
    pub action: String,
    pub target_type: String,
    pub target_id: String,
    pub details: String,
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
