//! Demo mode (`keysat serve --demo`): a simulated provider with its own
//! checkout page, clearly marked; never active unless asked for.

use crate::common::{spawn_app, spawn_with};
use serde_json::json;

#[tokio::test]
async fn a_whole_sale_can_be_clicked_through_in_demo_mode() {
    let app = spawn_with(|c| c.demo = true).await;
    app.product_with_policy("app", json!({"price_sats": 1234})).await;
    let status = app.admin_get("/btcpay/status").await.expect(200);
    assert_eq!(status["demo"], json!(true));

    let p = app.purchase(json!({"product": "app"})).await.expect(200);
    let checkout = p["checkout_url"].as_str().unwrap();
    assert!(checkout.starts_with(&format!("{}/demo/checkout/", app.base)), "{p}");
    let page = app.client.get(checkout).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("Demo mode: simulated payment.") && page.contains(">1,234 sats<"), "{page}");

    let no_redirects = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let paid = no_redirects.post(format!("{checkout}/pay")).send().await.unwrap();
    assert_eq!(paid.status().as_u16(), 303);
    let invoice = p["invoice_id"].as_str().unwrap();
    assert!(paid.headers()["location"].to_str().unwrap().ends_with(&format!("/thank-you?invoice={invoice}")));
    let polled = app.poll(invoice).await;
    assert_eq!(polled["status"], json!("settled"));
    keysat_client::verify(polled["license_key"].as_str().unwrap(), &app.public_key().await).unwrap();

    let q = app.purchase(json!({"product": "app"})).await.expect(200);
    let q_checkout = q["checkout_url"].as_str().unwrap();
    no_redirects.post(format!("{q_checkout}/expire")).send().await.unwrap();
    assert_eq!(app.poll(q["invoice_id"].as_str().unwrap()).await["status"], json!("expired"));
    // A closed demo invoice cannot be paid any more.
    no_redirects.post(format!("{q_checkout}/pay")).send().await.unwrap();
    assert_eq!(app.poll(q["invoice_id"].as_str().unwrap()).await["status"], json!("expired"));
}

#[tokio::test]
async fn demo_checkout_does_not_exist_unless_asked_for() {
    let app = spawn_app().await;
    app.get("/demo/checkout/sim_x").await.expect_error(404, "not_found");
    app.post("/demo/checkout/sim_x/pay", json!({})).await.expect_error(404, "not_found");
    app.product_with_policy("app", json!({"price_sats": 1})).await;
    app.purchase(json!({"product": "app"})).await.expect_error(503, "payments_unavailable");
}

/// The operator's sale notice follows the settings as they change, although
/// a settlement no longer looks them up while no operator npub is set: none
/// without an npub, one once it is set, none while sale notices are off or
/// after the npub is removed. Each sale has its license and both audit
/// records (license.issue, then invoice.settle).
#[tokio::test]
async fn the_sale_notice_follows_the_operator_settings() {
    let app = spawn_with(|c| c.demo = true).await;
    app.product_with_policy("app", json!({"price_sats": 1234})).await;
    let no_redirects = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let sale = || async {
        let p = app.purchase(json!({"product": "app"})).await.expect(200);
        let paid = no_redirects.post(format!("{}/pay", p["checkout_url"].as_str().unwrap())).send().await.unwrap();
        assert_eq!(paid.status().as_u16(), 303);
        let invoice = p["invoice_id"].as_str().unwrap().to_string();
        assert_eq!(app.poll(&invoice).await["status"], json!("settled"));
        invoice
    };
    let notices = || async {
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM nostr_messages WHERE kind = 'operator'")
            .fetch_one(&app.state.db.read)
            .await
            .unwrap();
        n
    };
    let npub = "npub180cvv07tjdrrgpa0j7j7tmnyl2yr6yr7l8j4s3evf6u64th6gkwsyjh6w6";
    sale().await;
    assert_eq!(notices().await, 0, "no operator npub, no notice");
    app.admin_put("/settings", json!({"operator_npub": npub})).await.expect(200);
    let invoice = sale().await;
    assert_eq!(notices().await, 1, "told once the npub is set");
    app.admin_put("/settings", json!({"notifications": {"sale": false}})).await.expect(200);
    sale().await;
    assert_eq!(notices().await, 1, "sale notices switched off");
    app.admin_put("/settings", json!({"notifications": {"sale": true}})).await.expect(200);
    app.admin_put("/settings", json!({"operator_npub": null})).await.expect(200);
    sale().await;
    assert_eq!(notices().await, 1, "the npub removed");
    app.admin_put("/settings", json!({"operator_npub": npub})).await.expect(200);
    sale().await;
    assert_eq!(notices().await, 2, "set again");

    let actions: Vec<(String, String)> = sqlx::query_as(
        "SELECT action, target_type FROM audit_log WHERE action IN ('license.issue', 'invoice.settle') ORDER BY id",
    )
    .fetch_all(&app.state.db.read)
    .await
    .unwrap();
    let pair = [("license.issue", "license"), ("invoice.settle", "invoice")];
    let expected: Vec<(String, String)> = pair.repeat(5).iter().map(|(a, t)| (a.to_string(), t.to_string())).collect();
    assert_eq!(actions, expected, "each sale's two records, in order");
    let settled: String = sqlx::query_scalar(
        "SELECT target_id FROM audit_log WHERE action = 'invoice.settle' ORDER BY id LIMIT 1 OFFSET 1",
    )
    .fetch_one(&app.state.db.read)
    .await
    .unwrap();
    assert_eq!(settled, invoice);
}
