//! Bad input gets a clear 4xx and changes nothing: malformed JSON, bodies
//! over 64 KiB, unknown fields, wrong types, missing content types.

use crate::common::*;
use reqwest::Method;
use serde_json::{json, Value};

const LIMIT: usize = 64 * 1024;

/// What an admin body can change, read back for comparison.
async fn state(app: &TestApp) -> Value {
    json!({
        "products": app.admin_get("/products").await.expect(200),
        "licenses": app.admin_get("/licenses?limit=500").await.expect(200),
        "audit": app.audit_count().await,
        "settings": app.admin_get("/settings").await.expect(200),
    })
}

/// A JSON object body of at least `size` bytes.
fn big_body(size: usize) -> String {
    json!({"slug": "big", "name": "Big", "price_sats": 1, "description": "x".repeat(size)}).to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn malformed_admin_bodies_change_nothing() {
    let app = spawn_app().await;
    app.product_with_policy("app", json!({})).await;
    let (id, _) = app.issue_license("app", "default").await;
    let before = state(&app).await;

    let writes: Vec<(Method, String)> = vec![
        (Method::POST, "/products".into()),
        (Method::PATCH, "/products/app".into()),
        (Method::POST, "/products/app/policies".into()),
        (Method::PATCH, "/products/app/policies/default".into()),
        (Method::POST, "/licenses".into()),
        (Method::POST, format!("/licenses/{id}/suspend")),
        (Method::POST, format!("/licenses/{id}/revoke")),
        (Method::PUT, "/settings".into()),
    ];
    // Each is broken before any field is read, whatever the body's type.
    let malformed = ["{", "{\"", "{]", "{,}", "}", "nul", "{'slug': 'x'}", "\u{0}"];
    for (method, path) in &writes {
        for body in malformed {
            let r =
                app.send(app.admin(method.clone(), path).header("content-type", "application/json").body(body)).await;
            assert_eq!(r.status, 400, "{method} {path} {body:?}: {}", r.text);
            r.expect_error(400, "malformed_json");
        }
    }
    assert_eq!(state(&app).await, before);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn oversized_bodies_are_refused() {
    let app = spawn_app().await;
    app.product_with_policy("app", json!({})).await;
    let (id, key) = app.issue_license("app", "default").await;
    let before = state(&app).await;

    // Just under the limit is fine: a product padded with JSON whitespace to
    // one byte below 64 KiB (a description that long would break its own
    // length rule instead).
    let mut fits =
        json!({"slug": "fits", "name": "Fits", "price_sats": 1, "description": "d".repeat(3000)}).to_string();
    fits.push_str(&" ".repeat(LIMIT - 1 - fits.len()));
    assert_eq!(fits.len(), LIMIT - 1);
    app.admin_post_raw("/products", fits).await.expect(201);
    let before_big = state(&app).await;
    assert_ne!(before, before_big);

    let big = big_body(LIMIT + 1);
    app.admin_post_raw("/products", big.clone()).await.expect_error(413, "payload_too_large");
    app.send(app.admin(Method::PATCH, "/products/app").header("content-type", "application/json").body(big.clone()))
        .await
        .expect_error(413, "payload_too_large");
    app.admin_post_raw("/licenses", big.clone()).await.expect_error(413, "payload_too_large");
    let r = app.admin_post_raw(&format!("/licenses/{id}/suspend"), big.clone()).await;
    assert_eq!(r.status, 413, "{}", r.text);
    let r = app.admin_post_raw(&format!("/licenses/{id}/revoke"), big.clone()).await;
    assert_eq!(r.status, 413, "{}", r.text);
    // Far over the limit, too.
    let huge = big_body(4 * LIMIT);
    let r = app.admin_post_raw("/products", huge.clone()).await;
    assert_eq!(r.status, 413, "{}", r.text);
    assert_eq!(state(&app).await, before_big);

    // The public hot path: still a client error, never a decision.
    let padded = json!({"key": key, "hostname": "h".repeat(LIMIT)}).to_string();
    let r = app.post_raw("/v1/validate", padded.clone()).await;
    assert_eq!(r.status, 413, "{}", r.text);
    for path in ["/v1/machines/activate", "/v1/machines/heartbeat", "/v1/machines/deactivate"] {
        let r = app.post_raw(path, padded.clone()).await;
        assert_eq!(r.status, 413, "{path}: {}", r.text);
    }
    assert_eq!(app.stats().await["active_machines"], 0);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_fields_and_wrong_types_are_refused() {
    let app = spawn_app().await;
    app.product_with_policy("app", json!({})).await;
    let (id, _) = app.issue_license("app", "default").await;
    let before = state(&app).await;

    // Each body is JSON of the wrong shape for its route (an unknown field, a
    // wrong type, a setting that is not an admin setting): 400 `invalid_request`.
    let cases: Vec<(Method, String, Value)> = vec![
        (Method::POST, "/products".into(), json!({"slug": "n", "name": "N", "price_sats": 1, "colour": "red"})),
        (Method::POST, "/products".into(), json!({"slug": "n", "name": "N", "price_sats": "1000"})),
        (Method::POST, "/products".into(), json!({"slug": "n", "name": "N", "price_sats": 1.5})),
        (Method::POST, "/products".into(), json!({"slug": 5, "name": "N", "price_sats": 1})),
        (Method::POST, "/products".into(), json!({"slug": "n", "name": "N", "price_sats": 1, "active": "yes"})),
        (
            Method::POST,
            "/products".into(),
            json!({"slug": "n", "name": "N", "price_sats": 1, "entitlements_catalog": [{"slug": "a", "name": "A", "extra": 1}]}),
        ),
        (Method::POST, "/products".into(), json!(["slug", "n"])),
        (Method::POST, "/products".into(), json!("a string")),
        (Method::PATCH, "/products/app".into(), json!({"nmae": "typo"})),
        (Method::PATCH, "/products/app".into(), json!({"active": 1})),
        (Method::POST, "/products/app/policies".into(), json!({"slug": "p", "name": "P", "seats": 3})),
        (Method::POST, "/products/app/policies".into(), json!({"slug": "p", "name": "P", "max_machines": "3"})),
        (Method::POST, "/products/app/policies".into(), json!({"slug": "p", "name": "P", "entitlements": "pro"})),
        (Method::PATCH, "/products/app/policies/default".into(), json!({"duration_seconds": true})),
        (Method::PATCH, "/products/app/policies/default".into(), json!({"id": "00000000-0000-0000-0000-000000000000"})),
        (Method::POST, "/licenses".into(), json!({"product_slug": "app", "email": "a@b.co"})),
        (Method::POST, "/licenses".into(), json!({"product_slug": ["app"]})),
        (Method::POST, "/licenses".into(), json!({"policy_slug": "default"})),
        (Method::POST, format!("/licenses/{id}/suspend"), json!({"reason": "x", "until": "tomorrow"})),
        (Method::POST, format!("/licenses/{id}/suspend"), json!({"reason": 5})),
        (Method::POST, format!("/licenses/{id}/revoke"), json!({"reason": "x", "notify": true})),
        (Method::POST, format!("/licenses/{id}/revoke"), json!({"reason": ["x"]})),
        (Method::PUT, "/settings".into(), json!({"operator_name": 42})),
        (Method::PUT, "/settings".into(), json!({"operator_name": "A", "public_url": "https://evil.example"})),
    ];
    let mut wrong = Vec::new();
    for (method, path, body) in &cases {
        let r = app.send(app.admin(method.clone(), path).json(body)).await;
        if (r.status.as_u16(), r.json["error"].as_str().unwrap_or("")) != (400, "invalid_request")
            || r.json["ok"] != json!(false)
        {
            wrong.push(format!("{method} {path} {body} → {} {}", r.status, r.text));
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
    assert_eq!(state(&app).await, before);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn json_bodies_need_a_json_content_type() {
    let app = spawn_app().await;
    let before = state(&app).await;
    let body = json!({"slug": "n", "name": "N", "price_sats": 1}).to_string();
    let r = app.send(app.admin(Method::POST, "/products").body(body.clone())).await;
    r.expect_error(415, "unsupported_media_type");
    let r = app.send(app.admin(Method::POST, "/products").header("content-type", "text/plain").body(body)).await;
    r.expect_error(415, "unsupported_media_type");
    // No body and no content type: the content type is checked first.
    let r = app.send(app.admin(Method::POST, "/products")).await;
    r.expect_error(415, "unsupported_media_type");
    assert_eq!(state(&app).await, before);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn malformed_validate_requests_are_client_errors() {
    let app = spawn_app().await;
    app.product_with_policy("app", json!({})).await;
    let (_, key) = app.issue_license("app", "default").await;

    for body in ["", "{", "not json", "{\"key\": }", "[\"LIC1\"]", "null"] {
        let r = app.post_raw("/v1/validate", body).await;
        assert_eq!(r.status, 400, "{body:?}: {}", r.text);
        assert_eq!(r.json["ok"], json!(false));
    }
    app.post_raw("/v1/validate", "{").await.expect_error(400, "malformed_json");
    // Wrong types and a missing key.
    for body in [
        json!({}),
        json!({"key": 12}),
        json!({"key": null}),
        json!({"key": key, "fingerprint": 5}),
        json!({"key": key, "product_slug": ["app"]}),
        json!({"key": key, "fingerprint": "x".repeat(257)}),
        json!({"key": key, "hostname": "h".repeat(256)}),
        json!({"key": key, "platform": "p\u{0007}"}),
    ] {
        let r = app.post("/v1/validate", body.clone()).await;
        assert_eq!(r.status, 400, "{body}: {}", r.text);
    }
    // Whatever the content type, a good body is read (old clients send none).
    let r = app.send(app.client.post(format!("{}/v1/validate", app.base)).body(json!({"key": key}).to_string())).await;
    assert_ok(&r.expect(200));
    // None of these took a seat.
    assert_eq!(app.stats().await["active_machines"], 0);
    app.stop().await;
}
