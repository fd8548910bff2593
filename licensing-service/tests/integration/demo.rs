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
