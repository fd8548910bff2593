//! `/v1/admin/btcpay/*`: one-click connection (authorize link), store
//! choice, status, disconnect, and the manual fallback — thin over
//! `services::btcpay`.

use axum::extract::State;
use axum::Json;
use schemars::JsonSchema;
use serde::Deserialize;

use crate::http::error::ApiError;
use crate::http::extract::Json as JsonBody;
use crate::http::state::AppState;
use crate::services::btcpay::{self, AuthorizeLink, Connected, Disconnected, Status};
use crate::services::reconcile::{self, Report};

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConnectBody {
    btcpay_url: String,
}

/// Starts the one-click flow: the authorize link for the operator to open.
pub async fn connect(
    State(s): State<AppState>,
    JsonBody(b): JsonBody<ConnectBody>,
) -> Result<Json<AuthorizeLink>, ApiError> {
    Ok(Json(btcpay::begin(&s.core, &b.btcpay_url).await?))
}

pub async fn status(State(s): State<AppState>) -> Result<Json<Status>, ApiError> {
    Ok(Json(btcpay::status(&s.core).await?))
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StoreBody {
    store_id: String,
}

/// Picks the store when the key can use several.
pub async fn choose_store(
    State(s): State<AppState>,
    JsonBody(b): JsonBody<StoreBody>,
) -> Result<Json<Connected>, ApiError> {
    Ok(Json(btcpay::choose_store(&s.core, &b.store_id).await?))
}

pub async fn disconnect(State(s): State<AppState>) -> Result<Json<Disconnected>, ApiError> {
    Ok(Json(btcpay::disconnect(&s.core).await?))
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ManualBody {
    btcpay_url: String,
    api_key: String,
    store_id: String,
}

/// Connects with a key created by hand in BTCPay.
pub async fn manual(State(s): State<AppState>, JsonBody(b): JsonBody<ManualBody>) -> Result<Json<Connected>, ApiError> {
    Ok(Json(btcpay::manual(&s.core, &b.btcpay_url, &b.api_key, &b.store_id).await?))
}

/// Runs a reconciliation pass now and reports what it did.
pub async fn reconcile(State(s): State<AppState>) -> Json<Report> {
    Json(reconcile::run_pass(&s.core, true).await)
}
