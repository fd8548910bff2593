//! A stateful BTCPay Server simulator: the Greenfield calls Keysat makes
//! (api-keys/current, stores, webhooks, invoices), the authorize flow's
//! consent step, and test controls (pay, settle, expire, invalidate, outage)
//! with webhook deliveries signed like BTCPay's (`BTCPay-Sig: sha256=<hex>`)
//! that can be dropped, duplicated and held back to reorder them. Every
//! request it receives and every webhook body it sends is recorded, so tests
//! can check them against the Greenfield spec.
//!
//! It serves only what the oldest BTCPay Keysat supports (2.0.0) serves: the
//! store-scoped invoice, refund and webhook routes. The store-less aliases
//! (`/api/v1/invoices/{id}`, `/api/v1/webhooks/{id}`), added in BTCPay 2.4.0,
//! answer 404 as 2.0 does, and are recorded in [`BtcpaySim::unserved`].

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use hmac::{Hmac, Mac};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use sha2::Sha256;

/// What the consent step hands the browser: the URL to POST and the form.
pub struct Consent {
    pub redirect: String,
    pub form: Vec<(String, String)>,
}

#[derive(Clone, Debug)]
pub struct SimInvoice {
    pub id: String,
    pub store_id: String,
    pub amount: String,
    pub currency: String,
    pub metadata: Value,
    pub status: String,
    pub additional_status: String,
    pub created: i64,
}

#[derive(Clone, Debug)]
struct Hook {
    store_id: String,
    url: String,
    secret: String,
}

/// How webhooks are delivered.
#[derive(Clone, Copy, Debug, Default)]
pub struct Chaos {
    /// Share of deliveries silently dropped.
    pub drop: f64,
    /// Share of deliveries sent twice.
    pub duplicate: f64,
    /// Share of deliveries held back until [`BtcpaySim::release_held`] (reordering).
    pub hold: f64,
}

/// A recorded request: method, path and query, JSON body (if any).
#[derive(Clone, Debug)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub body: Value,
}

/// How many deliveries chaos dropped, sent twice, held back, and how many
/// held ones were later sent in an order other than the one they were made in.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Fate {
    pub dropped: usize,
    pub duplicated: usize,
    pub held: usize,
    /// Held deliveries released behind a later one (newest first, so every
    /// release of two or more reorders).
    pub reordered: usize,
}

/// An answer the simulated Greenfield API gave: the request it answered,
/// the status and the JSON body.
#[derive(Clone, Debug)]
pub struct Answered {
    pub method: String,
    pub path: String,
    pub status: u16,
    pub body: Value,
}

#[derive(Default)]
struct Inner {
    keys: HashMap<String, Vec<String>>,
    stores: Vec<(String, String)>,
    hooks: HashMap<String, Hook>,
    invoices: HashMap<String, SimInvoice>,
    held: Vec<(Hook, Vec<u8>)>,
    sent: Vec<Value>,
    /// What chaos did to deliveries: (dropped, duplicated, held back).
    fate: Fate,
    requests: Vec<Recorded>,
    /// Pull payments made by invoice refunds: (pull payment id, invoice id).
    refunds: Vec<(String, String)>,
    /// Every answer of the Greenfield API (for checking against the spec's response schemas).
    responses: Vec<Answered>,
    /// Requests for routes BTCPay 2.0 does not have (answered 404).
    unserved: Vec<Recorded>,
    chaos: Chaos,
    /// While set, invoice creation waits for a permit (a request held in flight).
    gate: Option<Arc<tokio::sync::Semaphore>>,
    down: bool,
    counter: u64,
}

#[derive(Clone)]
pub struct BtcpaySim {
    inner: Arc<Mutex<Inner>>,
    rng: Arc<Mutex<StdRng>>,
    pub base: String,
    http: reqwest::Client,
}

type Shared = BtcpaySim;

impl BtcpaySim {
    /// Starts the simulator with these stores (id, name).
    pub async fn start(stores: &[(&str, &str)]) -> BtcpaySim {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr: SocketAddr = listener.local_addr().unwrap();
        let inner =
            Inner { stores: stores.iter().map(|(i, n)| (i.to_string(), n.to_string())).collect(), ..Inner::default() };
        let sim = BtcpaySim {
            inner: Arc::new(Mutex::new(inner)),
            rng: Arc::new(Mutex::new(StdRng::seed_from_u64(7))),
            base: format!("http://{addr}"),
            http: reqwest::Client::new(),
        };
        let app = Router::new()
            .route("/api/v1/api-keys/current", get(current_key))
            .route("/api/v1/stores", get(list_stores))
            .route("/api/v1/stores/{store}", get(get_store))
            .route("/api/v1/stores/{store}/webhooks", post(create_webhook))
            .route("/api/v1/stores/{store}/webhooks/{id}", delete(delete_webhook))
            .route("/api/v1/stores/{store}/invoices", post(create_invoice).get(list_invoices))
            .route("/api/v1/stores/{store}/invoices/{id}", get(get_invoice))
            // Store-scoped in every 2.x; the store-less alias (2.4.0+) is not served.
            .route("/api/v1/stores/{store}/invoices/{id}/refund", post(refund_invoice))
            .fallback(not_served)
            .layer(axum::middleware::from_fn_with_state(sim.clone(), record_answer))
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
        format!("{prefix}{:06}{}", g.counter, "Xq7Lm2")
    }

    pub fn set_chaos(&self, chaos: Chaos) {
        self.lock().chaos = chaos;
    }

    /// While down, every API call answers 503.
    pub fn set_down(&self, down: bool) {
        self.lock().down = down;
    }

    /// Holds every invoice creation in flight until [`BtcpaySim::release_invoices`].
    pub fn hold_invoices(&self) {
        self.lock().gate = Some(Arc::new(tokio::sync::Semaphore::new(0)));
    }

    /// Lets held (and later) invoice creations through.
    pub fn release_invoices(&self) {
        if let Some(gate) = self.lock().gate.take() {
            gate.add_permits(tokio::sync::Semaphore::MAX_PERMITS);
        }
    }

    /// A key created by hand with these permissions.
    pub fn create_key(&self, permissions: &[String]) -> String {
        let key = format!("simkey{}", self.next_id("k"));
        self.lock().keys.insert(key.clone(), permissions.to_vec());
        key
    }

    /// The operator consents on the authorize page: checks what Keysat asked
    /// for, creates a key for `grant_stores`, and returns the form the
    /// browser posts to the redirect.
    pub fn consent(&self, authorize_url: &str, grant_stores: &[&str]) -> Consent {
        self.consent_without(authorize_url, grant_stores, &[])
    }

    /// [`BtcpaySim::consent`], but the operator unticks `withheld` on the
    /// authorize page: the key gets fewer permissions than Keysat asked for.
    pub fn consent_without(&self, authorize_url: &str, grant_stores: &[&str], withheld: &[&str]) -> Consent {
        let url = url::Url::parse(authorize_url).expect("authorize URL");
        assert!(url.as_str().starts_with(&self.base), "authorize URL points at the simulator");
        assert_eq!(url.path(), "/api-keys/authorize");
        let q: Vec<(String, String)> = url.query_pairs().into_owned().collect();
        let one = |k: &str| q.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        assert_eq!(one("applicationName").as_deref(), Some("Keysat"));
        assert_eq!(one("strict").as_deref(), Some("true"));
        assert_eq!(one("selectiveStores").as_deref(), Some("true"));
        let wanted: Vec<String> = q.iter().filter(|(n, _)| n == "permissions").map(|(_, v)| v.clone()).collect();
        assert!(!wanted.is_empty(), "permissions requested");
        let redirect = one("redirect").expect("redirect");
        let granted: Vec<String> = grant_stores
            .iter()
            .flat_map(|s| wanted.iter().filter(|p| !withheld.contains(&p.as_str())).map(move |p| format!("{p}:{s}")))
            .collect();
        let key = self.create_key(&granted);
        let mut form = vec![("apiKey".to_string(), key), ("userId".to_string(), "user-1".to_string())];
        // As BTCPay 2.x's PostRedirect view names them.
        form.extend(granted.iter().map(|p| ("permissions[]".to_string(), p.clone())));
        Consent { redirect, form }
    }

    /// Changes an invoice behind Keysat's back (as a store admin editing
    /// BTCPay's database, or an invoice made by hand, would).
    pub fn tamper(&self, id: &str, change: impl FnOnce(&mut SimInvoice)) {
        change(self.lock().invoices.get_mut(id).expect("known invoice"));
    }

    pub fn invoice(&self, id: &str) -> Option<SimInvoice> {
        self.lock().invoices.get(id).cloned()
    }

    pub fn invoices(&self) -> Vec<SimInvoice> {
        self.lock().invoices.values().cloned().collect()
    }

    pub fn webhook_count(&self) -> usize {
        self.lock().hooks.len()
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.lock().requests.clone()
    }

    /// Requests for routes the simulated BTCPay does not serve (each got 404).
    pub fn unserved(&self) -> Vec<Recorded> {
        self.lock().unserved.clone()
    }

    /// What chaos did to the deliveries so far.
    pub fn fate(&self) -> Fate {
        self.lock().fate
    }

    /// Every answer of the Greenfield API so far (the authorize consent and
    /// test controls are not API calls and are not recorded).
    pub fn responses(&self) -> Vec<Answered> {
        self.lock().responses.clone()
    }

    /// The refunds asked for: (pull payment id, invoice id).
    pub fn refunds(&self) -> Vec<(String, String)> {
        self.lock().refunds.clone()
    }

    /// Every webhook body sent so far.
    pub fn sent_webhooks(&self) -> Vec<Value> {
        self.lock().sent.clone()
    }

    pub fn set_status(&self, id: &str, status: &str, additional: &str) -> SimInvoice {
        let mut g = self.lock();
        let inv = g.invoices.get_mut(id).expect("known invoice");
        inv.status = status.into();
        inv.additional_status = additional.into();
        inv.clone()
    }

    /// The buyer pays in full: ReceivedPayment, then Processing.
    pub async fn pay(&self, id: &str) {
        let inv = self.set_status(id, "Processing", "None");
        let payment = json!({"id": format!("{id}-p1"), "receivedDate": now(), "value": inv.amount, "fee": "0.0",
            "status": "Processing", "destination": "bc1qsimulated"});
        self.emit(
            &inv,
            "InvoiceReceivedPayment",
            json!({"afterExpiration": false, "paymentMethodId": "BTC-CHAIN", "payment": payment}),
        )
        .await;
        self.emit(&inv, "InvoiceProcessing", json!({"overPaid": false})).await;
    }

    /// Confirmations arrive: PaymentSettled, then Settled.
    pub async fn settle(&self, id: &str) {
        let inv = self.set_status(id, "Settled", "None");
        self.emit(&inv, "InvoicePaymentSettled", json!({})).await;
        self.emit(&inv, "InvoiceSettled", json!({"manuallyMarked": false, "overPaid": false})).await;
    }

    pub async fn pay_and_settle(&self, id: &str) {
        self.pay(id).await;
        self.settle(id).await;
    }

    pub async fn expire(&self, id: &str) {
        let inv = self.set_status(id, "Expired", "None");
        self.emit(&inv, "InvoiceExpired", json!({"partiallyPaid": false})).await;
    }

    pub async fn invalidate(&self, id: &str) {
        let inv = self.set_status(id, "Invalid", "Marked");
        self.emit(&inv, "InvoiceInvalid", json!({"manuallyMarked": true})).await;
    }

    /// Sends held deliveries, newest first.
    pub async fn release_held(&self) {
        let held: Vec<(Hook, Vec<u8>)> = {
            let mut g = self.lock();
            let held = std::mem::take(&mut g.held);
            // Newest first: all but the newest go out behind a later one.
            g.fate.reordered += held.len().saturating_sub(1);
            held
        };
        for (hook, body) in held.into_iter().rev() {
            self.deliver(&hook, &body).await;
        }
    }

    /// A webhook body exactly as BTCPay shapes `WebhookInvoice*Event`.
    fn event_body(&self, hook_id: &str, inv: &SimInvoice, event_type: &str, extra: &Value) -> Value {
        let delivery = self.next_id("d");
        let mut body = json!({
            "deliveryId": delivery,
            "webhookId": hook_id,
            "originalDeliveryId": delivery,
            "isRedelivery": false,
            "type": event_type,
            "timestamp": now(),
            "storeId": inv.store_id,
            "invoiceId": inv.id,
            "metadata": inv.metadata,
        });
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        body
    }

    async fn emit(&self, inv: &SimInvoice, event_type: &str, extra: Value) {
        let hooks: Vec<(String, Hook)> = self
            .lock()
            .hooks
            .iter()
            .filter(|(_, h)| h.store_id == inv.store_id)
            .map(|(i, h)| (i.clone(), h.clone()))
            .collect();
        for (hook_id, hook) in hooks {
            let body = self.event_body(&hook_id, inv, event_type, &extra);
            let bytes = serde_json::to_vec(&body).unwrap();
            let chaos = self.lock().chaos;
            self.lock().sent.push(body);
            let (drop, dup, hold) = {
                let mut r = self.rng.lock().unwrap();
                (r.gen_bool(chaos.drop), r.gen_bool(chaos.duplicate), r.gen_bool(chaos.hold))
            };
            if drop {
                self.lock().fate.dropped += 1;
                continue;
            }
            if hold {
                let mut g = self.lock();
                g.fate.held += 1;
                g.held.push((hook.clone(), bytes.clone()));
            } else {
                self.deliver(&hook, &bytes).await;
            }
            if dup {
                self.lock().fate.duplicated += 1;
                self.deliver(&hook, &bytes).await;
            }
        }
    }

    /// One delivery; a failure (Keysat down) is not retried here.
    async fn deliver(&self, hook: &Hook, body: &[u8]) -> Option<u16> {
        let sig = sign(&hook.secret, body);
        let r = self
            .http
            .post(&hook.url)
            .header("Content-Type", "application/json")
            .header("BTCPay-Sig", sig)
            .body(body.to_vec())
            .send()
            .await
            .ok()?;
        Some(r.status().as_u16())
    }

    /// Re-sends a recorded body with a given signature header (forgery tests).
    pub async fn post_webhook_raw(&self, url: &str, body: &[u8], sig: Option<&str>) -> u16 {
        let mut req = self.http.post(url).header("Content-Type", "application/json").body(body.to_vec());
        if let Some(s) = sig {
            req = req.header("BTCPay-Sig", s);
        }
        req.send().await.unwrap().status().as_u16()
    }

    /// The secret of the store's webhook (as BTCPay would know it).
    pub fn webhook_secret(&self, store: &str) -> Option<(String, String)> {
        self.lock().hooks.values().find(|h| h.store_id == store).map(|h| (h.url.clone(), h.secret.clone()))
    }
}

pub fn sign(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
}

fn problem(status: StatusCode, msg: &str) -> Response {
    (status, Json(json!({"code": "error", "message": msg}))).into_response()
}

/// Authenticates `Authorization: token <key>` and records the request.
#[allow(clippy::result_large_err)] // the error is the answer itself
fn auth(sim: &Shared, method: &Method, uri: &Uri, headers: &HeaderMap, body: &Value) -> Result<Vec<String>, Response> {
    let mut g = sim.lock();
    g.requests.push(Recorded { method: method.to_string(), path: uri.to_string(), body: body.clone() });
    if g.down {
        return Err(problem(StatusCode::SERVICE_UNAVAILABLE, "simulated outage"));
    }
    let key = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("token "))
        .ok_or_else(|| problem(StatusCode::UNAUTHORIZED, "missing Authorization: token"))?;
    g.keys.get(key).cloned().ok_or_else(|| problem(StatusCode::UNAUTHORIZED, "unknown API key"))
}

fn may(perms: &[String], perm: &str, store: &str) -> bool {
    perms.iter().any(|p| p == perm || *p == format!("{perm}:{store}"))
}

/// [`auth`], then the key must hold `perm` on `store`.
#[allow(clippy::result_large_err)]
fn auth_for(
    sim: &Shared,
    req: (&Method, &Uri, &HeaderMap),
    body: &Value,
    perm: &str,
    store: &str,
) -> Result<Vec<String>, Response> {
    let perms = auth(sim, req.0, req.1, req.2, body)?;
    if !may(&perms, perm, store) {
        return Err(problem(StatusCode::FORBIDDEN, &format!("missing {perm}")));
    }
    Ok(perms)
}

fn store_json(id: &str, name: &str) -> Value {
    json!({"id": id, "name": name, "website": null, "defaultCurrency": "BTC", "archived": false})
}

fn invoice_json(sim: &Shared, inv: &SimInvoice) -> Value {
    json!({
        "id": inv.id, "storeId": inv.store_id, "amount": inv.amount, "paidAmount": "0", "currency": inv.currency,
        "type": "Standard", "checkoutLink": format!("{}/i/{}", sim.base, inv.id), "createdTime": inv.created,
        "expirationTime": inv.created + 900, "monitoringExpiration": inv.created + 87300, "status": inv.status,
        "additionalStatus": inv.additional_status, "availableStatusesForManualMarking": [], "archived": false,
        "metadata": inv.metadata, "checkout": {}, "receipt": {},
    })
}

async fn current_key(State(sim): State<Shared>, m: Method, uri: Uri, h: HeaderMap) -> Response {
    match auth(&sim, &m, &uri, &h, &Value::Null) {
        Ok(perms) => {
            Json(json!({"apiKey": h.get("authorization").unwrap().to_str().unwrap().trim_start_matches("token "),
            "label": "Keysat", "permissions": perms}))
            .into_response()
        }
        Err(r) => r,
    }
}

async fn list_stores(State(sim): State<Shared>, m: Method, uri: Uri, h: HeaderMap) -> Response {
    let perms = match auth(&sim, &m, &uri, &h, &Value::Null) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let stores = sim.lock().stores.clone();
    let visible: Vec<Value> = stores
        .iter()
        .filter(|(id, _)| perms.iter().any(|p| !p.contains(':') || p.ends_with(&format!(":{id}"))))
        .map(|(id, name)| store_json(id, name))
        .collect();
    Json(Value::Array(visible)).into_response()
}

async fn get_store(
    State(sim): State<Shared>,
    m: Method,
    uri: Uri,
    h: HeaderMap,
    Path(store): Path<String>,
) -> Response {
    if let Err(r) = auth_for(&sim, (&m, &uri, &h), &Value::Null, "btcpay.store.canviewstoresettings", &store) {
        return r;
    }
    let found = sim.lock().stores.iter().find(|(i, _)| *i == store).cloned();
    match found {
        Some((id, name)) => Json(store_json(&id, &name)).into_response(),
        None => problem(StatusCode::NOT_FOUND, "store not found"),
    }
}

async fn create_webhook(
    State(sim): State<Shared>,
    m: Method,
    uri: Uri,
    h: HeaderMap,
    Path(store): Path<String>,
    Json(body): Json<Value>,
) -> Response {
    if let Err(r) = auth_for(&sim, (&m, &uri, &h), &body, "btcpay.store.webhooks.canmodifywebhooks", &store) {
        return r;
    }
    let url = body["url"].as_str().unwrap_or_default().to_string();
    let secret = body["secret"].as_str().unwrap_or_default().to_string();
    if url.is_empty() || secret.is_empty() {
        return problem(StatusCode::BAD_REQUEST, "url and secret are required");
    }
    let id = sim.next_id("wh");
    sim.lock().hooks.insert(id.clone(), Hook { store_id: store, url: url.clone(), secret: secret.clone() });
    Json(json!({"id": id, "url": url, "enabled": true, "automaticRedelivery": true,
        "authorizedEvents": {"everything": true, "specificEvents": []}, "secret": secret}))
    .into_response()
}

async fn delete_webhook(
    State(sim): State<Shared>,
    m: Method,
    uri: Uri,
    h: HeaderMap,
    Path((store, id)): Path<(String, String)>,
) -> Response {
    if let Err(r) = auth_for(&sim, (&m, &uri, &h), &Value::Null, "btcpay.store.webhooks.canmodifywebhooks", &store) {
        return r;
    }
    let mut g = sim.lock();
    if g.hooks.get(&id).is_none_or(|hook| hook.store_id != store) {
        return problem(StatusCode::NOT_FOUND, "webhook not found");
    }
    g.hooks.remove(&id);
    StatusCode::OK.into_response()
}

async fn create_invoice(
    State(sim): State<Shared>,
    m: Method,
    uri: Uri,
    h: HeaderMap,
    Path(store): Path<String>,
    Json(body): Json<Value>,
) -> Response {
    if let Err(r) = auth_for(&sim, (&m, &uri, &h), &body, "btcpay.store.cancreateinvoice", &store) {
        return r;
    }
    let gate = sim.lock().gate.clone();
    if let Some(gate) = gate {
        let _permit = gate.acquire().await.expect("gate open");
    }
    let Some(amount) = body["amount"].as_str().map(str::to_string) else {
        return problem(StatusCode::BAD_REQUEST, "amount must be a decimal string");
    };
    let inv = SimInvoice {
        id: sim.next_id("inv"),
        store_id: store,
        amount,
        currency: body["currency"].as_str().unwrap_or("BTC").to_string(),
        metadata: body.get("metadata").cloned().unwrap_or(json!({})),
        status: "New".into(),
        additional_status: "None".into(),
        created: now(),
    };
    sim.lock().invoices.insert(inv.id.clone(), inv.clone());
    sim.emit(&inv, "InvoiceCreated", json!({})).await;
    Json(invoice_json(&sim, &inv)).into_response()
}

async fn list_invoices(
    State(sim): State<Shared>,
    m: Method,
    uri: Uri,
    h: HeaderMap,
    Path(store): Path<String>,
    Query(q): Query<Vec<(String, String)>>,
) -> Response {
    if let Err(r) = auth_for(&sim, (&m, &uri, &h), &Value::Null, "btcpay.store.canviewinvoices", &store) {
        return r;
    }
    let orders: Vec<&String> = q.iter().filter(|(k, _)| k == "orderId").map(|(_, v)| v).collect();
    let invs: Vec<Value> = sim
        .invoices()
        .iter()
        .filter(|i| i.store_id == store)
        .filter(|i| orders.is_empty() || orders.iter().any(|o| i.metadata["orderId"].as_str() == Some(o.as_str())))
        .map(|i| invoice_json(&sim, i))
        .collect();
    Json(Value::Array(invs)).into_response()
}

async fn get_invoice(
    State(sim): State<Shared>,
    m: Method,
    uri: Uri,
    h: HeaderMap,
    Path((store, id)): Path<(String, String)>,
) -> Response {
    if let Err(r) = auth_for(&sim, (&m, &uri, &h), &Value::Null, "btcpay.store.canviewinvoices", &store) {
        return r;
    }
    // As 2.0's GetInvoice: another store's invoice is "not found".
    match sim.invoice(&id).filter(|inv| inv.store_id == store) {
        Some(inv) => Json(invoice_json(&sim, &inv)).into_response(),
        None => problem(StatusCode::NOT_FOUND, "invoice not found"),
    }
}

/// `POST …/invoices/{id}/refund` (`RefundInvoiceRequest` → `PullPaymentData`):
/// a settled invoice of the store only, with `btcpay.store.cancreatepullpayments`.
async fn refund_invoice(
    State(sim): State<Shared>,
    m: Method,
    uri: Uri,
    h: HeaderMap,
    Path((store, id)): Path<(String, String)>,
    Json(body): Json<Value>,
) -> Response {
    if let Err(r) = auth_for(&sim, (&m, &uri, &h), &body, "btcpay.store.cancreatepullpayments", &store) {
        return r;
    }
    let Some(inv) = sim.invoice(&id).filter(|inv| inv.store_id == store) else {
        return problem(StatusCode::NOT_FOUND, "invoice not found");
    };
    let variant = body["refundVariant"].as_str().unwrap_or_default();
    if !["RateThen", "CurrentRate", "OverpaidAmount", "Fiat", "Custom"].contains(&variant) || inv.status != "Settled" {
        let errors = json!([{"path": "refundVariant", "message": "the invoice cannot be refunded this way"}]);
        return (StatusCode::BAD_REQUEST, Json(errors)).into_response();
    }
    let pp = sim.next_id("pp");
    sim.lock().refunds.push((pp.clone(), id.clone()));
    let (amount, currency) = if inv.currency == "SATS" {
        let sats: i64 = inv.amount.parse().unwrap_or(0);
        (format!("{}.{:08}", sats / 100_000_000, sats % 100_000_000), "BTC".to_string())
    } else {
        (inv.amount.clone(), inv.currency.clone())
    };
    Json(json!({
        "id": pp, "name": body["name"].as_str().unwrap_or("Refund"), "description": body["description"].as_str().unwrap_or(""),
        "currency": currency, "amount": amount, "BOLT11Expiration": "30", "autoApproveClaims": false, "archived": false,
        "viewLink": format!("{}/pull-payments/{pp}", sim.base),
    }))
    .into_response()
}

/// Records each answer's status and JSON body next to its request.
async fn record_answer(
    State(sim): State<Shared>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let (method, path) = (req.method().to_string(), req.uri().path().to_string());
    let resp = next.run(req).await;
    let (parts, body) = resp.into_parts();
    let bytes = axum::body::to_bytes(body, 1 << 24).await.expect("simulator answer body");
    let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    sim.lock().responses.push(Answered { method, path, status: parts.status.as_u16(), body: json });
    Response::from_parts(parts, axum::body::Body::from(bytes))
}

/// Any route BTCPay 2.0 does not have, the store-less aliases of 2.4 included.
async fn not_served(State(sim): State<Shared>, m: Method, uri: Uri) -> Response {
    let rec = Recorded { method: m.to_string(), path: uri.to_string(), body: Value::Null };
    let mut g = sim.lock();
    g.requests.push(rec.clone());
    g.unserved.push(rec);
    StatusCode::NOT_FOUND.into_response()
}
