//! `Idempotency-Key`s of public POSTs as the services keep them: claimed in
//! the transaction of the request's effect, answered again for 24 hours.
//! (Reading the header is the front end's: `http/idempotency.rs`.)

use std::net::IpAddr;

use axum::http::StatusCode;
use serde_json::Value;

use super::ServiceError;
use crate::db::{self, Tx};
use crate::domain::{DomainError, IDEMPOTENCY_WINDOW_SECONDS as WINDOW_SECONDS};
use crate::ratelimit::bucket;

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

/// The address bucket a key (and an open invoice) is scoped to: an IPv4
/// address, or the /64 of an IPv6 one.
pub fn address_bucket(ip: IpAddr) -> String {
    bucket(ip).to_string()
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

/// Holds `key` for this request, or answers with what the first request got.
pub async fn claim(tx: &mut Tx, key: &IdempotencyKey, now: i64) -> Result<Option<Answer>, ServiceError> {
    let found =
        db::codes::claim_idempotency_key(tx, key.scope, &key.key, &key.request_hash, now - WINDOW_SECONDS, now).await?;
    match found {
        None => Ok(None),
        Some(stored) if stored.request_hash != key.request_hash => Err(ServiceError::Invalid {
            code: "idempotency_key_reused",
            message: "this Idempotency-Key was used with another request: send a new random key for each new request"
                .into(),
        }),
        Some(stored) if stored.status == 0 => Err(DomainError::conflict(
            "request_in_progress",
            "a request with this Idempotency-Key is still being processed; retry shortly",
        )
        .into()),
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
) -> Result<(), ServiceError> {
    let status = i64::from(status.as_u16());
    db::codes::remember_answer(tx, key.scope, &key.key, &key.request_hash, status, &body.to_string(), now).await?;
    Ok(())
}

/// Lets a key be used again (its request failed before creating anything).
pub async fn forget(tx: &mut Tx, key: &IdempotencyKey) -> Result<(), ServiceError> {
    db::codes::forget_idempotency_key(tx, key.scope, &key.key).await?;
    Ok(())
}
