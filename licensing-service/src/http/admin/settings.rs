//! `/v1/admin/settings` and `/v1/admin/stats`.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;

use axum::extract::State;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::app::AppState;
use crate::db::{self, audit::NewAudit};
use crate::domain::{now_unix, nullable, optional_text};
use crate::http::error::ApiError;
use crate::http::extract::Json as JsonBody;

async fn current(s: &AppState) -> Result<Value, ApiError> {
    let mut v = json!({
        "operator_name": s.operator_name(),
        "public_url": &*s.public_url,
        "public_key_pem": &*s.public_key_pem,
    });
    if let (Some(v), Value::Object(n)) = (v.as_object_mut(), super::notifications::current(&s.db.read).await?) {
        v.extend(n);
    }
    Ok(v)
}

pub async fn get(State(s): State<AppState>) -> Result<Json<Value>, ApiError> {
    Ok(Json(current(&s).await?))
}

/// Absent fields keep their value; `null` clears a nullable one.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SettingsBody {
    #[serde(default, deserialize_with = "nullable")]
    operator_name: Option<Option<String>>,
    /// Where operator notices go (npub or hex).
    #[serde(default, deserialize_with = "nullable")]
    operator_npub: Option<Option<String>>,
    /// Notice kind → on/off.
    notifications: Option<BTreeMap<String, bool>>,
}

pub async fn put(State(s): State<AppState>, JsonBody(b): JsonBody<SettingsBody>) -> Result<Json<Value>, ApiError> {
    let name = b.operator_name.map(|n| optional_text("operator_name", n, 120)).transpose()?;
    let now = now_unix();
    let before = s.operator_name();
    let mut tx = s.db.begin().await?;
    if let Some(name) = &name {
        match name {
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
    }
    super::notifications::apply(&mut tx, now, b.operator_npub, b.notifications).await?;
    tx.commit().await?;
    if let Some(name) = name {
        *s.operator_name.write().expect("operator name lock") = name;
    }
    Ok(Json(current(&s).await?))
}

/// Counters an operator (and the benchmark) can read.
pub async fn stats(State(s): State<AppState>) -> Result<Json<Value>, ApiError> {
    let (licenses, machines, events) = db::events::table_counts(&s.db.read).await?;
    let q = &s.licensing.events;
    Ok(Json(json!({
        "licenses": licenses,
        "active_machines": machines,
        "validation_log_rows": events,
        "validation_events_written": q.written.load(Ordering::Relaxed),
        "validation_events_dropped": q.dropped.load(Ordering::Relaxed),
        "rate_limited_addresses_tracked": s.validate_limiter.tracked(),
        "public_connections_open": s.connections.open(),
        "public_connections_refused_per_address_cap": s.connections.refused(),
    })))
}
