//! The `Idempotency-Key` header of public POSTs: read and tied to its request
//! here; kept and replayed by `services::idempotency`.

use std::net::IpAddr;

use axum::http::{header, HeaderMap, HeaderName, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::http::error::ApiError;
use crate::services::idempotency::address_bucket;
pub use crate::services::idempotency::{IdempotencyKey, Reply};

/// The header's key, if present and well-formed, tied to this request.
pub fn key(
    headers: &HeaderMap,
    scope: &'static str,
    client: IpAddr,
    method_and_path: &str,
    body: &[u8],
) -> Result<Option<IdempotencyKey>, ApiError> {
    let Some(v) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    let k = v.to_str().unwrap_or("").trim();
    if k.is_empty() || k.len() > 200 || !k.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(ApiError::bad_request(
            "invalid_idempotency_key",
            "Idempotency-Key must be 1 to 200 printable ASCII characters",
        ));
    }
    let mut h = Sha256::new();
    h.update(method_and_path.as_bytes());
    h.update(b"\n");
    h.update(body);
    let request_hash = data_encoding::HEXLOWER.encode(&h.finalize());
    Ok(Some(IdempotencyKey { scope, key: format!("{} {k}", address_bucket(client)), request_hash }))
}

/// Answers that may carry a license key are kept by no cache.
pub const NO_STORE: (HeaderName, HeaderValue) = (header::CACHE_CONTROL, HeaderValue::from_static("no-store"));

/// A reply is its typed body as JSON, never cached; a replay says so.
impl<T: Serialize> IntoResponse for Reply<T> {
    fn into_response(self) -> Response {
        if self.replayed {
            (self.status, [NO_STORE], [("idempotent-replayed", "true")], Json(self.body)).into_response()
        } else {
            (self.status, [NO_STORE], Json(self.body)).into_response()
        }
    }
}
