//! The daemon's public answers read into `keysat_client`'s shared protocol
//! types (what an application built on the crate reads) and written back as
//! the very JSON that came: same fields, same nulls. A field the server adds
//! to one of these answers must be added to its type too, or this fails.

use keysat_client::{Answer, ErrorEnvelope, PurchaseAnswer, PurchaseStatus, RedeemAnswer};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{json, Value};

use crate::common::btcpay_sim::BtcpaySim;
use crate::common::{spawn_with, TestApp};

/// `body` read as `T`, written back equal.
#[track_caller]
fn same_json<T: DeserializeOwned + Serialize>(body: &Value) -> T {
    let typed: T = serde_json::from_value(body.clone()).unwrap_or_else(|e| panic!("{e}: {body}"));
    assert_eq!(serde_json::to_value(&typed).unwrap(), *body);
    typed
}

async fn app() -> TestApp {
    let app = spawn_with(|c| {
        c.code_rate_per_minute = 1_000;
        c.purchase_rate_per_minute = 1_000;
    })
    .await;
    app.product_with_policy("app", json!({"price_sats": 8000, "max_machines": 2, "entitlements": []})).await;
    app
}

#[tokio::test]
async fn validate_and_machine_answers_are_keysat_client_answers() {
    let app = app().await;
    let (_, key) = app.issue_license("app", "default").await;

    let perpetual: Answer = same_json(&app.validate(json!({"key": key})).await);
    assert_eq!((perpetual.ok, perpetual.expires_at, perpetual.machine_id), (true, None, None));
    let seated: Answer = same_json(&app.validate(json!({"key": key, "fingerprint": "fp-a"})).await);
    assert!(seated.machine_id.is_some());
    let refused: Answer = same_json(&app.validate(json!({"key": "LIC1-NOPE"})).await);
    assert_eq!(refused.reason.as_deref(), Some("bad_format"));

    let on: Answer = same_json(&app.activate(&key, "fp-b").await);
    assert_eq!((on.active_count, on.max_machines), (Some(2), Some(2)));
    same_json::<Answer>(&app.heartbeat(&key, "fp-b").await);
    let full: Answer = same_json(&app.activate(&key, "fp-c").await);
    assert_eq!(full.reason.as_deref(), Some("too_many_machines"));
    same_json::<Answer>(&app.deactivate(&key, "fp-b").await);
    let gone: Answer = same_json(&app.heartbeat(&key, "fp-b").await);
    assert_eq!(gone.reason.as_deref(), Some("not_activated"));
    app.stop().await;
}

#[tokio::test]
async fn purchase_redeem_poll_and_error_answers_are_keysat_client_types() {
    let app = app().await;
    let sim = BtcpaySim::start(&[("S1", "Shop")]).await;
    app.connect_btcpay(&sim, &["S1"]).await;

    let paid = app.purchase(json!({"product": "app"})).await.expect(200);
    let checkout: PurchaseAnswer = same_json(&paid);
    assert!(matches!(checkout, PurchaseAnswer::Checkout(_)), "{paid}");
    let polled = app.poll(&checkout.invoice_id().to_string()).await;
    let waiting: PurchaseStatus = same_json(&polled);
    assert_eq!((waiting.status.as_str(), waiting.license_key), ("pending", None));
    sim.pay_and_settle(paid["btcpay_invoice_id"].as_str().unwrap()).await;
    let settled: PurchaseStatus = same_json(&app.poll(&checkout.invoice_id().to_string()).await);
    assert!(settled.license_key.is_some() && settled.checkout_url.is_none());

    let free = app.create_code(json!({"kind": "free_license", "max_uses": 2})).await;
    let issued = app.purchase(json!({"product": "app", "code": free})).await.expect(200);
    let issued: PurchaseAnswer = same_json(&issued);
    assert!(issued.license_key().is_some());
    let redeemed = app.post("/v1/redeem", json!({"product": "app", "code": free})).await.expect(200);
    let redeemed: RedeemAnswer = same_json(&redeemed);
    assert!(redeemed.redemption_id.is_some());

    let error = app.post("/v1/redeem", json!({"product": "app", "code": free})).await.expect_error(422, "unknown_code");
    let envelope: ErrorEnvelope = same_json(&error);
    assert_eq!(envelope.error, "unknown_code");
    app.stop().await;
}
