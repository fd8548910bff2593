//! Notices to the operator by Nostr DM: a sale, a free redemption, a webhook
//! moving to dead-letter, BTCPay losing its connection. Each kind can be
//! switched off (`PUT /v1/admin/settings`); nothing is queued while no
//! operator npub is set.

use crate::db::nostr::OperatorWatch;
use crate::db::{self, Db, Tx};
use crate::domain::now_unix;
use crate::domain::outbox::NoticeKind;

/// Queues a notice inside the caller's transaction (so it exists exactly
/// when its cause does). Returns whether one was queued. No statement runs
/// while `watch` knows no operator npub is set.
pub async fn notify_in(
    tx: &mut Tx,
    watch: &OperatorWatch,
    now: i64,
    kind: NoticeKind,
    text: &str,
) -> Result<bool, sqlx::Error> {
    if !watch.may_notify() {
        return Ok(false);
    }
    let Some(npub) = db::nostr::notice_recipient(&mut **tx, kind).await? else {
        return Ok(false);
    };
    db::nostr::enqueue(
        tx,
        now,
        db::nostr::NewMessage {
            kind: db::nostr::MessageKind::Operator,
            recipient_hex: &npub,
            license_id: None,
            notice: Some(kind),
            text: Some(text),
        },
    )
    .await?;
    Ok(true)
}

/// Queues a notice in a transaction of its own (for causes that write
/// nothing else, such as a lost BTCPay connection).
pub async fn notify_operator(db: &Db, kind: NoticeKind, text: &str) -> Result<bool, sqlx::Error> {
    let mut tx = db.begin().await?;
    let queued = notify_in(&mut tx, &db.operator, now_unix(), kind, text).await?;
    tx.commit().await?;
    Ok(queued)
}

/// The text of a sale notice.
pub fn sale_text(product: &str, tier: &str, amount_sats: i64, invoice_id: &str) -> String {
    format!("Sale: {product} ({tier}) for {} sats. Invoice {invoice_id}.", group_thousands(amount_sats))
}

/// The text of a free-redemption notice.
pub fn free_redemption_text(product: &str, tier: &str, code: &str) -> String {
    format!("Free license redeemed: {product} ({tier}) with code {code}.")
}

/// The text of a lost-connection notice.
pub fn btcpay_connection_lost_text(detail: &str) -> String {
    format!("BTCPay Server cannot be reached: {detail}. New purchases wait until it is back.")
}

/// The text of a new-connection notice: which store, and whose key.
pub fn btcpay_connected_text(store_name: &str, store_id: &str, key_owner: Option<&str>) -> String {
    let owner = key_owner.map_or_else(|| "an API key you entered".to_string(), |o| format!("a key of BTCPay user {o}"));
    format!(
        "BTCPay connected: payments now go to store \"{store_name}\" ({store_id}), through {owner}. \
         If this was not you, disconnect BTCPay and connect it again."
    )
}

pub fn group_thousands(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 {
        out.insert(0, '-');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts() {
        assert_eq!(sale_text("App", "Pro", 1_234_567, "inv1"), "Sale: App (Pro) for 1,234,567 sats. Invoice inv1.");
        assert_eq!(group_thousands(999), "999");
        assert_eq!(group_thousands(1000), "1,000");
        assert_eq!(group_thousands(-12345), "-12,345");
    }
}
