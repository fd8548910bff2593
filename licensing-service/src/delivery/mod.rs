//! How a buyer or a system hears of what happened: NIP-17 direct messages
//! from Keysat's Nostr identity (to buyers and to the operator), and signed,
//! retried outbound webhooks fed by the event outbox.
//!
//! Everything here is queued in the transaction of its cause (see
//! [`crate::db::outbox::enqueue`], [`operator::notify_in`],
//! [`enqueue_license_delivery`]) and sent later by the scheduler
//! (`jobs.rs`), so a relay or a receiver being down never blocks or rolls
//! back the change itself.

pub mod buyer_notices;
pub mod email;
pub mod events;
pub mod expiry;
pub mod inbox;
pub mod messages;
pub mod nostr;
pub mod operator;
pub mod profile;
pub mod refunds;
pub mod webhooks;

use std::sync::RwLock;
use std::time::Duration;

use tokio::sync::Mutex;
use uuid::Uuid;

use crate::db::{self, Db, Tx};
use crate::domain::npub::Npub;
use crate::domain::outbox::RetrySchedule;
pub use crate::domain::outbox::{EventType, NoticeKind};
pub use operator::notify_operator;

/// Delivery's share of the running daemon: everything the senders need,
/// so they take this and nothing wider.
pub struct Delivery {
    pub nostr: nostr::NostrService,
    /// Keysat's Nostr profile, as last published.
    pub profile: profile::ProfileState,
    /// The HTTP client webhooks are sent with.
    pub http: reqwest::Client,
    /// Held by the message run and the webhook run, so runs never overlap.
    nostr_run: Mutex<()>,
    email_run: Mutex<()>,
    webhook_run: Mutex<()>,
    db: Db,
    /// Base URL buyers use (no trailing slash), for links in messages.
    public_url: String,
    /// The seller's name as buyers see it (settings can change it).
    operator_name: RwLock<Option<String>>,
    /// How buyers reach the seller (settings can change it).
    seller: RwLock<crate::domain::seller::SellerIdentity>,
    nostr_retry: RetrySchedule,
    webhook_retry: RetrySchedule,
    email_retry: RetrySchedule,
}

/// What [`Delivery::new`] takes besides the Nostr service.
pub struct DeliverySettings {
    pub public_url: String,
    pub operator_name: Option<String>,
    pub seller: crate::domain::seller::SellerIdentity,
    pub nostr_retry: RetrySchedule,
    pub webhook_retry: RetrySchedule,
    pub email_retry: RetrySchedule,
}

/// How long a webhook receiver has to answer.
pub const WEBHOOK_TIMEOUT: Duration = Duration::from_secs(10);

impl Delivery {
    pub fn new(db: Db, nostr: nostr::NostrService, settings: DeliverySettings) -> anyhow::Result<Delivery> {
        let http = reqwest::Client::builder()
            .timeout(WEBHOOK_TIMEOUT)
            .connect_timeout(Duration::from_secs(5))
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("keysat/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Delivery {
            nostr,
            profile: profile::ProfileState::default(),
            http,
            nostr_run: Mutex::new(()),
            email_run: Mutex::new(()),
            webhook_run: Mutex::new(()),
            db,
            public_url: settings.public_url.trim_end_matches('/').to_string(),
            operator_name: RwLock::new(settings.operator_name),
            seller: RwLock::new(settings.seller),
            nostr_retry: settings.nostr_retry,
            webhook_retry: settings.webhook_retry,
            email_retry: settings.email_retry,
        })
    }

    /// The seller's name as buyers see it, if set.
    pub fn operator_name(&self) -> Option<String> {
        self.operator_name.read().expect("operator name lock").clone()
    }

    pub fn set_operator_name(&self, name: Option<String>) {
        *self.operator_name.write().expect("operator name lock") = name;
    }

    /// The seller's contact, support and terms.
    pub fn seller(&self) -> crate::domain::seller::SellerIdentity {
        self.seller.read().expect("seller lock").clone()
    }

    pub fn set_seller(&self, seller: crate::domain::seller::SellerIdentity) {
        *self.seller.write().expect("seller lock") = seller;
    }

    /// The seller's name as buyers see it, "Keysat" when none is set.
    pub fn seller_name(&self) -> String {
        self.operator_name().unwrap_or_else(|| "Keysat".to_string())
    }

    /// Who messages to buyers come from, and how they end.
    pub fn sender(&self) -> buyer_notices::Sender {
        buyer_notices::Sender {
            name: self.seller_name(),
            contact: self.seller().contact_line(),
            recover_url: format!("{}/recover", self.public_url),
        }
    }

    /// Base URL buyers use, without a trailing slash.
    pub fn public_url(&self) -> &str {
        &self.public_url
    }
}

/// Queues the DM that brings a newly issued license to its buyer's npub
/// (call inside the issuing transaction).
pub async fn enqueue_license_delivery(
    tx: &mut Tx,
    now: i64,
    license_id: Uuid,
    buyer: &Npub,
) -> Result<(), sqlx::Error> {
    db::nostr::enqueue(
        tx,
        now,
        db::nostr::NewMessage {
            kind: db::nostr::MessageKind::License,
            recipient_hex: &buyer.to_hex(),
            license_id: Some(license_id),
            notice: None,
            text: None,
        },
    )
    .await
    .map(|_| ())
}
