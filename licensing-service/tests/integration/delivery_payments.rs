//! Delivery on the purchase path (BTCPay simulator): a paid purchase with a
//! buyer npub brings the key by DM and tells the operator of the sale; the
//! seller's systems hear `invoice.settled`, `code.redeemed`,
//! `invoice.expired`; a free redemption is told to both.

use crate::common::btcpay_sim::BtcpaySim;
use crate::common::{spawn_with, TestApp, WAIT};
use crate::delivery_support::*;
use crate::internals::RetrySchedule;
use serde_json::{json, Value};

struct Shop {
    app: TestApp,
    sim: BtcpaySim,
    relay: TestRelay,
    receiver: Receiver,
    operator: NostrUser,
}

async fn shop() -> Shop {
    let app = spawn_with(|c| {
        c.nostr_retry = RetrySchedule::parse("1s,1s,1s,1s,1s").unwrap();
        c.webhook_retry = RetrySchedule::parse("1s,1s").unwrap();
        c.reconcile_min_age_seconds = 0;
    })
    .await;
    let sim = BtcpaySim::start(&[("StoreA1", "Satoshi Software")]).await;
    app.connect_btcpay(&sim, &["StoreA1"]).await;
    app.product_with_policy("app", json!({"price_sats": 5000})).await;
    let relay = start_relay(None).await;
    app.admin_put("/nostr", json!({"relays": [relay.url]})).await.expect(200);
    let operator = NostrUser::new(&relay.url).await;
    app.admin_put("/settings", json!({"operator_npub": operator.npub()})).await.expect(200);
    let receiver = start_receiver(None).await;
    app.admin_post("/webhook-endpoints", json!({"url": receiver.url, "events": ["*"]})).await.expect(201);
    Shop { app, sim, relay, receiver, operator }
}

impl Shop {
    async fn stop(self) {
        self.operator.stop().await;
        self.app.stop().await;
        self.receiver.stop().await;
        self.relay.stop();
    }

    async fn event(&self, event_type: &'static str) -> Value {
        self.receiver.wait_for(1, WAIT, move |r| r.json["type"] == event_type).await.remove(0).json
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_paid_purchase_is_delivered_by_dm_told_to_the_operator_and_to_webhooks() {
    let shop = shop().await;
    let app = &shop.app;
    app.admin_post(
        "/discount-codes",
        json!({"code": "LAUNCH", "product_slug": "app", "kind": "percent_off", "value": 20}),
    )
    .await
    .expect(201);
    let buyer = NostrUser::new(&shop.relay.url).await;
    let p = app.purchase(json!({"product": "app", "buyer_npub": buyer.npub(), "code": "launch"})).await.expect(200);
    let invoice_id = p["invoice_id"].as_str().unwrap();
    shop.sim.pay_and_settle(p["btcpay_invoice_id"].as_str().unwrap()).await;
    let polled = app.poll(invoice_id).await;
    assert_eq!(polled["status"], "settled", "{polled}");
    let key = polled["license_key"].as_str().unwrap();

    // The buyer's DM carries the key, which verifies offline.
    let dms = buyer.wait_for_dms(1, WAIT).await;
    assert_eq!(keys_in(&dms[0].content), vec![key.to_string()]);
    keysat_client::verify(key, &app.public_key().await).expect("verifies");

    // The operator hears of the sale.
    let sales = shop.operator.wait_for_dms(1, WAIT).await;
    assert_eq!(sales[0].content, format!("Sale: Product app (Default) for 4,000 sats. Invoice {invoice_id}."));

    // The seller's systems hear of the license, the payment and the code.
    let settled = shop.event("invoice.settled").await;
    assert_eq!(settled["data"]["invoice_id"], invoice_id);
    assert_eq!(settled["data"]["amount_sats"], 4000);
    assert_eq!(settled["data"]["discount_sats"], 1000);
    assert_eq!(settled["data"]["status"], "settled");
    assert_eq!(settled["data"]["license_id"], polled["license_id"]);
    assert_eq!(settled["data"]["buyer_npub"], buyer.npub());
    let redeemed = shop.event("code.redeemed").await;
    assert_eq!(redeemed["data"]["code"], "LAUNCH");
    assert_eq!(redeemed["data"]["invoice_id"], invoice_id);
    assert_eq!(redeemed["data"]["free"], false);
    let issued = shop.event("license.issued").await;
    assert_eq!(issued["data"]["license_key"], key);
    assert_eq!(issued["data"]["source"], "purchase");

    // A replayed settlement changes nothing: no second event, DM or notice.
    shop.sim.settle(p["btcpay_invoice_id"].as_str().unwrap()).await;
    app.reconcile().await;
    // Nothing more was written (events and DMs are written with their cause,
    // so once the replay and the pass returned, nothing more can come).
    let db = &app.state.db.read;
    assert_eq!(written_events(db, "invoice.settled").await, 1);
    assert_eq!(written_events(db, "license.issued").await, 1);
    assert_eq!(queued_dms(db, "license").await, 1);
    let types: Vec<String> =
        shop.receiver.received().iter().map(|r| r.json["type"].as_str().unwrap().to_string()).collect();
    assert_eq!(types.iter().filter(|t| *t == "invoice.settled").count(), 1, "{types:?}");
    assert_eq!(types.iter().filter(|t| *t == "license.issued").count(), 1, "{types:?}");
    assert_eq!(buyer.dms().await.len(), 1);
    assert_eq!(shop.operator.dms().await.len(), 1);
    buyer.stop().await;
    shop.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_expired_invoice_and_a_free_redemption_are_told() {
    let shop = shop().await;
    let app = &shop.app;
    let p = app.purchase(json!({"product": "app", "buyer_email": "late@example.com"})).await.expect(200);
    let invoice_id = p["invoice_id"].as_str().unwrap();
    shop.sim.expire(p["btcpay_invoice_id"].as_str().unwrap()).await;
    let expired = shop.event("invoice.expired").await;
    assert_eq!(expired["data"]["invoice_id"], invoice_id);
    assert_eq!(expired["data"]["status"], "expired");
    assert_eq!(expired["data"]["buyer_email"], "late@example.com");

    let code =
        app.admin_post("/discount-codes", json!({"product_slug": "app", "kind": "free_license"})).await.expect(201);
    let code = code["code"].as_str().unwrap();
    let r = app.post("/v1/redeem", json!({"product": "app", "code": code})).await.expect(200);
    let redeemed = shop.event("code.redeemed").await;
    assert_eq!(redeemed["data"]["code"], code);
    assert_eq!(redeemed["data"]["redemption_id"], r["redemption_id"]);
    assert_eq!(redeemed["data"]["license_id"], r["license_id"]);
    assert_eq!(redeemed["data"]["free"], true);
    let notices = shop.operator.wait_for_dms(1, WAIT).await;
    assert_eq!(notices[0].content, format!("Free license redeemed: Product app (Default) with code {code}."));
    shop.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_operator_hears_when_btcpay_becomes_unreachable() {
    let shop = shop().await;
    let app = &shop.app;
    // An invoice pending long enough to be reconciled, then BTCPay goes away.
    app.purchase(json!({"product": "app"})).await.expect(200);
    shop.sim.set_down(true);
    let report = app.reconcile().await;
    assert!(report["error"].as_str().is_some_and(|e| e.contains("503")), "{report}");
    app.reconcile().await;
    let notices = shop.operator.wait_for_dms(1, WAIT).await;
    assert!(notices[0].content.starts_with("BTCPay Server cannot be reached"), "{}", notices[0].content);
    assert_eq!(queued_dms(&app.state.db.read, "operator").await, 1, "told once per outage");
    assert_eq!(shop.operator.dms().await.len(), 1);
    shop.stop().await;
}
