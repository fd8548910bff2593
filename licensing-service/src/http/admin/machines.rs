//! `/v1/admin/machines`: list seats, free one.

use axum::extract::{Path, Query, State};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::db::{self, audit::NewAudit};
use crate::domain::optional_text;
use crate::http::error::ApiError;
use crate::http::extract::{parse_json, RawBody};
use crate::http::state::AppState;
use crate::http::views;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    license_id: Option<String>,
    limit: Option<i64>,
}

/// Machines of one license (all, active first) or, without `license_id`,
/// the most recently seen active machines.
pub async fn list(State(s): State<AppState>, Query(q): Query<ListQuery>) -> Result<Json<Value>, ApiError> {
    let machines = match &q.license_id {
        Some(id) => {
            let id = Uuid::parse_str(id)
                .map_err(|_| ApiError::bad_request("invalid_request", "license_id: not a license id"))?;
            if db::licenses::by_id(&s.db.read, id).await?.is_none() {
                return Err(ApiError::not_found(format!("no license '{id}'")));
            }
            db::machines::for_license(&s.db.read, id).await?
        }
        None => db::machines::recent(&s.db.read, super::page_size(q.limit)).await?,
    };
    Ok(Json(json!({ "machines": machines.iter().map(views::machine).collect::<Vec<_>>() })))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct DeactivateBody {
    reason: Option<String>,
}

pub async fn deactivate(
    State(s): State<AppState>,
    Path(id): Path<String>,
    RawBody(body): RawBody,
) -> Result<Json<Value>, ApiError> {
    let id = Uuid::parse_str(&id).map_err(|_| ApiError::not_found(format!("no machine '{id}'")))?;
    let b: DeactivateBody =
        if body.iter().all(u8::is_ascii_whitespace) { DeactivateBody::default() } else { parse_json(&body)? };
    let reason = optional_text("reason", b.reason, 500)?.unwrap_or_else(|| "deactivated by the operator".into());
    let m =
        db::machines::by_id(&s.db.read, id).await?.ok_or_else(|| ApiError::not_found(format!("no machine '{id}'")))?;
    let audit = NewAudit {
        actor: "admin",
        action: "machine.deactivate",
        target_type: "machine",
        target_id: id.to_string(),
        details: json!({ "license_id": m.license_id, "fingerprint": m.fingerprint, "reason": reason }),
    };
    if s.licensing.free_seat(id, m.license_id, &reason, Some(audit)).await?.is_none() {
        return Err(ApiError::conflict("already_inactive", "the machine holds no seat"));
    }
    let m = db::machines::by_id(&s.db.write, id).await?.ok_or_else(ApiError::internal)?;
    Ok(Json(views::machine(&m)))
}
