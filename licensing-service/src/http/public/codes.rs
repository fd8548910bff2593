//! `POST /v1/discount-codes/preview`: what a code does to a tier's price,
//! before paying (`services::catalog::quote_code`). A refused code is a 422
//! whose code says why; an unknown code and another product's code look the
//! same ([`Refusal::public`](crate::domain::discount::Refusal::public)).

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::domain::discount::{Kind, Quote};
use crate::http::client_ip::ClientIp;
use crate::http::error::ApiError;
use crate::http::extract::Json as JsonBody;
use crate::http::state::AppState;
use crate::services::{catalog, ServiceError};

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PreviewBody {
    product: String,
    policy_slug: Option<String>,
    code: String,
}

/// Too many attempts from one address.
pub fn too_many(retry_after: u64) -> ApiError {
    ServiceError::rate_limited(retry_after).into()
}

/// The answer of a code that applies: what it does to the tier's price.
/// The three fiat fields are there only for a tier priced in fiat.
#[derive(Serialize, JsonSchema)]
pub struct Preview<'a> {
    ok: bool,
    code: &'a str,
    kind: &'static str,
    base_price_sats: i64,
    discount_sats: i64,
    final_price_sats: i64,
    free: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    base_price_amount: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    final_price_amount: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    price_currency: Option<&'a str>,
}

impl<'a> Preview<'a> {
    pub fn new(code: &'a str, kind: Kind, q: &'a Quote) -> Self {
        let fiat = q.fiat.as_ref();
        Preview {
            ok: true,
            code,
            kind: kind.name(),
            base_price_sats: q.base_price_sats,
            discount_sats: q.discount_sats,
            final_price_sats: q.final_price_sats,
            free: q.is_free(),
            base_price_amount: fiat.map(|(base, _, _)| base.as_str()),
            final_price_amount: fiat.map(|(_, after, _)| after.as_str()),
            price_currency: fiat.map(|(_, _, currency)| currency.as_str()),
        }
    }
}

pub async fn preview(
    State(s): State<AppState>,
    ClientIp(ip): ClientIp,
    JsonBody(b): JsonBody<PreviewBody>,
) -> Result<Response, ApiError> {
    s.limits.code.check(ip).map_err(too_many)?;
    let (product, policy) = catalog::buyable(&s.db, &b.product, b.policy_slug.as_deref()).await?;
    let (dc, q) = catalog::quote_code(&s.core, &product, &policy, &b.code).await?;
    Ok(Json(Preview::new(dc.code.as_str(), dc.kind, &q)).into_response())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_preview_has_fiat_fields_only_for_a_fiat_tier() {
        let sats = Quote { base_price_sats: 50_000, discount_sats: 5_000, final_price_sats: 45_000, fiat: None };
        let code = "SPRING10";
        let preview = |q| {
            let p = Preview::new(code, crate::domain::discount::Kind::PercentOff(10), q);
            serde_json::to_value(p).unwrap()
        };
        let expected = json!({
            "ok": true, "code": "SPRING10", "kind": "percent_off", "base_price_sats": 50_000,
            "discount_sats": 5_000, "final_price_sats": 45_000, "free": false,
        });
        assert_eq!(preview(&sats), expected);
        let fiat = Quote {
            base_price_sats: 0,
            discount_sats: 0,
            final_price_sats: 0,
            fiat: Some(("10.00".into(), "9.00".into(), "EUR".into())),
        };
        let v = preview(&fiat);
        assert_eq!(
            (&v["base_price_amount"], &v["final_price_amount"], &v["price_currency"]),
            (&json!("10.00"), &json!("9.00"), &json!("EUR"))
        );
        assert_eq!(v.as_object().unwrap().len(), 10);
    }
}
