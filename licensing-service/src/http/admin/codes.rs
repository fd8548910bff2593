//! `/v1/admin/discount-codes`: create (or generate), list, get with usage
//! statistics, patch, disable / enable, delete when never used — thin over
//! `services::codes`.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::domain::nullable;
use crate::http::error::ApiError;
use crate::http::extract::Json as JsonBody;
use crate::http::state::AppState;
use crate::http::views::parse_time;
use crate::services::codes::{self, CodeChange, CodeView, Deleted, NewCode};

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "CodeCreate")]
pub struct CreateBody {
    code: Option<String>,
    product_slug: String,
    kind: String,
    value: Option<i64>,
    policies: Option<Vec<String>>,
    max_uses: Option<i64>,
    max_uses_per_buyer: Option<i64>,
    valid_from: Option<String>,
    valid_until: Option<String>,
    featured: Option<bool>,
    referrer: Option<String>,
}

#[derive(Deserialize, Default, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "CodePatch")]
pub struct PatchBody {
    kind: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    value: Option<Option<i64>>,
    policies: Option<Vec<String>>,
    #[serde(default, deserialize_with = "nullable")]
    max_uses: Option<Option<i64>>,
    #[serde(default, deserialize_with = "nullable")]
    max_uses_per_buyer: Option<Option<i64>>,
    #[serde(default, deserialize_with = "nullable")]
    valid_from: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    valid_until: Option<Option<String>>,
    active: Option<bool>,
    featured: Option<bool>,
    #[serde(default, deserialize_with = "nullable")]
    referrer: Option<Option<String>>,
}

/// An optional RFC 3339 (or unix seconds) time of the body.
fn time(field: &'static str, v: Option<&str>) -> Result<Option<i64>, ApiError> {
    v.map(|v| parse_time(field, v)).transpose()
}

pub async fn create(
    State(s): State<AppState>,
    JsonBody(b): JsonBody<CreateBody>,
) -> Result<(StatusCode, Json<CodeView>), ApiError> {
    let input = NewCode {
        valid_from: time("valid_from", b.valid_from.as_deref())?,
        valid_until: time("valid_until", b.valid_until.as_deref())?,
        code: b.code,
        product_slug: b.product_slug,
        kind: b.kind,
        value: b.value,
        policies: b.policies,
        max_uses: b.max_uses,
        max_uses_per_buyer: b.max_uses_per_buyer,
        featured: b.featured,
        referrer: b.referrer,
    };
    Ok((StatusCode::CREATED, Json(codes::create(&s.core, input).await?)))
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    product: Option<String>,
}

#[derive(Serialize, JsonSchema)]
pub struct Codes {
    discount_codes: Vec<CodeView>,
}

pub async fn list(State(s): State<AppState>, Query(q): Query<ListQuery>) -> Result<Json<Codes>, ApiError> {
    Ok(Json(Codes { discount_codes: codes::list(&s.core, q.product.as_deref()).await? }))
}

pub async fn get(State(s): State<AppState>, Path(code): Path<String>) -> Result<Json<CodeView>, ApiError> {
    Ok(Json(codes::get(&s.core, &code).await?))
}

pub async fn patch(
    State(s): State<AppState>,
    Path(code): Path<String>,
    JsonBody(b): JsonBody<PatchBody>,
) -> Result<Json<CodeView>, ApiError> {
    let change = CodeChange {
        valid_from: b.valid_from.map(|v| time("valid_from", v.as_deref())).transpose()?,
        valid_until: b.valid_until.map(|v| time("valid_until", v.as_deref())).transpose()?,
        kind: b.kind,
        value: b.value,
        policies: b.policies,
        max_uses: b.max_uses,
        max_uses_per_buyer: b.max_uses_per_buyer,
        active: b.active,
        featured: b.featured,
        referrer: b.referrer,
    };
    Ok(Json(codes::update(&s.core, &code, change).await?))
}

pub async fn disable(State(s): State<AppState>, Path(code): Path<String>) -> Result<Json<CodeView>, ApiError> {
    Ok(Json(codes::set_active(&s.core, &code, false).await?))
}

pub async fn enable(State(s): State<AppState>, Path(code): Path<String>) -> Result<Json<CodeView>, ApiError> {
    Ok(Json(codes::set_active(&s.core, &code, true).await?))
}

pub async fn delete(State(s): State<AppState>, Path(code): Path<String>) -> Result<Json<Deleted>, ApiError> {
    Ok(Json(codes::delete(&s.core, &code).await?))
}
