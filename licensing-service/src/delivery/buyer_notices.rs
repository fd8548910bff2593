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

/// Who a message to a buyer comes from, and how every such message ends.
#[derive(Debug, Clone)]
pub struct Sender {
    /// The seller's name ("Keysat" when none is set).
    pub name: String,
    /// How to reach the seller (`SellerIdentity::contact_line`), if any way is set.
    pub contact: Option<String>,
    /// The page where a buyer finds a key again.
    pub recover_url: String,
}

impl Sender {
    /// The lines every message to a buyer ends with: the order number, how
    /// to find the key again, and how to reach the seller.
    pub fn sign_off(&self, order: Option<&str>) -> String {
        let mut t = String::new();
        if let Some(o) = order {
            t.push_str(&format!("Order number: {o}\n"));
        }
        t.push_str(&format!(
            "Lost your key? Find it again at {} with the order number and the e-mail or npub you bought with.",
            self.recover_url
        ));
        match &self.contact {
            Some(c) => t.push_str(&format!("\nQuestions? Contact {}: {c}", self.name)),
            None => t.push_str(&format!("\nQuestions? Reply to the seller, {}, where you bought.", self.name)),
        }
        t
    }
}

/// A day as buyers read it: "2 December 2026".
pub fn day(unix: i64) -> String {
    chrono::DateTime::from_timestamp(unix, 0).map(|d| d.format("%-d %B %Y").to_string()).unwrap_or_default()
}

/// When a key stops working, in words: a date, or never.
pub fn until(expires_at: i64) -> String {
    if expires_at <= 0 {
        "Never (lifetime license)".to_string()
    } else {
        day(expires_at)
    }
}

/// The comment lines of a key's `.lic` file (`domain::license::lic_file`),
/// wherever it is handed over (the thank-you page's download, the key's
/// e-mail): what it is, the order, how the key stands (`standing`), how to
/// find it again and how to reach the seller.
pub fn lic_notes(sender: &Sender, product: &str, order: Option<&str>, standing: String) -> Vec<String> {
    let mut notes = vec![format!("License for {product} from {}.", sender.name)];
    if let Some(o) = order {
        notes.push(format!("Order number: {o}"));
    }
    notes.push(standing);
    notes.push(format!(
        "Lost this file? Find the key again at {} with the order number and the email or npub you gave.",
        sender.recover_url
    ));
    if let Some(contact) = &sender.contact {
        notes.push(format!("Questions? Contact the seller: {contact}"));
    }
    notes
}

/// What a renewal reminder says.
pub struct RenewalDue<'a> {
    pub sender: &'a Sender,
    /// The order the license was bought with, if any.
    pub order: Option<&'a str>,
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
    let RenewalDue { product, tier, price, renew_url, .. } = n;
    let seller = &n.sender.name;
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
         when this one ends. If you do not want to renew, ignore this message.\n\n{}",
        n.sender.sign_off(n.order)
    )
}

/// A license's new key after a renewal, an upgrade or a change by the seller.
pub fn key_changed_text(sender: &Sender, change: KeyChange, k: &KeyLine) -> String {
    let seller = &sender.name;
    let what = match change {
        KeyChange::Renewed => format!("Your subscription from {seller} is renewed"),
        KeyChange::Upgraded => format!("Your license from {seller} is upgraded"),
        KeyChange::Updated => format!("Your license from {seller} was changed by the seller"),
    };
    format!(
        "{what}: {}\n\n{}\n\nThis is your new license key; the old one still names the same license where it is \
         checked online. Keep this message.\n\n{}",
        super::messages::terms(k),
        k.license_key,
        sender.sign_off(k.invoice_id.as_deref())
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
pub(crate) mod tests {
    use super::*;

    pub(crate) fn sender() -> Sender {
        Sender {
            name: "Ada Software".into(),
            contact: Some("e-mail help@ada.example".into()),
            recover_url: "https://shop.example/recover".into(),
        }
    }

    fn due(ended: bool) -> String {
        renewal_due_text(&RenewalDue {
            sender: &sender(),
            order: Some("o-1"),
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
        // Every message ends with the order, the recovery hint and the contact.
        for t in [before, after] {
            assert!(t.contains("Order number: o-1"), "{t}");
            assert!(t.contains("Find it again at https://shop.example/recover"), "{t}");
            assert!(t.contains("Questions? Contact Ada Software: e-mail help@ada.example"), "{t}");
        }
    }

    #[test]
    fn key_changes_round_trip() {
        for k in [KeyChange::Renewed, KeyChange::Upgraded, KeyChange::Updated] {
            assert_eq!(KeyChange::parse(k.as_str()), Some(k));
        }
        assert_eq!(KeyChange::parse(RENEWAL_DUE), None);
    }
}
