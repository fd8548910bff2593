//! `POST /v1/admin/invoices/{id}/refund` — thin over `services::refunds`.

use axum::extract::{Path, State};
use axum::Json;
use schemars::JsonSchema;
use serde::Deserialize;

use crate::http::error::ApiError;
use crate::http::extract::Json as JsonBody;
use crate::http::state::AppState;
use crate::services::refunds::{self, RefundInput, RefundView};

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RefundBody {
    reason: Option<String>,
    /// Revoke the license too (default true).
    revoke: Option<bool>,
}

/// Refunds a paid invoice at its provider and (by default) revokes its license.
pub async fn refund(
    State(s): State<AppState>,
    Path(id): Path<String>,
    JsonBody(b): JsonBody<RefundBody>,
) -> Result<Json<RefundView>, ApiError> {
    Ok(Json(refunds::refund(&s.core, &id, RefundInput { reason: b.reason, revoke: b.revoke }).await?))
}
