//! `/v1/admin/licenses`: issue, list, search, details, suspend / unsuspend /
//! revoke — thin over `services::licenses`. Every answer is the one license
//! shape (`services::views::LicenseView`).

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::domain::license::StatusAction;
use crate::http::error::ApiError;
use crate::http::extract::{parse_json, Json as JsonBody, RawBody};
use crate::http::state::AppState;
use crate::http::views::parse_time;
use crate::services::licenses::{self, IssueInput, ListInput};
use crate::services::views::{LicenseDetails, LicenseView};

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IssueBody {
    product_slug: String,
    policy_slug: Option<String>,
    buyer_email: Option<String>,
    buyer_npub: Option<String>,
    note: Option<String>,
    fingerprint: Option<String>,
}

pub async fn issue(
    State(s): State<AppState>,
    JsonBody(b): JsonBody<IssueBody>,
) -> Result<(StatusCode, Json<LicenseView>), ApiError> {
    let input = IssueInput {
        product_slug: b.product_slug,
        policy_slug: b.policy_slug,
        buyer_email: b.buyer_email,
        buyer_npub: b.buyer_npub,
        note: b.note,
        fingerprint: b.fingerprint,
    };
    Ok((StatusCode::CREATED, Json(licenses::issue(&s.core, input).await?)))
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    product: Option<String>,
    status: Option<String>,
    created_from: Option<String>,
    created_to: Option<String>,
    cursor: Option<String>,
    limit: Option<i64>,
}

#[derive(Serialize, JsonSchema)]
pub struct LicensePage {
    licenses: Vec<LicenseView>,
    next_cursor: Option<String>,
}

pub async fn list(State(s): State<AppState>, Query(q): Query<ListQuery>) -> Result<Json<LicensePage>, ApiError> {
    let input = ListInput {
        product: q.product,
        status: q.status,
        created_from: q.created_from.as_deref().map(|v| parse_time("created_from", v)).transpose()?,
        created_to: q.created_to.as_deref().map(|v| parse_time("created_to", v)).transpose()?,
        before_rowid: super::parse_cursor(q.cursor.as_deref())?,
        limit: super::page_size(q.limit),
    };
    let page = licenses::list(&s.core, input).await?;
    Ok(Json(LicensePage { licenses: page.licenses, next_cursor: page.next_cursor }))
}

#[derive(Deserialize, JsonSchema)]
pub struct SearchQuery {
    q: String,
    limit: Option<i64>,
}

#[derive(Serialize, JsonSchema)]
pub struct Found {
    licenses: Vec<LicenseView>,
}

pub async fn search(State(s): State<AppState>, Query(q): Query<SearchQuery>) -> Result<Json<Found>, ApiError> {
    Ok(Json(Found { licenses: licenses::search(&s.core, &q.q, super::page_size(q.limit)).await? }))
}

pub async fn get(State(s): State<AppState>, Path(id): Path<String>) -> Result<Json<LicenseDetails>, ApiError> {
    Ok(Json(licenses::details(&s.core, &id).await?))
}

#[derive(Deserialize, Default, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReasonBody {
    reason: Option<String>,
}

/// Optional JSON body: absent or empty is fine for suspend / unsuspend.
fn reason_of(body: &[u8]) -> Result<Option<String>, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    Ok(parse_json::<ReasonBody>(body)?.reason)
}

pub async fn suspend(
    State(s): State<AppState>,
    Path(id): Path<String>,
    RawBody(body): RawBody,
) -> Result<Json<LicenseView>, ApiError> {
    Ok(Json(licenses::change_status(&s.core, &id, StatusAction::Suspend, reason_of(&body)?).await?))
}

pub async fn unsuspend(
    State(s): State<AppState>,
    Path(id): Path<String>,
    RawBody(body): RawBody,
) -> Result<Json<LicenseView>, ApiError> {
    Ok(Json(licenses::change_status(&s.core, &id, StatusAction::Unsuspend, reason_of(&body)?).await?))
}

pub async fn revoke(
    State(s): State<AppState>,
    Path(id): Path<String>,
    JsonBody(b): JsonBody<ReasonBody>,
) -> Result<Json<LicenseView>, ApiError> {
    Ok(Json(licenses::change_status(&s.core, &id, StatusAction::Revoke, b.reason).await?))
}
