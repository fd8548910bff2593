//! `/v1/admin/invoices` and `/v1/admin/revenue`: what sold, for how much —
//! thin over `services::sales`.

use axum::extract::{Path, Query, State};
use axum::Json;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::domain::now_unix;
use crate::http::error::ApiError;
use crate::http::state::AppState;
use crate::http::views::parse_time;
use crate::services::sales::{self, GroupBy, InvoiceQuery};
use crate::services::views::{InvoiceDetails, InvoiceView, Revenue};

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    state: Option<String>,
    provider: Option<String>,
    product: Option<String>,
    tier: Option<String>,
    code: Option<String>,
    buyer: Option<String>,
    from: Option<String>,
    to: Option<String>,
    cursor: Option<String>,
    limit: Option<i64>,
}

#[derive(Serialize, JsonSchema)]
pub struct InvoicePage {
    invoices: Vec<InvoiceView>,
    next_cursor: Option<String>,
}

pub async fn list(State(s): State<AppState>, Query(q): Query<ListQuery>) -> Result<Json<InvoicePage>, ApiError> {
    let input = InvoiceQuery {
        status: q.state,
        provider: q.provider,
        product: q.product,
        tier: q.tier,
        code: q.code,
        buyer: q.buyer,
        created_from: q.from.as_deref().map(|v| parse_time("from", v)).transpose()?,
        created_to: q.to.as_deref().map(|v| parse_time("to", v)).transpose()?,
        before_rowid: super::parse_cursor(q.cursor.as_deref())?,
        limit: super::page_size(q.limit),
    };
    let page = sales::list(&s.core, input).await?;
    Ok(Json(InvoicePage { invoices: page.invoices, next_cursor: page.next_cursor }))
}

pub async fn get(State(s): State<AppState>, Path(id): Path<String>) -> Result<Json<InvoiceDetails>, ApiError> {
    Ok(Json(sales::details(&s.core, &id).await?))
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RevenueQuery {
    from: Option<String>,
    to: Option<String>,
    group_by: Option<String>,
}

/// Without `from`, since 2000; without `to`, until now.
pub async fn revenue(State(s): State<AppState>, Query(q): Query<RevenueQuery>) -> Result<Json<Revenue>, ApiError> {
    let from = q.from.as_deref().map(|v| parse_time("from", v)).transpose()?.unwrap_or(946_684_800);
    let to = q.to.as_deref().map(|v| parse_time("to", v)).transpose()?.unwrap_or_else(|| now_unix() + 1);
    let group_by = q.group_by.as_deref().map(GroupBy::parse).transpose()?;
    Ok(Json(sales::revenue(&s.core, from, to, group_by).await?))
}
