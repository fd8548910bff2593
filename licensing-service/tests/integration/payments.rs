//! The purchase path against the BTCPay simulator: one-click connection,
//! purchase, payment, webhooks (forged, duplicated, reordered, dropped),
//! expiry and invalid invoices, reconciliation, and the 503 while disconnected.

use crate::common::btcpay_sim::{sign, BtcpaySim, Chaos};
use crate::common::{spawn_app, spawn_with, TestApp};
use serde_json::{json, Value};

async fn shop() -> (TestApp, BtcpaySim) {
    let app = spawn_app().await;
    let sim = BtcpaySim::start(&[("StoreA1", "Satoshi Software")]).await;
    let page = app.connect_btcpay(&sim, &["StoreA1"]).await;
    assert!(page.contains("Connected to store Satoshi Software"), "{page}");
    app.product_with_policy("app", json!({"price_sats": 5000, "max_machines": 2})).await;
    (app, sim)
}

/// Buys `app` and returns (our invoice id, BTCPay's invoice id).
async fn buy(app: &TestApp, extra: Value) -> (String, String) {
    let mut body = json!({"product": "app", "buyer_email": "Buyer@Example.com"});
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    let p = app.purchase(body).await.expect(200);
    (p["invoice_id"].as_str().unwrap().to_string(), p["btcpay_invoice_id"].as_str().unwrap().to_string())
}

#[tokio::test]
async fn whole_purchase_connect_pay_poll_and_verify() {
    let (app, sim) = shop().await;
    let status = app.admin_get("/btcpay/status").await.expect(200);
    assert_eq!(status["connected"], json!(true), "{status}");
    assert_eq!(status["store_id"], json!("StoreA1"));
    assert_eq!(sim.webhook_count(), 1);

    let p = app.purchase(json!({"product": "app", "buyer_email": "buyer@example.com"})).await.expect(200);
    let invoice_id = p["invoice_id"].as_str().unwrap().to_string();
    let btcpay_id = p["btcpay_invoice_id"].as_str().unwrap().to_string();
    assert_eq!(p["amount_sats"], json!(5000));
    assert_eq!(p["base_price_sats"], json!(5000));
    assert_eq!(p["discount_applied_sats"], json!(0));
    assert!(p["checkout_url"].as_str().unwrap().starts_with(&sim.base), "{p}");
    assert_eq!(p["poll_url"], json!(format!("{}/v1/purchase/{invoice_id}", app.base)));

    // What BTCPay was asked for.
    let created = sim.requests().into_iter().find(|r| r.method == "POST" && r.path.ends_with("/invoices")).unwrap();
    assert_eq!(created.body["amount"], json!("5000"));
    assert_eq!(created.body["currency"], json!("SATS"));
    assert_eq!(created.body["metadata"]["orderId"], json!(invoice_id));
    assert_eq!(created.body["metadata"]["buyerEmail"], json!("buyer@example.com"));
    assert_eq!(created.body["checkout"]["redirectURL"], json!(format!("{}/thank-you?invoice={invoice_id}", app.base)));

    let polled = app.poll(&invoice_id).await;
    assert_eq!(polled["status"], json!("pending"));
    assert_eq!(polled["stage"], json!("waiting_for_payment"));
    assert_eq!(polled["license_key"], Value::Null);

    sim.pay(&btcpay_id).await;
    let polled = app.poll(&invoice_id).await;
    assert_eq!(polled["status"], json!("pending"));
    assert_eq!(polled["stage"], json!("confirming"));

    sim.settle(&btcpay_id).await;
    let polled = app.poll(&invoice_id).await;
    assert_eq!(polled["status"], json!("settled"), "{polled}");
    let key = polled["license_key"].as_str().expect("license key once settled");
    let license_id = polled["license_id"].as_str().unwrap();
    let verified = keysat_client::verify(key, &app.public_key().await).expect("keysat-client verifies the key");
    assert_eq!(verified.license_id.to_string(), license_id);
    assert_eq!(app.licenses_for(&invoice_id).await, 1);

    let audit = app.admin_get("/audit?limit=500").await.expect(200);
    let actions: Vec<&str> = audit["entries"].as_array().unwrap().iter().filter_map(|e| e["action"].as_str()).collect();
    assert!(actions.contains(&"license.issue") && actions.contains(&"invoice.settle"), "{actions:?}");
    let status = app.admin_get("/btcpay/status").await.expect(200);
    assert!(status["last_webhook_at"].as_str().is_some_and(|t| t.ends_with('Z')), "{status}");
}

#[tokio::test]
async fn forged_missing_and_replayed_signatures_change_nothing() {
    let (app, sim) = shop().await;
    let (invoice_id, btcpay_id) = buy(&app, json!({})).await;
    let (url, secret) = sim.webhook_secret("StoreA1").unwrap();
    let body = serde_json::to_vec(&json!({
        "deliveryId": "forged-1", "webhookId": "x", "originalDeliveryId": "forged-1", "isRedelivery": false,
        "type": "InvoiceSettled", "timestamp": 1, "storeId": "StoreA1", "invoiceId": btcpay_id,
        "metadata": {"orderId": invoice_id}, "manuallyMarked": false, "overPaid": false
    }))
    .unwrap();
    assert_eq!(sim.post_webhook_raw(&url, &body, None).await, 401);
    assert_eq!(sim.post_webhook_raw(&url, &body, Some(&sign("not-the-secret", &body))).await, 401);
    assert_eq!(sim.post_webhook_raw(&url, &body, Some("sha256=zz")).await, 401);
    let mut tampered = body.clone();
    tampered.push(b' ');
    assert_eq!(sim.post_webhook_raw(&url, &tampered, Some(&sign(&secret, &body))).await, 401);
    assert_eq!(app.poll(&invoice_id).await["status"], json!("pending"));
    assert_eq!(app.licenses_for(&invoice_id).await, 0);

    // Genuine (BTCPay has settled it, as it has when it sends this), then replayed: one license.
    sim.set_status(&btcpay_id, "Settled", "None");
    assert_eq!(sim.post_webhook_raw(&url, &body, Some(&sign(&secret, &body))).await, 200);
    let first = app.poll(&invoice_id).await;
    assert_eq!(first["status"], json!("settled"));
    for _ in 0..3 {
        assert_eq!(sim.post_webhook_raw(&url, &body, Some(&sign(&secret, &body))).await, 200);
    }
    assert_eq!(app.licenses_for(&invoice_id).await, 1);
    assert_eq!(app.poll(&invoice_id).await["license_id"], first["license_id"]);

    // Someone else's invoice (another app on the same store): acknowledged, ignored.
    let foreign = serde_json::to_vec(&json!({
        "deliveryId": "foreign-1", "webhookId": "x", "originalDeliveryId": "foreign-1", "isRedelivery": false,
        "type": "InvoiceSettled", "timestamp": 1, "storeId": "StoreA1", "invoiceId": "NotOurs1",
        "metadata": {"orderId": "woo-1234"}
    }))
    .unwrap();
    let r = reqwest::Client::new()
        .post(&url)
        .header("BTCPay-Sig", sign(&secret, &foreign))
        .body(foreign.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(r.json::<Value>().await.unwrap()["outcome"], json!("not_ours"));

    // Malformed but signed: a clear 400, nothing changes.
    let junk = b"{not json";
    assert_eq!(sim.post_webhook_raw(&url, junk, Some(&sign(&secret, junk))).await, 400);
}

#[tokio::test]
async fn duplicated_reordered_and_dropped_webhooks_end_in_exactly_one_license() {
    let (app, sim) = shop().await;
    // Every delivery twice, half of them held back and released newest first.
    sim.set_chaos(Chaos { drop: 0.0, duplicate: 1.0, hold: 0.5 });
    let (a, a_btcpay) = buy(&app, json!({})).await;
    sim.pay_and_settle(&a_btcpay).await;
    sim.release_held().await;
    sim.release_held().await;
    assert_eq!(app.poll(&a).await["status"], json!("settled"));
    assert_eq!(app.licenses_for(&a).await, 1);

    // A settled invoice never moves back, whatever arrives later.
    sim.set_chaos(Chaos::default());
    sim.expire(&a_btcpay).await;
    assert_eq!(app.poll(&a).await["status"], json!("settled"));

    // Every delivery dropped: reconciliation finds the payment.
    sim.set_chaos(Chaos { drop: 1.0, duplicate: 0.0, hold: 0.0 });
    let (b, b_btcpay) = buy(&app, json!({})).await;
    sim.pay_and_settle(&b_btcpay).await;
    assert_eq!(app.poll(&b).await["status"], json!("pending"));
    let app = {
        // Reconciliation looks only at invoices older than the minimum age.
        let dir = app.stop().await;
        crate::common::spawn_in(dir, |c| c.reconcile_min_age_seconds = 0).await
    };
    // The start-up pass or this one (they run one at a time) finds the payment.
    let report = app.reconcile().await;
    assert_eq!(report["error"], Value::Null, "{report}");
    assert_eq!(app.poll(&b).await["status"], json!("settled"));
    let audit = app.admin_get("/audit?action=invoice.settle&limit=10").await.expect(200);
    assert!(audit["entries"].as_array().unwrap().iter().any(|e| e["actor"] == json!("reconcile")), "{audit}");
    assert_eq!(app.licenses_for(&b).await, 1);
    let again = app.reconcile().await;
    assert_eq!(again["settled"], json!(0));
    assert_eq!(app.licenses_for(&b).await, 1);
}

#[tokio::test]
async fn expired_and_invalid_invoices_get_no_license_and_late_payment_still_counts() {
    let (app, sim) = shop().await;
    let (a, a_btcpay) = buy(&app, json!({})).await;
    sim.expire(&a_btcpay).await;
    let polled = app.poll(&a).await;
    assert_eq!(polled["status"], json!("expired"));
    assert_eq!(polled["license_key"], Value::Null);

    let (b, b_btcpay) = buy(&app, json!({})).await;
    sim.invalidate(&b_btcpay).await;
    assert_eq!(app.poll(&b).await["status"], json!("invalid"));
    assert_eq!(app.licenses_for(&b).await, 0);

    // Paid after expiry and settled by BTCPay: the buyer gets the key.
    sim.settle(&a_btcpay).await;
    assert_eq!(app.poll(&a).await["status"], json!("settled"));
    assert_eq!(app.licenses_for(&a).await, 1);
}

#[tokio::test]
async fn purchase_without_a_connected_provider_is_a_503() {
    let app = spawn_app().await;
    app.product_with_policy("app", json!({"price_sats": 5000})).await;
    app.purchase(json!({"product": "app"})).await.expect_error(503, "payments_unavailable");

    let sim = BtcpaySim::start(&[("S1", "One")]).await;
    app.connect_btcpay(&sim, &["S1"]).await;
    app.purchase(json!({"product": "app"})).await.expect(200);
    let done = app.admin_post("/btcpay/disconnect", json!({})).await.expect(200);
    assert_eq!(done["removed_webhook"], json!(true));
    assert_eq!(sim.webhook_count(), 0);
    app.purchase(json!({"product": "app"})).await.expect_error(503, "payments_unavailable");
    assert_eq!(app.admin_get("/btcpay/status").await.expect(200)["connected"], json!(false));
}

#[tokio::test]
async fn connect_flow_checks_state_and_lets_the_operator_choose_a_store() {
    let app = spawn_app().await;
    let sim = BtcpaySim::start(&[("S1", "First"), ("S2", "Second")]).await;
    let started = app.admin_post("/btcpay/connect", json!({"btcpay_url": sim.base})).await.expect(200);
    let consent = sim.consent(started["authorize_url"].as_str().unwrap(), &["S1", "S2"]);

    // A forged state is refused and connects nothing.
    let forged = consent.redirect.replace("state=", "state=00");
    let r = app.client.post(&forged).form(&consent.form).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 400);
    assert_eq!(app.admin_get("/btcpay/status").await.expect(200)["provider"], Value::Null);

    let page = app.client.post(&consent.redirect).form(&consent.form).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("Choose a store"), "{page}");
    // The state token is single use.
    let r = app.client.post(&consent.redirect).form(&consent.form).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 400);

    let status = app.admin_get("/btcpay/status").await.expect(200);
    assert_eq!(status["connected"], json!(false));
    assert_eq!(status["stores"].as_array().unwrap().len(), 2, "{status}");
    app.admin_post("/btcpay/store", json!({"store_id": "nope"})).await.expect_error(400, "unknown_store");
    let chosen = app.admin_post("/btcpay/store", json!({"store_id": "S2"})).await.expect(200);
    assert_eq!(chosen["store_name"], json!("Second"));
    assert_eq!(sim.webhook_count(), 1);
    assert_eq!(app.admin_get("/btcpay/status").await.expect(200)["connected"], json!(true));

    // Bad input to the admin endpoints: clear errors.
    app.admin_post("/btcpay/connect", json!({"btcpay_url": "not a url"})).await.expect_error(400, "invalid_field");
}

#[tokio::test]
async fn manual_connection_with_a_hand_made_key() {
    let app = spawn_app().await;
    let sim = BtcpaySim::start(&[("S1", "Shop")]).await;
    let weak = sim.create_key(&["btcpay.store.canviewstoresettings:S1".into()]);
    app.admin_post("/btcpay/manual", json!({"btcpay_url": sim.base, "api_key": weak, "store_id": "S1"}))
        .await
        .expect_error(400, "insufficient_permissions");
    let wrong = app
        .admin_post("/btcpay/manual", json!({"btcpay_url": sim.base, "api_key": "nokey", "store_id": "S1"}))
        .await
        .expect_error(502, "provider_error");
    assert!(wrong["message"].as_str().unwrap().contains("GET /api/v1/api-keys/current"), "{wrong}");
    let perms: Vec<String> = [
        "btcpay.store.canviewinvoices",
        "btcpay.store.cancreateinvoice",
        "btcpay.store.canviewstoresettings",
        "btcpay.store.webhooks.canmodifywebhooks",
    ]
    .iter()
    .map(|p| format!("{p}:S1"))
    .collect();
    let key = sim.create_key(&perms);
    let ok = app
        .admin_post("/btcpay/manual", json!({"btcpay_url": sim.base, "api_key": key, "store_id": "S1"}))
        .await
        .expect(200);
    assert_eq!(ok["connected"], json!(true));
    app.product_with_policy("app", json!({"price_sats": 100})).await;
    app.purchase(json!({"product": "app"})).await.expect(200);
}

#[tokio::test]
async fn purchase_input_is_checked_and_idempotent() {
    let (app, sim) = shop().await;
    app.purchase(json!({"product": "nope"})).await.expect_error(404, "not_found");
    app.purchase(json!({"product": "app", "policy_slug": "gold"})).await.expect_error(404, "not_found");
    app.purchase(json!({"product": "app", "buyer_email": "not-an-email"})).await.expect_error(422, "invalid_field");
    app.purchase(json!({"product": "app", "buyer_npub": "npub1bad"})).await.expect_error(422, "invalid_field");
    app.purchase(json!({"product": "app", "redirect_url": "https://evil.example/x"}))
        .await
        .expect_error(422, "redirect_not_allowed");
    app.purchase(json!({"product": "app", "surprise": 1})).await.expect_error(400, "invalid_request");
    assert!(sim.invoices().is_empty(), "no provider invoice for refused input");

    let own = format!("{}/done", app.base);
    let p = app.purchase(json!({"product": "app", "redirect_url": own})).await.expect(200);
    let created = sim.invoice(p["btcpay_invoice_id"].as_str().unwrap()).unwrap();
    assert_eq!(created.currency, "SATS");

    let npub_hex = "3bf0c63fcb93463407af97a5e5ee64fa883d107ef9e558472c4eb9aaaefa459d";
    let send = |key: &'static str| {
        app.send(
            app.client
                .post(format!("{}/v1/purchase", app.base))
                .header("Idempotency-Key", key)
                .json(&json!({"product": "app", "buyer_npub": npub_hex})),
        )
    };
    let first = send("order-42").await.expect(200);
    let again = send("order-42").await;
    assert_eq!(again.headers.get("idempotent-replayed").map(|v| v.to_str().unwrap()), Some("true"));
    assert_eq!(again.expect(200)["invoice_id"], first["invoice_id"]);
    assert_eq!(sim.invoices().len(), 2, "the replay created nothing new");
}

#[tokio::test]
async fn fiat_tiers_are_priced_by_btcpay_and_redirects_to_allowed_origins_are_kept() {
    let app = spawn_with(|c| c.redirect_allowlist = vec!["https://shop.example".into()]).await;
    let sim = BtcpaySim::start(&[("S1", "Shop")]).await;
    app.connect_btcpay(&sim, &["S1"]).await;
    assert_eq!(sim.webhook_secret("S1").unwrap().0, format!("{}/v1/btcpay/webhook", app.base));
    app.product_with_policy("app", json!({"price_sats": 40000, "price_amount": "25.00", "price_currency": "USD"}))
        .await;
    let p = app.purchase(json!({"product": "app", "redirect_url": "https://shop.example/thanks"})).await.expect(200);
    let created = sim.requests().into_iter().find(|r| r.method == "POST" && r.path.ends_with("/invoices")).unwrap();
    assert_eq!(created.body["amount"], json!("25.00"));
    assert_eq!(created.body["currency"], json!("USD"));
    assert_eq!(created.body["checkout"]["redirectURL"], json!("https://shop.example/thanks"));
    assert_eq!(p["price_currency"], json!("USD"));
}

#[tokio::test]
async fn btcpay_outage_fails_the_purchase_cleanly_and_reconciliation_backs_off() {
    let (app, sim) = shop().await;
    sim.set_down(true);
    // The buyer is told payments are unavailable; the detail (BTCPay's address, the call) stays in the log.
    let err = app.purchase(json!({"product": "app"})).await.expect_error(503, "payments_unavailable");
    let message = err["message"].as_str().unwrap();
    assert!(!message.contains(&sim.base) && !message.contains("/api/v1") && !message.contains("StoreA1"), "{err}");
    sim.set_down(false);
    let (id, _) = buy(&app, json!({})).await;
    sim.set_down(true);
    let dir = app.stop().await;
    let app = crate::common::spawn_in(dir, |c| c.reconcile_min_age_seconds = 0).await;
    let report = app.reconcile().await;
    assert!(report["error"].as_str().is_some_and(|e| e.contains("503")), "{report}");
    let status = app.admin_get("/btcpay/status").await.expect(200);
    assert!(status["reconciliation"]["next_attempt_at"].as_str().is_some(), "{status}");
    assert!(status["last_error"].as_str().is_some(), "{status}");
    sim.set_down(false);
    let report = app.reconcile().await;
    assert_eq!(report["error"], Value::Null, "{report}");
    assert_eq!(app.poll(&id).await["status"], json!("pending"));
}

#[tokio::test]
async fn the_webhook_is_registered_at_the_address_btcpay_reaches_us_at() {
    let app = spawn_with(|c| c.webhook_base_url = Some("http://keysat.internal:8080".into())).await;
    let sim = BtcpaySim::start(&[("S1", "Shop")]).await;
    app.connect_btcpay(&sim, &["S1"]).await;
    assert_eq!(sim.webhook_secret("S1").unwrap().0, "http://keysat.internal:8080/v1/btcpay/webhook");
}

#[tokio::test]
async fn purchase_creation_is_rate_limited_per_client_address() {
    let app = spawn_with(|c| c.purchase_rate_per_minute = 2).await;
    let sim = BtcpaySim::start(&[("S1", "Shop")]).await;
    app.connect_btcpay(&sim, &["S1"]).await;
    app.product_with_policy("app", json!({"price_sats": 10})).await;
    app.purchase(json!({"product": "app"})).await.expect(200);
    app.purchase(json!({"product": "app"})).await.expect(200);
    let limited = app.purchase(json!({"product": "app"})).await;
    let wait: u64 = limited.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
    limited.expect_error(429, "rate_limited");
    assert_eq!(sim.invoices().len(), 2);
}

/// POSTs a webhook body signed with `secret`; (status, JSON answer).
async fn send_webhook(url: &str, secret: &str, body: &[u8]) -> (u16, Value) {
    let r = reqwest::Client::new()
        .post(url)
        .header("Content-Type", "application/json")
        .header("BTCPay-Sig", sign(secret, body))
        .body(body.to_vec())
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn webhooks_without_a_store_are_503_and_a_previous_connections_secret_is_401() {
    let (app, sim) = shop().await;
    let (invoice_id, btcpay_id) = buy(&app, json!({})).await;
    let (url, old_secret) = sim.webhook_secret("StoreA1").unwrap();
    sim.set_status(&btcpay_id, "Settled", "None");
    let body = serde_json::to_vec(&json!({
        "deliveryId": "d-1", "webhookId": "x", "originalDeliveryId": "d-1", "isRedelivery": false,
        "type": "InvoiceSettled", "timestamp": 1, "storeId": "StoreA1", "invoiceId": btcpay_id,
        "metadata": {"orderId": invoice_id}, "manuallyMarked": false, "overPaid": false
    }))
    .unwrap();

    // Disconnected: even a correctly signed webhook finds no store to check it against.
    app.admin_post("/btcpay/disconnect", json!({})).await.expect(200);
    let (status, answer) = send_webhook(&url, &old_secret, &body).await;
    assert_eq!((status, answer["error"].clone()), (503, json!("not_connected")), "{answer}");
    assert_eq!(app.poll(&invoice_id).await["status"], json!("pending"));

    // Reconnected: a new secret; the old connection's secret is refused.
    app.connect_btcpay(&sim, &["StoreA1"]).await;
    let (_, new_secret) = sim.webhook_secret("StoreA1").unwrap();
    assert_ne!(new_secret, old_secret, "a reconnection registers a new secret");
    let (status, answer) = send_webhook(&url, &old_secret, &body).await;
    assert_eq!((status, answer["error"].clone()), (401, json!("bad_signature")), "{answer}");
    assert_eq!(app.poll(&invoice_id).await["status"], json!("pending"));
    assert_eq!(app.licenses_for(&invoice_id).await, 0);
    // The new secret is accepted (so the refusals above were about the secret).
    assert_eq!(send_webhook(&url, &new_secret, &body).await.0, 200);
    assert_eq!(app.poll(&invoice_id).await["status"], json!("settled"));
    assert_eq!(app.licenses_for(&invoice_id).await, 1);
}

#[tokio::test]
async fn purchase_status_of_an_unknown_or_malformed_id_is_404() {
    let (app, _sim) = shop().await;
    let (invoice_id, _) = buy(&app, json!({})).await;
    app.get(&format!("/v1/purchase/{invoice_id}")).await.expect(200);
    // Unknown and malformed ids get the same answer: the endpoint tells a
    // prober nothing about which ids are well-formed.
    let unknown = uuid::Uuid::new_v4();
    let long = "a".repeat(2000);
    for id in [unknown.to_string(), "not-an-invoice".into(), format!("{invoice_id}x"), "%00".into(), long] {
        let r = app.get(&format!("/v1/purchase/{id}")).await;
        r.expect_error(404, "not_found");
    }
}

#[tokio::test]
async fn a_key_granted_fewer_permissions_than_asked_connects_nothing() {
    let app = spawn_app().await;
    let sim = BtcpaySim::start(&[("S1", "Shop")]).await;
    for withheld in ["btcpay.store.cancreateinvoice", "btcpay.store.webhooks.canmodifywebhooks"] {
        let started = app.admin_post("/btcpay/connect", json!({"btcpay_url": sim.base})).await.expect(200);
        let consent = sim.consent_without(started["authorize_url"].as_str().unwrap(), &["S1"], &[withheld]);
        assert!(!consent.form.iter().any(|(_, v)| v.starts_with(withheld)), "the key really lacks {withheld}");
        let r = app.client.post(&consent.redirect).form(&consent.form).send().await.unwrap();
        // The key itself is refused after BTCPay was asked about it: 502, the
        // page saying the key allows selling on no store.
        assert_eq!(r.status().as_u16(), 502, "{withheld}");
        let page = r.text().await.unwrap();
        assert!(page.contains("BTCPay was not connected"), "{withheld}: {page}");
        assert!(page.contains("does not allow Keysat to sell on any store"), "{withheld}: {page}");
        let status = app.admin_get("/btcpay/status").await.expect(200);
        assert_eq!(status["connected"], json!(false), "{withheld}: {status}");
        assert_eq!(sim.webhook_count(), 0, "no webhook registered with a key lacking {withheld}");
    }
    // The same flow with every permission granted connects (the refusals were about the permissions).
    let page = app.connect_btcpay(&sim, &["S1"]).await;
    assert!(page.contains("Connected to store"), "{page}");
}
