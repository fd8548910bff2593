//! Keysat's Nostr identity and its relays; NIP-17 direct messages
//! (gift-wrapped) to buyers and to the operator, and Keysat's own profile.
//!
//! Keysat's relays are connected on demand (the first message or profile to
//! send, or the operator looking at them), and without the SDK's own
//! reconnect loop: every delivery run (and, once connected, a periodic
//! keep-alive) tries again the relays that are down, so when a relay comes
//! back a waiting message goes out at its next attempt.
//!
//! A direct message goes where NIP-17 says its recipient reads: the relays
//! of the recipient's kind 10050 list, looked up on Keysat's relays and
//! remembered for a while ([`super::inbox`]). Those relays are connected for
//! the one message and dropped after it. Only when the recipient has no
//! such list does the message go to Keysat's own relays.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use nostr_sdk::{
    Client, Event, EventBuilder, EventId, Filter, JsonUtil, Keys, Kind, Metadata, PublicKey, RelayOptions, RelayStatus,
    RelayUrl, SecretKey, Timestamp, ToBech32,
};
use tokio::sync::Mutex;

use super::inbox::{inbox_relays_of, InboxCache};
use crate::db::{self, Db};
use crate::domain::now_unix;

/// How long one connection attempt to a relay may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a look-up of a recipient's inbox list waits for the relays.
const LOOKUP_TIMEOUT: Duration = Duration::from_secs(5);
/// Most relays Keysat publishes to.
pub const MAX_RELAYS: usize = 20;

/// Keysat's identity and its connections to the configured relays.
pub struct NostrService {
    keys: Keys,
    client: Client,
    /// The configured relays, in the operator's order; also serialises changes.
    relays: Mutex<Vec<RelayUrl>>,
    /// Whether connections were asked for (then the keep-alive holds them up).
    wanted: AtomicBool,
    /// Recipients' NIP-17 inbox relays.
    inboxes: InboxCache,
    /// The newest `created_at` given to a replaceable event of Keysat's, so a
    /// newer profile always replaces the one before, even within a second.
    last_replaceable: std::sync::Mutex<u64>,
}

/// Keysat's public profile (kind 0), as buyers' clients show the sender.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    pub name: String,
    pub about: String,
    /// The storefront.
    pub website: Option<String>,
}

/// Where a direct message went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// The recipient's kind 10050 relays.
    Inbox(Vec<RelayUrl>),
    /// Keysat's relays: the recipient has no kind 10050 list.
    Fallback,
}

/// A relay and how the connection to it stands.
#[derive(Debug, Clone)]
pub struct RelayState {
    pub url: String,
    pub status: &'static str,
}

/// Parses a relay address (`wss://…`, or `ws://…` for a relay on the same host or network).
pub fn parse_relay(url: &str) -> Result<RelayUrl, String> {
    let url = url.trim();
    RelayUrl::parse(url).map_err(|e| format!("'{url}' is not a relay address (wss://…): {e}"))
}

fn status_name(s: RelayStatus) -> &'static str {
    match s {
        RelayStatus::Connected => "connected",
        RelayStatus::Pending | RelayStatus::Connecting => "connecting",
        RelayStatus::Initialized | RelayStatus::Disconnected | RelayStatus::Terminated => "disconnected",
        RelayStatus::Banned => "banned",
        RelayStatus::Sleeping => "idle",
    }
}

impl NostrService {
    /// Loads (or creates, on first start) the identity and the relay list;
    /// `default_relays` is used when the operator never set one.
    pub async fn start(db: &Db, default_relays: &[String]) -> anyhow::Result<NostrService> {
        let keys = match db::nostr::identity(&db.write).await? {
            Some((secret, _)) => Keys::new(SecretKey::from_slice(&secret).context("stored Nostr key is invalid")?),
            None => {
                let keys = Keys::generate();
                db::nostr::insert_identity(
                    &db.write,
                    &keys.secret_key().to_secret_bytes(),
                    &keys.public_key().to_hex(),
                    now_unix(),
                )
                .await?;
                tracing::info!(npub = %keys.public_key().to_bech32().unwrap_or_default(), "created Keysat's Nostr identity");
                keys
            }
        };
        let stored = db::nostr::relays(&db.write).await?;
        let names = match stored {
            Some(list) => list,
            None => {
                db::nostr::set_relays(&db.write, default_relays).await?;
                default_relays.to_vec()
            }
        };
        let mut urls = Vec::with_capacity(names.len());
        for name in &names {
            match parse_relay(name) {
                Ok(u) if !urls.contains(&u) => urls.push(u),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "ignoring a stored relay"),
            }
        }
        let client = Client::builder().signer(keys.clone()).build();
        for url in &urls {
            client.pool().add_relay(url.clone(), relay_options()).await?;
        }
        Ok(NostrService {
            keys,
            client,
            relays: Mutex::new(urls),
            wanted: AtomicBool::new(false),
            inboxes: InboxCache::default(),
            last_replaceable: std::sync::Mutex::new(0),
        })
    }

    pub fn public_key(&self) -> PublicKey {
        self.keys.public_key()
    }

    pub fn npub(&self) -> String {
        self.keys.public_key().to_bech32().expect("a public key always encodes")
    }

    /// The configured relays, in the operator's order.
    pub async fn relay_urls(&self) -> Vec<RelayUrl> {
        self.relays.lock().await.clone()
    }

    /// The configured relays and their connection states.
    pub async fn relay_states(&self) -> Vec<RelayState> {
        let urls = self.relays.lock().await.clone();
        let live = self.client.relays().await;
        urls.into_iter()
            .map(|u| {
                let status = live.get(&u).map(|r| status_name(r.status())).unwrap_or("disconnected");
                RelayState { url: u.to_string(), status }
            })
            .collect()
    }

    /// Replaces the relay list (already stored by the caller): drops the
    /// relays no longer listed, adds the new ones.
    pub async fn set_relays(&self, new: Vec<RelayUrl>) -> anyhow::Result<()> {
        let mut current = self.relays.lock().await;
        for old in current.iter().filter(|u| !new.contains(u)) {
            self.client.force_remove_relay(old.clone()).await?;
        }
        for url in new.iter().filter(|u| !current.contains(u)) {
            self.client.pool().add_relay(url.clone(), relay_options()).await?;
        }
        *current = new;
        Ok(())
    }

    /// Tries to connect every relay that is not connected (at most
    /// [`CONNECT_TIMEOUT`], all at once).
    pub async fn connect(&self) {
        self.wanted.store(true, Ordering::Relaxed);
        let _ = self.client.try_connect(CONNECT_TIMEOUT).await;
    }

    /// Reconnects dropped relays, once connections have been asked for.
    pub async fn keep_alive(&self) {
        if self.wanted.load(Ordering::Relaxed) {
            let _ = self.client.try_connect(CONNECT_TIMEOUT).await;
        }
    }

    /// A NIP-17 private message from Keysat to `recipient`, gift-wrapped.
    pub async fn private_message(&self, recipient: PublicKey, text: &str) -> anyhow::Result<Event> {
        EventBuilder::private_msg(&self.keys, recipient, text, []).await.context("building the gift wrap")
    }

    /// The configured relays, after trying to connect them; those connected,
    /// or why there are none.
    async fn connected_relays(&self) -> Result<Vec<RelayUrl>, String> {
        self.connect().await;
        let configured = self.relays.lock().await.clone();
        if configured.is_empty() {
            return Err("no relays are configured".into());
        }
        let live = self.client.relays().await;
        let connected: Vec<RelayUrl> = configured
            .iter()
            .filter(|u| live.get(*u).is_some_and(|r| r.status() == RelayStatus::Connected))
            .cloned()
            .collect();
        if connected.is_empty() {
            let list: Vec<String> = configured.iter().map(|u| u.to_string()).collect();
            return Err(format!("no relay could be reached ({})", list.join(", ")));
        }
        Ok(connected)
    }

    /// Publishes to every connected relay of Keysat's; the relays that
    /// answered `OK` true, or why none did.
    pub async fn publish(&self, event: &Event) -> Result<Vec<String>, String> {
        let connected = self.connected_relays().await?;
        acked_by(self.client.send_event_to(connected, event).await)
    }

    /// Delivers a gift wrap for `recipient` where NIP-17 says they read: the
    /// relays of their kind 10050 list, else (no list) Keysat's relays. The
    /// relays that accepted it, or why none did.
    pub async fn deliver(&self, recipient: PublicKey, event: &Event) -> Result<(Route, Vec<String>), String> {
        match self.inbox_relays(recipient).await? {
            inbox if inbox.is_empty() => Ok((Route::Fallback, self.publish(event).await?)),
            inbox => {
                let acked = publish_elsewhere(&inbox, event).await?;
                Ok((Route::Inbox(inbox), acked))
            }
        }
    }

    /// The usable relays of `recipient`'s newest kind 10050 list on Keysat's
    /// relays (empty: none found), from the cache when recently looked up.
    pub async fn inbox_relays(&self, recipient: PublicKey) -> Result<Vec<RelayUrl>, String> {
        if let Some(known) = self.inboxes.get(&recipient, Instant::now()) {
            return Ok(known);
        }
        let connected = self.connected_relays().await?;
        let filter = Filter::new().author(recipient).kind(Kind::InboxRelays).limit(1);
        let events = self
            .client
            .fetch_events_from(connected.clone(), filter, LOOKUP_TIMEOUT)
            .await
            .map_err(|e| format!("looking up the recipient's inbox relays: {e}"))?;
        let own = self.relays.lock().await.clone();
        let found = inbox_relays_of(&recipient, events, &own);
        self.inboxes.put(recipient, found.clone(), Instant::now());
        Ok(found)
    }

    /// Publishes Keysat's profile (kind 0) and relay list (kind 10002, so
    /// clients following NIP-65 know where to find the profile) to Keysat's
    /// relays; the relays that accepted the profile.
    pub async fn publish_profile(&self, profile: &Profile) -> Result<Vec<String>, String> {
        let connected = self.connected_relays().await?;
        let mut metadata = Metadata::new()
            .name(&profile.name)
            .display_name(&profile.name)
            .about(&profile.about)
            .custom_field("bot", true);
        if let Some(site) = profile.website.as_deref().and_then(|w| nostr_sdk::Url::parse(w).ok()) {
            metadata = metadata.website(site);
        }
        let at = self.next_replaceable_at();
        let sign = |b: EventBuilder| b.custom_created_at(at).sign_with_keys(&self.keys).map_err(|e| e.to_string());
        let meta_event = sign(EventBuilder::metadata(&metadata))?;
        let own = self.relays.lock().await.clone();
        let list_event = sign(EventBuilder::relay_list(own.into_iter().map(|u| (u, None))))?;
        let acked = acked_by(self.client.send_event_to(connected.clone(), &meta_event).await)?;
        if let Err(e) = acked_by(self.client.send_event_to(connected, &list_event).await) {
            tracing::debug!(error = %e, "publishing Keysat's relay list");
        }
        Ok(acked)
    }

    /// A `created_at` later than any given before (now, or one past the last).
    fn next_replaceable_at(&self) -> Timestamp {
        let mut last = self.last_replaceable.lock().expect("timestamp lock");
        let at = Timestamp::now().as_secs().max(*last + 1);
        *last = at;
        Timestamp::from(at)
    }

    /// Closes every connection.
    pub async fn shutdown(&self) {
        self.client.shutdown().await;
    }

    /// Parses a stored gift wrap.
    pub fn stored_event(json: &str) -> anyhow::Result<Event> {
        Event::from_json(json).context("stored gift wrap")
    }
}

/// The relays that answered `OK` true, sorted, or why none did.
fn acked_by(sent: Result<nostr_sdk::pool::Output<EventId>, nostr_sdk::client::Error>) -> Result<Vec<String>, String> {
    let out = sent.map_err(|e| e.to_string())?;
    if out.success.is_empty() {
        let mut reasons: Vec<String> = out.failed.iter().map(|(u, e)| format!("{u}: {e}")).collect();
        reasons.sort();
        return Err(format!("no relay accepted the event ({})", reasons.join("; ")));
    }
    let mut acked: Vec<String> =
        out.success.iter().map(|u| u.to_string()).collect::<HashSet<_>>().into_iter().collect();
    acked.sort();
    Ok(acked)
}

/// Publishes to relays that are not Keysat's own (a recipient's inbox): a
/// connection for this event only, closed after it.
async fn publish_elsewhere(relays: &[RelayUrl], event: &Event) -> Result<Vec<String>, String> {
    let client = Client::default();
    for url in relays {
        client.pool().add_relay(url.clone(), relay_options()).await.map_err(|e| e.to_string())?;
    }
    let _ = client.try_connect(CONNECT_TIMEOUT).await;
    let live = client.relays().await;
    let connected: Vec<RelayUrl> =
        relays.iter().filter(|u| live.get(*u).is_some_and(|r| r.status() == RelayStatus::Connected)).cloned().collect();
    let result = if connected.is_empty() {
        let list: Vec<String> = relays.iter().map(|u| u.to_string()).collect();
        Err(format!("none of the recipient's inbox relays could be reached ({})", list.join(", ")))
    } else {
        acked_by(client.send_event_to(connected, event).await)
    };
    client.shutdown().await;
    result
}

fn relay_options() -> RelayOptions {
    // Reconnection is driven by delivery runs and the keep-alive job.
    RelayOptions::new().reconnect(false)
}

/// An npub (hex) as the Nostr library's public key, if it is a valid one.
pub fn recipient_key(hex: &str) -> Option<PublicKey> {
    PublicKey::from_hex(hex).ok().filter(|k| k.xonly().is_ok())
}
