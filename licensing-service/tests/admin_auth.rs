//! The admin API answers only to `Authorization: Bearer <admin key>`, and with
//! `admin_bind` set it lives on its own listener, not the public port.

mod common;

use common::*;
use reqwest::Method;
use serde_json::json;

/// One request per admin route (method, path), with placeholder ids.
const ADMIN_ROUTES: &[(&str, &str)] = &[
    ("POST", "/products"),
    ("GET", "/products"),
    ("GET", "/products/app"),
    ("PATCH", "/products/app"),
    ("POST", "/products/app/policies"),
    ("GET", "/products/app/policies"),
    ("GET", "/products/app/policies/default"),
    ("PATCH", "/products/app/policies/default"),
    ("POST", "/licenses"),
    ("GET", "/licenses"),
    ("GET", "/licenses/search?q=x"),
    ("GET", "/licenses/00000000-0000-0000-0000-000000000000"),
    ("POST", "/licenses/00000000-0000-0000-0000-000000000000/suspend"),
    ("POST", "/licenses/00000000-0000-0000-0000-000000000000/unsuspend"),
    ("POST", "/licenses/00000000-0000-0000-0000-000000000000/revoke"),
    ("GET", "/machines"),
    ("POST", "/machines/00000000-0000-0000-0000-000000000000/deactivate"),
    ("GET", "/audit"),
    ("GET", "/settings"),
    ("PUT", "/settings"),
    ("GET", "/stats"),
    ("GET", "/nostr"),
    ("PUT", "/nostr"),
    ("POST", "/webhook-endpoints"),
    ("GET", "/webhook-endpoints"),
    ("GET", "/webhook-endpoints/00000000-0000-0000-0000-000000000000"),
    ("PATCH", "/webhook-endpoints/00000000-0000-0000-0000-000000000000"),
    ("DELETE", "/webhook-endpoints/00000000-0000-0000-0000-000000000000"),
    ("GET", "/webhook-deliveries"),
    ("GET", "/webhook-deliveries/whd_0"),
    ("POST", "/webhook-deliveries/whd_0/retry"),
];

fn request(app: &TestApp, base: &str, method: &str, path: &str) -> reqwest::RequestBuilder {
    let method: Method = method.parse().unwrap();
    let body = json!({"slug": "x", "name": "X", "price_sats": 1, "reason": "r", "operator_name": "Mallory"});
    app.client.request(method, format!("{base}/v1/admin{path}")).json(&body)
}

#[tokio::test(flavor = "multi_thread")]
async fn every_admin_route_needs_the_key() {
    let app = spawn_app().await;
    app.product_with_policy("app", json!({})).await;
    let audit_before = app.audit_count().await;
    let wrong_auth = [
        None,
        Some("Bearer wrong-admin-key-0123456789".to_string()),
        Some(format!("Bearer {ADMIN_KEY}x")),
        Some(format!("Bearer {}", &ADMIN_KEY[..ADMIN_KEY.len() - 1])),
        Some("Bearer ".to_string()),
        Some(format!("Basic {ADMIN_KEY}")),
        Some(format!("bearer{ADMIN_KEY}")),
        Some(format!("Token {ADMIN_KEY}")),
        Some(ADMIN_KEY.to_string()),
    ];
    for (method, path) in ADMIN_ROUTES {
        for auth in &wrong_auth {
            let mut req = request(&app, &app.base, method, path);
            if let Some(a) = auth {
                req = req.header("authorization", a);
            }
            let r = app.send(req).await;
            assert_eq!(r.status, 401, "{method} {path} with {auth:?}: {}", r.text);
            r.expect_error(401, "unauthorized");
        }
        // The key in another header or the query string does not count either.
        let r = app
            .send(request(&app, &app.base, method, path).header("x-api-key", ADMIN_KEY).query(&[("key", ADMIN_KEY)]))
            .await;
        assert_eq!(r.status, 401, "{method} {path}");
    }
    // Nothing changed.
    assert_eq!(app.audit_count().await, audit_before);
    assert_eq!(app.get("/").await.expect(200)["operator"], json!(null));
    assert_eq!(app.admin_get("/products").await.expect(200)["products"].as_array().unwrap().len(), 1);

    // The right key works on every route (whatever the answer's own status).
    for (method, path) in ADMIN_ROUTES {
        let r = app.send(request(&app, &app.base, method, path).bearer_auth(ADMIN_KEY)).await;
        assert_ne!(r.status, 401, "{method} {path}: {}", r.text);
        assert!(r.status.as_u16() < 500, "{method} {path}: {} {}", r.status, r.text);
    }
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn public_routes_need_no_key() {
    let app = spawn_app().await;
    app.get("/").await.expect(200);
    app.get("/healthz").await.expect(200);
    app.get("/v1/pubkey").await.expect(200);
    app.get("/v1/products").await.expect(200);
    assert_refused(&app.validate(json!({"key": "x"})).await, "bad_format");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn admin_bind_moves_the_admin_api_to_its_own_listener() {
    let app = spawn_with(|c| c.admin_bind = Some("127.0.0.1:0".parse().unwrap())).await;
    let admin_addr = app.admin_addr.expect("a second listener");
    assert_ne!(admin_addr, app.public_addr);
    assert_eq!(app.admin_base, format!("http://{admin_addr}"));

    // On the public port the admin API does not exist, key or not.
    for (method, path) in ADMIN_ROUTES {
        let r = app.send(request(&app, &app.base, method, path).bearer_auth(ADMIN_KEY)).await;
        assert_eq!(r.status, 404, "{method} {path}: {}", r.text);
        r.expect_error(404, "not_found");
    }
    // On the admin port it works, and still needs the key.
    app.product_with_policy("app", json!({})).await;
    assert_eq!(app.admin_get("/products").await.expect(200)["products"].as_array().unwrap().len(), 1);
    let r = app.send(request(&app, &app.admin_base, "GET", "/products")).await;
    r.expect_error(401, "unauthorized");
    let (_, key) = app.issue_license("app", "default").await;

    // The public API stays on the public port only (the admin port has a health check).
    assert_ok(&app.validate(json!({"key": key})).await);
    app.get("/v1/products/app").await.expect(200);
    let admin_health = app.send(app.client.get(format!("{}/healthz", app.admin_base))).await;
    assert_eq!(admin_health.expect(200), json!({"ok": true}));
    let r = app.send(app.client.post(format!("{}/v1/validate", app.admin_base)).json(&json!({"key": key}))).await;
    assert_eq!(r.status, 404);
    let r = app.send(app.client.get(format!("{}/v1/products", app.admin_base))).await;
    assert_eq!(r.status, 404);
    app.stop().await;
}
