//! `/v1/admin/settings` and `/v1/admin/stats`.

use std::sync::atomic::Ordering;

use axum::extract::State;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::app::AppState;
use crate::db::{self, audit::NewAudit};
use crate::domain::{now_unix, optional_text};
use crate::http::error::ApiError;
use crate::http::extract::{Admin, Json as JsonBody};

fn current(s: &AppState) -> Value {
    json!({
        "operator_name": s.operator_name(),
        "public_url": &*s.public_url,
        "public_key_pem": &*s.public_key_pem,
    })
}

pub async fn get(_: Admin, State(s): State<AppState>) -> Json<Value> {
    Json(current(&s))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SettingsBody {
    operator_name: Option<String>,
}

pub async fn put(
    _: Admin,
    State(s): State<AppState>,
    JsonBody(b): JsonBody<SettingsBody>,
) -> Result<Json<Value>, ApiError> {
    let name = optional_text("operator_name", b.operator_name, 120)?;
    let now = now_unix();
    let before = s.operator_name();
    let mut tx = s.db.begin().await?;
    match &name {
        Some(n) => db::settings::set(&mut *tx, db::settings::OPERATOR_NAME, n).await?,
        None => db::settings::delete(&mut *tx, db::settings::OPERATOR_NAME).await?,
    }
    db::audit::record(
        &mut tx,
        now,
        NewAudit {
            actor: "admin",
            action: "settings.update",
            target_type: "settings",
            target_id: "operator_name".into(),
            details: json!({ "before": before, "after": name }),
        },
    )
    .await?;
    tx.commit().await?;
    *s.operator_name.write().expect("operator name lock") = name;
    Ok(Json(current(&s)))
}

/// Counters an operator (and the benchmark) can read.
pub async fn stats(_: Admin, State(s): State<AppState>) -> Result<Json<Value>, ApiError> {
    let (licenses, machines, events) = db::events::table_counts(&s.db.read).await?;
    let q = &s.licensing.events;
    Ok(Json(json!({
        "licenses": licenses,
        "active_machines": machines,
        "validation_log_rows": events,
        "validation_events_written": q.written.load(Ordering::Relaxed),
        "validation_events_dropped": q.dropped.load(Ordering::Relaxed),
        "rate_limited_addresses_tracked": s.validate_limiter.tracked(),
    })))
}
