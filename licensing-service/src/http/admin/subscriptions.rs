//! `/v1/admin/subscriptions` (list, show, cancel) and the per-license
//! changes of terms: `/v1/admin/licenses/{id}/change-tier` and `…/adjust` —
//! thin over `services::subscriptions`, `upgrades` and `adjustments`.

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::http::error::ApiError;
use crate::http::extract::{parse_json, Json as JsonBody, RawBody};
use crate::http::state::AppState;
use crate::http::views::parse_time;
use crate::services::adjustments::{self, AdjustInput};
use crate::services::subscriptions::{self, Canceler, ListInput, SubscriptionView};
use crate::services::upgrades::{self, ChangeTierInput, Outcome};
use crate::services::views::LicenseView;

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    state: Option<String>,
    product: Option<String>,
    license_id: Option<String>,
    cursor: Option<String>,
    limit: Option<i64>,
}

#[derive(Serialize, JsonSchema)]
pub struct SubscriptionPage {
    subscriptions: Vec<SubscriptionView>,
    next_cursor: Option<String>,
}

pub async fn list(State(s): State<AppState>, Query(q): Query<ListQuery>) -> Result<Json<SubscriptionPage>, ApiError> {
    let input = ListInput {
        state: q.state,
        product: q.product,
        license_id: q.license_id,
        before_rowid: super::parse_cursor(q.cursor.as_deref())?,
        limit: super::page_size(q.limit),
    };
    let page = subscriptions::list(&s.core, input).await?;
    Ok(Json(SubscriptionPage { subscriptions: page.subscriptions, next_cursor: page.next_cursor }))
}

pub async fn get(State(s): State<AppState>, Path(id): Path<String>) -> Result<Json<SubscriptionView>, ApiError> {
    Ok(Json(subscriptions::get(&s.core, &id).await?))
}

#[derive(Deserialize, Default, JsonSchema)]
#[schemars(rename = "SubscriptionCancelBody")]
#[serde(deny_unknown_fields)]
pub struct ReasonBody {
    reason: Option<String>,
}

/// The body is optional: `{"reason"}`.
pub async fn cancel(
    State(s): State<AppState>,
    Path(id): Path<String>,
    RawBody(body): RawBody,
) -> Result<Json<SubscriptionView>, ApiError> {
    let reason = if body.iter().all(u8::is_ascii_whitespace) { None } else { parse_json::<ReasonBody>(&body)?.reason };
    Ok(Json(subscriptions::cancel(&s.core, Canceler::Admin(&id), reason).await?))
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangeTierBody {
    to_policy_slug: String,
    #[serde(default)]
    skip_payment: bool,
    reason: Option<String>,
}

/// `{"status": "applied", "license"}`, `{"status": "checkout", "checkout"}`
/// (forward its `checkout_url` to the buyer) or `{"status": "scheduled", …}`.
pub async fn change_tier(
    State(s): State<AppState>,
    Path(id): Path<String>,
    JsonBody(b): JsonBody<ChangeTierBody>,
) -> Result<Response, ApiError> {
    let input = ChangeTierInput { to_policy_slug: b.to_policy_slug, skip_payment: b.skip_payment, reason: b.reason };
    let answer = match upgrades::change_tier(&s.core, &id, input).await? {
        Outcome::Applied(license) => ChangeTierAnswer::Applied { license },
        Outcome::Checkout(reply) => ChangeTierAnswer::Checkout { checkout: reply.body },
        Outcome::Scheduled(scheduled) => ChangeTierAnswer::Scheduled { scheduled },
    };
    Ok(Json(answer).into_response())
}

/// The answer of `change-tier`, told apart by its `status`.
#[derive(Serialize, JsonSchema)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum ChangeTierAnswer {
    Applied { license: Box<LicenseView> },
    Checkout { checkout: keysat_client::PurchaseAnswer },
    Scheduled { scheduled: upgrades::Scheduled },
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AdjustBody {
    extend_seconds: Option<i64>,
    /// RFC 3339 (`never_expires: true` makes it perpetual).
    expires_at: Option<String>,
    #[serde(default)]
    never_expires: bool,
    max_machines: Option<i64>,
    #[serde(default)]
    add_entitlements: Vec<String>,
    #[serde(default)]
    remove_entitlements: Vec<String>,
    reason: Option<String>,
    /// Sends the new key to the buyer's npub.
    #[serde(default)]
    notify: bool,
}

pub async fn adjust(
    State(s): State<AppState>,
    Path(id): Path<String>,
    JsonBody(b): JsonBody<AdjustBody>,
) -> Result<Json<LicenseView>, ApiError> {
    let expires_at = match (b.expires_at.as_deref(), b.never_expires) {
        (Some(_), true) => {
            return Err(ApiError::bad_request("invalid_request", "give expires_at or never_expires, not both"))
        }
        (Some(t), false) => Some(parse_time("expires_at", t)?),
        (None, true) => Some(0),
        (None, false) => None,
    };
    let input = AdjustInput {
        extend_seconds: b.extend_seconds,
        expires_at,
        max_machines: b.max_machines,
        add_entitlements: b.add_entitlements,
        remove_entitlements: b.remove_entitlements,
        reason: b.reason,
        notify: b.notify,
    };
    Ok(Json(adjustments::adjust(&s.core, &id, input).await?))
}
