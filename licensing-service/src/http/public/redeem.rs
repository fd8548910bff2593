//! `POST /v1/redeem`: a free-license code (or any code that makes the tier
//! free) becomes a key at once, through fulfillment.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use crate::app::AppState;
use crate::http::client_ip::ClientIp;
use crate::http::error::ApiError;
use crate::http::extract::{parse_json, require_json, RawBody};
use crate::http::idempotency::{self, Answer, IdempotencyKey};
use crate::http::public::codes::too_many;
use crate::http::public::orders::{issue_free, Order, OrderInput};
use crate::http::views;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedeemBody {
    pub product: String,
    pub code: String,
    pub policy_slug: Option<String>,
    pub buyer_email: Option<String>,
    pub buyer_npub: Option<String>,
    pub buyer_note: Option<String>,
}

pub async fn redeem(
    State(s): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> Result<Response, ApiError> {
    require_json(&headers)?;
    s.code_limiter.check(ip).map_err(too_many)?;
    let idem = idempotency::key(&headers, "redeem", ip, "POST /v1/redeem", &body)?;
    let b: RedeemBody = parse_json(&body)?;
    Ok(redeem_code(&s, b, idem.as_ref()).await?.into_response())
}

/// The whole redemption: also used by the redeem page.
pub async fn redeem_code(s: &AppState, b: RedeemBody, idem: Option<&IdempotencyKey>) -> Result<Answer, ApiError> {
    // The caller has checked the address's own limit; this one is everyone's.
    s.global_limits.redeem.admit()?;
    let order = Order::load(
        s,
        OrderInput {
            product: &b.product,
            policy_slug: b.policy_slug.as_deref(),
            code: Some(&b.code),
            buyer_email: b.buyer_email,
            buyer_npub: b.buyer_npub,
            buyer_note: b.buyer_note,
        },
    )
    .await?;
    if !order.quote.is_free() {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "not_free",
            "this code gives a discount, not a free license: use it when buying",
        ));
    }
    issue_free(s, &order, idem, |done| {
        json!({
            "license_id": done.license.id,
            "license_key": done.license.license_key,
            "invoice_id": done.invoice.id,
            "redemption_id": done.redemption_id,
            "product_id": order.product.id,
            "expires_at": views::ts_or_null(done.license.expires_at),
            "max_machines": done.license.max_machines,
        })
    })
    .await
}
