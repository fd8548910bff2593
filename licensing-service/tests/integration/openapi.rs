//! `GET /v1/openapi.json` against the real server: every route that answers
//! JSON is driven here (the public API, the admin API, BTCPay's webhook),
//! each answer is recorded, and `tests/js/validate-openapi.mjs` checks the
//! document is valid OpenAPI 3.1 (swagger-parser), validates every answer
//! against the document's schema for its route and status (Ajv, JSON Schema
//! 2020-12; undocumented top-level fields fail), and fails for an operation
//! no answer reached. A route added to the server is added to the document
//! by its table; this test then asks for a call to it below.

use std::sync::Mutex;

use keysat_client::{ActivationChallenge, LicenseKey, Nonce};
use reqwest::Method;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::common::btcpay_sim::{sign, BtcpaySim};
use crate::common::stripe_sim::{StripeSim, SECRET_KEY};
use crate::common::*;
use crate::delivery_support::start_receiver;
use crate::pages_support::shop;

/// The npub of `tests/js/pages.mjs` (nobody's: the recovery is only queued).
const NPUB: &str = "npub10elfcs4fr0l0r8af98jlmgdh9c8tcxjvz9qkw038js35mp4dma8qzvjptg";

/// Calls the server and keeps every JSON answer: `{method, path, status, body}`.
struct Recorder<'a> {
    app: &'a TestApp,
    answers: Mutex<Vec<Value>>,
}

impl<'a> Recorder<'a> {
    fn new(app: &'a TestApp) -> Self {
        Recorder { app, answers: Mutex::new(vec![]) }
    }

    async fn send(&self, method: Method, path: &str, req: reqwest::RequestBuilder) -> Reply {
        let reply = self.app.send(req).await;
        let json =
            reply.headers.get("content-type").is_some_and(|t| t.to_str().unwrap().starts_with("application/json"));
        if json {
            let path = path.split('?').next().unwrap().to_string();
            let answer =
                json!({"method": method.as_str(), "path": path, "status": reply.status.as_u16(), "body": reply.json});
            self.answers.lock().unwrap().push(answer);
        }
        reply
    }

    async fn public(&self, method: Method, path: &str, body: Option<Value>) -> Reply {
        let mut req = self.app.client.request(method.clone(), format!("{}{path}", self.app.base));
        if let Some(b) = body {
            req = req.json(&b);
        }
        self.send(method, path, req).await
    }

    async fn get(&self, path: &str) -> Value {
        self.public(Method::GET, path, None).await.expect(200)
    }

    async fn post(&self, path: &str, body: Value) -> Value {
        self.public(Method::POST, path, Some(body)).await.expect(200)
    }

    async fn admin(&self, method: Method, path: &str, body: Option<Value>) -> Reply {
        let mut req = self.app.admin(method.clone(), path);
        if let Some(b) = body {
            req = req.json(&b);
        }
        self.send(method, &format!("/v1/admin{path}"), req).await
    }

    async fn admin_get(&self, path: &str) -> Value {
        self.admin(Method::GET, path, None).await.expect(200)
    }

    async fn admin_post(&self, path: &str, body: Value, status: u16) -> Value {
        self.admin(Method::POST, path, Some(body)).await.expect(status)
    }

    async fn admin_patch(&self, path: &str, body: Value) -> Value {
        self.admin(Method::PATCH, path, Some(body)).await.expect(200)
    }

    /// Writes the answers and the document, and runs the validator.
    async fn validate(&self) {
        let doc = self.app.get("/v1/openapi.json").await.expect(200);
        let dir = tempfile::tempdir().unwrap();
        let doc_path = dir.path().join("openapi.json");
        std::fs::write(&doc_path, serde_json::to_vec(&doc).unwrap()).unwrap();
        let answers_path = dir.path().join("answers.jsonl");
        let lines: Vec<String> = self.answers.lock().unwrap().iter().map(Value::to_string).collect();
        std::fs::write(&answers_path, lines.join("\n")).unwrap();
        let out = std::process::Command::new("node")
            .arg(js_dir().join("validate-openapi.mjs"))
            .arg(&doc_path)
            .arg(&answers_path)
            .output()
            .expect("node runs (make js-deps installs the tools)");
        let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert!(out.status.success(), "answers the document does not describe:\n{text}");
        println!("{text}");
    }
}

fn id(v: &Value, field: &str) -> String {
    v[field].as_str().unwrap_or_else(|| panic!("no {field} in {v}")).to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn every_answer_of_every_route_is_what_the_openapi_document_says() {
    let stripe = StripeSim::start().await;
    let stripe_url = url::Url::parse(&stripe.base).unwrap();
    let app = spawn_with(|c| c.stripe_api_url = stripe_url).await;
    let sim = BtcpaySim::start(&[("S1", "Shop one"), ("S2", "Shop two")]).await;
    let r = Recorder::new(&app);
    btcpay(&r, &sim).await;
    shop(&app).await;
    catalogue(&r).await;
    let key = purchases(&r, &sim).await;
    let license = admin_licenses(&r).await;
    application(&r, &key).await;
    desk(&r, &license).await;
    subscriptions(&r, &key, &license).await;
    cards(&r, &stripe).await;
    operator(&r).await;
    errors(&r).await;
    btcpay_last(&r, &sim).await;
    r.validate().await;
}

/// Connect with two stores granted (the operator picks one), status, reconcile.
async fn btcpay(r: &Recorder<'_>, sim: &BtcpaySim) {
    let started = r.admin_post("/btcpay/connect", json!({"btcpay_url": sim.base}), 200).await;
    let consent = sim.consent(started["authorize_url"].as_str().unwrap(), &["S1", "S2"]);
    r.app.client.post(&consent.redirect).form(&consent.form).send().await.unwrap();
    r.admin_post("/btcpay/store", json!({"store_id": "S1"}), 200).await;
    assert_eq!(r.admin_get("/btcpay/status").await["connected"], true);
    r.admin_post("/btcpay/reconcile", json!({}), 200).await;
}

/// Disconnect, then the manual connection.
async fn btcpay_last(r: &Recorder<'_>, sim: &BtcpaySim) {
    r.admin_post("/btcpay/disconnect", json!({}), 200).await;
    let perms: Vec<String> = [
        "btcpay.store.canviewinvoices",
        "btcpay.store.cancreateinvoice",
        "btcpay.store.canviewstoresettings",
        "btcpay.store.webhooks.canmodifywebhooks",
    ]
    .iter()
    .map(|p| format!("{p}:S2"))
    .collect();
    let key = sim.create_key(&perms);
    r.admin_post("/btcpay/manual", json!({"btcpay_url": sim.base, "api_key": key, "store_id": "S2"}), 200).await;
}

/// The service, the catalogue a website shows, and a code's preview.
async fn catalogue(r: &Recorder<'_>) {
    r.get("/").await;
    r.get("/healthz").await;
    r.get("/v1/pubkey").await;
    r.get("/v1/products").await;
    r.get("/v1/products/app").await;
    let tiers = r.get("/v1/products/app/policies").await;
    assert!(tiers["policies"].as_array().unwrap().len() >= 3, "{tiers}");
    r.post("/v1/discount-codes/preview", json!({"product": "app", "policy_slug": "lifetime", "code": "SPRING"})).await;
    r.admin_post("/products", json!({"slug": "extra", "name": "Extra", "price_sats": 1000}), 201).await;
    r.admin_get("/products").await;
    r.admin_get("/products/extra").await;
    r.admin_patch("/products/extra", json!({"description": "More"})).await;
    r.admin_post("/products/extra/policies", json!({"slug": "basic", "name": "Basic"}), 201).await;
    r.admin_get("/products/extra/policies").await;
    r.admin_get("/products/extra/policies/basic").await;
    r.admin_patch("/products/extra/policies/basic", json!({"max_machines": 4})).await;
}

/// A paid purchase (pending, paid by BTCPay's webhook), a free one, a
/// redemption; returns a key of tier `default`.
async fn purchases(r: &Recorder<'_>, sim: &BtcpaySim) -> String {
    let pending = r.post("/v1/purchase", json!({"product": "app", "buyer_email": "ann@example.com"})).await;
    assert_eq!(pending["status"], "pending");
    let invoice = id(&pending, "invoice_id");
    r.get(&format!("/v1/purchase/{invoice}")).await;
    let btcpay_id = id(&pending, "btcpay_invoice_id");
    sim.set_status(&btcpay_id, "Settled", "None");
    let (url, secret) = sim.webhook_secret("S1").unwrap();
    let event = serde_json::to_vec(&json!({
        "deliveryId": "d-1", "webhookId": "w", "originalDeliveryId": "d-1", "isRedelivery": false,
        "type": "InvoiceSettled", "timestamp": 1, "storeId": "S1", "invoiceId": btcpay_id,
        "metadata": {"orderId": invoice}, "manuallyMarked": false, "overPaid": false
    }))
    .unwrap();
    let path = url.strip_prefix(&r.app.base).expect("the webhook is ours").to_string();
    let req =
        r.app.client.post(&url).header("content-type", "application/json").header("btcpay-sig", sign(&secret, &event));
    r.send(Method::POST, &path, req.body(event)).await.expect(200);
    let settled = r.get(&format!("/v1/purchase/{invoice}")).await;
    assert_eq!(settled["status"], "settled", "{settled}");

    let free = r.post("/v1/purchase", json!({"product": "app", "code": "FREEBIE", "buyer_npub": NPUB})).await;
    assert_eq!(free["status"], "settled");
    r.post("/v1/redeem", json!({"product": "app", "code": "FREEBIE", "buyer_email": "bob@example.com"})).await;
    id(&settled, "license_key")
}

/// Issue, list, search, details, suspend / unsuspend; a second license is revoked.
async fn admin_licenses(r: &Recorder<'_>) -> String {
    let issued = r
        .admin_post("/licenses", json!({"product_slug": "app", "policy_slug": "default", "buyer_npub": NPUB}), 201)
        .await;
    let license = id(&issued, "license_id");
    r.admin_get("/licenses").await;
    r.admin_get("/licenses/search?q=ann@example.com").await;
    r.admin_get(&format!("/licenses/{license}")).await;
    r.admin_post(&format!("/licenses/{license}/suspend"), json!({"reason": "checking"}), 200).await;
    r.admin(Method::POST, &format!("/licenses/{license}/unsuspend"), None).await.expect(200);
    let other = r.admin_post("/licenses", json!({"product_slug": "app"}), 201).await;
    r.admin_post(&format!("/licenses/{}/revoke", id(&other, "license_id")), json!({"reason": "refund"}), 200).await;
    license
}

/// What a licensed application calls, signed and not.
async fn application(r: &Recorder<'_>, key: &str) {
    let nonce = Nonce::from_bytes(Uuid::new_v4().as_bytes()).unwrap();
    r.post("/v1/validate", json!({"key": key})).await;
    let signed = r.post("/v1/validate", json!({"key": key, "fingerprint": "fp-1", "nonce": nonce.as_str()})).await;
    assert!(signed["signature"].is_string(), "{signed}");
    r.post("/v1/validate", json!({"key": "LIC1-not-a-key"})).await;
    r.post("/v1/machines/activate", json!({"key": key, "fingerprint": "fp-1", "hostname": "desk"})).await;
    r.post("/v1/machines/heartbeat", json!({"key": key, "fingerprint": "fp-1"})).await;
    r.post("/v1/machines/lease", json!({"key": key, "fingerprint": "fp-1"})).await;
    r.post("/v1/machines/deactivate", json!({"key": key, "fingerprint": "fp-1"})).await;
    let license = LicenseKey::parse(key).unwrap().payload().license_id;
    let mut challenge_nonce = [0u8; 10];
    challenge_nonce.copy_from_slice(&Uuid::new_v4().as_bytes()[..10]);
    let challenge = ActivationChallenge::new(license, "vault-fp", challenge_nonce);
    r.post(
        "/v1/machines/offline-activate",
        json!({"key": key, "challenge": challenge.to_code_string(), "hostname": "vault"}),
    )
    .await;
    let listed = r.post("/v1/machines/list", json!({"key": key})).await;
    assert!(listed["machines"].is_array(), "{listed}");
    r.post("/v1/machines/list", json!({"key": "LIC1-not-a-key"})).await;
    let machine = id(&listed["machines"][0], "machine_id");
    r.post("/v1/machines/deactivate", json!({"key": key, "machine_id": machine})).await;
    r.post("/v1/machines/activate", json!({"key": key, "fingerprint": "fp-2"})).await;
    r.public(Method::POST, "/v1/recover/npub", Some(json!({"npub": NPUB}))).await.expect(202);
}

/// The operator's desk: machines, codes, sales, customers, support, audit.
async fn desk(r: &Recorder<'_>, license: &str) {
    let machines = r.admin_get("/machines").await;
    let machine = id(&machines["machines"][0], "id");
    r.admin_post(&format!("/machines/{machine}/deactivate"), json!({}), 200).await;
    r.admin_post(
        "/discount-codes",
        json!({"code": "SUMMER", "product_slug": "app", "kind": "percent_off", "value": 10}),
        201,
    )
    .await;
    r.admin_get("/discount-codes").await;
    r.admin_get("/discount-codes/SUMMER").await;
    r.admin_patch("/discount-codes/SUMMER", json!({"max_uses": 5})).await;
    r.admin_post("/discount-codes/SUMMER/disable", json!({}), 200).await;
    r.admin_post("/discount-codes/SUMMER/enable", json!({}), 200).await;
    r.admin(Method::DELETE, "/discount-codes/SUMMER", None).await.expect(200);
    let invoices = r.admin_get("/invoices").await;
    r.admin_get(&format!("/invoices/{}", id(&invoices["invoices"][0], "invoice_id"))).await;
    r.admin_get("/revenue").await;
    let customers = r.admin_get("/customers").await;
    r.admin_get(&format!("/customers/{}", id(&customers["customers"][0], "customer_id"))).await;
    r.admin_post(&format!("/licenses/{license}/reset-seats"), json!({"reason": "new laptop"}), 200).await;
    r.admin_post(&format!("/licenses/{license}/resend"), json!({}), 200).await;
    r.admin_get(&format!("/licenses/{license}/support")).await;
    r.admin_get("/audit").await;
    r.admin_get("/stats").await;
}

/// A recurring tier: renew, upgrade (quote, checkout), cancel (buyer and
/// operator), the operator's change of tier and adjustment.
async fn subscriptions(r: &Recorder<'_>, key: &str, license: &str) {
    let monthly = json!({"slug": "monthly", "name": "Monthly", "price_sats": 5000, "is_recurring": true,
        "duration_seconds": 30 * 86_400, "tier_rank": 4});
    r.app.create_policy("app", monthly).await;
    let mut keys = vec![];
    for _ in 0..2 {
        let free = r.post("/v1/purchase", json!({"product": "app", "policy_slug": "monthly", "code": "FREEBIE"})).await;
        keys.push(id(&free, "license_key"));
    }
    r.post("/v1/renew", json!({"key": keys[0]})).await;
    r.post("/v1/upgrade-quote", json!({"key": key, "to_policy_slug": "monthly"})).await;
    r.post("/v1/upgrade", json!({"key": key, "to_policy_slug": "monthly"})).await;
    r.post("/v1/subscriptions/cancel", json!({"key": keys[0], "reason": "too pricey"})).await;
    let listed = r.admin_get("/subscriptions").await;
    let open = listed["subscriptions"].as_array().unwrap().iter().find(|s| s["state"] != "canceled").expect("one open");
    let sub = id(open, "subscription_id");
    r.admin_get(&format!("/subscriptions/{sub}")).await;
    r.admin_post(&format!("/subscriptions/{sub}/cancel"), json!({"reason": "asked by mail"}), 200).await;
    let body = json!({"to_policy_slug": "lifetime", "skip_payment": true, "reason": "goodwill"});
    let changed = r.admin_post(&format!("/licenses/{license}/change-tier"), body, 200).await;
    assert_eq!(changed["status"], "applied", "{changed}");
    r.admin_post(&format!("/licenses/{license}/adjust"), json!({"max_machines": 5, "reason": "more machines"}), 200)
        .await;
}

/// Stripe: connect, a card sale paid by its (signed) webhook, a refund,
/// reconcile, status, disconnect.
async fn cards(r: &Recorder<'_>, stripe: &StripeSim) {
    r.admin_post("/stripe/connect", json!({"secret_key": SECRET_KEY}), 200).await;
    r.admin_get("/stripe/status").await;
    let sale = r.post("/v1/purchase", json!({"product": "app", "policy_slug": "lifetime", "provider": "stripe"})).await;
    stripe.pay(&id(&sale, "btcpay_invoice_id")).await;
    // Stripe's delivery again (as Stripe retries): acknowledged, applied once.
    let sent = stripe.sent().into_iter().find(|s| s.event_type == "checkout.session.completed").expect("sent");
    assert_eq!(sent.status, Some(200));
    let req = r
        .app
        .client
        .post(&sent.url)
        .header("content-type", "application/json; charset=utf-8")
        .header("stripe-signature", &sent.header)
        .body(sent.body.clone());
    r.send(Method::POST, "/v1/stripe/webhook", req).await.expect(200);
    let invoice = id(&sale, "invoice_id");
    assert_eq!(r.get(&format!("/v1/purchase/{invoice}")).await["status"], "settled");
    r.admin_post(&format!("/invoices/{invoice}/refund"), json!({"reason": "changed their mind"}), 200).await;
    r.admin_post("/stripe/reconcile", json!({}), 200).await;
    r.admin_post("/stripe/disconnect", json!({}), 200).await;
}

/// Settings, relays, webhooks, import, backups, API keys.
async fn operator(r: &Recorder<'_>) {
    r.admin_get("/settings").await;
    r.admin(Method::PUT, "/settings", Some(json!({"operator_name": "Acme"}))).await.expect(200);
    // E-mail: on through an SMTP server, a test mail, a recovery by e-mail, off.
    let sink = crate::delivery_support::smtp::SmtpSink::start().await;
    let smtp = json!({"host": "127.0.0.1", "port": sink.port, "security": "none", "username": "acme",
                      "password": "secret", "from": "shop@example.com"});
    r.admin(Method::PUT, "/settings", Some(json!({"smtp": smtp}))).await.expect(200);
    r.admin_get("/settings").await;
    r.admin_post("/email/test", json!({"to": "ops@example.com"}), 200).await;
    r.public(Method::POST, "/v1/recover/email", Some(json!({"email": "nobody@example.com"}))).await.expect(202);
    r.admin(Method::PUT, "/settings", Some(json!({"smtp": null}))).await.expect(200);
    r.admin_get("/nostr").await;
    r.admin(Method::PUT, "/nostr", Some(json!({"relays": []}))).await.expect(200);

    let receiver = start_receiver(None).await;
    let endpoint = r.admin_post("/webhook-endpoints", json!({"url": receiver.url, "events": ["*"]}), 201).await;
    let endpoint = id(&endpoint, "id");
    r.admin_get("/webhook-endpoints").await;
    r.admin_get(&format!("/webhook-endpoints/{endpoint}")).await;
    r.admin_patch(&format!("/webhook-endpoints/{endpoint}"), json!({"description": "books"})).await;
    r.app.issue_license("app", "default").await;
    let deliveries = poll(WAIT, || async {
        let d = r.app.admin_get("/webhook-deliveries").await.expect(200);
        d["deliveries"].as_array().is_some_and(|a| !a.is_empty()).then_some(d)
    })
    .await
    .expect("a delivery");
    r.admin_get("/webhook-deliveries").await;
    let delivery = id(&deliveries["deliveries"][0], "id");
    r.admin_get(&format!("/webhook-deliveries/{delivery}")).await;
    r.admin_post(&format!("/webhook-deliveries/{delivery}/retry"), json!({}), 200).await;
    r.admin(Method::DELETE, &format!("/webhook-endpoints/{endpoint}"), None).await.expect(204);

    let csv = "product_slug,policy_slug,buyer_email,note\napp,default,carol@example.net,from the old shop\n";
    let import = |csv: &'static str| {
        r.app.admin(Method::POST, "/import/licenses?dry_run=true").header("content-type", "text/csv").body(csv)
    };
    r.send(Method::POST, "/v1/admin/import/licenses", import(csv)).await.expect(200);
    r.send(Method::POST, "/v1/admin/import/licenses", import("product_slug\nnope\n")).await.expect(422);

    r.admin_get("/status").await;
    r.admin_post("/backups", json!({}), 201).await;
    r.admin_get("/backups").await;
    r.admin_post("/export-links", json!({"file": "licenses.csv"}), 200).await;
    let created = r.admin_post("/api-keys", json!({"name": "website", "scopes": ["issuer"]}), 201).await;
    r.admin_get("/api-keys").await;
    r.admin(Method::DELETE, &format!("/api-keys/{}", id(&created, "id")), None).await.expect(200);
}

/// Error answers are the envelope.
async fn errors(r: &Recorder<'_>) {
    r.public(Method::GET, "/v1/products/nope", None).await.expect_error(404, "not_found");
    r.public(Method::POST, "/v1/discount-codes/preview", Some(json!({"product": "app", "code": "NOPE"})))
        .await
        .expect(422);
    r.public(Method::POST, "/v1/purchase", Some(json!({"product": "app", "bogus": 1}))).await.expect(400);
    let unauthorized = r.app.client.get(format!("{}/v1/admin/licenses", r.app.admin_base));
    r.send(Method::GET, "/v1/admin/licenses", unauthorized).await.expect(401);
    r.admin(Method::GET, "/licenses/not-a-license", None).await.expect_error(404, "not_found");
}
