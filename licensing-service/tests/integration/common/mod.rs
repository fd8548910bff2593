//! The shared harness: starts the real daemon on a free port over a fresh
//! data directory and speaks HTTP to it, as an application or the operator would.

pub mod btcpay_sim;
pub mod stripe_sim;

use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::internals::{Application, Config, Handle};
use keysat_client::ed25519_dalek::SigningKey;
use keysat_client::uuid::Uuid;
use keysat_client::{Payload, PublicKey};
use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use tempfile::TempDir;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// The admin key every test app is configured with.
pub const ADMIN_KEY: &str = "test-admin-key-0123456789";

/// The `keysat` binary cargo built for these tests.
pub const KEYSAT_BIN: &str = env!("CARGO_BIN_EXE_keysat");

/// How long a test waits for what happens in the background (a delivery,
/// a retry, a reconciliation pass).
pub const WAIT: Duration = Duration::from_secs(20);

/// An answer: status, headers, raw text and (when it parses) the JSON body.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub text: String,
    pub json: Value,
}

impl Reply {
    async fn read(r: reqwest::Response) -> Reply {
        let status = r.status();
        let headers = r.headers().clone();
        let text = r.text().await.expect("read body");
        let json = serde_json::from_str(&text).unwrap_or(Value::Null);
        Reply { status, headers, text, json }
    }

    /// Asserts the status and returns the JSON body.
    #[track_caller]
    pub fn expect(self, status: u16) -> Value {
        assert_eq!(self.status.as_u16(), status, "unexpected status; body: {}", self.text);
        self.json
    }

    /// Asserts an error answer in PROTOCOL.md's envelope with this status and code.
    #[track_caller]
    pub fn expect_error(self, status: u16, code: &str) -> Value {
        let body = self.expect(status);
        assert_eq!(body["ok"], json!(false), "{body}");
        assert_eq!(body["error"], json!(code), "{body}");
        assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()), "{body}");
        body
    }
}

/// A running daemon and a client for it.
pub struct TestApp {
    /// `http://127.0.0.1:<port>` of the public listener.
    pub base: String,
    /// Base URL of the listener serving `/v1/admin/*` (the public one unless `admin_bind` is set).
    pub admin_base: String,
    pub admin_key: String,
    pub public_addr: SocketAddr,
    pub admin_addr: Option<SocketAddr>,
    pub client: reqwest::Client,
    /// The server's own signing key, to craft keys the server signed but never issued.
    pub signer: SigningKey,
    pub data_dir: TempDir,
    /// The running daemon's storage, key, configuration and counters.
    pub state: Handle,
    shutdown: watch::Sender<bool>,
    server: JoinHandle<anyhow::Result<()>>,
}

/// A daemon with the default test configuration.
pub async fn spawn_app() -> TestApp {
    spawn_with(|_| {}).await
}

/// Raises the per-address and global limits on purchases, redemptions and
/// connections, so that many requests can race from the test's one address.
pub fn unthrottled(c: &mut Config) {
    c.code_rate_per_minute = 10_000;
    c.purchase_rate_per_minute = 10_000;
    c.purchase_global_rate_per_minute = 10_000;
    c.max_pending_per_address = 1_000;
    c.max_connections_per_address = 1_000;
}

/// A daemon whose configuration `tweak` adjusts first.
pub async fn spawn_with(tweak: impl FnOnce(&mut Config)) -> TestApp {
    spawn_in(tempfile::tempdir().expect("temp dir"), tweak).await
}

/// A daemon over an existing data directory (a restart).
pub async fn spawn_in(data_dir: TempDir, tweak: impl FnOnce(&mut Config)) -> TestApp {
    let mut config = Config::for_data_dir(data_dir.path().to_path_buf());
    config.admin_api_key = Some(ADMIN_KEY.to_string());
    tweak(&mut config);
    let admin_key = config.admin_api_key.clone().unwrap_or_default();
    let app = Application::build(config).await.expect("build the application");
    let public_addr = app.public_addr;
    let admin_addr = app.admin_addr;
    let state = app.handle();
    let signer = (*state.signer).clone();
    let shutdown = app.shutdown_handle();
    let server = tokio::spawn(app.run_until_stopped());
    let base = format!("http://{public_addr}");
    let admin_base = admin_addr.map(|a| format!("http://{a}")).unwrap_or_else(|| base.clone());
    TestApp {
        base,
        admin_base,
        admin_key,
        public_addr,
        admin_addr,
        client: reqwest::Client::builder().timeout(Duration::from_secs(30)).build().expect("http client"),
        signer,
        data_dir,
        state,
        shutdown,
        server,
    }
}

impl TestApp {
    /// Stops gracefully (as SIGTERM would) and hands back the data directory.
    pub async fn stop(self) -> TempDir {
        let TestApp { shutdown, server, client, data_dir, state, .. } = self;
        drop(client);
        drop(state);
        shutdown.send(true).expect("server still listening for shutdown");
        tokio::time::timeout(Duration::from_secs(15), server)
            .await
            .expect("graceful stop within 15 s")
            .expect("server task")
            .expect("server result");
        data_dir
    }

    /// The server's public key, as `/v1/pubkey` publishes it.
    pub async fn public_key(&self) -> PublicKey {
        let body = self.get("/v1/pubkey").await.expect(200);
        PublicKey::from_pem(body["public_key_pem"].as_str().expect("pem")).expect("loadable PEM")
    }

    // ---- raw HTTP ----

    pub async fn send(&self, req: reqwest::RequestBuilder) -> Reply {
        Reply::read(req.send().await.expect("request sent")).await
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.send(self.client.get(format!("{}{path}", self.base))).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Reply {
        self.send(self.client.post(format!("{}{path}", self.base)).json(&body)).await
    }

    /// A public POST with a raw body sent as JSON.
    pub async fn post_raw(&self, path: &str, body: impl Into<reqwest::Body>) -> Reply {
        self.send(
            self.client.post(format!("{}{path}", self.base)).header("content-type", "application/json").body(body),
        )
        .await
    }

    /// An authorised request to `/v1/admin{path}`.
    pub fn admin(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.client.request(method, format!("{}/v1/admin{path}", self.admin_base)).bearer_auth(&self.admin_key)
    }

    pub async fn admin_get(&self, path: &str) -> Reply {
        self.send(self.admin(Method::GET, path)).await
    }

    pub async fn admin_post(&self, path: &str, body: Value) -> Reply {
        self.send(self.admin(Method::POST, path).json(&body)).await
    }

    pub async fn admin_patch(&self, path: &str, body: Value) -> Reply {
        self.send(self.admin(Method::PATCH, path).json(&body)).await
    }

    pub async fn admin_delete(&self, path: &str) -> Reply {
        self.send(self.admin(Method::DELETE, path)).await
    }

    pub async fn admin_put(&self, path: &str, body: Value) -> Reply {
        self.send(self.admin(Method::PUT, path).json(&body)).await
    }

    /// An admin POST with a raw body sent as JSON.
    pub async fn admin_post_raw(&self, path: &str, body: impl Into<reqwest::Body>) -> Reply {
        self.send(self.admin(Method::POST, path).header("content-type", "application/json").body(body)).await
    }

    // ---- payments ----

    /// Connects the simulator's store(s) through the one-click flow, as the
    /// operator's browser would; returns the callback page's text.
    pub async fn connect_btcpay(&self, sim: &btcpay_sim::BtcpaySim, grant: &[&str]) -> String {
        let started = self.admin_post("/btcpay/connect", json!({"btcpay_url": sim.base})).await.expect(200);
        let consent = sim.consent(started["authorize_url"].as_str().expect("authorize_url"), grant);
        let page = self.client.post(&consent.redirect).form(&consent.form).send().await.expect("callback");
        assert!(page.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
        page.text().await.expect("callback page")
    }

    /// `POST /v1/purchase`.
    pub async fn purchase(&self, body: Value) -> Reply {
        self.post("/v1/purchase", body).await
    }

    /// `GET /v1/purchase/{id}`.
    pub async fn poll(&self, invoice_id: &str) -> Value {
        self.get(&format!("/v1/purchase/{invoice_id}")).await.expect(200)
    }

    /// Runs a reconciliation pass now.
    pub async fn reconcile(&self) -> Value {
        self.admin_post("/btcpay/reconcile", json!({})).await.expect(200)
    }

    /// How many licenses were issued for `invoice_id`.
    pub async fn licenses_for(&self, invoice_id: &str) -> usize {
        // One answer shape (`{"licenses": [...]}`), each license naming its
        // invoice: a change of shape fails here instead of counting zero.
        let all = self.admin_get("/licenses?limit=500").await.expect(200);
        let list = all["licenses"].as_array().unwrap_or_else(|| panic!("no licenses list: {all}"));
        assert!(list.iter().all(|l| l.get("invoice_id").is_some()), "a license without invoice_id: {all}");
        list.iter().filter(|l| l["invoice_id"] == json!(invoice_id)).count()
    }

    // ---- the catalogue ----

    /// Creates a product; `extra` adds or overrides fields of the body.
    pub async fn create_product(&self, slug: &str, extra: Value) -> Value {
        let mut body = json!({"slug": slug, "name": format!("Product {slug}"), "price_sats": 10_000});
        merge(&mut body, extra);
        self.admin_post("/products", body).await.expect(201)
    }

    /// Creates a policy of `product`; `body` must hold at least `slug`.
    pub async fn create_policy(&self, product: &str, body: Value) -> Value {
        let mut full = json!({"name": "A tier"});
        merge(&mut full, body);
        self.admin_post(&format!("/products/{product}/policies"), full).await.expect(201)
    }

    /// A product with one policy `default` made of `policy` fields.
    /// Creates a discount code of product `app`; `body` adds or overrides
    /// fields. Returns the code.
    pub async fn create_code(&self, body: Value) -> String {
        let mut full = json!({"product_slug": "app"});
        merge(&mut full, body);
        self.admin_post("/discount-codes", full).await.expect(201)["code"].as_str().unwrap().to_string()
    }

    pub async fn product_with_policy(&self, slug: &str, policy: Value) -> Value {
        let product = self.create_product(slug, json!({})).await;
        let mut body = json!({"slug": "default", "name": "Default"});
        merge(&mut body, policy);
        self.create_policy(slug, body).await;
        product
    }

    // ---- licenses ----

    /// Issues a license through the admin API; returns the whole answer.
    pub async fn issue(&self, body: Value) -> Value {
        self.admin_post("/licenses", body).await.expect(201)
    }

    /// Issues a license of `product` under `policy`; returns (license id, key).
    pub async fn issue_license(&self, product: &str, policy: &str) -> (String, String) {
        let l = self.issue(json!({"product_slug": product, "policy_slug": policy})).await;
        (l["license_id"].as_str().expect("license_id").to_string(), l["license_key"].as_str().expect("key").to_string())
    }

    pub async fn license(&self, id: &str) -> Value {
        self.admin_get(&format!("/licenses/{id}")).await.expect(200)
    }

    pub async fn stats(&self) -> Value {
        self.admin_get("/stats").await.expect(200)
    }

    pub async fn audit_count(&self) -> usize {
        self.admin_get("/audit?limit=500").await.expect(200)["entries"].as_array().expect("entries").len()
    }

    // ---- the application's calls ----

    /// `POST /v1/validate`; every decision is HTTP 200.
    pub async fn validate(&self, body: Value) -> Value {
        self.post("/v1/validate", body).await.expect(200)
    }

    pub async fn activate(&self, key: &str, fingerprint: &str) -> Value {
        self.post("/v1/machines/activate", json!({"key": key, "fingerprint": fingerprint})).await.expect(200)
    }

    pub async fn heartbeat(&self, key: &str, fingerprint: &str) -> Value {
        self.post("/v1/machines/heartbeat", json!({"key": key, "fingerprint": fingerprint})).await.expect(200)
    }

    pub async fn deactivate(&self, key: &str, fingerprint: &str) -> Value {
        self.post("/v1/machines/deactivate", json!({"key": key, "fingerprint": fingerprint})).await.expect(200)
    }

    /// A key signed with this server's own key for a license it never issued.
    pub fn forge_key(&self, product_id: Uuid, license_id: Uuid) -> String {
        sign_key(&self.signer, product_id, license_id)
    }
}

/// A valid v2 key for (`product_id`, `license_id`) signed by `signer`.
pub fn sign_key(signer: &SigningKey, product_id: Uuid, license_id: Uuid) -> String {
    let payload = Payload {
        version: 2,
        flags: 0,
        product_id,
        license_id,
        issued_at: 1_700_000_000,
        expires_at: 0,
        fingerprint_hash: [0; 32],
        entitlements: vec![],
    };
    keysat_client::sign(&payload, signer).expect("sign")
}

/// Asserts a validate / machine refusal with `reason`.
#[track_caller]
pub fn assert_refused(body: &Value, reason: &str) {
    assert_eq!(body["ok"], json!(false), "{body}");
    assert_eq!(body["reason"], json!(reason), "{body}");
}

/// Asserts a granted validate / machine call.
#[track_caller]
pub fn assert_ok(body: &Value) {
    assert_eq!(body["ok"], json!(true), "{body}");
}

/// The object's keys, sorted.
pub fn keys(v: &Value) -> Vec<String> {
    let mut k: Vec<String> = v.as_object().unwrap_or_else(|| panic!("not an object: {v}")).keys().cloned().collect();
    k.sort();
    k
}

/// `names` sorted, for comparing with [`keys`].
pub fn sorted(names: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = names.iter().map(|s| s.to_string()).collect();
    v.sort();
    v
}

/// Shallow merge of `extra`'s fields into `base`.
pub fn merge(base: &mut Value, extra: Value) {
    if let (Some(b), Value::Object(e)) = (base.as_object_mut(), extra) {
        b.extend(e);
    }
}

/// RFC 3339 → unix seconds.
#[track_caller]
pub fn unix(v: &Value) -> i64 {
    let s = v.as_str().unwrap_or_else(|| panic!("not a timestamp: {v}"));
    chrono::DateTime::parse_from_rfc3339(s).unwrap_or_else(|e| panic!("{s}: {e}")).timestamp()
}

/// Unix seconds now.
pub fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// A loopback port nobody listens on right now (someone may take it before
/// it is bound: a caller that can, retries on "address in use").
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A client whose connections come from `127.0.0.<last_octet>` (Linux routes
/// all of 127.0.0.0/8 to the loopback interface).
pub fn client_from(last_octet: u8) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(IpAddr::V4(Ipv4Addr::new(127, 0, 0, last_octet)))
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

/// Percent-encodes all but ASCII letters and digits, for a query string.
pub fn urlencode(s: &str) -> String {
    s.bytes().map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") }).collect()
}

/// `licensing-service/tests/js`: the npm tools the tests drive (Prism, Ajv,
/// playwright-core; `make js-deps` installs them).
pub fn js_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/js")
}

/// Retries `check` until it returns `Some`, for at most `timeout`.
pub async fn poll<T, F, Fut>(timeout: Duration, mut check: F) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let start = Instant::now();
    loop {
        if let Some(v) = check().await {
            return Some(v);
        }
        if start.elapsed() >= timeout {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
