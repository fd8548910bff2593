//! The `Idempotency-Key` header of public POSTs: the same key within 24
//! hours gets the first answer again and creates nothing new.

use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::Value;

use crate::db::{self, Tx};
use crate::http::error::ApiError;

pub const WINDOW_SECONDS: i64 = 24 * 3600;

/// The header's value, if present and well-formed.
pub fn key(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
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
    Ok(Some(k.to_string()))
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

impl IntoResponse for Answer {
    fn into_response(self) -> Response {
        if self.replayed {
            (self.status, [("idempotent-replayed", "true")], Json(self.body)).into_response()
        } else {
            (self.status, Json(self.body)).into_response()
        }
    }
}

/// Holds `key` for this request, or answers with what the first request got.
pub async fn claim(tx: &mut Tx, scope: &str, key: &str, now: i64) -> Result<Option<Answer>, ApiError> {
    match db::codes::claim_idempotency_key(tx, scope, key, now - WINDOW_SECONDS, now).await? {
        None => Ok(None),
        Some((0, _)) => Err(ApiError::conflict(
            "request_in_progress",
            "a request with this Idempotency-Key is still being processed; retry shortly",
        )),
        Some((status, body)) => Ok(Some(replay(status, &body))),
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
    scope: &str,
    key: &str,
    status: StatusCode,
    body: &Value,
    now: i64,
) -> Result<(), ApiError> {
    db::codes::remember_answer(tx, scope, key, i64::from(status.as_u16()), &body.to_string(), now).await?;
    Ok(())
}
