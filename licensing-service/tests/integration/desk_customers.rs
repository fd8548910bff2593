//! The operator's desk, customers: buyers grouped by e-mail and npub (one
//! buyer who used both on one order is one customer), found by either.

use crate::common::*;
use crate::desk_sales::{buy, shop};
use serde_json::{json, Value};

// NIP-19's published example pair.
const NPUB: &str = "npub180cvv07tjdrrgpa0j7j7tmnyl2yr6yr7l8j4s3evf6u64th6gkwsyjh6w6";
const NPUB_HEX: &str = "3bf0c63fcb93463407af97a5e5ee64fa883d107ef9e558472c4eb9aaaefa459d";

fn customers(v: &Value) -> Vec<Value> {
    v["customers"].as_array().unwrap().clone()
}

#[tokio::test(flavor = "multi_thread")]
async fn buyers_are_grouped_by_email_and_npub() {
    let app = shop().await;
    // Ann: both identities on one order, then each alone (the e-mail in another case).
    buy(&app, json!({"product": "app", "buyer_email": "ann@example.com", "buyer_npub": NPUB}), true).await;
    buy(&app, json!({"product": "tool", "buyer_email": "ANN@example.com"}), true).await;
    buy(&app, json!({"product": "app", "policy_slug": "pro", "buyer_npub": NPUB_HEX, "code": "HALF-OFF"}), true).await;
    buy(&app, json!({"product": "app", "policy_slug": "usd", "buyer_npub": NPUB}), true).await;
    // Bob pays once and leaves one invoice unpaid; Carol was given a license by hand.
    buy(&app, json!({"product": "tool", "buyer_email": "bob@example.org"}), true).await;
    buy(&app, json!({"product": "app", "buyer_email": "bob@example.org"}), false).await;
    app.issue(json!({"product_slug": "app", "buyer_email": "carol@example.net"})).await;

    let all = customers(&app.admin_get("/customers").await.expect(200));
    assert_eq!(all.len(), 3, "{all:?}");
    let ann = all.iter().find(|c| c["emails"] == json!(["ann@example.com"])).expect("ann").clone();
    assert_eq!(ann["npubs"], json!([NPUB]));
    assert_eq!(ann["license_ids"].as_array().unwrap().len(), 4);
    assert_eq!(ann["sales"], 4);
    assert_eq!(ann["total_paid_sats"], 10_000 + 3_000 + 12_500);
    assert_eq!(ann["total_paid_fiat"], json!([{"currency": "USD", "amount": "19.99"}]));
    let bob = all.iter().find(|c| c["emails"] == json!(["bob@example.org"])).expect("bob");
    assert_eq!((bob["sales"].as_i64(), bob["total_paid_sats"].as_i64()), (Some(1), Some(3_000)));
    assert_eq!(bob["license_ids"].as_array().unwrap().len(), 1);
    let carol = all.iter().find(|c| c["emails"] == json!(["carol@example.net"])).expect("carol");
    assert_eq!((carol["sales"].as_i64(), carol["total_paid_sats"].as_i64()), (Some(0), Some(0)));
    assert!(ann["first_purchase_at"].as_str().unwrap() <= ann["last_purchase_at"].as_str().unwrap());

    // Found by any of their identities, and nothing else.
    let id = ann["customer_id"].as_str().unwrap();
    for q in ["ann@", "ANN@EXAMPLE.COM", NPUB, NPUB_HEX, id] {
        let found = customers(&app.admin_get(&format!("/customers?q={}", urlencode(q))).await.expect(200));
        assert_eq!(found.len(), 1, "{q}: {found:?}");
        assert_eq!(found[0]["customer_id"], id, "{q}");
    }
    assert_eq!(customers(&app.admin_get("/customers?q=example").await.expect(200)).len(), 3);
    assert!(customers(&app.admin_get("/customers?q=zed@").await.expect(200)).is_empty());
    let page = app.admin_get("/customers?limit=2").await.expect(200);
    assert_eq!(customers(&page).len(), 2);
    let next = page["next_cursor"].as_str().unwrap();
    let rest = app.admin_get(&format!("/customers?limit=2&cursor={next}")).await.expect(200);
    assert_eq!((customers(&rest).len(), rest["next_cursor"].clone()), (1, Value::Null));

    let d = app.admin_get(&format!("/customers/{id}")).await.expect(200);
    assert_eq!(d["customer_id"], id);
    let licenses = d["licenses"].as_array().unwrap();
    assert_eq!(licenses.len(), 4);
    assert!(licenses.iter().any(|l| l["code"] == "HALF-OFF" && l["amount_paid_sats"] == 12_500));
    app.admin_get("/customers/cus_nope").await.expect_error(404, "not_found");
    app.admin_get("/customers?cursor=-3").await.expect_error(400, "invalid_request");
}
