//! The operator's catalogue: products, their entitlement catalogue, policies
//! (tiers), and settings.

use crate::common::*;
use serde_json::json;

#[tokio::test(flavor = "multi_thread")]
async fn products_create_list_get_patch() {
    let app = spawn_app().await;
    let created = app
        .admin_post(
            "/products",
            json!({"slug": "app", "name": "  The App  ", "description": "Does things", "price_sats": 21_000,
                   "entitlements_catalog": [{"slug": "pro", "name": "Pro"}]}),
        )
        .await
        .expect(201);
    assert_eq!(
        keys(&created),
        sorted(&[
            "id",
            "slug",
            "name",
            "description",
            "price_sats",
            "active",
            "entitlements_catalog",
            "homepage_url",
            "download_url",
            "key_instructions",
            "created_at",
            "updated_at"
        ])
    );
    assert_eq!(created["slug"], "app");
    assert_eq!(created["name"], "The App", "names are trimmed");
    assert_eq!(created["price_sats"], 21_000);
    assert_eq!(created["active"], true);
    assert_eq!(created["entitlements_catalog"], json!([{"slug": "pro", "name": "Pro", "description": ""}]));
    assert!((unix(&created["created_at"]) - now()).abs() < 60);

    // Slugs are unique.
    app.admin_post("/products", json!({"slug": "app", "name": "Again", "price_sats": 1}))
        .await
        .expect_error(409, "slug_taken");
    app.create_product("other", json!({"active": false})).await;

    let list = app.admin_get("/products").await.expect(200);
    let slugs: Vec<&str> = list["products"].as_array().unwrap().iter().map(|p| p["slug"].as_str().unwrap()).collect();
    assert_eq!(slugs, ["app", "other"], "the admin list includes inactive products");

    let one = app.admin_get("/products/app").await.expect(200);
    assert_eq!(one["id"], created["id"]);
    assert_eq!(one["policies"], json!([]));
    app.admin_get("/products/nope").await.expect_error(404, "not_found");

    let patched = app
        .admin_patch("/products/app", json!({"name": "Renamed", "price_sats": 30_000, "description": "New"}))
        .await
        .expect(200);
    assert_eq!(patched["name"], "Renamed");
    assert_eq!(patched["price_sats"], 30_000);
    assert_eq!(patched["description"], "New");
    assert_eq!(patched["entitlements_catalog"], created["entitlements_catalog"], "absent fields are kept");
    assert_eq!(app.admin_get("/products/app").await.expect(200)["name"], "Renamed");

    app.admin_patch("/products/nope", json!({"name": "X"})).await.expect_error(404, "not_found");
    app.admin_patch("/products/app", json!({"slug": "moved"})).await.expect_error(422, "invalid_field");
    app.admin_patch("/products/app", json!({"price_sats": -1})).await.expect_error(422, "invalid_field");
    app.admin_patch("/products/app", json!({"name": "   "})).await.expect_error(422, "invalid_field");

    // Create-time validation: a value that breaks a rule, or a required
    // field left out, is 422 `invalid_field` (a field of the wrong JSON type
    // would be 400 `invalid_request`; `bad_input.rs` covers those).
    let rule = (422, "invalid_field");
    for (bad, (status, code)) in [
        (json!({"slug": "Bad Slug", "name": "X", "price_sats": 1}), rule),
        (json!({"slug": "-x", "name": "X", "price_sats": 1}), rule),
        (json!({"name": "X", "price_sats": 1}), rule),
        (json!({"slug": "x", "price_sats": 1}), rule),
        (json!({"slug": "x", "name": "X"}), rule),
        (json!({"slug": "x", "name": "X", "price_sats": -5}), rule),
    ] {
        let r = app.admin_post("/products", bad.clone()).await;
        assert_eq!((r.status.as_u16(), r.json["error"].as_str().unwrap_or("")), (status, code), "{bad} → {}", r.text);
    }
    assert_eq!(app.admin_get("/products").await.expect(200)["products"].as_array().unwrap().len(), 2);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn entitlement_catalogue_rules() {
    let app = spawn_app().await;
    app.create_product(
        "app",
        json!({"entitlements_catalog": [{"slug": "pro", "name": "Pro"}, {"slug": "sync", "name": "Sync"}]}),
    )
    .await;
    // A duplicate slug in the catalogue is refused.
    app.admin_patch(
        "/products/app",
        json!({"entitlements_catalog": [{"slug": "pro", "name": "Pro"}, {"slug": "pro", "name": "Again"}]}),
    )
    .await
    .expect_error(422, "invalid_field");

    app.create_policy("app", json!({"slug": "default", "entitlements": ["pro"]})).await;

    // Removing an entitlement a policy grants is a conflict and changes nothing.
    app.admin_patch("/products/app", json!({"entitlements_catalog": [{"slug": "sync", "name": "Sync"}]}))
        .await
        .expect_error(409, "entitlement_in_use");
    let p = app.admin_get("/products/app").await.expect(200);
    assert_eq!(p["entitlements_catalog"].as_array().unwrap().len(), 2);

    // Removing an unused one, and renaming a used one, are fine.
    let p = app
        .admin_patch("/products/app", json!({"entitlements_catalog": [{"slug": "pro", "name": "Professional"}]}))
        .await
        .expect(200);
    assert_eq!(p["entitlements_catalog"], json!([{"slug": "pro", "name": "Professional", "description": ""}]));

    // Once no policy grants it, it can go.
    app.admin_patch("/products/app/policies/default", json!({"entitlements": []})).await.expect(200);
    let p = app.admin_patch("/products/app", json!({"entitlements_catalog": []})).await.expect(200);
    assert_eq!(p["entitlements_catalog"], json!([]));
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn policies_create_list_get_patch() {
    let app = spawn_app().await;
    app.create_product(
        "app",
        json!({"price_sats": 7000, "entitlements_catalog": [{"slug": "pro", "name": "Pro"}, {"slug": "sync", "name": "Sync"}]}),
    )
    .await;
    let p = app
        .admin_post(
            "/products/app/policies",
            json!({"slug": "default", "name": "Default", "duration_seconds": 86_400, "grace_seconds": 3600,
                   "max_machines": 3, "entitlements": ["sync", "pro", "pro"]}),
        )
        .await
        .expect(201);
    assert_eq!(
        keys(&p),
        sorted(&[
            "id",
            "product_id",
            "product_slug",
            "slug",
            "name",
            "description",
            "price_sats",
            "price_amount",
            "price_currency",
            "duration_seconds",
            "grace_seconds",
            "max_machines",
            "entitlements",
            "is_trial",
            "public",
            "highlighted",
            "tier_rank",
            "archived",
            "is_recurring",
            "renewal_period_days",
            "renewal_notice_seconds",
            "created_at",
            "updated_at",
            "lease_seconds",
            "self_reset_limit",
            "seat_timeout_seconds",
            "one_trial_per_machine"
        ])
    );
    assert_eq!(p["price_sats"], 7000, "defaults to the product's price");
    assert_eq!(p["entitlements"], json!(["pro", "sync"]), "sorted and deduplicated");
    assert_eq!(p["public"], true);
    assert_eq!(p["archived"], false);
    assert_eq!(p["tier_rank"], json!(null));
    assert_eq!(p["price_amount"], json!(null));
    assert_eq!(p["product_slug"], "app");

    app.admin_post("/products/app/policies", json!({"slug": "default", "name": "Again"}))
        .await
        .expect_error(409, "slug_taken");
    app.admin_post("/products/nope/policies", json!({"slug": "x", "name": "X"})).await.expect_error(404, "not_found");
    app.admin_post("/products/app/policies", json!({"slug": "x", "name": "X", "entitlements": ["nope"]}))
        .await
        .expect_error(422, "invalid_field");
    app.admin_post("/products/app/policies", json!({"slug": "t", "name": "T", "is_trial": true}))
        .await
        .expect_error(422, "invalid_field");
    app.admin_post("/products/app/policies", json!({"slug": "m", "name": "M", "max_machines": -1}))
        .await
        .expect_error(422, "invalid_field");
    app.admin_post("/products/app/policies", json!({"slug": "d", "name": "D", "duration_seconds": -1}))
        .await
        .expect_error(422, "invalid_field");

    app.create_policy("app", json!({"slug": "pro", "name": "Pro", "price_sats": 9000})).await;
    let list = app.admin_get("/products/app/policies").await.expect(200);
    let slugs: Vec<&str> = list["policies"].as_array().unwrap().iter().map(|p| p["slug"].as_str().unwrap()).collect();
    assert_eq!(slugs, ["default", "pro"]);
    app.admin_get("/products/nope/policies").await.expect_error(404, "not_found");

    let got = app.admin_get("/products/app/policies/default").await.expect(200);
    assert_eq!(got, p);
    app.admin_get("/products/app/policies/nope").await.expect_error(404, "not_found");
    app.admin_get("/products/nope/policies/default").await.expect_error(404, "not_found");
    // The product detail lists its policies too.
    assert_eq!(app.admin_get("/products/app").await.expect(200)["policies"].as_array().unwrap().len(), 2);

    let patched = app
        .admin_patch("/products/app/policies/default", json!({"name": "Standard", "max_machines": 0, "public": false}))
        .await
        .expect(200);
    assert_eq!(patched["name"], "Standard");
    assert_eq!(patched["max_machines"], 0);
    assert_eq!(patched["public"], false);
    assert_eq!(patched["duration_seconds"], 86_400, "absent fields are kept");
    assert_eq!(patched["id"], p["id"]);
    app.admin_patch("/products/app/policies/default", json!({"entitlements": ["gone"]}))
        .await
        .expect_error(422, "invalid_field");
    app.admin_patch("/products/app/policies/default", json!({"slug": "renamed"}))
        .await
        .expect_error(422, "invalid_field");
    app.admin_patch("/products/app/policies/nope", json!({"name": "X"})).await.expect_error(404, "not_found");
    assert_eq!(app.admin_get("/products/app/policies/default").await.expect(200), patched);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn tier_rank_bounds() {
    let app = spawn_app().await;
    app.create_product("app", json!({})).await;
    let cases = [(json!(0), true), (json!(1000), true), (json!(1001), false), (json!(-1), false)];
    for (i, (rank, ok)) in cases.into_iter().enumerate() {
        let body = json!({"slug": format!("r{i}"), "name": "R", "tier_rank": rank});
        let r = app.admin_post("/products/app/policies", body).await;
        if ok {
            assert_eq!(r.expect(201)["tier_rank"], rank);
        } else {
            r.expect_error(422, "invalid_field");
        }
    }
    let path = "/products/app/policies/r0";
    app.admin_patch(path, json!({"tier_rank": 1001})).await.expect_error(422, "invalid_field");
    app.admin_patch(path, json!({"tier_rank": -1})).await.expect_error(422, "invalid_field");
    assert_eq!(app.admin_patch(path, json!({"tier_rank": 7})).await.expect(200)["tier_rank"], 7);
    assert_eq!(app.admin_patch(path, json!({"name": "Kept"})).await.expect(200)["tier_rank"], 7);
    let cleared = app.admin_patch(path, json!({"tier_rank": null})).await.expect(200);
    assert_eq!(cleared["tier_rank"], json!(null));
    app.admin_get("/products/app/policies/r2").await.expect_error(404, "not_found");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn fiat_price_is_a_pair() {
    let app = spawn_app().await;
    app.create_product("app", json!({})).await;
    let path = "/products/app/policies";
    app.admin_post(path, json!({"slug": "a", "name": "A", "price_amount": "19.99"}))
        .await
        .expect_error(422, "invalid_field");
    app.admin_post(path, json!({"slug": "a", "name": "A", "price_currency": "USD"}))
        .await
        .expect_error(422, "invalid_field");
    for (amount, currency) in [("0", "USD"), ("1.", "USD"), ("-3", "USD"), ("1e3", "USD"), ("19.99", "DOLLARS")] {
        app.admin_post(path, json!({"slug": "a", "name": "A", "price_amount": amount, "price_currency": currency}))
            .await
            .expect_error(422, "invalid_field");
    }
    app.admin_post(path, json!({"slug": "a", "name": "A", "price_amount": 19.99, "price_currency": "USD"}))
        .await
        .expect(400); // a float is the wrong type: money is never a float

    let p = app.create_policy("app", json!({"slug": "a", "price_amount": "19.99", "price_currency": "eur"})).await;
    assert_eq!((p["price_amount"].as_str(), p["price_currency"].as_str()), (Some("19.99"), Some("EUR")));

    // Either half alone can change once the pair exists.
    let p = app.admin_patch("/products/app/policies/a", json!({"price_amount": "25"})).await.expect(200);
    assert_eq!((p["price_amount"].as_str(), p["price_currency"].as_str()), (Some("25"), Some("EUR")));
    let p = app.admin_patch("/products/app/policies/a", json!({"price_currency": "usd"})).await.expect(200);
    assert_eq!((p["price_amount"].as_str(), p["price_currency"].as_str()), (Some("25"), Some("USD")));
    // Clearing one half and setting the other is refused.
    app.admin_patch("/products/app/policies/a", json!({"price_amount": null, "price_currency": "USD"}))
        .await
        .expect_error(422, "invalid_field");
    // Clearing clears both.
    let p = app
        .admin_patch("/products/app/policies/a", json!({"price_amount": null, "price_currency": null}))
        .await
        .expect(200);
    assert_eq!((&p["price_amount"], &p["price_currency"]), (&json!(null), &json!(null)));
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn settings_change_the_operator_name() {
    let app = spawn_app().await;
    let s = app.admin_get("/settings").await.expect(200);
    assert_eq!(s["operator_name"], json!(null));
    assert_eq!(s["public_url"], app.base);
    assert_eq!(s["public_key_pem"], app.get("/").await.expect(200)["public_key_pem"]);

    let s = app.admin_put("/settings", json!({"operator_name": "  Satoshi Software  "})).await.expect(200);
    assert_eq!(s["operator_name"], "Satoshi Software");
    assert_eq!(app.get("/").await.expect(200)["operator"], "Satoshi Software");
    assert_eq!(app.admin_get("/settings").await.expect(200)["operator_name"], "Satoshi Software");

    app.admin_put("/settings", json!({"operator_name": "x".repeat(121)})).await.expect_error(422, "invalid_field");
    app.admin_put("/settings", json!({"operator": "typo"})).await.expect(400);
    assert_eq!(app.get("/").await.expect(200)["operator"], "Satoshi Software");

    let audit = app.admin_get("/audit?action=settings.update").await.expect(200);
    let entries = audit["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0]["details"], json!({"before": null, "after": "Satoshi Software"}));

    app.admin_put("/settings", json!({"operator_name": null})).await.expect(200);
    assert_eq!(app.get("/").await.expect(200)["operator"], json!(null));

    // The name survives a restart.
    app.admin_put("/settings", json!({"operator_name": "Kept"})).await.expect(200);
    let dir = app.stop().await;
    let app = spawn_in(dir, |_| {}).await;
    assert_eq!(app.get("/").await.expect(200)["operator"], "Kept");
    app.stop().await;
}
