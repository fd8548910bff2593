//! `GET /v1/admin/audit`.

use axum::extract::{Query, State};
use axum::Json;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::db;
use crate::http::error::ApiError;
use crate::http::state::AppState;
use crate::http::views::parse_time;
use crate::services::views::AuditEntry;

#[derive(Serialize, JsonSchema)]
pub struct AuditPage {
    entries: Vec<AuditEntry>,
    next_cursor: Option<i64>,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    action: Option<String>,
    target: Option<String>,
    target_type: Option<String>,
    since: Option<String>,
    until: Option<String>,
    cursor: Option<i64>,
    limit: Option<i64>,
}

pub async fn list(State(s): State<AppState>, Query(q): Query<AuditQuery>) -> Result<Json<AuditPage>, ApiError> {
    let limit = super::page_size(q.limit);
    let rows = db::audit::list(
        &s.db.read,
        &db::audit::AuditFilter {
            action: q.action,
            target_id: q.target,
            target_type: q.target_type,
            since: q.since.as_deref().map(|v| parse_time("since", v)).transpose()?,
            until: q.until.as_deref().map(|v| parse_time("until", v)).transpose()?,
            before_id: q.cursor,
            limit,
        },
    )
    .await?;
    let next_cursor = (rows.len() as i64 == limit).then(|| rows.last().map(|a| a.id)).flatten();
    Ok(Json(AuditPage { entries: rows.iter().map(AuditEntry::from).collect(), next_cursor }))
}
