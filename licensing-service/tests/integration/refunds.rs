//! Refunds and chargebacks on both rails: the operator's refund (Stripe: a
//! Refund; BTCPay: its invoice refund, a pull payment the buyer claims),
//! Stripe's own refund and dispute events. Each revokes or suspends the
//! license once, with its audit record and events, tells the buyer by DM,
//! shows on the thank-you page and comes off revenue once.

use crate::common::btcpay_sim::BtcpaySim;
use crate::common::*;
use crate::delivery_support::{start_relay, use_relays, NostrUser};
use crate::stripe_cards::{buy_by_card, stripe_shop};
use serde_json::{json, Value};

/// The license of a paid invoice.
async fn license_of(app: &TestApp, invoice: &str) -> Value {
    let sale = app.admin_get(&format!("/invoices/{invoice}")).await.expect(200);
    sale["license"].clone()
}

async fn count_audit(app: &TestApp, action: &str) -> usize {
    let a = app.admin_get(&format!("/audit?action={action}&limit=500")).await.expect(200);
    a["entries"].as_array().unwrap().len()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_card_refund_revokes_notifies_and_comes_off_revenue_once() {
    let relay = start_relay(None).await;
    let (app, sim) = stripe_shop().await;
    use_relays(&app, &[&relay.url]).await;
    let buyer = NostrUser::new(&relay.url).await;
    let (invoice, session) = buy_by_card(&app, json!({"buyer_npub": buyer.npub()})).await;
    sim.pay(&session).await;
    let key = app.poll(&invoice).await["license_key"].as_str().unwrap().to_string();
    assert_ok(&app.validate(json!({"key": key})).await);

    let path = format!("/invoices/{invoice}/refund");
    app.admin_post(&path, json!({})).await.expect_error(422, "invalid_field");
    let r = app.admin_post(&path, json!({"reason": "asked by the buyer"})).await.expect(200);
    assert_eq!((r["state"].as_str(), r["license_status"].as_str()), (Some("done"), Some("revoked")), "{r}");
    assert_eq!((r["amount"].as_str(), r["currency"].as_str()), (Some("49.00"), Some("USD")), "{r}");
    assert!(r["provider_refund_id"].as_str().unwrap().starts_with("re_"), "{r}");
    let refunds = sim.refunds();
    assert_eq!(refunds.len(), 1);
    assert_eq!(refunds[0]["metadata"]["keysat_invoice_id"], invoice.as_str());
    let asked = sim.requests().into_iter().find(|q| q.path == "/v1/refunds").unwrap();
    assert_eq!(asked.idempotency_key, Some(format!("keysat-refund-{invoice}")));
    assert_refused(&app.validate(json!({"key": key})).await, "revoked");

    // Stripe's own charge.refunded for the same refund arrives and changes nothing.
    let echoed = poll(WAIT, || async {
        sim.sent().into_iter().find(|s| s.event_type == "charge.refunded" && s.status.is_some())
    })
    .await
    .expect("Stripe told the endpoint");
    assert_eq!(echoed.status, Some(200));
    assert_eq!(count_audit(&app, "invoice.refund").await, 1);
    assert_eq!(count_audit(&app, "license.revoke").await, 1);
    app.admin_post(&path, json!({"reason": "again"})).await.expect_error(409, "already_refunded");

    let dms = buyer.wait_for_dms(2, WAIT).await;
    assert!(dms.iter().any(|d| d.content.contains("was refunded: 49.00 USD") && d.content.contains("no longer works")));
    assert_eq!(app.poll(&invoice).await["stage"], "refunded");
    let page = app.get(&format!("/thank-you?invoice={invoice}")).await.text;
    assert!(page.contains("This purchase was refunded") && page.contains("given back to your card"), "{page}");
    let revenue = app.admin_get("/revenue").await.expect(200);
    assert_eq!(revenue["totals"]["fiat"], json!([{"currency": "USD", "amount": "0.00"}]), "{revenue}");
    assert_eq!(revenue["totals"]["refunded_fiat"], json!([{"currency": "USD", "amount": "49.00"}]), "{revenue}");
    assert_eq!(revenue["totals"]["sales"], 1, "{revenue}");
    app.stop().await;
    buyer.stop().await;
    relay.stop();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refund_without_revoking_keeps_the_key() {
    let (app, sim) = stripe_shop().await;
    let (invoice, session) = buy_by_card(&app, json!({})).await;
    sim.pay(&session).await;
    let r = app
        .admin_post(&format!("/invoices/{invoice}/refund"), json!({"reason": "goodwill", "revoke": false}))
        .await
        .expect(200);
    assert_eq!(r["license_status"], "active", "{r}");
    // Stripe's echo of that refund does not revoke either.
    poll(WAIT, || async { sim.sent().into_iter().find(|s| s.event_type == "charge.refunded" && s.status.is_some()) })
        .await
        .unwrap();
    assert_eq!(license_of(&app, &invoice).await["status"], "active");
    // Unpaid and unknown invoices are refused.
    let (open, _) = buy_by_card(&app, json!({})).await;
    app.admin_post(&format!("/invoices/{open}/refund"), json!({"reason": "x"})).await.expect_error(409, "not_settled");
    app.admin_post("/invoices/nope/refund", json!({"reason": "x"})).await.expect_error(404, "not_found");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refund_made_in_stripes_dashboard_revokes_once_a_partial_one_does_not() {
    let (app, sim) = stripe_shop().await;
    let (whole, whole_session) = buy_by_card(&app, json!({})).await;
    let (part, part_session) = buy_by_card(&app, json!({})).await;
    sim.pay(&whole_session).await;
    sim.pay(&part_session).await;
    sim.refund_in_dashboard(&part_session, Some(1000)).await;
    sim.refund_in_dashboard(&whole_session, None).await;
    assert_eq!(license_of(&app, &part).await["status"], "active");
    assert_eq!(license_of(&app, &whole).await["status"], "revoked");
    assert_eq!(app.poll(&whole).await["stage"], "refunded");
    // The event again (Stripe retries) is applied once.
    let e = sim.sent().into_iter().rfind(|s| s.event_type == "charge.refunded").unwrap();
    assert_eq!(sim.post(&e.url, &e.body, &e.header).await, Some(200));
    assert_eq!(count_audit(&app, "invoice.refund").await, 1);
    assert_eq!(count_audit(&app, "invoice.partial_refund").await, 1);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dispute_suspends_a_won_one_restores_a_lost_one_revokes() {
    let relay = start_relay(None).await;
    let (app, sim) = stripe_shop().await;
    use_relays(&app, &[&relay.url]).await;
    let buyer = NostrUser::new(&relay.url).await;
    let (won, won_session) = buy_by_card(&app, json!({"buyer_npub": buyer.npub()})).await;
    let (lost, lost_session) = buy_by_card(&app, json!({})).await;
    sim.pay(&won_session).await;
    sim.pay(&lost_session).await;
    let key = app.poll(&won).await["license_key"].as_str().unwrap().to_string();

    let d1 = sim.dispute(&won_session).await;
    let d2 = sim.dispute(&lost_session).await;
    assert_eq!(license_of(&app, &won).await["status"], "suspended");
    assert_refused(&app.validate(json!({"key": key})).await, "suspended");
    let page = app.get(&format!("/thank-you?invoice={won}")).await.text;
    assert!(page.contains("suspended while the payment is disputed"), "{page}");

    sim.close_dispute(&won_session, &d1, "won").await;
    sim.close_dispute(&lost_session, &d2, "lost").await;
    assert_eq!(license_of(&app, &won).await["status"], "active");
    assert_ok(&app.validate(json!({"key": key})).await);
    assert_eq!(license_of(&app, &lost).await["status"], "revoked");
    assert_eq!(app.poll(&lost).await["stage"], "refunded");
    let dms = buyer.wait_for_dms(3, WAIT).await;
    assert!(dms.iter().any(|d| d.content.contains("is disputed")), "{dms:?}");
    assert!(dms.iter().any(|d| d.content.contains("works again")), "{dms:?}");
    let revenue = app.admin_get("/revenue").await.expect(200);
    assert_eq!(
        revenue["totals"]["fiat"],
        json!([{"currency": "USD", "amount": "49.00"}]),
        "one of two kept: {revenue}"
    );
    app.stop().await;
    buyer.stop().await;
    relay.stop();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bitcoin_refund_is_a_pull_payment_the_buyer_claims() {
    let relay = start_relay(None).await;
    let app = spawn_app().await;
    use_relays(&app, &[&relay.url]).await;
    let sim = BtcpaySim::start(&[("S1", "Shop")]).await;
    app.connect_btcpay(&sim, &["S1"]).await;
    let status = app.admin_get("/btcpay/status").await.expect(200);
    assert_eq!((status["refunds_enabled"].as_bool(), status["warnings"].clone()), (Some(true), json!([])), "{status}");
    app.product_with_policy("app", json!({"price_sats": 21_000})).await;
    let buyer = NostrUser::new(&relay.url).await;
    let p = app.purchase(json!({"product": "app", "buyer_npub": buyer.npub()})).await.expect(200);
    let invoice = p["invoice_id"].as_str().unwrap().to_string();
    sim.pay_and_settle(p["btcpay_invoice_id"].as_str().unwrap()).await;
    let key = app.poll(&invoice).await["license_key"].as_str().unwrap().to_string();

    let r =
        app.admin_post(&format!("/invoices/{invoice}/refund"), json!({"reason": "wrong product"})).await.expect(200);
    let claim = r["claim_url"].as_str().unwrap().to_string();
    assert!(claim.starts_with(&format!("{}/pull-payments/", sim.base)), "{r}");
    assert_eq!(r["license_status"], "revoked");
    assert_eq!(sim.refunds().len(), 1);
    assert_eq!(sim.unserved().len(), 0, "only routes BTCPay 2.0 serves: {:?}", sim.unserved());
    assert_refused(&app.validate(json!({"key": key})).await, "revoked");
    let dms = buyer.wait_for_dms(2, WAIT).await;
    assert!(dms.iter().any(|d| d.content.contains(&claim)), "the claim link by DM: {dms:?}");
    let page = app.get(&format!("/thank-you?invoice={invoice}")).await.text;
    assert!(page.contains("Claim your refund") && page.contains(&claim), "{page}");
    // The operator sees it with the sale.
    let sale = app.admin_get(&format!("/invoices/{invoice}")).await.expect(200);
    assert_eq!(sale["refund"]["claim_url"], claim.as_str(), "{sale}");
    assert_eq!(sale["refund"]["amount"], "0.00021000", "{sale}");
    let revenue = app.admin_get("/revenue").await.expect(200);
    assert_eq!(
        (revenue["totals"]["sats"].as_i64(), revenue["totals"]["refunded_sats"].as_i64()),
        (Some(0), Some(21_000))
    );
    app.stop().await;
    buyer.stop().await;
    relay.stop();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_btcpay_key_without_pull_payments_is_told_to_reconnect() {
    let app = spawn_app().await;
    let sim = BtcpaySim::start(&[("S1", "Shop")]).await;
    let started = app.admin_post("/btcpay/connect", json!({"btcpay_url": sim.base})).await.expect(200);
    let consent = sim.consent_without(
        started["authorize_url"].as_str().unwrap(),
        &["S1"],
        &["btcpay.store.cancreatepullpayments"],
    );
    app.client.post(&consent.redirect).form(&consent.form).send().await.unwrap();
    let status = app.admin_get("/btcpay/status").await.expect(200);
    assert_eq!(status["connected"], true, "selling still works: {status}");
    assert_eq!(status["refunds_enabled"], false);
    assert!(status["warnings"][0].as_str().unwrap().contains("reconnect BTCPay"), "{status}");
    app.product_with_policy("app", json!({"price_sats": 1000})).await;
    let p = app.purchase(json!({"product": "app"})).await.expect(200);
    let invoice = p["invoice_id"].as_str().unwrap().to_string();
    sim.pay_and_settle(p["btcpay_invoice_id"].as_str().unwrap()).await;
    let e = app.admin_post(&format!("/invoices/{invoice}/refund"), json!({"reason": "x"})).await;
    e.expect_error(422, "reconnect_btcpay");
    assert_eq!(license_of(&app, &invoice).await["status"], "active", "nothing changed");
    // Reconnecting with the permission makes the refund possible.
    app.connect_btcpay(&sim, &["S1"]).await;
    app.admin_post(&format!("/invoices/{invoice}/refund"), json!({"reason": "x"})).await.expect(200);
    app.stop().await;
}
