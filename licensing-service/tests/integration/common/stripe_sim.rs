//! A stateful Stripe simulator: the calls Keysat makes (Checkout Sessions,
//! Refunds, Webhook Endpoints), Stripe's error envelope, and test controls
//! (pay, pay late, expire, refund or dispute from the dashboard, outage,
//! lost deliveries) that send events to the registered endpoints as Stripe
//! does, each signed by Stripe's own Node library (`tests/js/stripe-webhooks.mjs`).
//!
//! Request shapes follow the `stripe` npm package's TypeScript types at
//! 23.1.0 (`Checkout.SessionCreateParams`, `RefundCreateParams`,
//! `WebhookEndpointCreateParams`): a create with a parameter those types do
//! not have, or without a required one, is refused as Stripe refuses it
//! (`parameter_unknown`, `parameter_missing`), and every create must carry an
//! `Idempotency-Key`, whose repeat answers the first answer again. Answers
//! and events carry the fields of `Checkout.Session`, `Refund`, `Charge`,
//! `Dispute`, `WebhookEndpoint` and `Event` that a client reads.
//! PyPI's `localstripe` has no Checkout Sessions, webhook endpoint API or
//! disputes, which is why this exists.

// A refusal is the simulator's answer itself, a whole `Response`.
#![allow(clippy::result_large_err)]

use std::collections::HashMap;
use std::process::Stdio;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout};

/// The secret key the simulated account accepts.
pub const SECRET_KEY: &str = "sk_test_keysat0simulated";

/// Stripe's own webhook signing (the Node library), as a long-lived helper.
pub struct NodeSigner {
    _child: Child,
    io: tokio::sync::Mutex<(ChildStdin, Lines<BufReader<ChildStdout>>)>,
}

impl NodeSigner {
    pub fn start() -> NodeSigner {
        let dir = crate::common::js_dir();
        assert!(
            dir.join("node_modules/stripe").exists(),
            "the stripe npm package is not installed: run `npm ci` in licensing-service/tests/js"
        );
        let mut child = tokio::process::Command::new("node")
            .arg(dir.join("stripe-webhooks.mjs"))
            .current_dir(&dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("start node");
        let stdin = child.stdin.take().unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap()).lines();
        NodeSigner { _child: child, io: tokio::sync::Mutex::new((stdin, stdout)) }
    }

    async fn ask(&self, req: Value) -> Value {
        let mut io = self.io.lock().await;
        io.0.write_all(format!("{req}\n").as_bytes()).await.unwrap();
        let line = io.1.next_line().await.unwrap().expect("an answer from stripe-webhooks.mjs");
        serde_json::from_str(&line).unwrap()
    }

    /// `Stripe-Signature` for `payload`, signed now or at `timestamp`.
    pub async fn sign(&self, payload: &str, secret: &str, timestamp: Option<i64>) -> String {
        let mut req = json!({"op": "sign", "payload": payload, "secret": secret});
        if let Some(t) = timestamp {
            req["timestamp"] = json!(t);
        }
        let a = self.ask(req).await;
        a["header"].as_str().unwrap_or_else(|| panic!("{a}")).to_string()
    }

    /// Whether Stripe's library accepts `header` for `payload`.
    pub async fn verify(&self, payload: &str, header: &str, secret: &str) -> Result<String, String> {
        let a = self.ask(json!({"op": "verify", "payload": payload, "header": header, "secret": secret})).await;
        match a["ok"].as_bool() {
            Some(true) => Ok(a["id"].as_str().unwrap().to_string()),
            _ => Err(a["error"].as_str().unwrap_or_default().to_string()),
        }
    }
}

#[derive(Clone, Debug)]
pub struct SimSession {
    pub id: String,
    pub client_reference_id: Option<String>,
    pub amount_total: i64,
    pub currency: String,
    pub status: String,
    pub payment_status: String,
    pub payment_intent: Option<String>,
    pub success_url: String,
    pub customer_email: Option<String>,
    pub metadata: Value,
    pub created: i64,
    pub expires_at: i64,
}

#[derive(Clone, Debug)]
struct Endpoint {
    id: String,
    url: String,
    secret: String,
    events: Vec<String>,
    api_version: Option<String>,
}

/// A request the API received: method, path, form fields, idempotency key.
#[derive(Clone, Debug)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub form: Vec<(String, String)>,
    pub idempotency_key: Option<String>,
    pub stripe_version: Option<String>,
}

/// An event sent: its body, the header it was signed with, where it went
/// and Keysat's answer (`None`: dropped, or Keysat unreachable).
#[derive(Clone, Debug)]
pub struct Sent {
    pub event_type: String,
    pub body: String,
    pub header: String,
    pub url: String,
    pub status: Option<u16>,
}

#[derive(Default)]
struct Inner {
    endpoints: Vec<Endpoint>,
    sessions: Vec<SimSession>,
    refunds: Vec<Value>,
    idempotent: HashMap<String, (u16, Value)>,
    requests: Vec<Recorded>,
    sent: Vec<Sent>,
    down: bool,
    drop_events: bool,
    counter: u64,
}

#[derive(Clone)]
pub struct StripeSim {
    inner: Arc<Mutex<Inner>>,
    signer: Arc<NodeSigner>,
    pub base: String,
    http: reqwest::Client,
}

type Shared = StripeSim;

impl StripeSim {
    pub async fn start() -> StripeSim {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let sim = StripeSim {
            inner: Arc::default(),
            signer: Arc::new(NodeSigner::start()),
            base: format!("http://{addr}"),
            http: reqwest::Client::new(),
        };
        let app = Router::new()
            .route("/v1/webhook_endpoints", get(list_endpoints).post(create_endpoint))
            .route("/v1/webhook_endpoints/{id}", get(get_endpoint).delete(delete_endpoint))
            .route("/v1/checkout/sessions", get(list_sessions).post(create_session))
            .route("/v1/checkout/sessions/{id}", get(get_session))
            .route("/v1/refunds", post(create_refund))
            // The hosted checkout a buyer's browser is sent to (not an API call).
            .route("/c/pay/{id}", get(checkout_page).post(checkout_pay))
            .fallback(unknown_route)
            .with_state(sim.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        sim
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap()
    }

    fn next_id(&self, prefix: &str) -> String {
        let mut g = self.lock();
        g.counter += 1;
        format!("{prefix}_sim{:08}", g.counter)
    }

    pub fn signer(&self) -> &NodeSigner {
        &self.signer
    }

    /// While down, every API call answers 503 `api_error`.
    pub fn set_down(&self, down: bool) {
        self.lock().down = down;
    }

    /// While set, events are made but never delivered (a lost webhook).
    pub fn drop_events(&self, drop: bool) {
        self.lock().drop_events = drop;
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.lock().requests.clone()
    }

    pub fn sent(&self) -> Vec<Sent> {
        self.lock().sent.clone()
    }

    pub fn session(&self, id: &str) -> SimSession {
        self.lock().sessions.iter().find(|s| s.id == id).cloned().expect("known session")
    }

    pub fn refunds(&self) -> Vec<Value> {
        self.lock().refunds.clone()
    }

    pub fn endpoint_count(&self) -> usize {
        self.lock().endpoints.len()
    }

    /// The registered endpoint's URL and signing secret.
    pub fn endpoint_secret(&self) -> (String, String) {
        let g = self.lock();
        let e = g.endpoints.last().expect("an endpoint");
        (e.url.clone(), e.secret.clone())
    }

    fn update(&self, id: &str, change: impl FnOnce(&mut SimSession)) -> SimSession {
        let mut g = self.lock();
        let s = g.sessions.iter_mut().find(|s| s.id == id).expect("known session");
        change(s);
        s.clone()
    }

    fn paid(&self, id: &str, payment_status: &str) -> SimSession {
        let pi = self.next_id("pi");
        self.update(id, |s| {
            s.status = "complete".into();
            s.payment_status = payment_status.into();
            s.payment_intent = Some(pi);
        })
    }

    /// The buyer pays by card: `checkout.session.completed`, paid.
    pub async fn pay(&self, id: &str) {
        let s = self.paid(id, "paid");
        self.emit("checkout.session.completed", session_json(self, &s)).await;
    }

    /// A delayed method: completed unpaid, then the money arrives (or not).
    pub async fn pay_later(&self, id: &str) {
        let s = self.paid(id, "unpaid");
        self.emit("checkout.session.completed", session_json(self, &s)).await;
    }

    pub async fn settle_later(&self, id: &str, succeeded: bool) {
        let s = self.update(id, |s| s.payment_status = if succeeded { "paid" } else { "unpaid" }.into());
        let t = if succeeded {
            "checkout.session.async_payment_succeeded"
        } else {
            "checkout.session.async_payment_failed"
        };
        self.emit(t, session_json(self, &s)).await;
    }

    pub async fn expire(&self, id: &str) {
        let s = self.update(id, |s| s.status = "expired".into());
        self.emit("checkout.session.expired", session_json(self, &s)).await;
    }

    fn charge(&self, s: &SimSession, refunded: i64) -> Value {
        let pi = s.payment_intent.clone().expect("paid session");
        json!({"id": format!("ch_{}", &pi[3..]), "object": "charge", "amount": s.amount_total,
            "amount_captured": s.amount_total, "amount_refunded": refunded, "captured": true,
            "currency": s.currency, "paid": true, "payment_intent": pi, "refunded": refunded >= s.amount_total,
            "status": "succeeded", "livemode": false, "created": s.created, "metadata": {}})
    }

    /// The seller refunds in Stripe's dashboard: a Refund, and `charge.refunded`.
    pub async fn refund_in_dashboard(&self, id: &str, amount: Option<i64>) {
        let s = self.session(id);
        let amount = amount.unwrap_or(s.amount_total);
        let refund = refund_json(self, &s, amount, "requested_by_customer", json!({}));
        self.lock().refunds.push(refund);
        self.emit("charge.refunded", self.charge(&s, amount)).await;
    }

    /// A chargeback: `charge.dispute.created`; returns the dispute's id.
    pub async fn dispute(&self, id: &str) -> String {
        let s = self.session(id);
        let du = self.next_id("du");
        self.emit("charge.dispute.created", dispute_json(&s, &du, "needs_response")).await;
        du
    }

    /// The dispute ends `won` or `lost`: `charge.dispute.closed`.
    pub async fn close_dispute(&self, id: &str, dispute: &str, status: &str) {
        let s = self.session(id);
        self.emit("charge.dispute.closed", dispute_json(&s, dispute, status)).await;
    }

    /// Sends an event to every endpoint subscribed to its type.
    async fn emit(&self, event_type: &str, object: Value) {
        let endpoints: Vec<Endpoint> = self
            .lock()
            .endpoints
            .iter()
            .filter(|e| e.events.iter().any(|t| t == event_type || t == "*"))
            .cloned()
            .collect();
        for e in endpoints {
            let body = json!({"id": self.next_id("evt"), "object": "event", "api_version": e.api_version,
                "created": now(), "data": {"object": object}, "livemode": false, "pending_webhooks": 1,
                "request": {"id": null, "idempotency_key": null}, "type": event_type})
            .to_string();
            let header = self.signer.sign(&body, &e.secret, None).await;
            let status = if self.lock().drop_events { None } else { self.post(&e.url, &body, &header).await };
            self.lock().sent.push(Sent { event_type: event_type.into(), body, header, url: e.url.clone(), status });
        }
    }

    /// POSTs a body with a `Stripe-Signature` (replays and forgeries too).
    pub async fn post(&self, url: &str, body: &str, header: &str) -> Option<u16> {
        let req = self
            .http
            .post(url)
            .header("Content-Type", "application/json; charset=utf-8")
            .header("Stripe-Signature", header)
            .body(body.to_string());
        Some(req.send().await.ok()?.status().as_u16())
    }
}

fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
}

fn stripe_error(status: StatusCode, kind: &str, code: Option<&str>, param: Option<&str>, message: &str) -> Response {
    let mut e = json!({"type": kind, "message": message});
    if let Some(c) = code {
        e["code"] = json!(c);
    }
    if let Some(p) = param {
        e["param"] = json!(p);
    }
    (status, Json(json!({ "error": e }))).into_response()
}

/// The top-level name of a bracketed form key (`line_items[0][quantity]` → `line_items`).
fn top(key: &str) -> &str {
    key.split('[').next().unwrap_or(key)
}

/// Records the request, then checks the key (`Authorization: Bearer`) and the outage switch.
fn admit(sim: &Shared, m: &Method, uri: &Uri, h: &HeaderMap, form: &[(String, String)]) -> Result<(), Response> {
    let header = |n: &str| h.get(n).and_then(|v| v.to_str().ok()).map(str::to_string);
    let mut g = sim.lock();
    g.requests.push(Recorded {
        method: m.to_string(),
        path: uri.to_string(),
        form: form.to_vec(),
        idempotency_key: header("idempotency-key"),
        stripe_version: header("stripe-version"),
    });
    if g.down {
        return Err(stripe_error(StatusCode::SERVICE_UNAVAILABLE, "api_error", None, None, "simulated outage"));
    }
    if header("authorization").as_deref() != Some(&format!("Bearer {SECRET_KEY}")) {
        let msg = "Invalid API Key provided";
        return Err(stripe_error(
            StatusCode::UNAUTHORIZED,
            "invalid_request_error",
            Some("api_key_invalid"),
            None,
            msg,
        ));
    }
    Ok(())
}

/// A create's form against its TypeScript type's parameters: unknown ones
/// and missing required ones are refused; an `Idempotency-Key` is required.
fn check_create(h: &HeaderMap, form: &[(String, String)], known: &[&str], required: &[&str]) -> Result<(), Response> {
    for (k, _) in form {
        if !known.contains(&top(k)) {
            let msg = format!("Received unknown parameter: {k}");
            return Err(stripe_error(
                StatusCode::BAD_REQUEST,
                "invalid_request_error",
                Some("parameter_unknown"),
                Some(k),
                &msg,
            ));
        }
    }
    for r in required {
        if !form.iter().any(|(k, _)| top(k) == *r) {
            let msg = format!("Missing required param: {r}.");
            return Err(stripe_error(
                StatusCode::BAD_REQUEST,
                "invalid_request_error",
                Some("parameter_missing"),
                Some(r),
                &msg,
            ));
        }
    }
    if h.get("idempotency-key").is_none() {
        return Err(stripe_error(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            None,
            None,
            "Idempotency-Key expected",
        ));
    }
    Ok(())
}

fn field<'a>(form: &'a [(String, String)], key: &str) -> Option<&'a str> {
    form.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

/// Bracketed keys with a prefix, as a JSON object (`metadata[a]=b` → `{"a":"b"}`).
fn object_of(form: &[(String, String)], prefix: &str) -> Value {
    let mut out = serde_json::Map::new();
    for (k, v) in form {
        if let Some(rest) = k.strip_prefix(prefix).and_then(|r| r.strip_prefix('[')).and_then(|r| r.strip_suffix(']')) {
            out.insert(rest.to_string(), json!(v));
        }
    }
    Value::Object(out)
}

/// A repeated idempotency key answers the first answer again.
fn replayed(sim: &Shared, h: &HeaderMap) -> Option<Response> {
    let key = h.get("idempotency-key")?.to_str().ok()?;
    let (status, body) = sim.lock().idempotent.get(key).cloned()?;
    Some((StatusCode::from_u16(status).unwrap(), Json(body)).into_response())
}

fn remember(sim: &Shared, h: &HeaderMap, body: Value) -> Response {
    if let Some(key) = h.get("idempotency-key").and_then(|v| v.to_str().ok()) {
        sim.lock().idempotent.insert(key.to_string(), (200, body.clone()));
    }
    Json(body).into_response()
}

fn parse_form(body: &Bytes) -> Vec<(String, String)> {
    url::form_urlencoded::parse(body).into_owned().collect()
}

fn endpoint_json(e: &Endpoint, with_secret: bool) -> Value {
    let mut v = json!({"id": e.id, "object": "webhook_endpoint", "url": e.url, "enabled_events": e.events,
        "api_version": e.api_version, "status": "enabled", "livemode": false, "created": now(),
        "description": null, "metadata": {}, "application": null});
    if with_secret {
        v["secret"] = json!(e.secret);
    }
    v
}

/// `WebhookEndpointCreateParams`.
const ENDPOINT_PARAMS: &[&str] =
    &["enabled_events", "url", "api_version", "connect", "description", "expand", "metadata"];

async fn create_endpoint(State(sim): State<Shared>, m: Method, uri: Uri, h: HeaderMap, body: Bytes) -> Response {
    let form = parse_form(&body);
    if let Err(r) = admit(&sim, &m, &uri, &h, &form)
        .and_then(|_| check_create(&h, &form, ENDPOINT_PARAMS, &["url", "enabled_events"]))
    {
        return r;
    }
    if let Some(r) = replayed(&sim, &h) {
        return r;
    }
    let events: Vec<String> = form.iter().filter(|(k, _)| top(k) == "enabled_events").map(|(_, v)| v.clone()).collect();
    if events.iter().any(|e| e != "*" && !e.contains('.')) {
        return stripe_error(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            Some("parameter_invalid"),
            Some("enabled_events"),
            "Invalid enabled_events",
        );
    }
    let e = Endpoint {
        id: sim.next_id("we"),
        url: field(&form, "url").unwrap_or_default().to_string(),
        secret: format!("whsec_{}", sim.next_id("sec")),
        events,
        api_version: field(&form, "api_version").map(str::to_string),
    };
    sim.lock().endpoints.push(e.clone());
    remember(&sim, &h, endpoint_json(&e, true))
}

async fn list_endpoints(State(sim): State<Shared>, m: Method, uri: Uri, h: HeaderMap) -> Response {
    if let Err(r) = admit(&sim, &m, &uri, &h, &[]) {
        return r;
    }
    let data: Vec<Value> = sim.lock().endpoints.iter().map(|e| endpoint_json(e, false)).collect();
    Json(json!({"object": "list", "url": "/v1/webhook_endpoints", "has_more": false, "data": data})).into_response()
}

fn no_such(kind: &str, id: &str) -> Response {
    let msg = format!("No such {kind}: '{id}'");
    stripe_error(StatusCode::NOT_FOUND, "invalid_request_error", Some("resource_missing"), Some("id"), &msg)
}

async fn get_endpoint(
    State(sim): State<Shared>,
    m: Method,
    uri: Uri,
    h: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if let Err(r) = admit(&sim, &m, &uri, &h, &[]) {
        return r;
    }
    let found = sim.lock().endpoints.iter().find(|e| e.id == id).cloned();
    match found {
        Some(e) => Json(endpoint_json(&e, false)).into_response(),
        None => no_such("webhook endpoint", &id),
    }
}

async fn delete_endpoint(
    State(sim): State<Shared>,
    m: Method,
    uri: Uri,
    h: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if let Err(r) = admit(&sim, &m, &uri, &h, &[]) {
        return r;
    }
    let mut g = sim.lock();
    let before = g.endpoints.len();
    g.endpoints.retain(|e| e.id != id);
    if g.endpoints.len() == before {
        drop(g);
        return no_such("webhook endpoint", &id);
    }
    Json(json!({"id": id, "object": "webhook_endpoint", "deleted": true})).into_response()
}

fn session_json(sim: &Shared, s: &SimSession) -> Value {
    json!({"id": s.id, "object": "checkout.session", "amount_subtotal": s.amount_total, "amount_total": s.amount_total,
        "cancel_url": s.success_url, "client_reference_id": s.client_reference_id, "created": s.created,
        "currency": s.currency, "customer": null, "customer_email": s.customer_email, "expires_at": s.expires_at,
        "livemode": false, "metadata": s.metadata, "mode": "payment", "payment_intent": s.payment_intent,
        "payment_status": s.payment_status, "status": s.status, "success_url": s.success_url,
        "subscription": null, "invoice": null,
        "url": (s.status == "open").then(|| format!("{}/c/pay/{}", sim.base, s.id))})
}

/// `Checkout.SessionCreateParams` (23.1.0).
const SESSION_PARAMS: &[&str] = &[
    "adaptive_pricing",
    "after_expiration",
    "allow_promotion_codes",
    "allowed_payment_method_types",
    "automatic_tax",
    "billing_address_collection",
    "branding_settings",
    "cancel_url",
    "client_reference_id",
    "consent_collection",
    "currency",
    "custom_fields",
    "custom_text",
    "customer",
    "customer_account",
    "customer_creation",
    "customer_email",
    "customer_update",
    "discounts",
    "excluded_payment_method_types",
    "expand",
    "expires_at",
    "integration_identifier",
    "invoice_creation",
    "line_items",
    "locale",
    "managed_payments",
    "metadata",
    "mode",
    "name_collection",
    "optional_items",
    "origin_context",
    "payment_intent_data",
    "payment_method_collection",
    "payment_method_configuration",
    "payment_method_data",
    "payment_method_options",
    "permissions",
    "phone_number_collection",
    "redirect_on_completion",
    "return_url",
    "saved_payment_method_options",
    "setup_intent_data",
    "shipping_address_collection",
    "shipping_options",
    "submit_type",
    "subscription_data",
    "success_url",
    "tax_id_collection",
    "ui_mode",
    "wallet_options",
];

/// `SessionCreateParams.LineItem` and its `PriceData`, `ProductData`.
const LINE_ITEM_FIELDS: &[&str] = &[
    "quantity",
    "price",
    "adjustable_quantity",
    "dynamic_tax_rates",
    "metadata",
    "tax_rates",
    "price_data",
    "price_data[currency]",
    "price_data[unit_amount]",
    "price_data[unit_amount_decimal]",
    "price_data[product]",
    "price_data[recurring]",
    "price_data[tax_behavior]",
    "price_data[product_data]",
    "price_data[product_data][name]",
    "price_data[product_data][description]",
    "price_data[product_data][images]",
    "price_data[product_data][metadata]",
    "price_data[product_data][tax_code]",
    "price_data[product_data][unit_label]",
];

fn check_line_items(form: &[(String, String)]) -> Result<(i64, String, String), Response> {
    let bad = |p: &str, m: &str| {
        stripe_error(StatusCode::BAD_REQUEST, "invalid_request_error", Some("parameter_invalid"), Some(p), m)
    };
    for (k, _) in form.iter().filter(|(k, _)| top(k) == "line_items") {
        let inner = k
            .strip_prefix("line_items[0][")
            .and_then(|r| r.strip_suffix(']'))
            .ok_or_else(|| bad(k, "one line item, index 0"))?;
        // "price_data][product_data][name" → "price_data[product_data][name]"
        let parts: Vec<&str> = inner.split("][").collect();
        let name = parts[0].to_string() + &parts[1..].iter().map(|p| format!("[{p}]")).collect::<String>();
        if !LINE_ITEM_FIELDS.contains(&name.as_str()) {
            return Err(bad(k, &format!("Received unknown parameter: {k}")));
        }
    }
    let amount = field(form, "line_items[0][price_data][unit_amount]")
        .and_then(|v| v.parse::<i64>().ok())
        .filter(|a| *a > 0)
        .ok_or_else(|| bad("line_items[0][price_data][unit_amount]", "an integer amount in the smallest unit"))?;
    let quantity = field(form, "line_items[0][quantity]").and_then(|v| v.parse::<i64>().ok()).unwrap_or(0);
    let currency = field(form, "line_items[0][price_data][currency]").unwrap_or_default();
    if quantity != 1 || currency.len() != 3 || currency != currency.to_lowercase() {
        return Err(bad("line_items[0]", "quantity 1 and a lower-case ISO currency expected"));
    }
    let name = field(form, "line_items[0][price_data][product_data][name]")
        .ok_or_else(|| bad("line_items[0][price_data][product_data][name]", "a product name"))?;
    Ok((amount, currency.to_string(), name.to_string()))
}

async fn create_session(State(sim): State<Shared>, m: Method, uri: Uri, h: HeaderMap, body: Bytes) -> Response {
    let form = parse_form(&body);
    if let Err(r) = admit(&sim, &m, &uri, &h, &form)
        .and_then(|_| check_create(&h, &form, SESSION_PARAMS, &["success_url", "line_items"]))
    {
        return r;
    }
    if let Some(r) = replayed(&sim, &h) {
        return r;
    }
    let (amount, currency, _name) = match check_line_items(&form) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let expires_at = field(&form, "expires_at").and_then(|v| v.parse::<i64>().ok()).unwrap_or(now() + 86_400);
    if !(now() + 1800 - 5..=now() + 86_400).contains(&expires_at) {
        return stripe_error(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            Some("parameter_invalid"),
            Some("expires_at"),
            "between 30 minutes and 24 hours",
        );
    }
    let s = SimSession {
        id: sim.next_id("cs_test"),
        client_reference_id: field(&form, "client_reference_id").map(str::to_string),
        amount_total: amount,
        currency,
        status: "open".into(),
        payment_status: "unpaid".into(),
        payment_intent: None,
        success_url: field(&form, "success_url").unwrap_or_default().to_string(),
        customer_email: field(&form, "customer_email").map(str::to_string),
        metadata: object_of(&form, "metadata"),
        created: now(),
        expires_at,
    };
    sim.lock().sessions.push(s.clone());
    remember(&sim, &h, session_json(&sim, &s))
}

async fn get_session(State(sim): State<Shared>, m: Method, uri: Uri, h: HeaderMap, Path(id): Path<String>) -> Response {
    if let Err(r) = admit(&sim, &m, &uri, &h, &[]) {
        return r;
    }
    let found = sim.lock().sessions.iter().find(|s| s.id == id).cloned();
    match found {
        Some(s) => Json(session_json(&sim, &s)).into_response(),
        None => no_such("checkout.session", &id),
    }
}

/// `SessionListParams`: `payment_intent`, `limit`, `starting_after` (newest first).
async fn list_sessions(
    State(sim): State<Shared>,
    m: Method,
    uri: Uri,
    h: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if let Err(r) = admit(&sim, &m, &uri, &h, &[]) {
        return r;
    }
    let mut all: Vec<SimSession> = sim.lock().sessions.iter().rev().cloned().collect();
    if let Some(pi) = q.get("payment_intent") {
        all.retain(|s| s.payment_intent.as_deref() == Some(pi.as_str()));
    }
    if let Some(after) = q.get("starting_after") {
        if let Some(i) = all.iter().position(|s| &s.id == after) {
            all.drain(..=i);
        }
    }
    let limit = q.get("limit").and_then(|l| l.parse::<usize>().ok()).unwrap_or(10).clamp(1, 100);
    let has_more = all.len() > limit;
    let data: Vec<Value> = all.iter().take(limit).map(|s| session_json(&sim, s)).collect();
    Json(json!({"object": "list", "url": "/v1/checkout/sessions", "has_more": has_more, "data": data})).into_response()
}

fn refund_json(sim: &Shared, s: &SimSession, amount: i64, reason: &str, metadata: Value) -> Value {
    json!({"id": sim.next_id("re"), "object": "refund", "amount": amount, "currency": s.currency,
        "payment_intent": s.payment_intent, "charge": s.payment_intent.as_ref().map(|p| format!("ch_{}", &p[3..])),
        "reason": reason, "status": "succeeded", "created": now(), "metadata": metadata})
}

fn dispute_json(s: &SimSession, id: &str, status: &str) -> Value {
    let pi = s.payment_intent.clone().expect("paid session");
    json!({"id": id, "object": "dispute", "amount": s.amount_total, "currency": s.currency,
        "charge": format!("ch_{}", &pi[3..]), "payment_intent": pi, "reason": "fraudulent", "status": status,
        "created": now(), "livemode": false, "metadata": {}})
}

/// `RefundCreateParams`.
const REFUND_PARAMS: &[&str] = &[
    "amount",
    "charge",
    "currency",
    "customer",
    "expand",
    "instructions_email",
    "metadata",
    "origin",
    "payment_intent",
    "reason",
    "refund_application_fee",
    "reverse_transfer",
];

async fn create_refund(State(sim): State<Shared>, m: Method, uri: Uri, h: HeaderMap, body: Bytes) -> Response {
    let form = parse_form(&body);
    if let Err(r) = admit(&sim, &m, &uri, &h, &form).and_then(|_| check_create(&h, &form, REFUND_PARAMS, &[])) {
        return r;
    }
    if let Some(r) = replayed(&sim, &h) {
        return r;
    }
    let reason = field(&form, "reason").unwrap_or("requested_by_customer").to_string();
    if !["duplicate", "fraudulent", "requested_by_customer"].contains(&reason.as_str()) {
        return stripe_error(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            Some("parameter_invalid"),
            Some("reason"),
            "Invalid reason",
        );
    }
    let pi = field(&form, "payment_intent").unwrap_or_default().to_string();
    let session = sim.lock().sessions.iter().find(|s| s.payment_intent.as_deref() == Some(pi.as_str())).cloned();
    let Some(s) = session else {
        return no_such("payment_intent", &pi);
    };
    if sim.lock().refunds.iter().any(|r| r["payment_intent"] == json!(pi)) {
        return stripe_error(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            Some("charge_already_refunded"),
            None,
            "Charge has already been refunded.",
        );
    }
    let refund = refund_json(&sim, &s, s.amount_total, &reason, object_of(&form, "metadata"));
    sim.lock().refunds.push(refund.clone());
    let answer = remember(&sim, &h, refund);
    // Stripe tells every endpoint, the refund's own maker too.
    let emitter = sim.clone();
    let charge = sim.charge(&s, s.amount_total);
    tokio::spawn(async move { emitter.emit("charge.refunded", charge).await });
    answer
}

/// Stripe's hosted payment page, reduced to one button.
async fn checkout_page(State(sim): State<Shared>, Path(id): Path<String>) -> Response {
    let Some(s) = sim.lock().sessions.iter().find(|s| s.id == id).cloned() else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let amount = format!("{}.{:02} {}", s.amount_total / 100, s.amount_total % 100, s.currency.to_uppercase());
    let html = format!(
        "<!doctype html><html><head><title>Simulated Stripe Checkout</title></head><body>\
         <h1>Simulated Stripe Checkout</h1><p id=\"amount\">{amount}</p>\
         <form method=\"post\"><button id=\"stripe-pay\" type=\"submit\">Pay {amount}</button></form></body></html>"
    );
    ([("content-type", "text/html; charset=utf-8")], html).into_response()
}

/// The buyer pays on the hosted page: the session completes, then the
/// browser goes to the session's `success_url`.
async fn checkout_pay(State(sim): State<Shared>, Path(id): Path<String>) -> Response {
    let success = sim.session(&id).success_url;
    sim.pay(&id).await;
    (StatusCode::SEE_OTHER, [("location", success)]).into_response()
}

async fn unknown_route(State(sim): State<Shared>, m: Method, uri: Uri, h: HeaderMap) -> Response {
    let _ = admit(&sim, &m, &uri, &h, &[]);
    let msg = format!("Unrecognized request URL ({m}: {})", uri.path());
    stripe_error(StatusCode::NOT_FOUND, "invalid_request_error", None, None, &msg)
}
