//! `/v1/admin/stripe/*`: connect with a secret key, status, disconnect,
//! reconcile — thin over `services::stripe`.

use axum::extract::State;
use axum::Json;
use schemars::JsonSchema;
use serde::Deserialize;

use crate::http::error::ApiError;
use crate::http::extract::Json as JsonBody;
use crate::http::state::AppState;
use crate::services::reconcile::{self, Report};
use crate::services::stripe::{self, Connected, Disconnected, Status};

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "StripeConnectBody")]
pub struct ConnectBody {
    secret_key: String,
}

/// Checks the key, registers Keysat's webhook endpoint at Stripe.
pub async fn connect(
    State(s): State<AppState>,
    JsonBody(b): JsonBody<ConnectBody>,
) -> Result<Json<Connected>, ApiError> {
    Ok(Json(stripe::connect(&s.core, &b.secret_key).await?))
}

pub async fn status(State(s): State<AppState>) -> Result<Json<Status>, ApiError> {
    Ok(Json(stripe::status(&s.core).await?))
}

pub async fn disconnect(State(s): State<AppState>) -> Result<Json<Disconnected>, ApiError> {
    Ok(Json(stripe::disconnect(&s.core).await?))
}

/// Runs a reconciliation pass (both rails) now and reports what it did.
pub async fn reconcile(State(s): State<AppState>) -> Json<Report> {
    Json(reconcile::run_pass(&s.core, true).await)
}
