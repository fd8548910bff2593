//! Discount codes: the admin API (create, generate, list, patch, disable,
//! enable, delete, audit) and the public price preview.

use crate::common::*;
use serde_json::{json, Value};

async fn shop(app: &TestApp) {
    app.product_with_policy("app", json!({"price_sats": 10_000})).await;
    app.create_policy("app", json!({"slug": "pro", "name": "Pro", "price_sats": 30_000})).await;
    app.create_policy(
        "app",
        json!({"slug": "eur", "name": "Euro", "price_sats": 20_000, "price_amount": "19.99", "price_currency": "EUR"}),
    )
    .await;
    app.product_with_policy("other", json!({"price_sats": 5_000})).await;
}

async fn preview(app: &TestApp, body: Value) -> Reply {
    app.post("/v1/discount-codes/preview", body).await
}

#[tokio::test]
async fn create_generate_list_and_get_with_stats() {
    let app = spawn_app().await;
    shop(&app).await;
    let c = app
        .admin_post("/discount-codes", json!({"code": "launch-25", "product_slug": "app", "kind": "percent_off", "value": 25, "referrer": "podcast"}))
        .await
        .expect(201);
    assert_eq!(c["code"], "LAUNCH-25");
    assert_eq!(c["kind"], "percent_off");
    assert_eq!(c["value"], 25);
    assert_eq!(c["active"], true);
    assert_eq!(c["referrer"], "podcast");
    assert_eq!(
        c["stats"],
        json!({"uses": 0, "reserved": 0, "licenses_issued": 0, "sats_attributed": 0, "last_used_at": null})
    );

    let g = app
        .admin_post("/discount-codes", json!({"product_slug": "app", "kind": "free_license", "max_uses": 50}))
        .await
        .expect(201);
    let generated = g["code"].as_str().unwrap();
    assert_eq!(generated.len(), 14, "{generated}");
    assert!(generated.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '-'));
    assert_eq!(g["value"], Value::Null);

    // Case-insensitive lookup; duplicates refused in any case.
    assert_eq!(app.admin_get("/discount-codes/Launch-25").await.expect(200)["code"], "LAUNCH-25");
    app.admin_post(
        "/discount-codes",
        json!({"code": "LAUNCH-25", "product_slug": "app", "kind": "percent_off", "value": 5}),
    )
    .await
    .expect_error(409, "code_taken");
    let all = app.admin_get("/discount-codes").await.expect(200);
    assert_eq!(all["discount_codes"].as_array().unwrap().len(), 2);
    let none = app.admin_get("/discount-codes?product=other").await.expect(200);
    assert_eq!(none["discount_codes"], json!([]));
    app.admin_get("/discount-codes/NOPE-NOPE").await.expect_error(404, "not_found");
}

#[tokio::test]
async fn bad_codes_are_refused_and_change_nothing() {
    let app = spawn_app().await;
    shop(&app).await;
    let before = app.audit_count().await;
    // Each value breaks a rule of codes: 422 `invalid_field`; a time that is
    // not RFC 3339 does not even parse: 400 `invalid_request`.
    let rule = (422, "invalid_field");
    let mut wrong = Vec::new();
    for (body, (status, code)) in [
        (json!({"code": "ab", "product_slug": "app", "kind": "percent_off", "value": 5}), rule),
        (json!({"code": "has space", "product_slug": "app", "kind": "percent_off", "value": 5}), rule),
        (json!({"product_slug": "app", "kind": "percent_off", "value": 0}), rule),
        (json!({"product_slug": "app", "kind": "percent_off", "value": 101}), rule),
        (json!({"product_slug": "app", "kind": "percent_off"}), rule),
        (json!({"product_slug": "app", "kind": "fixed_sats_off", "value": -5}), rule),
        (json!({"product_slug": "app", "kind": "free_license", "value": 5}), rule),
        (json!({"product_slug": "app", "kind": "half_off"}), rule),
        (json!({"product_slug": "app", "kind": "free_license", "policies": ["nope"]}), rule),
        (json!({"product_slug": "app", "kind": "free_license", "max_uses_per_buyer": 0}), rule),
        (
            json!({"product_slug": "app", "kind": "free_license", "valid_from": "2030-01-01T00:00:00Z", "valid_until": "2029-01-01T00:00:00Z"}),
            rule,
        ),
        (json!({"product_slug": "app", "kind": "free_license", "valid_until": "soon"}), (400, "invalid_request")),
    ] {
        let r = app.admin_post("/discount-codes", body.clone()).await;
        if (r.status.as_u16(), r.json["error"].as_str().unwrap_or("")) != (status, code) {
            wrong.push(format!("{body} → {} {}", r.status, r.text));
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
    app.admin_post("/discount-codes", json!({"product_slug": "ghost", "kind": "free_license"}))
        .await
        .expect_error(404, "not_found");
    assert_eq!(app.audit_count().await, before);
    assert_eq!(app.admin_get("/discount-codes").await.expect(200)["discount_codes"], json!([]));
}

#[tokio::test]
async fn patch_disable_enable_delete_are_audited() {
    let app = spawn_app().await;
    shop(&app).await;
    app.admin_post(
        "/discount-codes",
        json!({"code": "PRESS-PASS", "product_slug": "app", "kind": "fixed_sats_off", "value": 1000}),
    )
    .await
    .expect(201);
    let p = app
        .admin_patch(
            "/discount-codes/press-pass",
            json!({"value": 2500, "policies": ["pro"], "max_uses": 10, "featured": true}),
        )
        .await
        .expect(200);
    assert_eq!(p["kind"], "fixed_sats_off");
    assert_eq!(p["value"], 2500);
    assert_eq!(p["policies"], json!(["pro"]));
    assert_eq!(p["featured"], true);
    let p = app
        .admin_patch("/discount-codes/PRESS-PASS", json!({"max_uses": null, "kind": "set_price_sats", "value": 100}))
        .await
        .expect(200);
    assert_eq!(p["max_uses"], Value::Null);
    assert_eq!(p["kind"], "set_price_sats");
    app.admin_patch("/discount-codes/PRESS-PASS", json!({"code": "OTHER"})).await.expect(400);

    let d = app.admin_post("/discount-codes/PRESS-PASS/disable", json!({})).await.expect(200);
    assert_eq!(d["active"], false);
    let e = app.admin_post("/discount-codes/PRESS-PASS/enable", json!({})).await.expect(200);
    assert_eq!(e["active"], true);
    let del = app.admin(reqwest::Method::DELETE, "/discount-codes/press-pass");
    app.send(del).await.expect(200);
    app.admin_get("/discount-codes/PRESS-PASS").await.expect_error(404, "not_found");

    let audit = app.admin_get("/audit?target=PRESS-PASS").await.expect(200);
    let actions: Vec<&str> =
        audit["entries"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(
        actions,
        [
            "discount_code.delete",
            "discount_code.enable",
            "discount_code.disable",
            "discount_code.update",
            "discount_code.update",
            "discount_code.create"
        ]
    );
}

#[tokio::test]
async fn preview_prices_each_kind() {
    let app = spawn_app().await;
    shop(&app).await;
    for (code, kind, value) in [
        ("PCT-25", "percent_off", Some(25)),
        ("PCT-100", "percent_off", Some(100)),
        ("OFF-50K", "fixed_sats_off", Some(50_000)),
        ("SET-42K", "set_price_sats", Some(42_000)),
        ("FREE-ONE", "free_license", None),
    ] {
        let mut body = json!({"code": code, "product_slug": "app", "kind": kind});
        if let Some(v) = value {
            body["value"] = json!(v);
        }
        app.admin_post("/discount-codes", body).await.expect(201);
    }
    let price = |v: &Value| {
        (
            v["base_price_sats"].as_i64().unwrap(),
            v["discount_sats"].as_i64().unwrap(),
            v["final_price_sats"].as_i64().unwrap(),
        )
    };
    // The rule: a percentage's discount is rounded down to the smallest unit
    // (whole sats; cents of a fiat price), computed here independently.
    let pct_off = |base: i64, pct: i64| {
        let discount = base * pct / 100; // integer division: the floor for non-negative amounts
        (base, discount, base - discount)
    };
    let p = preview(&app, json!({"product": "app", "code": "pct-25"})).await.expect(200);
    assert_eq!(price(&p), pct_off(10_000, 25));
    assert_eq!(p["kind"], "percent_off");
    assert_eq!(p["free"], false);
    let p = preview(&app, json!({"product": "app", "policy_slug": "pro", "code": "PCT-100"})).await.expect(200);
    assert_eq!(price(&p), pct_off(30_000, 100));
    assert_eq!(p["free"], true);
    // A fixed discount larger than the price stops at zero.
    let p = preview(&app, json!({"product": "app", "code": "OFF-50K"})).await.expect(200);
    assert_eq!(price(&p), (10_000, 10_000, 0));
    // A set price above the base is the set price (the "discount" is base − set, negative).
    let p = preview(&app, json!({"product": "app", "code": "SET-42K"})).await.expect(200);
    assert_eq!(price(&p), (10_000, 10_000 - 42_000, 42_000));
    let p = preview(&app, json!({"product": "app", "code": "FREE-ONE"})).await.expect(200);
    assert_eq!(price(&p), (10_000, 10_000, 0));
    // Fiat tiers: a percentage applies to the fiat amount the provider converts.
    let p = preview(&app, json!({"product": "app", "policy_slug": "eur", "code": "PCT-25"})).await.expect(200);
    assert_eq!(p["base_price_amount"], "19.99");
    // 25% of 1999 cents is 499.75, rounded down to 499 cents off: 1500 cents.
    let (_, _, left) = pct_off(1999, 25);
    assert_eq!(p["final_price_amount"], format!("{}.{:02}", left / 100, left % 100));
    assert_eq!(p["final_price_amount"], "15.00");
    assert_eq!(p["price_currency"], "EUR");
}

#[tokio::test]
async fn preview_reasons() {
    let app = spawn_app().await;
    shop(&app).await;
    let make = |body: Value| {
        let app = &app;
        async move { app.admin_post("/discount-codes", body).await.expect(201) }
    };
    make(json!({"code": "OTHER-PRODUCT", "product_slug": "other", "kind": "percent_off", "value": 10})).await;
    make(json!({"code": "OLD-CODE", "product_slug": "app", "kind": "percent_off", "value": 10, "valid_until": "2020-01-01T00:00:00Z"})).await;
    make(json!({"code": "FUTURE-CODE", "product_slug": "app", "kind": "percent_off", "value": 10, "valid_from": "2099-01-01T00:00:00Z"})).await;
    make(json!({"code": "PRO-ONLY", "product_slug": "app", "kind": "percent_off", "value": 10, "policies": ["pro"]}))
        .await;
    make(json!({"code": "ZERO-USES", "product_slug": "app", "kind": "percent_off", "value": 10, "max_uses": 0})).await;
    make(json!({"code": "SWITCHED-OFF", "product_slug": "app", "kind": "percent_off", "value": 10})).await;
    app.admin_post("/discount-codes/SWITCHED-OFF/disable", json!({})).await.expect(200);

    // An unknown code and another product's code look the same.
    let unknown =
        preview(&app, json!({"product": "app", "code": "NO-SUCH-CODE"})).await.expect_error(422, "unknown_code");
    let foreign =
        preview(&app, json!({"product": "app", "code": "OTHER-PRODUCT"})).await.expect_error(422, "unknown_code");
    assert_eq!(unknown, foreign);
    preview(&app, json!({"product": "app", "code": "x"})).await.expect_error(422, "unknown_code");
    // Expired, not yet valid, used up or switched off: to a stranger, the same as unknown.
    preview(&app, json!({"product": "app", "code": "OLD-CODE"})).await.expect_error(422, "unknown_code");
    preview(&app, json!({"product": "app", "code": "FUTURE-CODE"})).await.expect_error(422, "unknown_code");
    preview(&app, json!({"product": "app", "code": "PRO-ONLY"})).await.expect_error(422, "not_valid_for_tier");
    preview(&app, json!({"product": "app", "policy_slug": "pro", "code": "PRO-ONLY"})).await.expect(200);
    preview(&app, json!({"product": "app", "code": "ZERO-USES"})).await.expect_error(422, "unknown_code");
    preview(&app, json!({"product": "app", "code": "SWITCHED-OFF"})).await.expect_error(422, "unknown_code");
    preview(&app, json!({"product": "ghost", "code": "PRO-ONLY"})).await.expect_error(404, "not_found");
    preview(&app, json!({"product": "app", "policy_slug": "ghost", "code": "PRO-ONLY"}))
        .await
        .expect_error(404, "not_found");
}

#[tokio::test]
async fn preview_is_rate_limited_per_address() {
    let app = spawn_with(|c| c.code_rate_per_minute = 3).await;
    shop(&app).await;
    for _ in 0..3 {
        preview(&app, json!({"product": "app", "code": "GUESS-1234"})).await.expect_error(422, "unknown_code");
    }
    let r = preview(&app, json!({"product": "app", "code": "GUESS-1234"})).await;
    assert_eq!(r.status.as_u16(), 429);
    assert_eq!(r.json["error"], "rate_limited");
}
