//! `POST /v1/redeem`: the JSON front end of `services::orders::redeem_code`
//! (a free-license code, or any code that makes the tier free, becomes a key
//! at once, through fulfillment).

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use schemars::JsonSchema;
use serde::Deserialize;

use crate::http::client_ip::ClientIp;
use crate::http::error::ApiError;
use crate::http::extract::RawBody;
use crate::http::public::order_request;
use crate::http::state::AppState;
use crate::services::orders::{redeem_code, OrderInput};
use crate::services::seats::check_trial_fingerprint;

/// The request of `POST /v1/redeem`. Unknown fields are refused.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RedeemBody {
    product: String,
    code: String,
    policy_slug: Option<String>,
    buyer_email: Option<String>,
    buyer_npub: Option<String>,
    buyer_note: Option<String>,
    /// One trial per machine: the machine the trial is for (checked up front).
    fingerprint: Option<String>,
}

pub async fn redeem(
    State(s): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> Result<Response, ApiError> {
    let (caller, b): (_, RedeemBody) = order_request(&headers, ip, &body, &s.limits.code, "redeem", "POST /v1/redeem")?;
    check_trial_fingerprint(&s.core, &b.product, b.policy_slug.as_deref(), b.fingerprint.as_deref()).await?;
    let order = OrderInput {
        product: &b.product,
        policy_slug: b.policy_slug.as_deref(),
        code: Some(&b.code),
        buyer_email: b.buyer_email,
        buyer_npub: b.buyer_npub,
        buyer_note: b.buyer_note,
    };
    Ok(redeem_code(&s.core, order, caller.idem.as_ref()).await?.into_response())
}
