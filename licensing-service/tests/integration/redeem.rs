//! Codes at the point of sale: free redemptions through fulfillment (never
//! oversold under concurrency), Idempotency-Key replays, codes that make a
//! purchase free, and uses reserved by pending invoices, consumed when they
//! settle and given back when they expire.

use crate::common::btcpay_sim::BtcpaySim;
use crate::common::{spawn_with, unthrottled, TestApp};
use serde_json::{json, Value};

async fn app() -> TestApp {
    // A hundred buyers race from one address.
    let app = spawn_with(unthrottled).await;
    app.product_with_policy("app", json!({"price_sats": 8000, "max_machines": 1})).await;
    app
}

async fn stats(app: &TestApp, code: &str) -> Value {
    app.admin_get(&format!("/discount-codes/{code}")).await.expect(200)["stats"].clone()
}

#[tokio::test]
async fn a_ten_use_code_yields_exactly_ten_licenses_to_a_hundred_racing_buyers() {
    let app = app().await;
    let c = app.create_code(json!({"code": "FIRST-TEN", "kind": "free_license", "max_uses": 10})).await;
    let tries = (0..100).map(|i| {
        let (client, url) = (app.client.clone(), format!("{}/v1/redeem", app.base));
        let c = c.clone();
        tokio::spawn(async move {
            let r = client
                .post(url)
                .json(&json!({"product": "app", "code": c.to_lowercase(), "buyer_email": format!("b{i}@example.com")}))
                .send()
                .await
                .unwrap();
            (r.status().as_u16(), r.json::<Value>().await.unwrap())
        })
    });
    let results = futures::future::join_all(tries).await;
    let mut issued = Vec::new();
    let mut exhausted = 0;
    for r in results {
        let (status, body) = r.unwrap();
        match status {
            200 => issued.push(body),
            422 if body["error"] == json!("unknown_code") => exhausted += 1,
            other => panic!("unexpected {other}: {body}"),
        }
    }
    assert_eq!(issued.len(), 10);
    assert_eq!(exhausted, 90);
    let pk = app.public_key().await;
    for b in &issued {
        keysat_client::verify(b["license_key"].as_str().unwrap(), &pk).expect("a valid key");
        assert!(b["redemption_id"].as_str().is_some() && b["invoice_id"].as_str().is_some(), "{b}");
    }
    let s = stats(&app, &c).await;
    assert_eq!(s["uses"], json!(10));
    assert_eq!(s["licenses_issued"], json!(10));
    let licenses = app.admin_get("/licenses?limit=500").await.expect(200);
    let n = licenses["licenses"].as_array().map(Vec::len).unwrap_or(0);
    assert_eq!(n, 10, "{licenses}");
}

#[tokio::test]
async fn redeem_replays_its_first_answer_for_the_same_idempotency_key() {
    let app = app().await;
    let c = app.create_code(json!({"kind": "free_license", "max_uses": 5})).await;
    let send = |key: &'static str| {
        app.send(
            app.client
                .post(format!("{}/v1/redeem", app.base))
                .header("Idempotency-Key", key)
                .json(&json!({"product": "app", "code": c, "buyer_npub": "npub180cvv07tjdrrgpa0j7j7tmnyl2yr6yr7l8j4s3evf6u64th6gkwsyjh6w6"})),
        )
    };
    let first = send("redeem-1").await.expect(200);
    let again = send("redeem-1").await.expect(200);
    assert_eq!(first, again);
    assert_eq!(stats(&app, &c).await["uses"], json!(1));
    let other = send("redeem-2").await.expect(200);
    assert_ne!(other["license_id"], first["license_id"]);
    assert_eq!(stats(&app, &c).await["uses"], json!(2));
    // The buyer's npub is stored on the license.
    let l = app.license(first["license_id"].as_str().unwrap()).await;
    assert!(l["buyer_npub"].as_str().is_some_and(|n| !n.is_empty()), "{l}");
}

#[tokio::test]
async fn redemption_refusals_are_precise_and_change_nothing() {
    let app = app().await;
    app.product_with_policy("other", json!({"price_sats": 100})).await;
    let theirs = app.create_code(json!({"product_slug": "other", "kind": "free_license"})).await;
    let discount = app.create_code(json!({"kind": "percent_off", "value": 50})).await;
    let once = app.create_code(json!({"kind": "free_license", "max_uses_per_buyer": 1})).await;
    app.post("/v1/redeem", json!({"product": "app", "code": "NO-SUCH-CODE"})).await.expect_error(422, "unknown_code");
    app.post("/v1/redeem", json!({"product": "app", "code": theirs})).await.expect_error(422, "unknown_code");
    app.post("/v1/redeem", json!({"product": "app", "code": discount})).await.expect_error(422, "not_free");
    app.post("/v1/redeem", json!({"product": "nope", "code": once})).await.expect_error(404, "not_found");
    app.post("/v1/redeem", json!({"product": "app"})).await.expect_error(400, "invalid_request");
    app.post("/v1/redeem", json!({"product": "app", "code": once, "buyer_email": "Ann@Example.com"})).await.expect(200);
    app.post("/v1/redeem", json!({"product": "app", "code": once, "buyer_email": "ann@example.com"}))
        .await
        .expect_error(422, "unknown_code");
    app.post("/v1/redeem", json!({"product": "app", "code": once, "buyer_email": "bob@example.com"})).await.expect(200);
    app.admin_post(&format!("/discount-codes/{once}/disable"), json!({})).await.expect(200);
    app.post("/v1/redeem", json!({"product": "app", "code": once})).await.expect_error(422, "unknown_code");
    assert_eq!(stats(&app, &once).await["uses"], json!(2));
}

#[tokio::test]
async fn a_code_that_makes_the_price_zero_issues_at_once_without_a_provider() {
    let app = app().await; // nothing connected
    let c = app.create_code(json!({"kind": "percent_off", "value": 100})).await;
    let p = app.purchase(json!({"product": "app", "code": c, "buyer_email": "z@example.com"})).await.expect(200);
    assert_eq!(p["amount_sats"], json!(0));
    assert_eq!(p["discount_applied_sats"], json!(8000));
    assert_eq!(p["btcpay_invoice_id"], Value::Null);
    assert_eq!(p["status"], json!("settled"));
    let polled = app.poll(p["invoice_id"].as_str().unwrap()).await;
    assert_eq!(polled["status"], json!("settled"));
    assert_eq!(polled["license_key"], p["license_key"]);
    keysat_client::verify(p["license_key"].as_str().unwrap(), &app.public_key().await).unwrap();
    assert_eq!(stats(&app, &c).await["uses"], json!(1));
}

#[tokio::test]
async fn paid_purchases_reserve_a_use_consume_it_on_settle_and_release_it_on_expiry() {
    let app = app().await;
    let sim = BtcpaySim::start(&[("S1", "Shop")]).await;
    app.connect_btcpay(&sim, &["S1"]).await;
    let c = app
        .create_code(json!({"code": "HALF-OFF", "kind": "percent_off", "value": 50, "max_uses": 1, "referrer": "pod"}))
        .await;

    let a = app.purchase(json!({"product": "app", "code": "half-off"})).await.expect(200);
    assert_eq!(a["amount_sats"], json!(4000));
    assert_eq!(a["discount_applied_sats"], json!(4000));
    let created = sim.invoice(a["btcpay_invoice_id"].as_str().unwrap()).unwrap();
    assert_eq!(created.amount, "4000");
    assert_eq!(stats(&app, &c).await["reserved"], json!(1));
    // The one use is held by the pending invoice: nobody else gets it.
    app.purchase(json!({"product": "app", "code": c})).await.expect_error(422, "unknown_code");
    app.post("/v1/discount-codes/preview", json!({"product": "app", "code": c}))
        .await
        .expect_error(422, "unknown_code");

    // It expires: the use is given back and can be taken again.
    sim.expire(a["btcpay_invoice_id"].as_str().unwrap()).await;
    assert_eq!(stats(&app, &c).await["reserved"], json!(0));
    let b = app.purchase(json!({"product": "app", "code": c})).await.expect(200);
    sim.pay_and_settle(b["btcpay_invoice_id"].as_str().unwrap()).await;
    let s = stats(&app, &c).await;
    assert_eq!(s["uses"], json!(1), "{s}");
    assert_eq!(s["reserved"], json!(0));
    assert_eq!(s["licenses_issued"], json!(1));
    assert_eq!(s["sats_attributed"], json!(4000));
    assert!(!s["last_used_at"].is_null(), "{s}");
}

/// `POST /v1/redeem` of a code (valid or not: every attempt counts).
async fn redeem(app: &TestApp, code: &str) -> crate::common::Reply {
    app.post("/v1/redeem", json!({"product": "app", "code": code})).await
}

#[track_caller]
fn retry_after(r: &crate::common::Reply) -> u64 {
    let v = r.headers.get("retry-after").unwrap_or_else(|| panic!("no Retry-After: {}", r.text));
    let secs: u64 = v.to_str().unwrap().parse().expect("Retry-After in seconds");
    // At most the limiter's window, a minute.
    assert!((1..=60).contains(&secs), "Retry-After {secs}");
    secs
}

#[tokio::test]
async fn redeem_is_rate_limited_per_address_with_retry_after() {
    const PER_MINUTE: u32 = 3;
    let app = spawn_with(|c| c.code_rate_per_minute = PER_MINUTE).await;
    app.product_with_policy("app", json!({"price_sats": 8000})).await;
    let c = app.create_code(json!({"code": "GIFT-CODE", "kind": "free_license", "max_uses": 100})).await;
    // Guesses and real redemptions share the address's budget.
    redeem(&app, "GUESS-0001").await.expect_error(422, "unknown_code");
    for _ in 1..PER_MINUTE {
        redeem(&app, &c).await.expect(200);
    }
    let limited = redeem(&app, &c).await;
    retry_after(&limited);
    limited.expect_error(429, "rate_limited");
    assert_eq!(stats(&app, &c).await["uses"], json!(PER_MINUTE - 1), "the refused redemption took no use");
}

#[tokio::test]
async fn redeem_has_a_limit_for_all_addresses_together() {
    const GLOBAL: u32 = 2;
    let app = spawn_with(|c| {
        c.code_rate_per_minute = 10_000;
        c.redeem_global_rate_per_minute = GLOBAL;
    })
    .await;
    app.product_with_policy("app", json!({"price_sats": 8000})).await;
    let c = app.create_code(json!({"code": "GIFT-CODE", "kind": "free_license", "max_uses": 100})).await;
    for _ in 0..GLOBAL {
        redeem(&app, &c).await.expect(200);
    }
    let busy = redeem(&app, &c).await;
    retry_after(&busy);
    busy.expect_error(429, "busy");
    assert_eq!(stats(&app, &c).await["uses"], json!(GLOBAL));
}
