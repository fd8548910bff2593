//! `POST /v1/renew`, `/v1/upgrade-quote`, `/v1/upgrade` and
//! `/v1/subscriptions/cancel` (PROTOCOL.md): the key proves the holder;
//! thin over `services::subscriptions` and `services::upgrades`.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::Json;
use schemars::JsonSchema;
use serde::Deserialize;

use crate::http::client_ip::ClientIp;
use crate::http::error::ApiError;
use crate::http::extract::{parse_json, require_json, RawBody};
use crate::http::idempotency::NO_STORE;
use crate::http::public::codes::too_many;
use crate::http::public::order_request;
use crate::http::state::AppState;
use crate::services::subscriptions::{self, Canceler, Holder};
use crate::services::upgrades::{self, Outcome};

/// `POST /v1/renew`: the next period of the key's subscription, bought like
/// a purchase (a code may apply). Unknown fields are refused.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RenewBody {
    key: String,
    code: Option<String>,
    redirect_url: Option<String>,
}

pub async fn renew(
    State(s): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> Result<Response, ApiError> {
    let (caller, b): (_, RenewBody) =
        order_request(&headers, ip, &body, &s.limits.purchase, "renew", "POST /v1/renew")?;
    let reply =
        subscriptions::renew(&s.core, Holder::Key(&b.key), b.code.as_deref(), b.redirect_url.as_deref(), &caller)
            .await?;
    Ok(reply.into_response())
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct QuoteBody {
    key: String,
    to_policy_slug: String,
}

/// `POST /v1/upgrade-quote`: what moving the key's license to a tier costs now.
pub async fn upgrade_quote(
    State(s): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> Result<Response, ApiError> {
    require_json(&headers)?;
    s.limits.code.check(ip).map_err(too_many)?;
    let b: QuoteBody = parse_json(&body)?;
    let quote = upgrades::quote(&s.core, Holder::Key(&b.key), &b.to_policy_slug).await?;
    Ok(([NO_STORE], Json(quote)).into_response())
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UpgradeBody {
    key: String,
    to_policy_slug: String,
    redirect_url: Option<String>,
}

/// The answers of `POST /v1/upgrade` (each written as it is: the handler
/// answers each outcome its own way, the idempotent checkout included).
#[derive(serde::Serialize, JsonSchema)]
#[serde(untagged)]
#[allow(dead_code)]
pub enum UpgradeAnswer {
    Checkout(keysat_client::PurchaseAnswer),
    Scheduled(crate::services::upgrades::Scheduled),
    Applied(Box<crate::services::views::LicenseView>),
}

/// `POST /v1/upgrade`: an invoice answered like a purchase, or (a lower
/// tier) the change scheduled for the next renewal.
pub async fn upgrade(
    State(s): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> Result<Response, ApiError> {
    let (caller, b): (_, UpgradeBody) =
        order_request(&headers, ip, &body, &s.limits.purchase, "upgrade", "POST /v1/upgrade")?;
    let outcome =
        upgrades::upgrade(&s.core, Holder::Key(&b.key), &b.to_policy_slug, b.redirect_url.as_deref(), &caller).await?;
    Ok(match outcome {
        Outcome::Checkout(reply) => reply.into_response(),
        Outcome::Scheduled(scheduled) => ([NO_STORE], Json(scheduled)).into_response(),
        Outcome::Applied(license) => ([NO_STORE], Json(license)).into_response(),
    })
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CancelBody {
    key: String,
    reason: Option<String>,
}

/// `POST /v1/subscriptions/cancel`: no more reminders; the key keeps working
/// to the end of the paid period.
pub async fn cancel(
    State(s): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> Result<Response, ApiError> {
    require_json(&headers)?;
    s.limits.purchase.check(ip).map_err(too_many)?;
    let b: CancelBody = parse_json(&body)?;
    let view = subscriptions::cancel(&s.core, Canceler::Buyer(Holder::Key(&b.key)), b.reason).await?;
    Ok(([NO_STORE], Json(view)).into_response())
}
