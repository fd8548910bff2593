//! `/v1/admin/products`: thin over `services::products`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use schemars::JsonSchema;
use serde::Serialize;

use crate::domain::catalog::ProductInput;
use crate::http::error::ApiError;
use crate::http::extract::Json as JsonBody;
use crate::http::state::AppState;
use crate::services::products;
use crate::services::views::{ProductDetails, ProductView};

pub async fn create(
    State(s): State<AppState>,
    JsonBody(input): JsonBody<ProductInput>,
) -> Result<(StatusCode, Json<ProductView>), ApiError> {
    Ok((StatusCode::CREATED, Json(products::create(&s.core, input).await?)))
}

#[derive(Serialize, JsonSchema)]
pub struct Products {
    products: Vec<ProductView>,
}

pub async fn list(State(s): State<AppState>) -> Result<Json<Products>, ApiError> {
    Ok(Json(Products { products: products::list(&s.core).await? }))
}

pub async fn get(State(s): State<AppState>, Path(slug): Path<String>) -> Result<Json<ProductDetails>, ApiError> {
    Ok(Json(products::details(&s.core, &slug).await?))
}

pub async fn patch(
    State(s): State<AppState>,
    Path(slug): Path<String>,
    JsonBody(input): JsonBody<ProductInput>,
) -> Result<Json<ProductView>, ApiError> {
    Ok(Json(products::update(&s.core, &slug, input).await?))
}
