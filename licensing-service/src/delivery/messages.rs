//! Sending the queued direct messages: render the text at the first
//! attempt, build the gift wrap once, publish it until a relay accepts it,
//! backing off between attempts.

use nostr_sdk::JsonUtil;

use crate::db::nostr::{KeyLine, Message};
use crate::db::{self};
use crate::domain::now_unix;
use crate::domain::time::ts;

use super::buyer_notices::{key_changed_text, KeyChange, Sender};
use super::nostr::{recipient_key, NostrService, Route};
use super::Delivery;

/// Messages taken per run.
const BATCH: i64 = 20;
/// Most keys listed in one recovery message.
pub(super) const MAX_RECOVERED_KEYS: i64 = 50;

/// Sends every message whose time has come.
pub async fn send_due(s: &Delivery) {
    let Ok(_running) = s.nostr_run.try_lock() else {
        return; // the previous run is still going
    };
    let due = match db::nostr::due(&s.db.read, now_unix(), BATCH).await {
        Ok(d) => d,
        Err(e) => {
            tracing::warn!(error = %e, "reading due Nostr messages");
            return;
        }
    };
    for m in due {
        if let Err(e) = send_one(s, &m).await {
            tracing::warn!(error = %e, message = %m.id, "recording a Nostr delivery");
        }
    }
}

#[tracing::instrument(skip_all, fields(message = %m.id, kind = %m.kind, license = ?m.license_id))]
async fn send_one(s: &Delivery, m: &Message) -> Result<(), sqlx::Error> {
    let now = now_unix();
    let Some(recipient) = recipient_key(&m.recipient) else {
        return db::nostr::mark_undeliverable(&s.db.write, &m.id, now, "the recipient is not a valid Nostr public key")
            .await;
    };
    let event = match &m.event_json {
        Some(json) => match NostrService::stored_event(json) {
            Ok(e) => e,
            Err(e) => return db::nostr::mark_undeliverable(&s.db.write, &m.id, now, &e.to_string()).await,
        },
        None => {
            let Some(text) = render(s, m).await? else {
                return db::nostr::mark_undeliverable(&s.db.write, &m.id, now, "nothing to send any more").await;
            };
            let event = match s.nostr.private_message(recipient, &text).await {
                Ok(e) => e,
                Err(e) => return db::nostr::mark_undeliverable(&s.db.write, &m.id, now, &format!("{e:#}")).await,
            };
            db::nostr::store_event(&s.db.write, &m.id, &text, &event.id.to_hex(), &event.as_json()).await?;
            event
        }
    };
    match s.nostr.deliver(recipient, &event).await {
        Ok((route, acked)) => {
            let inbox = matches!(route, Route::Inbox(_));
            tracing::info!(message = %m.id, kind = %m.kind, relays = ?acked, inbox, "Nostr message delivered");
            db::nostr::mark_delivered(&s.db.write, &m.id, now_unix(), &acked).await
        }
        Err(error) => {
            let attempts = u32::try_from(m.attempts + 1).unwrap_or(u32::MAX);
            let next = s.nostr_retry.after(attempts).map(|d| now_unix() + d.as_secs() as i64);
            if next.is_none() {
                tracing::warn!(message = %m.id, %error, "giving up on a Nostr message");
            } else {
                tracing::debug!(message = %m.id, %error, "Nostr message not delivered yet");
            }
            db::nostr::mark_failed(&s.db.write, &m.id, now_unix(), &error, next).await
        }
    }
}

/// The message's text; `None` when there is nothing to send any more.
async fn render(s: &Delivery, m: &Message) -> Result<Option<String>, sqlx::Error> {
    let sender = s.sender();
    match m.kind.as_str() {
        // A notice about the license whose text was given when it was queued.
        "license" if m.text.is_some() => Ok(m.text.clone()),
        "license" => {
            let Some(id) = &m.license_id else { return Ok(None) };
            let Some(k) = db::nostr::key_line(&s.db.read, id).await? else { return Ok(None) };
            Ok(Some(match m.notice.as_deref().and_then(KeyChange::parse) {
                Some(change) => key_changed_text(&sender, change, &k),
                None => license_text(&sender, &k),
            }))
        }
        "recovery" => {
            let keys = db::nostr::keys_of_npub(&s.db.read, &m.recipient, MAX_RECOVERED_KEYS).await?;
            if keys.is_empty() {
                return Ok(None);
            }
            Ok(Some(recovery_text(&sender, &keys, "npub")))
        }
        _ => Ok(m.text.clone()),
    }
}

pub(super) fn terms(k: &KeyLine) -> String {
    let expiry =
        if k.expires_at == 0 { "never expires".to_string() } else { format!("valid until {}", ts(k.expires_at)) };
    format!("{} ({}), issued {}, {}", k.product_name, k.policy_name, ts(k.issued_at), expiry)
}

/// The key on issue (or resent by the operator).
pub(super) fn license_text(sender: &Sender, k: &KeyLine) -> String {
    format!(
        "Your license from {}: {}\n\n{}\n\nKeep this message: the line above is your license key.\n\n{}",
        sender.name,
        terms(k),
        k.license_key,
        sender.sign_off(k.invoice_id.as_deref())
    )
}

/// Every key bought with an npub or e-mail address, as its owner asked;
/// `to_whom` names where it went ("npub", "address").
pub(super) fn recovery_text(sender: &Sender, keys: &[KeyLine], to_whom: &str) -> String {
    let mut text = format!("Your license keys from {}, as asked for at {}:\n", sender.name, sender.recover_url);
    for k in keys {
        text.push_str(&format!(
            "\n{}{}\n{}\n",
            terms(k),
            if k.status == "suspended" { " (suspended)" } else { "" },
            k.license_key
        ));
        if let Some(order) = &k.invoice_id {
            text.push_str(&format!("Order number: {order}\n"));
        }
    }
    text.push_str(&format!("\nIf you did not ask for this, you can ignore it: only this {to_whom} received it.\n\n"));
    text.push_str(&sender.sign_off(None));
    text
}
