//! What a buyer is told about a license they already hold: a renewal that
//! is due, and a new key after a renewal, an upgrade or a change by the
//! seller. Each text is built by one function here, whatever carries it (a
//! Nostr DM today; e-mail can send the same text).
//!
//! Both go out as license messages (`nostr_messages.kind = 'license'`); the
//! `notice` column says which: `renewal_due` (text given when queued, as it
//! carries a link only the services can sign), or `renewed` / `upgraded` /
//! `updated` (the license's current key, rendered when sent).

use uuid::Uuid;

use crate::db::nostr::KeyLine;
use crate::db::{self, Tx};
use crate::domain::npub::Npub;
use crate::domain::time::ts;

/// The `notice` of a renewal reminder.
pub const RENEWAL_DUE: &str = "renewal_due";

/// Why a license got a new key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyChange {
    Renewed,
    Upgraded,
    Updated,
}

impl KeyChange {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyChange::Renewed => "renewed",
            KeyChange::Upgraded => "upgraded",
            KeyChange::Updated => "updated",
        }
    }

    pub fn parse(s: &str) -> Option<KeyChange> {
        [KeyChange::Renewed, KeyChange::Upgraded, KeyChange::Updated].into_iter().find(|k| k.as_str() == s)
    }
}

/// What a renewal reminder says.
pub struct RenewalDue<'a> {
    pub seller: &'a str,
    pub product: &'a str,
    pub tier: &'a str,
    /// When the paid period ends (or ended).
    pub period_end: i64,
    /// Until when the key keeps working without a renewal.
    pub grace_until: i64,
    /// The period has already ended (the subscription is past due).
    pub ended: bool,
    /// The next period's price, as charged ("21,000 sats", "9.00 USD").
    pub price: &'a str,
    /// The renew page, already naming this license.
    pub renew_url: &'a str,
}

/// The reminder that a subscription's period ends (or has ended).
pub fn renewal_due_text(n: &RenewalDue<'_>) -> String {
    let RenewalDue { seller, product, tier, price, renew_url, .. } = n;
    let head = if n.ended {
        let until = if n.grace_until > n.period_end {
            format!(" Your key keeps working until {}.", ts(n.grace_until))
        } else {
            String::new()
        };
        format!("Your subscription to {product} ({tier}) from {seller} ended on {}.{until}", ts(n.period_end))
    } else {
        format!("Your subscription to {product} ({tier}) from {seller} runs until {}.", ts(n.period_end))
    };
    format!(
        "{head}\n\nTo keep it, renew for {price} here: {renew_url}\n\nNothing is charged automatically: renewing is \
         a payment in bitcoin you make when you are ready. Renewing early loses nothing, as the next period starts \
         when this one ends. If you do not want to renew, ignore this message."
    )
}

/// A license's new key after a renewal, an upgrade or a change by the seller.
pub fn key_changed_text(seller: &str, change: KeyChange, k: &KeyLine, recover: &str) -> String {
    let what = match change {
        KeyChange::Renewed => format!("Your subscription from {seller} is renewed"),
        KeyChange::Upgraded => format!("Your license from {seller} is upgraded"),
        KeyChange::Updated => format!("Your license from {seller} was changed by the seller"),
    };
    format!(
        "{what}: {}\n\n{}\n\nThis is your new license key; the old one still names the same license where it is \
         checked online. Keep this message. If you lose it, ask for it again at {recover}",
        super::messages::terms(k),
        k.license_key
    )
}

/// Queues a renewal reminder to the buyer (inside the transaction of the
/// subscription's step).
pub async fn enqueue_renewal_due(
    tx: &mut Tx,
    now: i64,
    license_id: Uuid,
    buyer: &Npub,
    text: &str,
) -> Result<(), sqlx::Error> {
    let message = db::nostr::NewMessage {
        kind: db::nostr::MessageKind::License,
        recipient_hex: &buyer.to_hex(),
        license_id: Some(license_id),
        notice: None,
        text: Some(text),
    };
    let id = db::nostr::enqueue(tx, now, message).await?;
    set_notice(tx, id, RENEWAL_DUE).await
}

/// Queues the license's new key to its buyer (rendered when sent).
pub async fn enqueue_key_change(
    tx: &mut Tx,
    now: i64,
    license_id: Uuid,
    buyer: &Npub,
    change: KeyChange,
) -> Result<(), sqlx::Error> {
    let message = db::nostr::NewMessage {
        kind: db::nostr::MessageKind::License,
        recipient_hex: &buyer.to_hex(),
        license_id: Some(license_id),
        notice: None,
        text: None,
    };
    let id = db::nostr::enqueue(tx, now, message).await?;
    set_notice(tx, id, change.as_str()).await
}

/// `notice` is typed for the operator's kinds; a license message's reason is
/// written beside it.
async fn set_notice(tx: &mut Tx, id: Uuid, notice: &str) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE nostr_messages SET notice = ? WHERE id = ?")
        .bind(notice)
        .bind(id.to_string())
        .execute(&mut **tx)
        .await
        .map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn due(ended: bool) -> String {
        renewal_due_text(&RenewalDue {
            seller: "Ada Software",
            product: "Acme",
            tier: "Monthly",
            period_end: 1_800_000_000,
            grace_until: 1_800_086_400,
            ended,
            price: "21,000 sats",
            renew_url: "https://shop.example/renew?license=x&t=y",
        })
    }

    #[test]
    fn reminders_say_when_for_how_much_and_where() {
        let before = due(false);
        assert!(before.starts_with("Your subscription to Acme (Monthly) from Ada Software runs until 2027-01-15"));
        assert!(before.contains("renew for 21,000 sats here: https://shop.example/renew?license=x&t=y"));
        assert!(before.contains("Nothing is charged automatically"));
        let after = due(true);
        assert!(after.contains("ended on 2027-01-15"), "{after}");
        assert!(after.contains("keeps working until 2027-01-16"), "{after}");
    }

    #[test]
    fn key_changes_round_trip() {
        for k in [KeyChange::Renewed, KeyChange::Upgraded, KeyChange::Updated] {
            assert_eq!(KeyChange::parse(k.as_str()), Some(k));
        }
        assert_eq!(KeyChange::parse(RENEWAL_DUE), None);
    }
}
