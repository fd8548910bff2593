//! `/v1/admin/customers`: who bought, what they hold and paid — thin over
//! `services::customers`.

use axum::extract::{Path, Query, State};
use axum::Json;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::http::error::ApiError;
use crate::http::state::AppState;
use crate::services::customers;
use crate::services::views::{CustomerDetails, CustomerView};

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    q: Option<String>,
    cursor: Option<String>,
    limit: Option<i64>,
}

#[derive(Serialize, JsonSchema)]
pub struct CustomerPage {
    customers: Vec<CustomerView>,
    next_cursor: Option<String>,
}

pub async fn list(State(s): State<AppState>, Query(q): Query<ListQuery>) -> Result<Json<CustomerPage>, ApiError> {
    let offset = super::parse_cursor(q.cursor.as_deref())?.unwrap_or(0);
    if offset < 0 {
        return Err(ApiError::bad_request("invalid_request", "cursor: not a cursor from this API"));
    }
    let limit = super::page_size(q.limit) as usize;
    let page = customers::list(&s.core, q.q.as_deref(), offset as usize, limit).await?;
    Ok(Json(CustomerPage { customers: page.customers, next_cursor: page.next_cursor }))
}

pub async fn get(State(s): State<AppState>, Path(id): Path<String>) -> Result<Json<CustomerDetails>, ApiError> {
    Ok(Json(customers::details(&s.core, &id).await?))
}
