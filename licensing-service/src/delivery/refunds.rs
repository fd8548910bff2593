//! What a buyer is told when a sale is refunded or charged back: one text,
//! built by [`buyer_notice_text`] (the Nostr DM uses it; e-mail can reuse
//! it), queued in the transaction of the change.

use crate::db::{self, Tx};
use crate::domain::npub::Npub;

/// What happened to the buyer's purchase.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BuyerNotice {
    /// The payment was (or, for a bitcoin refund, can be claimed) back.
    Refunded {
        /// `"49.00 USD"`, when known.
        amount: Option<String>,
        /// Where a bitcoin refund is claimed.
        claim_url: Option<String>,
        /// The key stops working.
        revoked: bool,
    },
    /// The card payment is disputed: the key is suspended meanwhile.
    DisputeOpened,
    /// The dispute ended in the seller's favour: the key works again.
    DisputeWon,
    /// The dispute ended in the buyer's favour: the key is revoked.
    DisputeLost,
}

/// What the purchase was: names and our order number.
pub struct Purchase<'a> {
    pub sender: &'a super::buyer_notices::Sender,
    pub product: &'a str,
    pub tier: &'a str,
    pub order: &'a str,
    /// The buyer's page of this purchase.
    pub thank_you_url: &'a str,
}

/// The notice's text, the same whatever carries it.
pub fn buyer_notice_text(p: &Purchase<'_>, what: &BuyerNotice) -> String {
    let head = format!("Your purchase of {} ({}) from {}, order {}", p.product, p.tier, p.sender.name, p.order);
    let body = match what {
        BuyerNotice::Refunded { amount, claim_url, revoked } => {
            let mut t = match amount {
                Some(a) => format!("{head}, was refunded: {a}."),
                None => format!("{head}, was refunded."),
            };
            if let Some(url) = claim_url {
                t.push_str(&format!(
                    "\n\nClaim your refund in bitcoin here (give an address or a Lightning invoice): {url}"
                ));
            }
            if *revoked {
                t.push_str("\n\nIts license key no longer works.");
            }
            t
        }
        BuyerNotice::DisputeOpened => format!(
            "{head}, is disputed with your card issuer. Its license key is suspended until the dispute is settled."
        ),
        BuyerNotice::DisputeWon => {
            format!("{head}: the card dispute was settled in the seller's favour. Your license key works again.")
        }
        BuyerNotice::DisputeLost => {
            format!("{head}: the card dispute was settled in your favour. Its license key no longer works.")
        }
    };
    format!("{body}\n\nThis purchase: {}\n\n{}", p.thank_you_url, p.sender.sign_off(Some(p.order)))
}

/// Queues the notice to the buyer's npub (hex), in the caller's transaction.
pub async fn enqueue_buyer_notice(tx: &mut Tx, now: i64, buyer: &Npub, text: &str) -> Result<(), sqlx::Error> {
    db::nostr::enqueue(
        tx,
        now,
        db::nostr::NewMessage {
            kind: db::nostr::MessageKind::Refund,
            recipient_hex: &buyer.to_hex(),
            license_id: None,
            notice: None,
            text: Some(text),
        },
    )
    .await
    .map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_text_says_what_happened_and_where_to_claim() {
        let sender = crate::delivery::buyer_notices::tests::sender();
        let p = Purchase { sender: &sender, product: "App", tier: "Pro", order: "o-1", thank_you_url: "https://k/t" };
        let t = buyer_notice_text(
            &p,
            &BuyerNotice::Refunded { amount: None, claim_url: Some("https://pay/pp/1".into()), revoked: true },
        );
        assert!(t.contains("App (Pro) from Ada Software, order o-1, was refunded."), "{t}");
        assert!(
            t.contains("https://pay/pp/1") && t.contains("no longer works") && t.contains("This purchase: https://k/t"),
            "{t}"
        );
        assert!(t.contains("Order number: o-1") && t.contains("Contact Ada Software: e-mail help@ada.example"), "{t}");
        assert!(buyer_notice_text(&p, &BuyerNotice::DisputeOpened).contains("suspended"));
    }
}
