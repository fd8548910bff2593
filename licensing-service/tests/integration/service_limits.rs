//! Limits that hold for everyone together: however many addresses ask, the
//! expensive public operations run only so often, and the refusal says that
//! it is the service's limit, not the caller's.

use crate::common::*;
use serde_json::{json, Value};

async fn post(app: &TestApp, client: &reqwest::Client, path: &str, body: Value) -> Reply {
    app.send(client.post(format!("{}{path}", app.base)).json(&body)).await
}

#[tokio::test(flavor = "multi_thread")]
async fn purchases_have_a_limit_for_all_addresses_together() {
    let app = spawn_with(|c| {
        c.demo = true;
        c.purchase_rate_per_minute = 2;
        c.purchase_global_rate_per_minute = 3;
    })
    .await;
    app.product_with_policy("app", json!({"price_sats": 1000})).await;
    let body = json!({"product": "app"});
    // One address meets its own limit first; what it was refused does not
    // use up everyone's budget.
    let (a, b, c) = (client_from(2), client_from(3), client_from(4));
    for _ in 0..2 {
        post(&app, &a, "/v1/purchase", body.clone()).await.expect(200);
    }
    for _ in 0..5 {
        post(&app, &a, "/v1/purchase", body.clone()).await.expect_error(429, "rate_limited");
    }
    post(&app, &b, "/v1/purchase", body.clone()).await.expect(200);
    // The fourth purchase in the minute, from a fresh address: the service's limit.
    let r = post(&app, &c, "/v1/purchase", body.clone()).await;
    let retry: u64 = r.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    let e = r.expect_error(429, "busy");
    assert!(e["message"].as_str().unwrap().contains("purchases from everyone"), "{e}");
    // The buy page's form goes through the same limit.
    let form =
        client_from(5).post(format!("{}/buy/app", app.base)).form(&[("policy_slug", "default")]).send().await.unwrap();
    assert_eq!(form.status().as_u16(), 429);
    assert!(form.text().await.unwrap().contains("too many purchases from everyone"));
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn key_recoveries_have_a_limit_for_all_addresses_together() {
    let app = spawn_with(|c| c.recover_global_rate_per_hour = 2).await;
    let npub = nostr_sdk::Keys::generate().public_key().to_hex();
    for n in 2..4 {
        post(&app, &client_from(n), "/v1/recover/npub", json!({"npub": npub})).await.expect(202);
    }
    let e = post(&app, &client_from(4), "/v1/recover/npub", json!({"npub": npub})).await.expect_error(429, "busy");
    assert!(e["message"].as_str().unwrap().contains("key recoveries from everyone"), "{e}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn redemptions_have_a_limit_for_all_addresses_together() {
    let app = spawn_with(|c| c.redeem_global_rate_per_minute = 2).await;
    app.product_with_policy("app", json!({})).await;
    let body = json!({"product": "app", "code": "NO-SUCH-CODE"});
    for n in 2..4 {
        let r = post(&app, &client_from(n), "/v1/redeem", body.clone()).await;
        assert_eq!(r.status, 422, "{}", r.text);
    }
    let e = post(&app, &client_from(4), "/v1/redeem", body).await.expect_error(429, "busy");
    assert!(e["message"].as_str().unwrap().contains("code redemptions from everyone"), "{e}");
    app.stop().await;
}
