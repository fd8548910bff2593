//! For the delivery tests: a real Nostr relay in-process, a buyer's Nostr
//! client, and a webhook receiver whose answers a test scripts.

pub mod smtp;

use std::collections::VecDeque;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use hmac::{Hmac, Mac};
use nostr_relay_builder::{LocalRelay, RelayBuilder};
use nostr_sdk::{Client, Filter, FromBech32, Keys, Kind, PublicKey, ToBech32};
use serde_json::{json, Value};
use sha2::Sha256;
use tokio::task::JoinHandle;

use crate::common::TestApp;

/// A loopback port held but not listened on: connections to it are refused,
/// and nothing else can bind it until it is handed to [`start_receiver_on`]
/// (which listens on this same socket: no release-and-rebind race) or
/// dropped.
pub struct ReservedPort {
    socket: tokio::net::TcpSocket,
    pub port: u16,
}

pub fn reserve_port() -> ReservedPort {
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    socket.bind(SocketAddr::from(([127, 0, 0, 1], 0))).expect("bind port 0");
    let port = socket.local_addr().expect("addr").port();
    ReservedPort { socket, port }
}

impl ReservedPort {
    /// Releases the port for a server that can only be given a port number
    /// (the relay builder): the one remaining window is between this call
    /// and that server's bind, right after it.
    pub fn release(self) -> u16 {
        self.port
    }
}

/// A Nostr relay on this machine (in memory).
pub struct TestRelay {
    relay: LocalRelay,
    pub url: String,
}

/// Starts a relay, on `port` when given.
/// On a given port, a bind that fails (the port not yet released by a
/// relay just stopped there) is retried for up to 5 s.
pub async fn start_relay(port: Option<u16>) -> TestRelay {
    let start = std::time::Instant::now();
    loop {
        let mut builder = RelayBuilder::default().addr(IpAddr::V4(Ipv4Addr::LOCALHOST));
        if let Some(p) = port {
            builder = builder.port(p);
        }
        let relay = LocalRelay::new(builder);
        match relay.run().await {
            Ok(()) => {
                let url = relay.url().await.to_string();
                return TestRelay { relay, url };
            }
            Err(e) if port.is_some() && start.elapsed() < Duration::from_secs(5) => {
                let _ = e;
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(e) => panic!("relay runs: {e}"),
        }
    }
}

impl TestRelay {
    pub fn stop(self) {
        self.relay.shutdown();
    }
}

/// Someone with a Nostr key pair reading their DMs from one relay.
pub struct NostrUser {
    pub keys: Keys,
    client: Client,
}

/// A message received: who sealed it and what it says.
#[derive(Debug, Clone)]
pub struct Dm {
    pub sender: PublicKey,
    pub kind: Kind,
    pub content: String,
}

impl NostrUser {
    pub async fn new(relay_url: &str) -> NostrUser {
        NostrUser::with_keys(relay_url, Keys::generate()).await
    }

    pub async fn with_keys(relay_url: &str, keys: Keys) -> NostrUser {
        let client = Client::new(keys.clone());
        client.add_relay(relay_url).await.expect("add relay");
        client.connect().await;
        client.wait_for_connection(Duration::from_secs(5)).await;
        NostrUser { keys, client }
    }

    pub fn npub(&self) -> String {
        self.keys.public_key().to_bech32().expect("npub")
    }

    /// Every gift wrap addressed to this user on the relay, unwrapped.
    pub async fn dms(&self) -> Vec<Dm> {
        let filter = Filter::new().kind(Kind::GiftWrap).pubkey(self.keys.public_key());
        let Ok(events) = self.client.fetch_events(filter, Duration::from_secs(2)).await else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for e in events.into_iter() {
            let gift = self.client.unwrap_gift_wrap(&e).await.expect("a gift wrap to me decrypts");
            out.push(Dm { sender: gift.sender, kind: gift.rumor.kind, content: gift.rumor.content });
        }
        out
    }

    /// Waits until at least `n` DMs are on the relay.
    pub async fn wait_for_dms(&self, n: usize, timeout: Duration) -> Vec<Dm> {
        let start = std::time::Instant::now();
        loop {
            let dms = self.dms().await;
            if dms.len() >= n {
                return dms;
            }
            assert!(start.elapsed() < timeout, "only {} of {n} DMs arrived: {dms:?}", dms.len());
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    pub async fn stop(self) {
        self.client.shutdown().await;
    }
}

/// Sets Keysat's Nostr relays; returns the `/nostr` settings it answers.
pub async fn use_relays(app: &TestApp, relays: &[&str]) -> Value {
    app.admin_put("/nostr", json!({ "relays": relays })).await.expect(200)
}

/// Keysat's own Nostr public key, as `/v1/admin/nostr` shows it.
pub async fn keysat_key(app: &TestApp) -> PublicKey {
    let npub = app.admin_get("/nostr").await.expect(200)["npub"].as_str().unwrap().to_string();
    PublicKey::from_bech32(&npub).unwrap()
}

/// The `LIC1-…` keys in a text.
pub fn keys_in(text: &str) -> Vec<String> {
    text.split_whitespace().filter(|w| w.starts_with("LIC1-")).map(str::to_owned).collect()
}

/// One request a receiver got.
#[derive(Debug, Clone)]
pub struct Received {
    pub headers: HeaderMap,
    pub body: String,
    pub json: Value,
    pub answered: u16,
}

impl Received {
    pub fn header(&self, name: &str) -> &str {
        self.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("")
    }
}

#[derive(Default)]
struct Log {
    received: Vec<Received>,
    /// Statuses to answer next, in order; then 200.
    script: VecDeque<u16>,
}

/// A webhook receiver on this machine.
pub struct Receiver {
    pub url: String,
    log: Arc<Mutex<Log>>,
    server: JoinHandle<()>,
}

async fn receive(State(log): State<Arc<Mutex<Log>>>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let mut log = log.lock().unwrap();
    let status = log.script.pop_front().unwrap_or(200);
    let body = String::from_utf8_lossy(&body).into_owned();
    let json = serde_json::from_str(&body).unwrap_or(Value::Null);
    log.received.push(Received { headers, body, json, answered: status });
    StatusCode::from_u16(status).unwrap()
}

/// Starts a receiver at `/hook` on a port of its own.
pub async fn start_receiver(port: Option<u16>) -> Receiver {
    assert!(port.is_none(), "a fixed port races: use reserve_port and start_receiver_on");
    let listener =
        tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await.expect("bind the receiver");
    serve_receiver(listener)
}

/// Starts a receiver at `/hook` on the reserved port (listening on the very
/// socket that held it).
pub async fn start_receiver_on(reserved: ReservedPort) -> Receiver {
    serve_receiver(reserved.socket.listen(1024).expect("listen on the reserved port"))
}

fn serve_receiver(listener: tokio::net::TcpListener) -> Receiver {
    let port = listener.local_addr().unwrap().port();
    let log = Arc::new(Mutex::new(Log::default()));
    let app = Router::new().route("/hook", post(receive)).with_state(log.clone());
    let server = tokio::spawn(async move {
        axum::serve(listener, app).await.expect("receiver serves");
    });
    Receiver { url: format!("http://127.0.0.1:{port}/hook"), log, server }
}

impl Receiver {
    /// The next answers, in order (then 200 again).
    pub fn answer(&self, statuses: &[u16]) {
        self.log.lock().unwrap().script.extend(statuses.iter().copied());
    }

    pub fn received(&self) -> Vec<Received> {
        self.log.lock().unwrap().received.clone()
    }

    /// Waits until requests matching `pred` number at least `n`.
    pub async fn wait_for(&self, n: usize, timeout: Duration, pred: impl Fn(&Received) -> bool) -> Vec<Received> {
        let start = std::time::Instant::now();
        loop {
            let got: Vec<Received> = self.received().into_iter().filter(|r| pred(r)).collect();
            if got.len() >= n {
                return got;
            }
            assert!(start.elapsed() < timeout, "only {} of {n} requests arrived: {got:?}", got.len());
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Stops listening (the port is free again).
    pub async fn stop(self) {
        self.server.abort();
        let _ = self.server.await;
    }
}

/// Checks `Keysat-Signature: t=<unix>,v1=<hex>` against the secret, as a
/// receiver would (computed here, not with Keysat's own code).
pub fn signature_verifies(secret: &str, header: &str, body: &str) -> bool {
    let mut t = None;
    let mut v1 = None;
    for part in header.split(',') {
        match part.split_once('=') {
            Some(("t", v)) => t = Some(v),
            Some(("v1", v)) => v1 = Some(v),
            _ => return false,
        }
    }
    let (Some(t), Some(v1)) = (t, v1) else { return false };
    let Ok(sig) = data_encoding::HEXLOWER.decode(v1.as_bytes()) else { return false };
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{t}.{body}").as_bytes());
    mac.verify_slice(&sig).is_ok()
}

/// Nostr messages of `kind` (`license`, `recovery`, `operator`) Keysat has
/// queued, whatever their state: "nothing more was sent" checked where it is
/// decided, in the transaction of its cause, instead of by waiting a while.
pub async fn queued_dms(db: &sqlx::SqlitePool, kind: &str) -> i64 {
    let (n,): (i64,) = sqlx::query_as("SELECT count(*) FROM nostr_messages WHERE kind = ?")
        .bind(kind)
        .fetch_one(db)
        .await
        .expect("count queued DMs");
    n
}

/// Outbox events of `event_type` Keysat has written.
pub async fn written_events(db: &sqlx::SqlitePool, event_type: &str) -> i64 {
    let (n,): (i64,) = sqlx::query_as("SELECT count(*) FROM outbox_events WHERE type = ?")
        .bind(event_type)
        .fetch_one(db)
        .await
        .expect("count outbox events");
    n
}
