//! Conformance with BTCPay Server's own Greenfield spec
//! (`docs/btcpay/greenfield.openapi.json`): every request shape Keysat's
//! BTCPay client produces goes through Prism, which refuses any spec
//! violation; every route it uses must be one of the client's declared
//! [`ROUTES`] and none may be a store-less alias that only BTCPay 2.4.0 and
//! later serve; the simulator's webhook bodies are validated against the
//! spec's `x-webhooks` schemas (Ajv). Both tools come from `tests/js`
//! (`npm ci` there; `.ci/run` does it).

use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::common::btcpay_sim::BtcpaySim;
use crate::common::{free_port, spawn_app};
use crate::internals::btcpay::{connect, Btcpay, Client, ROUTES};
use crate::internals::{Amount, CheckoutRequest, PaymentProvider, RefundRequest};
use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::Response;
use serde_json::{json, Value};
use url::Url;
use uuid::Uuid;

fn spec() -> PathBuf {
    PathBuf::from(format!("{}/../docs/btcpay/greenfield.openapi.json", env!("CARGO_MANIFEST_DIR")))
}

fn js_dir() -> PathBuf {
    let dir = crate::common::js_dir();
    assert!(
        dir.join("node_modules/.bin/prism").exists(),
        "Prism is not installed: run `npm ci` in licensing-service/tests/js (CI's .ci/run does)"
    );
    dir
}

/// Prism validating requests against the spec (a violation is a 4xx with
/// `sl-violations`; the spec's own sample responses are served as they are);
/// killed on drop.
struct Prism {
    child: Child,
    base: String,
}

impl Drop for Prism {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_prism(spec_file: &std::path::Path) -> Prism {
    let port = free_port();
    let child = Command::new(js_dir().join("node_modules/.bin/prism"))
        .args(["mock", "-h", "127.0.0.1", "-p", &port.to_string()])
        .arg(spec_file)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start prism");
    let prism = Prism { child, base: format!("http://127.0.0.1:{port}") };
    let deadline = Instant::now() + Duration::from_secs(90);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "prism did not start within 90 s");
        std::thread::sleep(Duration::from_millis(200));
    }
    prism
}

/// The spec as read, plus the store-scoped form of each store-less webhook
/// route (`/api/v1/webhooks/{webhookId}…` → `/api/v1/stores/{storeId}/webhooks/{webhookId}…`,
/// operationId suffixed `_StoreScoped`), the same normalisation the spec's
/// README (point 4) applied to invoices: upstream documents only the
/// store-less webhook routes, added in BTCPay 2.4.0 (PR #7367), while every
/// 2.x serves the store-scoped ones (`GreenfieldStoreWebhooksController` at `v2.0.0`).
fn spec_with_store_scoped_webhooks() -> Value {
    let mut spec: Value = serde_json::from_slice(&std::fs::read(spec()).expect("read the spec")).expect("spec JSON");
    let paths = spec["paths"].as_object_mut().expect("paths");
    let store_less: Vec<(String, Value)> = paths
        .iter()
        .filter(|(p, _)| p.starts_with("/api/v1/webhooks/{webhookId}"))
        .map(|(p, v)| (p.clone(), v.clone()))
        .collect();
    for (path, mut item) in store_less {
        let scoped = path.replacen("/api/v1/webhooks/", "/api/v1/stores/{storeId}/webhooks/", 1);
        if paths.contains_key(&scoped) {
            continue;
        }
        let store_param = json!({"$ref": "#/components/parameters/StoreId"});
        let item_obj = item.as_object_mut().expect("path item");
        let params = item_obj.entry("parameters").or_insert_with(|| json!([]));
        params.as_array_mut().expect("parameters").insert(0, store_param);
        for (_, op) in item_obj.iter_mut().filter(|(k, _)| is_method(k)) {
            if let Some(id) = op["operationId"].as_str().map(|id| format!("{id}_StoreScoped")) {
                op["operationId"] = json!(id);
            }
        }
        paths.insert(scoped, item);
    }
    spec
}

fn is_method(k: &str) -> bool {
    matches!(k, "get" | "put" | "post" | "delete" | "patch")
}

/// The spec's path template a concrete path matches (the most literal one).
fn template_of<'a>(spec: &'a Value, method: &str, path: &str) -> Option<&'a str> {
    let segs: Vec<&str> = path.split('/').collect();
    spec["paths"]
        .as_object()?
        .iter()
        .filter(|(_, item)| item.get(method.to_lowercase()).is_some())
        .map(|(t, _)| t.as_str())
        .filter(|t| {
            let tsegs: Vec<&str> = t.split('/').collect();
            tsegs.len() == segs.len()
                && tsegs.iter().zip(&segs).all(|(t, s)| (t.starts_with('{') && !s.is_empty()) || t == s)
        })
        .max_by_key(|t| t.split('/').filter(|s| !s.starts_with('{')).count())
}

/// Whether the operation at `template` is a store-less alias: one the spec
/// also lists store-scoped (`<operationId>_StoreScoped`). BTCPay added those
/// aliases in 2.4.0; before it they answer 404.
fn is_store_less_alias(spec: &Value, method: &str, template: &str) -> bool {
    let Some(id) = spec["paths"][template][method.to_lowercase()]["operationId"].as_str() else {
        return false;
    };
    let scoped = format!("{id}_StoreScoped");
    spec["paths"]
        .as_object()
        .unwrap()
        .values()
        .flat_map(|item| item.as_object().unwrap().iter().filter(|(k, _)| is_method(k)))
        .any(|(_, op)| op["operationId"].as_str() == Some(scoped.as_str()))
}

/// Every route a request used must be declared in `ROUTES` and exist before
/// BTCPay 2.4.0; returns the violations.
fn route_violations(spec: &Value, seen: &[(String, String)]) -> Vec<String> {
    let mut out = Vec::new();
    for (method, path) in seen {
        let Some(template) = template_of(spec, method, path) else {
            out.push(format!("{method} {path}: not in the spec"));
            continue;
        };
        if is_store_less_alias(spec, method, template) {
            out.push(format!("{method} {template}: a store-less alias, 404 on BTCPay before 2.4.0"));
        }
        if !ROUTES.iter().any(|r| r.method == method && r.path == template) {
            out.push(format!("{method} {template}: not declared in client::ROUTES"));
        }
    }
    out
}

/// A pass-through in front of Prism that records each request's method and path.
#[derive(Clone)]
struct Recorder {
    target: String,
    http: reqwest::Client,
    seen: Arc<Mutex<Vec<(String, String)>>>,
}

async fn forward(State(r): State<Recorder>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    r.seen.lock().unwrap().push((parts.method.to_string(), parts.uri.path().to_string()));
    let body = axum::body::to_bytes(body, 1 << 20).await.unwrap();
    let pq = parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    let mut headers = parts.headers.clone();
    headers.remove("host");
    let resp =
        r.http.request(parts.method, format!("{}{pq}", r.target)).headers(headers).body(body).send().await.unwrap();
    let mut out = Response::builder().status(resp.status());
    for (k, v) in resp.headers() {
        out = out.header(k, v);
    }
    out.body(Body::from(resp.bytes().await.unwrap())).unwrap()
}

async fn start_recorder(target: &str) -> (String, Arc<Mutex<Vec<(String, String)>>>) {
    let rec = Recorder { target: target.to_string(), http: reqwest::Client::new(), seen: Arc::default() };
    let seen = rec.seen.clone();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = axum::Router::new().fallback(forward).with_state(rec);
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}"), seen)
}

#[test]
fn the_route_check_refuses_store_less_aliases_and_undeclared_routes() {
    let spec = spec_with_store_scoped_webhooks();
    // Every declared route is in the spec and exists before 2.4.0.
    for r in ROUTES {
        assert!(
            spec["paths"][r.path][r.method.to_lowercase()].is_object(),
            "{} {} is not in the spec",
            r.method,
            r.path
        );
        assert!(!is_store_less_alias(&spec, r.method, r.path), "{} {} is a 2.4.0+ alias", r.method, r.path);
        assert_eq!(r.since, "2.0.0", "{} {}: the declared range starts at 2.0.0", r.method, r.path);
    }
    let seen = |m: &str, p: &str| vec![(m.to_string(), p.to_string())];
    assert_eq!(route_violations(&spec, &seen("GET", "/api/v1/stores/S1/invoices/I1")), Vec::<String>::new());
    for (m, p) in [("GET", "/api/v1/invoices/I1"), ("DELETE", "/api/v1/webhooks/W1")] {
        let v = route_violations(&spec, &seen(m, p));
        assert!(v.iter().any(|e| e.contains("store-less alias")), "{m} {p}: {v:?}");
    }
    let v = route_violations(&spec, &seen("POST", "/api/v1/stores/S1/invoices/I1/status"));
    assert!(v.iter().any(|e| e.contains("not declared")), "{v:?}");
    let v = route_violations(&spec, &seen("GET", "/api/v1/nowhere"));
    assert!(v.iter().any(|e| e.contains("not in the spec")), "{v:?}");
}

#[tokio::test]
async fn every_greenfield_request_keysat_makes_conforms_to_the_spec() {
    let spec = spec_with_store_scoped_webhooks();
    let spec_file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(spec_file.path(), serde_json::to_vec(&spec).unwrap()).unwrap();
    let prism = start_prism(spec_file.path());
    let (recorder, seen) = start_recorder(&prism.base).await;
    let base = Url::parse(&recorder).unwrap();
    let client = Client::new(&base, "conformance-key").unwrap();

    // Prism bites: a request that breaks the spec is refused.
    let bad = reqwest::Client::new()
        .post(format!("{}/api/v1/stores/S1/invoices", prism.base))
        .header("Authorization", "token x")
        .json(&json!({"amount": 5000, "currency": "SATS"}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status().as_u16(), 400);
    assert!(bad.headers().contains_key("sl-violations"));

    client.current_key().await.expect("GET /api/v1/api-keys/current");
    client.stores().await.expect("GET /api/v1/stores");
    client.store("S1").await.expect("GET /api/v1/stores/{storeId}");
    let hook = connect::register_webhook(&client, "S1", "https://keysat.example/v1/btcpay/webhook", "s3cret")
        .await
        .expect("POST /api/v1/stores/{storeId}/webhooks");
    client.delete_webhook("S1", &hook).await.expect("DELETE /api/v1/stores/{storeId}/webhooks/{webhookId}");

    let provider = Btcpay::new(client.clone(), "S1".into(), "s3cret".into());
    for (amount, email) in [
        (Amount::Sats(5000), Some("buyer@example.com".to_string())),
        (Amount::Fiat { amount: "25.00".into(), currency: "USD".into() }, None),
    ] {
        let req = CheckoutRequest {
            invoice_id: Uuid::new_v4(),
            amount,
            description: "App — Pro".into(),
            buyer_email: email,
            redirect_url: "https://keysat.example/thank-you?invoice=1".into(),
        };
        provider.create_checkout(&req).await.expect("POST /api/v1/stores/{storeId}/invoices");
    }
    provider.invoice("HMprBnL9BTXWuPvpoKBS6e").await.expect("GET /api/v1/stores/{storeId}/invoices/{invoiceId}");
    provider.find_by_order(Uuid::new_v4()).await.expect("GET /api/v1/stores/{storeId}/invoices?orderId=");
    assert!(provider.health().await.ok);
    let refund = RefundRequest {
        invoice_id: Uuid::new_v4(),
        provider_invoice_id: "HMprBnL9BTXWuPvpoKBS6e",
        payment_id: None,
        reason: "asked by the buyer",
    };
    provider.refund(&refund).await.expect("POST /api/v1/stores/{storeId}/invoices/{invoiceId}/refund");

    // Every route used is declared and served by BTCPay 2.0.0 on.
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 11, "{seen:?}");
    assert_eq!(route_violations(&spec, &seen), Vec::<String>::new());
    let mut used: Vec<String> =
        seen.iter().map(|(m, p)| format!("{m} {}", template_of(&spec, m, p).unwrap())).collect();
    used.sort();
    used.dedup();
    let mut declared: Vec<String> =
        ROUTES.iter().filter(|r| r.path.starts_with("/api/")).map(|r| format!("{} {}", r.method, r.path)).collect();
    declared.sort();
    assert_eq!(used, declared, "every declared Greenfield route is exercised here");
}

#[tokio::test]
async fn simulator_webhook_bodies_match_the_spec_schemas() {
    let app = spawn_app().await;
    let sim = BtcpaySim::start(&[("S1", "Shop")]).await;
    app.connect_btcpay(&sim, &["S1"]).await;
    app.product_with_policy("app", json!({"price_sats": 1000})).await;
    let mut ids = Vec::new();
    for _ in 0..3 {
        let p = app.purchase(json!({"product": "app"})).await.expect(200);
        ids.push(p["btcpay_invoice_id"].as_str().unwrap().to_string());
    }
    sim.pay_and_settle(&ids[0]).await;
    sim.expire(&ids[1]).await;
    sim.invalidate(&ids[2]).await;

    let sent = sim.sent_webhooks();
    let mut types: Vec<&str> = sent.iter().filter_map(|b| b["type"].as_str()).collect();
    types.sort();
    types.dedup();
    assert_eq!(
        types,
        [
            "InvoiceCreated",
            "InvoiceExpired",
            "InvoiceInvalid",
            "InvoicePaymentSettled",
            "InvoiceProcessing",
            "InvoiceReceivedPayment",
            "InvoiceSettled"
        ]
    );
    let file = tempfile::NamedTempFile::new().unwrap();
    let lines: Vec<String> = sent.iter().map(|b| b.to_string()).collect();
    std::fs::write(file.path(), lines.join("\n")).unwrap();
    let out = Command::new("node")
        .arg(js_dir().join("validate-webhooks.mjs"))
        .arg(spec())
        .arg(file.path())
        .output()
        .expect("run node");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "webhook bodies break the spec:\n{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains(&format!("{n}/{n} valid", n = sent.len())), "{stdout}");
}

/// Runs `validate-responses.mjs` on these answers against `spec`; (success, output).
fn validate_answers(spec: &Value, answers: &[Value]) -> (bool, String) {
    let spec_file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(spec_file.path(), serde_json::to_vec(spec).unwrap()).unwrap();
    let file = tempfile::NamedTempFile::new().unwrap();
    let lines: Vec<String> = answers.iter().map(|a| a.to_string()).collect();
    std::fs::write(file.path(), lines.join("\n")).unwrap();
    let out = Command::new("node")
        .arg(js_dir().join("validate-responses.mjs"))
        .arg(spec_file.path())
        .arg(file.path())
        .output()
        .expect("run node");
    (out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

#[tokio::test]
async fn simulator_answers_match_the_spec_response_schemas() {
    let app = spawn_app().await;
    let sim = BtcpaySim::start(&[("S1", "Shop"), ("S2", "Other")]).await;
    app.connect_btcpay(&sim, &["S1"]).await;
    app.product_with_policy("app", json!({"price_sats": 1000})).await;
    let mut ids = Vec::new();
    for _ in 0..2 {
        let p = app.purchase(json!({"product": "app"})).await.expect(200);
        ids.push(p["btcpay_invoice_id"].as_str().unwrap().to_string());
    }
    sim.pay_and_settle(&ids[0]).await;
    sim.expire(&ids[1]).await;
    app.reconcile().await;
    // A refund (a pull payment) of the settled one.
    let sale = app.admin_get("/invoices?state=settled").await.expect(200);
    let ours = sale["invoices"][0]["invoice_id"].as_str().unwrap().to_string();
    app.admin_post(&format!("/invoices/{ours}/refund"), json!({"reason": "spec check"})).await.expect(200);
    // The refusals too: an unknown key, a store the key was not granted, an unknown invoice.
    let key = sim.create_key(&[
        "btcpay.store.canviewinvoices:S1".to_string(),
        "btcpay.store.canviewstoresettings:S1".to_string(),
    ]);
    let http = reqwest::Client::new();
    for (path, token, status) in [
        ("/api/v1/stores", "nobody", 401),
        ("/api/v1/stores/S1", key.as_str(), 200),
        ("/api/v1/stores/S2", key.as_str(), 403),
        ("/api/v1/stores/S2/invoices/x", key.as_str(), 403),
        ("/api/v1/stores/S1/invoices/unknown", key.as_str(), 404),
    ] {
        let r = http.get(format!("{}{path}", sim.base)).header("Authorization", format!("token {token}")).send().await;
        assert_eq!(r.unwrap().status().as_u16(), status, "{path}");
    }

    let answers: Vec<Value> = sim
        .responses()
        .into_iter()
        // Not the routes 2.0 lacks (bodiless 404s of the fallback; see `unserved`).
        .filter(|a| !(a.status == 404 && a.body.is_null()))
        .map(|a| json!({"method": a.method, "path": a.path, "status": a.status, "body": a.body}))
        .collect();
    // Every kind of answer Keysat relies on was given at least once.
    let mut kinds: Vec<String> = answers
        .iter()
        .map(|a| {
            let (m, p) = (a["method"].as_str().unwrap(), a["path"].as_str().unwrap());
            let spec = spec_with_store_scoped_webhooks();
            format!("{m} {} {}", template_of(&spec, m, p).unwrap_or(p), a["status"])
        })
        .collect();
    kinds.sort();
    kinds.dedup();
    for want in [
        "GET /api/v1/api-keys/current 200",
        "GET /api/v1/stores 200",
        "GET /api/v1/stores 401",
        "GET /api/v1/stores/{storeId} 200",
        "GET /api/v1/stores/{storeId} 403",
        "POST /api/v1/stores/{storeId}/webhooks 200",
        "POST /api/v1/stores/{storeId}/invoices 200",
        "GET /api/v1/stores/{storeId}/invoices/{invoiceId} 200",
        "GET /api/v1/stores/{storeId}/invoices/{invoiceId} 403",
        "GET /api/v1/stores/{storeId}/invoices/{invoiceId} 404",
        "POST /api/v1/stores/{storeId}/invoices/{invoiceId}/refund 200",
    ] {
        assert!(kinds.iter().any(|k| k == want), "no {want} among {kinds:#?}");
    }
    let spec = spec_with_store_scoped_webhooks();
    let (ok, out) = validate_answers(&spec, &answers);
    assert!(ok, "simulator answers break the spec:\n{out}");
    assert!(out.contains(&format!("{n}/{n} valid", n = answers.len())), "{out}");

    // Negative control: the validator bites on an answer of the wrong shape.
    let invoice = answers
        .iter()
        .find(|a| a["method"] == "GET" && a["status"] == 200 && a["path"].as_str().unwrap().contains("/invoices/"))
        .expect("an invoice answer")
        .clone();
    let mut broken = invoice.clone();
    broken["body"]["amount"] = json!(1000); // the spec's amounts are decimal strings
    broken["body"]["createdTime"] = json!("yesterday"); // and its times unix seconds
    let (ok, out) = validate_answers(&spec, &[invoice, broken]);
    assert!(!ok && out.contains("1/2 valid"), "{out}");
}
