//! The buyer pages read a cached catalogue (`services::catalog::Catalogue`):
//! every change the operator commits to a product, a tier or a code shows on
//! the very next page.

use crate::common::*;
use crate::pages_support::*;
use serde_json::json;

#[track_caller]
fn html(r: Reply) -> String {
    assert_eq!(r.status, 200, "{}", r.text);
    r.text
}

#[tokio::test(flavor = "multi_thread")]
async fn buyer_pages_follow_each_catalogue_change_at_once() {
    let app = spawn_with(|c| c.demo = true).await;
    shop(&app).await;
    let b = Browser::new(&app);
    let page = html(b.get("/buy/app").await);
    assert!(page.contains("Acme Editor") && page.contains("Offer: code SPRING"), "{page}");
    assert!(html(b.get("/").await).contains("Acme Editor"));

    app.admin_patch("/products/app", json!({"name": "Acme Writer"})).await.expect(200);
    let page = html(b.get("/buy/app").await);
    assert!(page.contains("Acme Writer") && !page.contains("Acme Editor"), "{page}");
    let front = html(b.get("/").await);
    assert!(front.contains("Acme Writer") && !front.contains("Acme Editor"), "{front}");

    app.admin_patch("/products/app/policies/trial", json!({"public": false})).await.expect(200);
    app.create_policy("app", json!({"slug": "team", "name": "Team pack", "price_sats": 50_000})).await;
    let page = html(b.get("/buy/app").await);
    assert!(!page.contains("Free trial") && page.contains("Team pack"), "{page}");

    app.admin_post("/discount-codes/SPRING/disable", json!({})).await.expect(200);
    assert!(!html(b.get("/buy/app").await).contains("Offer:"));
    app.admin_post("/discount-codes/SPRING/enable", json!({})).await.expect(200);
    assert!(html(b.get("/buy/app").await).contains("Offer: code SPRING"));

    app.admin_patch("/products/app", json!({"active": false})).await.expect(200);
    assert_eq!(b.get("/buy/app").await.status, 404);
    assert!(!html(b.get("/").await).contains("/buy/app"));
    app.stop().await;
}
