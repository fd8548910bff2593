//! `/v1/admin/webhook-endpoints` (where events go; the secret is shown once)
//! and `/v1/admin/webhook-deliveries` (the delivery log, manual redeliver) —
//! thin over `services::webhooks`.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::domain::nullable;
use crate::http::error::ApiError;
use crate::http::extract::Json as JsonBody;
use crate::http::state::AppState;
use crate::services::webhooks::{
    self, DeliveryDetails, DeliveryPage, DeliveryQuery, EndpointChange, EndpointWithCounts, EndpointWithSecret,
    NewEndpoint, Redelivered, Updated,
};

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "EndpointCreate")]
pub struct CreateBody {
    url: String,
    events: Vec<String>,
    description: Option<String>,
    active: Option<bool>,
}

pub async fn create(
    State(s): State<AppState>,
    JsonBody(b): JsonBody<CreateBody>,
) -> Result<(StatusCode, Json<EndpointWithSecret>), ApiError> {
    let input = NewEndpoint { url: b.url, events: b.events, description: b.description, active: b.active };
    Ok((StatusCode::CREATED, Json(webhooks::create(&s.core, input).await?)))
}

#[derive(Serialize, JsonSchema)]
pub struct Endpoints {
    endpoints: Vec<EndpointWithCounts>,
}

pub async fn list(State(s): State<AppState>) -> Result<Json<Endpoints>, ApiError> {
    Ok(Json(Endpoints { endpoints: webhooks::list(&s.core).await? }))
}

pub async fn get(State(s): State<AppState>, Path(id): Path<String>) -> Result<Json<EndpointWithCounts>, ApiError> {
    Ok(Json(webhooks::get(&s.core, &id).await?))
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "EndpointPatch")]
pub struct PatchBody {
    url: Option<String>,
    events: Option<Vec<String>>,
    #[serde(default, deserialize_with = "nullable")]
    description: Option<Option<String>>,
    active: Option<bool>,
    /// Replaces the secret; the answer shows the new one, once.
    #[serde(default)]
    rotate_secret: bool,
}

pub async fn patch(
    State(s): State<AppState>,
    Path(id): Path<String>,
    JsonBody(b): JsonBody<PatchBody>,
) -> Result<Json<Updated>, ApiError> {
    let change = EndpointChange {
        url: b.url,
        events: b.events,
        description: b.description,
        active: b.active,
        rotate_secret: b.rotate_secret,
    };
    Ok(Json(webhooks::update(&s.core, &id, change).await?))
}

pub async fn delete(State(s): State<AppState>, Path(id): Path<String>) -> Result<StatusCode, ApiError> {
    webhooks::delete(&s.core, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DeliveriesQuery {
    endpoint_id: Option<String>,
    event_id: Option<String>,
    state: Option<String>,
    cursor: Option<String>,
    limit: Option<i64>,
}

pub async fn deliveries(
    State(s): State<AppState>,
    Query(q): Query<DeliveriesQuery>,
) -> Result<Json<DeliveryPage>, ApiError> {
    let query = DeliveryQuery {
        endpoint_id: q.endpoint_id,
        event_id: q.event_id,
        state: q.state,
        before_rowid: super::parse_cursor(q.cursor.as_deref())?,
        limit: super::page_size(q.limit),
    };
    Ok(Json(webhooks::deliveries(&s.core, query).await?))
}

pub async fn delivery(State(s): State<AppState>, Path(id): Path<String>) -> Result<Json<DeliveryDetails>, ApiError> {
    Ok(Json(webhooks::delivery(&s.core, &id).await?))
}

/// Sends the delivery again now, whatever its state; answers with the
/// attempt and the delivery as it stands after it.
pub async fn retry(State(s): State<AppState>, Path(id): Path<String>) -> Result<Json<Redelivered>, ApiError> {
    Ok(Json(webhooks::retry(&s.core, &id).await?))
}
