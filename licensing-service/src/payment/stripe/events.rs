//! Stripe's events, as Keysat reads them once their signature matched:
//! `{"id":"evt_…","object":"event","type","created","data":{"object":{…}}}`
//! (the `Event` type of the `stripe` npm package 23.1.0). The object is the
//! state at the event, signed by Stripe: a session's amount and currency are
//! checked from it, nothing is read back.

use serde::Deserialize;
use serde_json::Value;

use super::client::Session;
use crate::payment::WebhookError;

/// The event types Keysat's endpoint subscribes to.
pub const ENABLED_EVENTS: [&str; 7] = [
    "checkout.session.completed",
    "checkout.session.async_payment_succeeded",
    "checkout.session.async_payment_failed",
    "checkout.session.expired",
    "charge.refunded",
    "charge.dispute.created",
    "charge.dispute.closed",
];

#[derive(Deserialize)]
struct RawEvent {
    id: String,
    #[serde(rename = "type")]
    event_type: String,
    #[serde(default)]
    created: i64,
    data: RawData,
}

#[derive(Deserialize)]
struct RawData {
    object: Value,
}

/// `Charge`: the fields a refund event is read by.
#[derive(Debug, Clone, Deserialize)]
pub struct Charge {
    pub id: String,
    pub amount: i64,
    #[serde(default)]
    pub amount_refunded: i64,
    pub currency: String,
    /// Wholly refunded.
    #[serde(default)]
    pub refunded: bool,
    #[serde(default)]
    pub payment_intent: Option<String>,
}

/// `Dispute`: a chargeback on a charge.
#[derive(Debug, Clone, Deserialize)]
pub struct Dispute {
    pub id: String,
    pub charge: String,
    #[serde(default)]
    pub payment_intent: Option<String>,
    /// `warning_needs_response`, `warning_under_review`, `warning_closed`,
    /// `needs_response`, `under_review`, `won` or `lost`.
    pub status: String,
    pub amount: i64,
    pub currency: String,
}

/// What an event says.
#[derive(Debug, Clone)]
pub enum News {
    /// `checkout.session.completed`, `…async_payment_succeeded`, `…expired`:
    /// the session as it now is.
    Session(Session),
    /// `checkout.session.async_payment_failed`: the delayed payment failed.
    SessionFailed(Session),
    /// `charge.refunded` (whole or in part).
    Refunded(Charge),
    DisputeOpened(Dispute),
    DisputeClosed(Dispute),
    /// A type Keysat does not act on.
    Other,
}

/// One verified event.
#[derive(Debug, Clone)]
pub struct Event {
    pub id: String,
    pub event_type: String,
    pub created: i64,
    pub news: News,
}

fn object<T: serde::de::DeserializeOwned>(event_type: &str, v: Value) -> Result<T, WebhookError> {
    serde_json::from_value(v).map_err(|e| WebhookError::Malformed(format!("{event_type}: data.object: {e}")))
}

/// Parses an event whose signature was already checked.
pub fn parse(body: &[u8]) -> Result<Event, WebhookError> {
    let raw: RawEvent = serde_json::from_slice(body).map_err(|e| WebhookError::Malformed(e.to_string()))?;
    if !raw.id.starts_with("evt_") {
        return Err(WebhookError::Malformed(format!("'{}' is not an event id", raw.id)));
    }
    let t = raw.event_type.as_str();
    let news = match t {
        "checkout.session.completed" | "checkout.session.async_payment_succeeded" | "checkout.session.expired" => {
            News::Session(object(t, raw.data.object)?)
        }
        "checkout.session.async_payment_failed" => News::SessionFailed(object(t, raw.data.object)?),
        "charge.refunded" => News::Refunded(object(t, raw.data.object)?),
        "charge.dispute.created" => News::DisputeOpened(object(t, raw.data.object)?),
        "charge.dispute.closed" => News::DisputeClosed(object(t, raw.data.object)?),
        _ => News::Other,
    };
    Ok(Event { id: raw.id, event_type: raw.event_type, created: raw.created, news })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_read_by_type() {
        let e = parse(
            br#"{"id":"evt_1","object":"event","type":"charge.refunded","created":5,
            "data":{"object":{"id":"ch_1","object":"charge","amount":4900,"amount_refunded":4900,
            "currency":"usd","refunded":true,"payment_intent":"pi_1"}}}"#,
        )
        .unwrap();
        let News::Refunded(c) = e.news else { panic!("{e:?}") };
        assert!(c.refunded && c.payment_intent.as_deref() == Some("pi_1"));
        let e = parse(br#"{"id":"evt_2","type":"customer.created","data":{"object":{}}}"#).unwrap();
        assert!(matches!(e.news, News::Other));
        assert!(parse(br#"{"id":"x","type":"customer.created","data":{"object":{}}}"#).is_err());
        assert!(parse(br#"{"id":"evt_3","type":"charge.refunded","data":{"object":{}}}"#).is_err());
    }
}
