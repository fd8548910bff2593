//! Outbound webhooks: each event's body `{id, type, created_at, data}` is
//! POSTed to every endpoint subscribed to its type, signed with the
//! endpoint's secret in `Keysat-Signature: t=<unix>,v1=<hex>` (HMAC-SHA256 of
//! `"<t>.<body>"`). A 2xx answer delivers it; anything else is tried again
//! on the configured schedule, then the delivery goes to dead-letter and the
//! operator is told.

use std::time::Instant;

use hmac::{Hmac, Mac};
use rand::rngs::OsRng;
use rand::RngCore;
use serde_json::{json, Value};
use sha2::Sha256;
use tokio::task::JoinSet;

use crate::db::outbox::{AttemptResult, Due, Next};
use crate::db::{self};
use crate::domain::now_unix;
use crate::domain::outbox::NoticeKind;
use crate::domain::time::ts;

/// The signature header's name.
pub const SIGNATURE_HEADER: &str = "Keysat-Signature";
/// Deliveries attempted per run.
const BATCH: i64 = 50;
/// How much of a failing receiver's answer is kept in the log.
const ERROR_SNIPPET: usize = 200;

/// A new endpoint secret: `whsec_` and 32 random bytes in hex.
pub fn new_secret() -> String {
    let mut raw = [0u8; 32];
    OsRng.fill_bytes(&mut raw);
    format!("whsec_{}", data_encoding::HEXLOWER.encode(&raw))
}

/// `t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`; the key is the
/// secret exactly as shown (its UTF-8 bytes).
pub fn signature(secret: &str, t: i64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes a key of any length");
    mac.update(t.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("t={t},v1={}", data_encoding::HEXLOWER.encode(&mac.finalize().into_bytes()))
}

/// The body receivers get.
pub fn body(d: &Due) -> Vec<u8> {
    let data: Value = serde_json::from_str(&d.data).unwrap_or(Value::Null);
    json!({"id": d.event_id, "type": d.event_type, "created_at": ts(d.event_created_at), "data": data})
        .to_string()
        .into_bytes()
}

/// POSTs one delivery and says what happened.
#[tracing::instrument(skip_all, fields(delivery = %d.id, event = %d.event_id, event_type = %d.event_type, manual))]
pub async fn attempt(http: &reqwest::Client, d: &Due, manual: bool) -> AttemptResult {
    let body = body(d);
    let at = now_unix();
    let started = Instant::now();
    let sent = http
        .post(&d.url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header(SIGNATURE_HEADER, signature(&d.secret, at, &body))
        .header("Keysat-Event-Id", &d.event_id)
        .header("Keysat-Event-Type", &d.event_type)
        .header("Keysat-Delivery-Id", &d.id)
        .body(body)
        .send()
        .await;
    let (status_code, error) = match sent {
        Ok(resp) => {
            let code = resp.status().as_u16();
            if resp.status().is_success() {
                (Some(code), None)
            } else {
                let text = resp.text().await.unwrap_or_default();
                let snippet: String = text.chars().take(ERROR_SNIPPET).collect();
                let error = if snippet.trim().is_empty() {
                    format!("HTTP {code}")
                } else {
                    format!("HTTP {code}: {}", snippet.trim())
                };
                (Some(code), Some(error))
            }
        }
        Err(e) => (None, Some(describe(&e))),
    };
    let latency_ms = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
    AttemptResult { at, status_code, latency_ms, error, manual }
}

fn describe(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else {
        "request failed"
    };
    let mut source: Option<&dyn std::error::Error> = std::error::Error::source(e);
    let mut detail = String::new();
    while let Some(s) = source {
        detail = s.to_string();
        source = s.source();
    }
    if detail.is_empty() {
        kind.to_string()
    } else {
        format!("{kind}: {detail}")
    }
}

/// Sends every delivery whose time has come, a batch at a time, concurrently.
pub async fn send_due(s: &super::Delivery) {
    let Ok(_running) = s.webhook_run.try_lock() else {
        return;
    };
    let due = match db::outbox::due(&s.db.read, now_unix(), BATCH).await {
        Ok(d) => d,
        Err(e) => {
            tracing::warn!(error = %e, "reading due webhook deliveries");
            return;
        }
    };
    let mut running = JoinSet::new();
    for d in due {
        let http = s.http.clone();
        running.spawn(async move {
            let r = attempt(&http, &d, false).await;
            (d, r)
        });
    }
    while let Some(done) = running.join_next().await {
        let Ok((d, r)) = done else { continue };
        if let Err(e) = record(s, &d, &r).await {
            tracing::warn!(error = %e, delivery = %d.id, "recording a webhook attempt");
        }
    }
}

/// Logs a scheduled attempt and moves the delivery on; a delivery that has
/// used its last attempt goes to dead-letter and the operator is told, in
/// the same transaction.
async fn record(s: &super::Delivery, d: &Due, r: &AttemptResult) -> Result<(), sqlx::Error> {
    let next = if r.succeeded() {
        Next::Delivered
    } else {
        let attempts = u32::try_from(d.attempts + 1).unwrap_or(u32::MAX);
        match s.webhook_retry.after(attempts) {
            Some(delay) => Next::RetryAt(r.at + delay.as_secs() as i64),
            None => Next::Dead,
        }
    };
    let mut tx = s.db.begin().await?;
    db::outbox::record_attempt(&mut tx, &d.id, r, next).await?;
    if next == Next::Dead {
        tracing::warn!(delivery = %d.id, url = %d.url, event = %d.event_type, "webhook delivery moved to dead-letter");
        let text = format!(
            "Webhook delivery failed for good: {} event {} to {} after {} attempts (last: {}). \
             Redeliver it with POST /v1/admin/webhook-deliveries/{}/retry.",
            d.event_type,
            d.event_id,
            d.url,
            d.attempts + 1,
            r.error.as_deref().unwrap_or("unknown error"),
            d.id
        );
        super::operator::notify_in(&mut tx, &s.db.operator, r.at, NoticeKind::WebhookDeadLetter, &text).await?;
    }
    tx.commit().await
}

/// Sends one delivery now, whatever its state (the operator's manual
/// redeliver). Success delivers it; a failure is logged and changes nothing
/// else. The attempt and its audit record are written together. `None`
/// when there is no such delivery.
pub async fn redeliver(s: &super::Delivery, id: &str, actor: &str) -> Result<Option<AttemptResult>, sqlx::Error> {
    let Some(d) = db::outbox::due_by_id(&s.db.write, id).await? else {
        return Ok(None);
    };
    let r = attempt(&s.http, &d, true).await;
    let next = if r.succeeded() { Next::Delivered } else { Next::Unchanged };
    let mut tx = s.db.begin().await?;
    db::outbox::record_attempt(&mut tx, &d.id, &r, next).await?;
    db::audit::record(
        &mut tx,
        r.at,
        db::audit::NewAudit {
            actor,
            action: "webhook_delivery.retry",
            target_type: "webhook_delivery",
            target_id: d.id.clone(),
            details: json!({"from": d.state, "status_code": r.status_code, "error": r.error}),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(Some(r))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_is_hmac_of_timestamp_dot_body() {
        // HMAC-SHA256(key "whsec_test", "1700000000.{}"), computed with Python's hmac module.
        assert_eq!(
            signature("whsec_test", 1_700_000_000, b"{}"),
            "t=1700000000,v1=35495024f4ef3f94e5a93e22221544c4b75e9a42300cd965ab81cb85cd994e91"
        );
        assert_ne!(signature("whsec_other", 1_700_000_000, b"{}"), signature("whsec_test", 1_700_000_000, b"{}"));
    }

    #[test]
    fn secrets_are_fresh() {
        let a = new_secret();
        assert!(a.starts_with("whsec_") && a.len() == 6 + 64);
        assert_ne!(a, new_secret());
    }
}
