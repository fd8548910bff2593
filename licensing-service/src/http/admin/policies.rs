//! `/v1/admin/products/{slug}/policies`: thin over `services::products`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use schemars::JsonSchema;
use serde::Serialize;

use crate::domain::catalog::PolicyInput;
use crate::http::error::ApiError;
use crate::http::extract::Json as JsonBody;
use crate::http::state::AppState;
use crate::services::products;
use crate::services::views::PolicyView;

pub async fn create(
    State(s): State<AppState>,
    Path(slug): Path<String>,
    JsonBody(input): JsonBody<PolicyInput>,
) -> Result<(StatusCode, Json<PolicyView>), ApiError> {
    Ok((StatusCode::CREATED, Json(products::create_policy(&s.core, &slug, input).await?)))
}

#[derive(Serialize, JsonSchema)]
pub struct Policies {
    policies: Vec<PolicyView>,
}

pub async fn list(State(s): State<AppState>, Path(slug): Path<String>) -> Result<Json<Policies>, ApiError> {
    Ok(Json(Policies { policies: products::policies(&s.core, &slug).await? }))
}

pub async fn get(
    State(s): State<AppState>,
    Path((slug, policy_slug)): Path<(String, String)>,
) -> Result<Json<PolicyView>, ApiError> {
    Ok(Json(products::policy(&s.core, &slug, &policy_slug).await?))
}

pub async fn patch(
    State(s): State<AppState>,
    Path((slug, policy_slug)): Path<(String, String)>,
    JsonBody(input): JsonBody<PolicyInput>,
) -> Result<Json<PolicyView>, ApiError> {
    Ok(Json(products::update_policy(&s.core, &slug, &policy_slug, input).await?))
}
