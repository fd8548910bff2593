//! `/v1/admin/machines`: list seats, free one — thin over `services::licenses`.

use axum::extract::{Path, Query, State};
use axum::Json;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::http::error::ApiError;
use crate::http::extract::{parse_json, RawBody};
use crate::http::state::AppState;
use crate::services::licenses;
use crate::services::views::MachineView;

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    license_id: Option<String>,
    limit: Option<i64>,
}

#[derive(Serialize, JsonSchema)]
pub struct Machines {
    machines: Vec<MachineView>,
}

/// Machines of one license (all, active first) or, without `license_id`,
/// the most recently seen active machines.
pub async fn list(State(s): State<AppState>, Query(q): Query<ListQuery>) -> Result<Json<Machines>, ApiError> {
    let machines = licenses::machines(&s.core, q.license_id.as_deref(), super::page_size(q.limit)).await?;
    Ok(Json(Machines { machines }))
}

#[derive(Deserialize, Default, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DeactivateBody {
    reason: Option<String>,
}

pub async fn deactivate(
    State(s): State<AppState>,
    Path(id): Path<String>,
    RawBody(body): RawBody,
) -> Result<Json<MachineView>, ApiError> {
    let b: DeactivateBody =
        if body.iter().all(u8::is_ascii_whitespace) { DeactivateBody::default() } else { parse_json(&body)? };
    Ok(Json(licenses::free_machine(&s.core, &id, b.reason).await?))
}
