//! Scoped API keys: shown once, listed without the key, revoked; each scope
//! allowed exactly the routes the router's table gives it (403 otherwise),
//! and the audit log names the key that acted.

use crate::admin_auth::{fill, request, spawn_lenient};
use crate::common::*;
use crate::internals::admin_routes_table;
use serde_json::{json, Value};

async fn new_key(app: &TestApp, name: &str, scopes: &[&str]) -> String {
    let created = app.admin_post("/api-keys", json!({"name": name, "scopes": scopes})).await.expect(201);
    assert_eq!(created["name"], name);
    let key = created["key"].as_str().unwrap().to_string();
    assert!(key.starts_with("ksk_") && key.len() > 40, "{key}");
    assert!(key.starts_with(created["prefix"].as_str().unwrap()));
    key
}

/// What each scope may use: GETs read-only (support too); support also
/// suspends, unsuspends, frees seats, resends, cancels a subscription; issuer
/// only creates licenses and codes; the keys themselves need full.
fn expected(scope: &str, method: &str, path: &str) -> bool {
    let support = ["/suspend", "/unsuspend", "/reset-seats", "/resend", "/deactivate", "/cancel"];
    let is_support = method == "POST" && support.iter().any(|s| path.ends_with(s));
    let is_issuer = method == "POST" && (path == "/licenses" || path == "/discount-codes");
    // A download link to an export reads like the export itself.
    let is_read = (method == "GET" && !path.starts_with("/api-keys")) || path == "/export-links";
    match scope {
        "full" => true,
        "read-only" => is_read,
        "support" => is_read || is_support,
        "issuer" => is_issuer,
        other => panic!("{other}"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn each_scope_reaches_exactly_its_routes() {
    let app = spawn_lenient().await;
    app.product_with_policy("app", json!({})).await;
    let mut keys = Vec::new();
    for scope in ["read-only", "support", "issuer", "full"] {
        keys.push((scope, new_key(&app, &format!("{scope} key"), &[scope]).await));
    }
    let table = admin_routes_table();
    assert!(table.iter().all(|(_, _, s)| ["read-only", "support", "issuer", "full"].contains(s)));
    for (method, path, _) in &table {
        // Revoking a key here would cut the test's own keys.
        if path.starts_with("/api-keys/") {
            continue;
        }
        for (scope, key) in &keys {
            let r = request(&app, &app.admin_base, method, &fill(path)).bearer_auth(key).send().await.unwrap();
            let status = r.status().as_u16();
            let want = expected(scope, method, path);
            assert!(status != 401, "{scope} {method} {path}: the key was not recognised");
            assert_eq!(status != 403, want, "{scope} {method} {path}: {status} {}", r.text().await.unwrap());
            if !want {
                let body: Value = r.json().await.unwrap();
                assert_eq!(body["error"], "forbidden");
                assert!(body["message"].as_str().unwrap().contains(scope), "{body}");
            }
        }
    }
    // /metrics is read-only.
    let metrics = |key: &str| app.client.get(format!("{}/metrics", app.admin_base)).bearer_auth(key.to_string());
    assert_eq!(metrics(&keys[0].1).send().await.unwrap().status(), 200);
    assert_eq!(metrics(&keys[2].1).send().await.unwrap().status(), 403);
}

#[tokio::test(flavor = "multi_thread")]
async fn keys_are_shown_once_named_in_the_audit_and_revocable() {
    let app = spawn_app().await;
    app.product_with_policy("app", json!({})).await;
    let key = new_key(&app, "website", &["issuer"]).await;
    let listed = app.admin_get("/api-keys").await.expect(200);
    let entry = &listed["api_keys"][0];
    assert_eq!(entry["name"], "website");
    assert_eq!(entry["scopes"], json!(["issuer"]));
    assert!(!listed.to_string().contains(&key[12..]), "the key is never listed");

    // A website issues a license after its own checkout.
    let post = |path: &str, body: Value| app.client.post(format!("{}/v1/admin{path}", app.admin_base)).json(&body);
    let r = post("/licenses", json!({"product_slug": "app", "buyer_email": "web@example.com"})).bearer_auth(&key);
    let license: Value = r.send().await.unwrap().json().await.unwrap();
    let id = license["license_id"].as_str().unwrap();
    let audit = app.admin_get("/audit?limit=500").await.expect(200);
    let issued = audit["entries"].as_array().unwrap().iter().find(|e| e["target_id"] == id).unwrap();
    assert_eq!(issued["actor"], "api-key:website");
    let listed = app.admin_get("/api-keys").await.expect(200);
    assert!(listed["api_keys"][0]["last_used_at"].is_string(), "{listed}");

    // Bad input changes nothing.
    app.admin_post("/api-keys", json!({"name": "x", "scopes": ["admin"]})).await.expect_error(422, "invalid_field");
    app.admin_post("/api-keys", json!({"name": "x", "scopes": []})).await.expect_error(422, "invalid_field");
    app.admin_post("/api-keys", json!({"name": " ", "scopes": ["full"]})).await.expect_error(422, "invalid_field");
    assert_eq!(app.admin_get("/api-keys").await.expect(200)["api_keys"].as_array().unwrap().len(), 1);

    let kid = entry["id"].as_str().unwrap();
    let revoked = app.admin_delete(&format!("/api-keys/{kid}")).await.expect(200);
    assert!(revoked["revoked_at"].is_string());
    let r = post("/licenses", json!({"product_slug": "app"})).bearer_auth(&key).send().await.unwrap();
    assert_eq!(r.status(), 401, "a revoked key is no key");
    app.admin_delete("/api-keys/not-an-id").await.expect_error(404, "not_found");
}
