//! The `Idempotency-Key` header of public POSTs: the same key within 24
//! hours gets the first answer again and creates nothing new.

use std::net::IpAddr;

use axum::http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::db::{self, Tx};
use crate::http::error::ApiError;

use crate::domain::IDEMPOTENCY_WINDOW_SECONDS as WINDOW_SECONDS;

/// An `Idempotency-Key` as this server keeps it: scoped to the operation
/// and to the client's address (an IPv6 client by its /64), and bound to the
/// request it came with, so the same header from another client is a new
/// key and from the same client with another body is refused — one buyer's
/// key never returns another's answer.
#[derive(Debug, Clone)]
pub struct IdempotencyKey {
    pub scope: &'static str,
    /// `<address bucket> <key as sent>`.
    pub key: String,
    /// Hex SHA-256 of method, path and body.
    pub request_hash: String,
}

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

/// An IPv4 address, or the /64 network of an IPv6 one (one subscriber).
pub fn address_bucket(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
    }
}

/// A JSON answer of a public POST, fresh or replayed: the API turns it into
/// a response, the buyer pages read its body.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub body: Value,
    pub replayed: bool,
}

impl Answer {
    pub fn ok(body: Value) -> Answer {
        Answer { status: StatusCode::OK, body, replayed: false }
    }
}

/// Answers that may carry a license key are kept by no cache.
pub const NO_STORE: (HeaderName, HeaderValue) = (header::CACHE_CONTROL, HeaderValue::from_static("no-store"));

impl IntoResponse for Answer {
    fn into_response(self) -> Response {
        if self.replayed {
            (self.status, [NO_STORE], [("idempotent-replayed", "true")], Json(self.body)).into_response()
        } else {
            (self.status, [NO_STORE], Json(self.body)).into_response()
        }
    }
}

/// Holds `key` for this request, or answers with what the first request got.
pub async fn claim(tx: &mut Tx, key: &IdempotencyKey, now: i64) -> Result<Option<Answer>, ApiError> {
    let found =
        db::codes::claim_idempotency_key(tx, key.scope, &key.key, &key.request_hash, now - WINDOW_SECONDS, now).await?;
    match found {
        None => Ok(None),
        Some(stored) if stored.request_hash != key.request_hash => Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "idempotency_key_reused",
            "this Idempotency-Key was used with another request: send a new random key for each new request",
        )),
        Some(stored) if stored.status == 0 => Err(ApiError::conflict(
            "request_in_progress",
            "a request with this Idempotency-Key is still being processed; retry shortly",
        )),
        Some(stored) => Ok(Some(replay(stored.status, &stored.body))),
    }
}

/// The stored first answer.
pub fn replay(status: i64, body: &str) -> Answer {
    let status = u16::try_from(status).ok().and_then(|s| StatusCode::from_u16(s).ok()).unwrap_or(StatusCode::OK);
    let value: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    Answer { status, body: value, replayed: true }
}

/// Stores the answer for `key`.
pub async fn remember(
    tx: &mut Tx,
    key: &IdempotencyKey,
    status: StatusCode,
    body: &Value,
    now: i64,
) -> Result<(), ApiError> {
    let status = i64::from(status.as_u16());
    db::codes::remember_answer(tx, key.scope, &key.key, &key.request_hash, status, &body.to_string(), now).await?;
    Ok(())
}

/// Lets a key be used again (its request failed before creating anything).
pub async fn forget(tx: &mut Tx, key: &IdempotencyKey) -> Result<(), ApiError> {
    db::codes::forget_idempotency_key(tx, key.scope, &key.key).await?;
    Ok(())
}
