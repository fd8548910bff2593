//! Cards through Stripe, against the stateful simulator (`common::stripe_sim`),
//! with every webhook signature made by Stripe's own Node library: a card
//! purchase ends in a key `keysat-client` verifies; forged, stale and
//! replayed signatures change nothing; a lost webhook is made up for by
//! reconciliation; a Stripe outage is a clean error to the buyer; both rails
//! are offered side by side.

use crate::common::btcpay_sim::BtcpaySim;
use crate::common::stripe_sim::{StripeSim, SECRET_KEY};
use crate::common::*;
use serde_json::{json, Value};

/// A daemon talking to the simulator, connected to it, with a product
/// `app` whose tier `card` costs 49.00 USD and whose tier `sats` is bitcoin only.
pub async fn stripe_shop() -> (TestApp, StripeSim) {
    let sim = StripeSim::start().await;
    let url = url::Url::parse(&sim.base).unwrap();
    let app = spawn_with(|c| {
        c.stripe_api_url = url;
        c.reconcile_min_age_seconds = 0;
    })
    .await;
    app.admin_post("/stripe/connect", json!({"secret_key": SECRET_KEY})).await.expect(200);
    app.create_product("app", json!({})).await;
    app.create_policy("app", json!({"slug": "card", "price_amount": "49.00", "price_currency": "USD"})).await;
    app.create_policy("app", json!({"slug": "sats", "price_sats": 21_000})).await;
    (app, sim)
}

/// A card purchase of the `card` tier; (our invoice id, the session id).
pub async fn buy_by_card(app: &TestApp, extra: Value) -> (String, String) {
    let mut body = json!({"product": "app", "policy_slug": "card", "provider": "stripe"});
    merge(&mut body, extra);
    let p = app.purchase(body).await.expect(200);
    (p["invoice_id"].as_str().unwrap().to_string(), p["btcpay_invoice_id"].as_str().unwrap().to_string())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_card_purchase_settles_by_a_signed_webhook_and_the_key_verifies() {
    let (app, sim) = stripe_shop().await;
    let status = app.admin_get("/stripe/status").await.expect(200);
    assert_eq!(status["connected"], true, "{status}");
    assert_eq!(status["livemode"], false, "{status}");
    assert_eq!(status["webhook_url"], format!("{}/v1/stripe/webhook", app.base));

    let (invoice, session) = buy_by_card(&app, json!({"buyer_email": "ada@example.com"})).await;
    assert!(session.starts_with("cs_test_"), "{session}");
    let created = sim.requests().into_iter().find(|r| r.method == "POST" && r.path == "/v1/checkout/sessions").unwrap();
    assert_eq!(created.idempotency_key.as_deref(), Some(format!("keysat-checkout-{invoice}").as_str()));
    assert_eq!(created.stripe_version.as_deref(), Some("2026-10-28.endive"));
    let field = |k: &str| created.form.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    assert_eq!(field("mode").as_deref(), Some("payment"));
    assert_eq!(field("client_reference_id").as_deref(), Some(invoice.as_str()));
    assert_eq!(field("line_items[0][price_data][unit_amount]").as_deref(), Some("4900"));
    assert_eq!(field("line_items[0][price_data][currency]").as_deref(), Some("usd"));
    assert_eq!(field("customer_email").as_deref(), Some("ada@example.com"));
    assert_eq!(field("success_url"), Some(format!("{}/thank-you?invoice={invoice}", app.base)));
    assert_eq!(app.poll(&invoice).await["stage"], "waiting_for_payment");

    sim.pay(&session).await;
    let sent = sim.sent();
    let completed = sent.iter().find(|s| s.event_type == "checkout.session.completed").unwrap();
    assert_eq!(completed.status, Some(200), "Keysat acknowledged after committing");
    // Stripe's library accepts the header the delivery carried.
    let (_, secret) = sim.endpoint_secret();
    sim.signer().verify(&completed.body, &completed.header, &secret).await.expect("a header Stripe's library accepts");

    let paid = app.poll(&invoice).await;
    assert_eq!(paid["stage"], "paid", "{paid}");
    let key = paid["license_key"].as_str().unwrap();
    keysat_client::verify(key, &app.public_key().await).expect("the key verifies offline");
    assert_ok(&app.validate(json!({"key": key})).await);
    let sale = app.admin_get(&format!("/invoices/{invoice}")).await.expect(200);
    assert_eq!(sale["provider"], "stripe", "{sale}");
    assert_eq!(sale["provider_invoice"]["state"], "settled", "asked of Stripe now: {sale}");
    let revenue = app.admin_get("/revenue?group_by=provider").await.expect(200);
    assert_eq!(revenue["totals"]["fiat"], json!([{"currency": "USD", "amount": "49.00"}]), "{revenue}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn forged_stale_and_replayed_signatures_change_nothing() {
    let (app, sim) = stripe_shop().await;
    let (invoice, session) = buy_by_card(&app, json!({})).await;
    sim.drop_events(true);
    sim.pay(&session).await;
    let event = sim.sent().into_iter().find(|s| s.event_type == "checkout.session.completed").unwrap();
    assert_eq!(event.status, None, "held back");
    let (url, secret) = sim.endpoint_secret();
    let audit = app.audit_count().await;

    let forged = sim.signer().sign(&event.body, "whsec_not_the_secret", None).await;
    let stale = sim.signer().sign(&event.body, &secret, Some(now() - 301)).await;
    let tampered = event.body.replace("\"livemode\":false", "\"livemode\":true");
    let fresh = sim.signer().sign(&event.body, &secret, None).await;
    assert_eq!(sim.post(&url, &event.body, &forged).await, Some(401));
    assert_eq!(sim.post(&url, &event.body, &stale).await, Some(401));
    assert_eq!(sim.post(&url, &tampered, &fresh).await, Some(401));
    assert_eq!(sim.post(&url, &event.body, "").await, Some(401));
    assert_eq!(app.poll(&invoice).await["stage"], "waiting_for_payment");
    assert_eq!(app.audit_count().await, audit, "nothing recorded");
    // Stripe's own library agrees about each.
    assert!(sim.signer().verify(&event.body, &stale, &secret).await.is_err());
    assert!(sim.signer().verify(&event.body, &forged, &secret).await.is_err());

    assert_eq!(sim.post(&url, &event.body, &fresh).await, Some(200));
    assert_eq!(app.poll(&invoice).await["stage"], "paid");
    let after = app.audit_count().await;
    // A replay, within the tolerance, is applied once.
    for _ in 0..3 {
        assert_eq!(sim.post(&url, &event.body, &fresh).await, Some(200));
    }
    assert_eq!(app.licenses_for(&invoice).await, 1);
    assert_eq!(app.audit_count().await, after, "the replays changed nothing");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_lost_webhook_is_made_up_for_by_reconciliation() {
    let (app, sim) = stripe_shop().await;
    let (paid, paid_session) = buy_by_card(&app, json!({})).await;
    let (expired, expired_session) = buy_by_card(&app, json!({})).await;
    sim.drop_events(true);
    sim.pay(&paid_session).await;
    sim.expire(&expired_session).await;
    assert_eq!(app.poll(&paid).await["stage"], "waiting_for_payment");
    let r = app.admin_post("/stripe/reconcile", json!({})).await.expect(200);
    assert_eq!((r["settled"].as_u64(), r["closed"].as_u64()), (Some(1), Some(1)), "{r}");
    assert_eq!(app.poll(&paid).await["stage"], "paid");
    assert_eq!(app.poll(&expired).await["stage"], "expired");
    let status = app.admin_get("/stripe/status").await.expect(200);
    assert_eq!(status["reconciliation"]["pending_invoices"], 0, "{status}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_delayed_payment_is_confirming_until_stripe_says_paid_or_failed() {
    let (app, sim) = stripe_shop().await;
    let (ok, ok_session) = buy_by_card(&app, json!({})).await;
    let (bad, bad_session) = buy_by_card(&app, json!({})).await;
    sim.pay_later(&ok_session).await;
    sim.pay_later(&bad_session).await;
    assert_eq!(app.poll(&ok).await["stage"], "confirming");
    sim.settle_later(&ok_session, true).await;
    sim.settle_later(&bad_session, false).await;
    assert_eq!(app.poll(&ok).await["stage"], "paid");
    assert_eq!(app.poll(&bad).await["stage"], "invalid");
    assert_eq!(app.licenses_for(&bad).await, 0);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stripe_outage_is_a_clean_error_to_the_buyer() {
    let (app, sim) = stripe_shop().await;
    sim.set_down(true);
    let body = json!({"product": "app", "policy_slug": "card", "provider": "stripe"});
    let e = app.purchase(body.clone()).await.expect_error(503, "payments_unavailable");
    assert!(!e["message"].as_str().unwrap().contains("127.0.0.1"), "no internals: {e}");
    let open = app.admin_get("/invoices?state=pending").await.expect(200);
    assert_eq!(open["invoices"], json!([]), "nothing left to pay: {open}");
    // The buy page says so too, with the form kept.
    let page = app
        .client
        .post(format!("{}/buy/app", app.base))
        .header("Origin", &app.base)
        .form(&[("policy_slug", "card"), ("intent", "card"), ("buyer_email", "ada@example.com")])
        .send()
        .await
        .unwrap();
    assert_eq!(page.status().as_u16(), 503);
    let html = page.text().await.unwrap();
    assert!(html.contains("Payments are temporarily unavailable") && html.contains("ada@example.com"), "{html}");
    sim.set_down(false);
    app.purchase(body).await.expect(200);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn both_rails_side_by_side_bitcoin_by_default() {
    let (app, sim) = stripe_shop().await;
    let btcpay = BtcpaySim::start(&[("S1", "Shop")]).await;
    app.connect_btcpay(&btcpay, &["S1"]).await;

    let default = app.purchase(json!({"product": "app", "policy_slug": "card"})).await.expect(200);
    assert!(default["checkout_url"].as_str().unwrap().starts_with(&btcpay.base), "bitcoin first: {default}");
    let card = app.purchase(json!({"product": "app", "policy_slug": "card", "provider": "stripe"})).await.expect(200);
    assert!(card["checkout_url"].as_str().unwrap().starts_with(&sim.base), "{card}");
    let asked = json!({"product": "app", "policy_slug": "sats", "provider": "btcpay"});
    assert!(app.purchase(asked).await.expect(200)["checkout_url"].as_str().unwrap().starts_with(&btcpay.base));
    app.purchase(json!({"product": "app", "policy_slug": "sats", "provider": "stripe"}))
        .await
        .expect_error(422, "bitcoin_only");
    let bad = app.purchase(json!({"product": "app", "provider": "paypal"})).await;
    assert!(bad.status.is_client_error() && bad.text.contains("btcpay, stripe"), "{}", bad.text);
    // Each invoice remembers its provider.
    let listed = app.admin_get("/invoices?provider=stripe").await.expect(200);
    assert_eq!(listed["invoices"].as_array().unwrap().len(), 1, "{listed}");

    // The buy page offers both, bitcoin first; a tier without a card price says so.
    let html = app.get("/buy/app?tier=card").await.text;
    let (b, c) = (html.find("Pay with bitcoin").unwrap(), html.find("Pay by card").unwrap());
    assert!(b < c, "bitcoin first");
    assert!(html.contains("Bitcoin only"), "the sats tier is marked");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn only_cards_connected_a_bitcoin_only_tier_cannot_be_bought() {
    let (app, _sim) = stripe_shop().await;
    let p = app.purchase(json!({"product": "app", "policy_slug": "card"})).await.expect(200);
    assert!(p["btcpay_invoice_id"].as_str().unwrap().starts_with("cs_test_"), "card by default when alone: {p}");
    app.purchase(json!({"product": "app", "policy_slug": "sats"})).await.expect_error(422, "bitcoin_only");
    app.purchase(json!({"product": "app", "policy_slug": "card", "provider": "btcpay"}))
        .await
        .expect_error(503, "payments_unavailable");
    let html = app.get("/buy/app?tier=card").await.text;
    assert!(html.contains("Pay by card") && !html.contains("Pay with bitcoin"), "{html}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn connecting_checks_the_key_registers_one_endpoint_and_disconnects() {
    let (app, sim) = stripe_shop().await;
    assert_eq!(sim.endpoint_count(), 1);
    let registered = sim.requests().into_iter().find(|r| r.path == "/v1/webhook_endpoints" && r.method == "POST");
    let form = registered.unwrap().form;
    let events: Vec<&str> =
        form.iter().filter(|(k, _)| k.starts_with("enabled_events[")).map(|(_, v)| v.as_str()).collect();
    for e in ["checkout.session.completed", "charge.refunded", "charge.dispute.created", "charge.dispute.closed"] {
        assert!(events.contains(&e), "{e} in {events:?}");
    }
    // Reconnecting replaces Keysat's endpoint rather than adding one.
    app.admin_post("/stripe/connect", json!({"secret_key": SECRET_KEY})).await.expect(200);
    assert_eq!(sim.endpoint_count(), 1);
    // A malformed key is refused before Stripe is asked; a wrong one names Stripe's code.
    app.admin_post("/stripe/connect", json!({"secret_key": "pk_test_123456"})).await.expect_error(400, "invalid_field");
    let wrong = app.admin_post("/stripe/connect", json!({"secret_key": "sk_test_wrong0000"})).await;
    let e = wrong.expect_error(502, "provider_error");
    assert!(e["message"].as_str().unwrap().contains("api_key_invalid"), "{e}");
    assert!(e["message"].as_str().unwrap().contains("GET /v1/webhook_endpoints"), "names the call: {e}");
    assert_eq!(app.admin_get("/stripe/status").await.expect(200)["connected"], true, "the old connection stays");

    let done = app.admin_post("/stripe/disconnect", json!({})).await.expect(200);
    assert_eq!(done["removed_webhook"], true, "{done}");
    assert_eq!(sim.endpoint_count(), 0);
    assert_eq!(app.admin_get("/stripe/status").await.expect(200)["connected"], false);
    app.purchase(json!({"product": "app", "policy_slug": "card", "provider": "stripe"}))
        .await
        .expect_error(503, "payments_unavailable");
    app.stop().await;
}

/// Runs `stripe-types.mjs` over these (type, form) requests; (success, output).
fn check_types(requests: &[(&str, Vec<(String, String)>)]) -> (bool, String) {
    let file = tempfile::NamedTempFile::new().unwrap();
    let lines: Vec<String> = requests.iter().map(|(t, f)| json!({"type": t, "form": f}).to_string()).collect();
    std::fs::write(file.path(), lines.join("\n")).unwrap();
    let out = std::process::Command::new("node")
        .arg(js_dir().join("stripe-types.mjs"))
        .arg(file.path())
        .current_dir(js_dir())
        .output()
        .expect("run node");
    (out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

#[tokio::test(flavor = "multi_thread")]
async fn every_stripe_request_keysat_makes_matches_the_stripe_npm_types() {
    let (app, sim) = stripe_shop().await;
    let (invoice, session) = buy_by_card(&app, json!({"buyer_email": "ada@example.com"})).await;
    sim.pay(&session).await;
    app.admin_post(&format!("/invoices/{invoice}/refund"), json!({"reason": "types"})).await.expect(200);
    let type_of = |path: &str| match path {
        "/v1/checkout/sessions" => Some("Checkout.SessionCreateParams"),
        "/v1/refunds" => Some("RefundCreateParams"),
        "/v1/webhook_endpoints" => Some("WebhookEndpointCreateParams"),
        _ => None,
    };
    let mut requests: Vec<(&str, Vec<(String, String)>)> = sim
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST")
        .map(|r| (type_of(&r.path).unwrap_or_else(|| panic!("a create Keysat has no type for: {}", r.path)), r.form))
        .collect();
    let mut kinds: Vec<&str> = requests.iter().map(|r| r.0).collect();
    kinds.dedup();
    assert_eq!(kinds.len(), 3, "every create was made: {kinds:?}");
    let n = requests.len();
    let (ok, out) = check_types(&requests);
    assert!(ok && out.contains(&format!("{n}/{n} conform")), "{out}");
    // The check bites: a field the types do not have.
    let at = requests.iter().position(|r| r.0 == "Checkout.SessionCreateParams").unwrap();
    let mut wrong = requests.remove(at);
    wrong.1.push(("line_items[0][price_data][colour]".into(), "red".into()));
    let (ok, out) = check_types(&[wrong]);
    assert!(!ok && out.contains("colour") && out.contains("0/1 conform"), "{out}");
    app.stop().await;
}
