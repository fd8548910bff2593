//! The public API of PROTOCOL.md section 4.

pub mod catalog;
pub mod codes;
pub mod machines;
pub mod purchase;
pub mod recover;
pub mod redeem;
pub mod seats;
pub mod service;
pub mod signed;
pub mod subscriptions;
pub mod validate;

use std::net::IpAddr;

use axum::http::HeaderMap;
use serde::de::DeserializeOwned;

use crate::http::error::ApiError;
use crate::http::extract::{parse_json, require_json};
use crate::ratelimit::RateLimiter;
use crate::services::orders::Caller;

/// What every route that opens an order (purchase, redeem, renew, upgrade)
/// does first, in this order: a JSON body, the address's own limit, the
/// `Idempotency-Key` (bound to this route and body), then the typed body.
pub fn order_request<T: DeserializeOwned>(
    headers: &HeaderMap,
    ip: IpAddr,
    body: &[u8],
    limit: &RateLimiter,
    scope: &'static str,
    route: &str,
) -> Result<(Caller, T), ApiError> {
    require_json(headers)?;
    limit.check(ip).map_err(codes::too_many)?;
    let idem = crate::http::idempotency::key(headers, scope, ip, route, body)?;
    Ok((Caller { ip, idem }, parse_json(body)?))
}
