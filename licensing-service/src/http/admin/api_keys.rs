//! `/v1/admin/api-keys`: scoped keys for integrators — create (the key is
//! answered once, as `"key"`), list (never the key), revoke. Thin over
//! `services::api_keys`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use schemars::JsonSchema;
use serde::Deserialize;

use crate::http::error::ApiError;
use crate::http::extract::Json as JsonBody;
use crate::http::state::AppState;
use crate::services::api_keys::{self, ApiKeyView, CreatedKey};

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "ApiKeyCreate")]
pub struct CreateBody {
    name: String,
    scopes: Vec<String>,
}

pub async fn create(
    State(s): State<AppState>,
    JsonBody(b): JsonBody<CreateBody>,
) -> Result<(StatusCode, Json<CreatedKey>), ApiError> {
    Ok((StatusCode::CREATED, Json(api_keys::create(&s.core, &b.name, &b.scopes).await?)))
}

#[derive(serde::Serialize, JsonSchema)]
pub struct KeyList {
    api_keys: Vec<ApiKeyView>,
}

pub async fn list(State(s): State<AppState>) -> Result<Json<KeyList>, ApiError> {
    Ok(Json(KeyList { api_keys: api_keys::list(&s.core).await? }))
}

pub async fn revoke(State(s): State<AppState>, Path(id): Path<String>) -> Result<Json<ApiKeyView>, ApiError> {
    Ok(Json(api_keys::revoke(&s.core, &id).await?))
}
