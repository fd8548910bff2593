//! The operator's desk, everyday support: reset every seat, resend a key,
//! one license with its machines, invoice, deliveries and audit trail.

use crate::common::*;
use crate::desk_sales::{buy, shop};
use serde_json::json;

const NPUB: &str = "npub180cvv07tjdrrgpa0j7j7tmnyl2yr6yr7l8j4s3evf6u64th6gkwsyjh6w6";

#[tokio::test(flavor = "multi_thread")]
async fn support_in_one_call_each() {
    let app = shop().await;
    app.admin_patch("/products/app/policies/default", json!({"max_machines": 2})).await.expect(200);
    let invoice =
        buy(&app, json!({"product": "app", "buyer_npub": NPUB, "buyer_email": "ann@example.com"}), true).await;
    let sold = app.admin_get(&format!("/invoices/{invoice}")).await.expect(200);
    let id = sold["license_id"].as_str().unwrap().to_string();
    let key = sold["license"]["license_key"].as_str().unwrap().to_string();
    app.activate(&key, "machine-a").await;
    app.activate(&key, "machine-b").await;
    assert_eq!(
        app.post("/v1/machines/activate", json!({"key": key, "fingerprint": "machine-c"})).await.json["ok"],
        false
    );

    let reset =
        app.admin_post(&format!("/licenses/{id}/reset-seats"), json!({"reason": "new laptops"})).await.expect(200);
    assert_eq!(reset["freed"], 2);
    assert!(reset["machines"].as_array().unwrap().iter().all(|m| m["active"] == false));
    assert_eq!(app.license(&id).await["active_machines"], 0);
    assert_ok(&app.activate(&key, "machine-c").await);
    // Nothing more to free but the new seat; an empty body is fine.
    let again = app.send(app.admin(reqwest::Method::POST, &format!("/licenses/{id}/reset-seats"))).await.expect(200);
    assert_eq!(again["freed"], 1);

    let resent = app.admin_post(&format!("/licenses/{id}/resend"), json!({})).await.expect(200);
    assert_eq!((resent["channel"].as_str(), resent["recipient_npub"].as_str()), (Some("nostr"), Some(NPUB)));

    let full = app.admin_get(&format!("/licenses/{id}/support")).await.expect(200);
    assert_eq!(full["license_id"], id);
    assert_eq!(full["machines"].as_array().unwrap().len(), 3);
    assert_eq!(full["invoice"]["invoice_id"], invoice);
    assert_eq!(full["invoice"]["amount_sats"], 10_000);
    assert_eq!(full["deliveries"].as_array().unwrap().len(), 2, "the first DM and the resend: {full}");
    let actions: Vec<&str> = full["audit"].as_array().unwrap().iter().map(|a| a["action"].as_str().unwrap()).collect();
    assert!(actions.contains(&"license.resend") && actions.contains(&"license.issue"), "{actions:?}");
    let freed = app.admin_get("/audit?action=machine.deactivate&limit=50").await.expect(200)["entries"].clone();
    assert_eq!(freed.as_array().unwrap().len(), 3);

    // A license given by hand has no invoice; without an npub there is nothing to resend to.
    let (bare, _) = app.issue_license("app", "default").await;
    let shown = app.admin_get(&format!("/licenses/{bare}/support")).await.expect(200);
    assert_eq!((shown["invoice"].clone(), shown["deliveries"].clone()), (json!(null), json!([])));
    let audits = app.audit_count().await;
    app.admin_post(&format!("/licenses/{bare}/resend"), json!({})).await.expect_error(409, "no_channel");
    app.admin_post("/licenses/nope/reset-seats", json!({})).await.expect_error(404, "not_found");
    app.admin_post(&format!("/licenses/{bare}/reset-seats"), json!({"why": 1}))
        .await
        .expect_error(400, "invalid_request");
    app.admin_get("/licenses/00000000-0000-4000-8000-000000000000/support").await.expect_error(404, "not_found");
    assert_eq!(app.audit_count().await, audits, "refusals change nothing");
}
