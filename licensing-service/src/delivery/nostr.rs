//! Keysat's Nostr identity and its relays; NIP-17 direct messages
//! (gift-wrapped) to buyers and to the operator.
//!
//! Relays are connected on demand (the first message to send, or the
//! operator looking at them), not at start-up, and without the SDK's own
//! reconnect loop: every delivery run (and, once connected, a periodic
//! keep-alive) tries again the relays that are down, so when a relay comes
//! back a waiting message goes out at its next attempt.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::Context;
use nostr_sdk::{
    Client, Event, EventBuilder, JsonUtil, Keys, PublicKey, RelayOptions, RelayStatus, RelayUrl, SecretKey, ToBech32,
};
use tokio::sync::Mutex;

use crate::db::{self, Db};
use crate::domain::now_unix;

/// How long one connection attempt to a relay may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
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
        Ok(NostrService { keys, client, relays: Mutex::new(urls), wanted: AtomicBool::new(false) })
    }

    pub fn public_key(&self) -> PublicKey {
        self.keys.public_key()
    }

    pub fn npub(&self) -> String {
        self.keys.public_key().to_bech32().expect("a public key always encodes")
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

    /// Publishes to every connected relay; the relays that answered `OK`
    /// true, or why none did.
    pub async fn publish(&self, event: &Event) -> Result<Vec<String>, String> {
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
        let out = self.client.send_event_to(connected, event).await.map_err(|e| e.to_string())?;
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

    /// Closes every connection.
    pub async fn shutdown(&self) {
        self.client.shutdown().await;
    }

    /// Parses a stored gift wrap.
    pub fn stored_event(json: &str) -> anyhow::Result<Event> {
        Event::from_json(json).context("stored gift wrap")
    }
}

fn relay_options() -> RelayOptions {
    // Reconnection is driven by delivery runs and the keep-alive job.
    RelayOptions::new().reconnect(false)
}

/// An npub (hex) as the Nostr library's public key, if it is a valid one.
pub fn recipient_key(hex: &str) -> Option<PublicKey> {
    PublicKey::from_hex(hex).ok().filter(|k| k.xonly().is_ok())
}
