//! Reconciliation against the oldest BTCPay Keysat supports (2.0.0): the
//! simulator serves only the store-scoped invoice routes and answers 404 to
//! the store-less aliases BTCPay added in 2.4.0. A dropped webhook is
//! recovered by the scheduled pass, and a payment made while Keysat was
//! stopped is fulfilled by the pass at start-up, neither forced by hand.

use std::time::Duration;

use crate::common::btcpay_sim::{BtcpaySim, Chaos};
use crate::common::{poll, spawn_in, spawn_with, TestApp, WAIT};
use crate::internals::Config;
use serde_json::{json, Value};

/// Reconciliation looks at every pending invoice at once, every second.
fn eager(c: &mut Config) {
    c.reconcile_min_age_seconds = 0;
    c.reconcile_interval_seconds = 1;
}

async fn shop(app: &TestApp) -> BtcpaySim {
    let sim = BtcpaySim::start(&[("Store20", "Old BTCPay")]).await;
    app.connect_btcpay(&sim, &["Store20"]).await;
    app.product_with_policy("app", json!({"price_sats": 2100})).await;
    sim
}

/// Buys `app`; returns (our invoice id, BTCPay's invoice id).
async fn buy(app: &TestApp) -> (String, String) {
    let p = app.purchase(json!({"product": "app"})).await.expect(200);
    (p["invoice_id"].as_str().unwrap().to_string(), p["btcpay_invoice_id"].as_str().unwrap().to_string())
}

/// Waits until our invoice is settled and returns what the buyer's poll shows.
async fn settled(app: &TestApp, invoice_id: &str) -> Value {
    poll(WAIT, || async {
        let p = app.poll(invoice_id).await;
        (p["status"] == "settled").then_some(p)
    })
    .await
    .expect("reconciliation never settled the invoice")
}

/// The simulator answers as BTCPay 2.0 does: the store-less invoice route is
/// 404, the store-scoped one serves the same key.
async fn assert_serves_like_2_0(sim: &BtcpaySim, btcpay_id: &str) {
    let key = sim.create_key(&["btcpay.store.canviewinvoices:Store20".to_string()]);
    let http = reqwest::Client::new();
    let get = |path: String| http.get(format!("{}{path}", sim.base)).header("Authorization", format!("token {key}"));
    assert_eq!(get(format!("/api/v1/invoices/{btcpay_id}")).send().await.unwrap().status().as_u16(), 404);
    let scoped = get(format!("/api/v1/stores/Store20/invoices/{btcpay_id}")).send().await.unwrap();
    assert_eq!(scoped.status().as_u16(), 200);
}

/// Keysat asked BTCPay only what 2.0 serves, and looked the invoice up by store.
fn assert_only_store_scoped_calls(sim: &BtcpaySim, btcpay_id: &str) {
    let unserved: Vec<String> = sim.unserved().into_iter().map(|r| format!("{} {}", r.method, r.path)).collect();
    assert_eq!(unserved, Vec::<String>::new(), "Keysat used routes BTCPay 2.0 lacks");
    let lookups = sim
        .requests()
        .into_iter()
        .filter(|r| r.method == "GET" && r.path == format!("/api/v1/stores/Store20/invoices/{btcpay_id}"))
        .count();
    assert!(lookups >= 1, "reconciliation looked the invoice up by store");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dropped_webhook_is_recovered_by_the_scheduled_pass() {
    let app = spawn_with(eager).await;
    let sim = shop(&app).await;
    sim.set_chaos(Chaos { drop: 1.0, duplicate: 0.0, hold: 0.0 });
    let (invoice, btcpay_id) = buy(&app).await;
    sim.pay_and_settle(&btcpay_id).await;
    assert!(
        sim.sent_webhooks().iter().any(|w| w["type"] == "InvoiceSettled" && w["invoiceId"] == btcpay_id.as_str()),
        "BTCPay sent (and the test dropped) the settlement"
    );

    let p = settled(&app, &invoice).await;
    assert!(p["license_key"].as_str().is_some_and(|k| k.starts_with("LIC1-")), "{p}");
    assert_eq!(app.licenses_for(&invoice).await, 1);
    let audit = app.admin_get("/audit?action=invoice.settle&limit=10").await.expect(200);
    assert!(audit["entries"].as_array().unwrap().iter().any(|e| e["actor"] == "reconcile"), "{audit}");
    let status = app.admin_get("/btcpay/status").await.expect(200);
    assert_eq!(status["reconciliation"]["last_error"], Value::Null, "{status}");
    assert_only_store_scoped_calls(&sim, &btcpay_id);
    assert_serves_like_2_0(&sim, &btcpay_id).await;

    // Later passes change nothing: wait until two more scheduled passes
    // (every second here) have run, by their recorded time.
    let last_run = |st: &Value| st["reconciliation"]["last_run_at"].clone();
    let mut seen = last_run(&status);
    for _ in 0..2 {
        seen = poll(Duration::from_secs(10), || async {
            let now = last_run(&app.admin_get("/btcpay/status").await.expect(200));
            (now.is_string() && now != seen).then_some(now)
        })
        .await
        .expect("another reconciliation pass");
    }
    assert_eq!(app.licenses_for(&invoice).await, 1);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_payment_made_while_keysat_was_stopped_is_fulfilled_after_restart() {
    let app = spawn_with(eager).await;
    let sim = shop(&app).await;
    let (invoice, btcpay_id) = buy(&app).await;
    assert_eq!(app.poll(&invoice).await["status"], "pending");
    let dir = app.stop().await;

    // Paid and confirmed while Keysat is down: every delivery finds no one.
    sim.pay_and_settle(&btcpay_id).await;
    assert_eq!(sim.invoice(&btcpay_id).unwrap().status, "Settled");

    // Started again on the same data; the start-up pass settles it (the
    // scheduled one runs only every hour here, so it cannot be what did).
    let app = spawn_in(dir, |c| {
        c.reconcile_min_age_seconds = 0;
        c.reconcile_interval_seconds = 3600;
    })
    .await;
    let p = settled(&app, &invoice).await;
    assert!(p["license_key"].as_str().is_some_and(|k| k.starts_with("LIC1-")), "{p}");
    assert_eq!(app.licenses_for(&invoice).await, 1);
    assert_only_store_scoped_calls(&sim, &btcpay_id);
    assert_serves_like_2_0(&sim, &btcpay_id).await;
    app.stop().await;
}
