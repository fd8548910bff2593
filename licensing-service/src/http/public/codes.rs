//! `POST /v1/discount-codes/preview`: what a code does to a tier's price,
//! before paying. An unknown code and another product's code look the same.

use axum::extract::State;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::db;
use crate::db::codes::DiscountCode;
use crate::domain::catalog::{Policy, Product};
use crate::domain::discount::{Code, Quote, Refusal, Usage};
use crate::domain::now_unix;
use crate::http::client_ip::ClientIp;
use crate::http::error::ApiError;
use crate::http::extract::Json as JsonBody;
use crate::http::state::AppState;
use crate::services::{catalog, ServiceError};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PreviewBody {
    product: String,
    policy_slug: Option<String>,
    code: String,
}

/// A refused code: 422 with the reason as the error code.
/// Strangers are not told whether a code exists ([`Refusal::public`]).
pub fn refused(r: Refusal) -> ApiError {
    r.into()
}

/// Too many attempts from one address.
pub fn too_many(retry_after: u64) -> ApiError {
    ServiceError::rate_limited(retry_after).into()
}

/// What `raw` does to `policy`'s price now, or why it cannot be used (a
/// refusal is a 422 whose code says why).
pub async fn quote_with_code(
    s: &AppState,
    product: &Product,
    policy: &Policy,
    raw: &str,
) -> Result<(DiscountCode, Quote), ApiError> {
    let code = Code::parse(raw).map_err(|_| refused(Refusal::UnknownCode))?;
    let dc = db::codes::by_code(&s.db.read, &code)
        .await?
        .filter(|c| c.product_id == product.id)
        .ok_or_else(|| refused(Refusal::UnknownCode))?;
    let mut conn = s.db.read.acquire().await?;
    let now = now_unix();
    let usage = db::codes::usage(&mut conn, dc.id, None, now - s.config.code_hold_seconds).await?;
    // A preview has no buyer yet: the order checks the per-buyer limit.
    let usage = Usage { buyer_known: true, ..usage };
    dc.rules.check(now, policy.slug.as_str(), usage).map_err(refused)?;
    let q = Quote::for_policy(policy, Some(dc.kind)).map_err(refused)?;
    Ok((dc, q))
}

pub async fn preview(
    State(s): State<AppState>,
    ClientIp(ip): ClientIp,
    JsonBody(b): JsonBody<PreviewBody>,
) -> Result<Json<Value>, ApiError> {
    s.limits.code.check(ip).map_err(too_many)?;
    let (product, policy) = catalog::buyable(&s.db, &b.product, b.policy_slug.as_deref()).await?;
    let (dc, q) = quote_with_code(&s, &product, &policy, &b.code).await?;
    let mut v = json!({
        "ok": true,
        "code": dc.code,
        "kind": dc.kind.name(),
        "base_price_sats": q.base_price_sats,
        "discount_sats": q.discount_sats,
        "final_price_sats": q.final_price_sats,
        "free": q.is_free(),
    });
    if let Some((base, after, currency)) = &q.fiat {
        v["base_price_amount"] = json!(base);
        v["final_price_amount"] = json!(after);
        v["price_currency"] = json!(currency);
    }
    Ok(Json(v))
}
