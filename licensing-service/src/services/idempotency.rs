//! `Idempotency-Key`s of public POSTs as the services keep them: claimed in
//! the transaction of the request's effect, answered again for 24 hours.
//! (Reading the header is the front end's: `http/idempotency.rs`.)

use std::net::IpAddr;

use axum::http::StatusCode;
use serde::de::DeserializeOwned;
use serde::Serialize;

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

/// A typed answer of a public POST, fresh or replayed: the API writes
/// `body` as JSON, the buyer pages read its fields.
#[derive(Debug)]
pub struct Reply<T> {
    pub status: StatusCode,
    pub body: T,
    pub replayed: bool,
}

impl<T> Reply<T> {
    pub fn ok(body: T) -> Reply<T> {
        Reply { status: StatusCode::OK, body, replayed: false }
    }
}

/// Holds `key` for this request, or answers with what the first request got.
pub async fn claim<T: DeserializeOwned>(
    tx: &mut Tx,
    key: &IdempotencyKey,
    now: i64,
) -> Result<Option<Reply<T>>, ServiceError> {
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
        Some(stored) => replay(stored.status, &stored.body).map(Some),
    }
}

/// The stored first answer, read back into its type. Written again it is
/// the JSON the first request got: the same text for an answer stored as
/// typed, and the same fields and values (in another order) for one stored
/// before answers were typed.
pub fn replay<T: DeserializeOwned>(status: i64, body: &str) -> Result<Reply<T>, ServiceError> {
    let status = u16::try_from(status).ok().and_then(|s| StatusCode::from_u16(s).ok()).unwrap_or(StatusCode::OK);
    let body = serde_json::from_str(body)
        .map_err(|e| ServiceError::Internal(anyhow::anyhow!("a stored idempotent answer does not read back: {e}")))?;
    Ok(Reply { status, body, replayed: true })
}

/// Stores the answer for `key`, as the JSON it is sent as.
pub async fn remember<T: Serialize>(
    tx: &mut Tx,
    key: &IdempotencyKey,
    status: StatusCode,
    body: &T,
    now: i64,
) -> Result<(), ServiceError> {
    let status = i64::from(status.as_u16());
    let text = serde_json::to_string(body).map_err(|e| ServiceError::Internal(e.into()))?;
    db::codes::remember_answer(tx, key.scope, &key.key, &key.request_hash, status, &text, now).await?;
    Ok(())
}

/// Lets a key be used again (its request failed before creating anything).
pub async fn forget(tx: &mut Tx, key: &IdempotencyKey) -> Result<(), ServiceError> {
    db::codes::forget_idempotency_key(tx, key.scope, &key.key).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use keysat_client::{PurchaseAnswer, RedeemAnswer};
    use serde_json::Value;

    use super::*;

    /// Written again, a replay is the stored text exactly (new answers) or
    /// the same fields and values (answers stored before they were typed,
    /// as `serde_json::Value` wrote them: keys sorted).
    fn replays_as_stored<T: DeserializeOwned + Serialize>(stored: &str) {
        let reply: Reply<T> = replay(200, stored).unwrap();
        assert!(reply.replayed);
        let written = serde_json::to_string(&reply.body).unwrap();
        let (before, after): (Value, Value) =
            (serde_json::from_str(stored).unwrap(), serde_json::from_str(&written).unwrap());
        assert_eq!(after, before);
        let again: Reply<T> = replay(200, &written).unwrap();
        assert_eq!(serde_json::to_string(&again.body).unwrap(), written);
    }

    #[test]
    fn answers_stored_before_typed_answers_replay_with_the_same_fields() {
        replays_as_stored::<PurchaseAnswer>(
            r#"{"amount_sats":5000,"base_price_sats":5000,"btcpay_invoice_id":"Q1","checkout_url":"https://pay.example/i/Q1","discount_applied_sats":0,"invoice_id":"6f46a4f6-0d2f-4a28-b6aa-3e8fbf6f28f0","poll_url":"http://shop/v1/purchase/6f46a4f6-0d2f-4a28-b6aa-3e8fbf6f28f0","price_amount":null,"price_currency":null,"status":"pending"}"#,
        );
        replays_as_stored::<PurchaseAnswer>(
            r#"{"amount_sats":0,"base_price_sats":0,"btcpay_invoice_id":null,"checkout_url":"http://shop/thank-you?invoice=6f46a4f6-0d2f-4a28-b6aa-3e8fbf6f28f0","discount_applied_sats":0,"invoice_id":"6f46a4f6-0d2f-4a28-b6aa-3e8fbf6f28f0","license_id":"aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee","license_key":"LIC1-A-B","poll_url":"http://shop/v1/purchase/6f46a4f6-0d2f-4a28-b6aa-3e8fbf6f28f0","redemption_id":null,"status":"settled"}"#,
        );
        replays_as_stored::<RedeemAnswer>(
            r#"{"expires_at":"2030-03-17T17:46:40Z","invoice_id":"6f46a4f6-0d2f-4a28-b6aa-3e8fbf6f28f0","license_id":"aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee","license_key":"LIC1-A-B","max_machines":1,"product_id":"5b3c7f0e-2c1d-4e8a-9f00-1234567890ab","redemption_id":"5b3c7f0e-2c1d-4e8a-9f00-1234567890ac"}"#,
        );
        assert!(replay::<RedeemAnswer>(200, "{}").is_err(), "an unreadable answer is our error, not a null body");
    }
}
