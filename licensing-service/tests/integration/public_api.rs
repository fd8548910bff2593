//! The public, read-only endpoints of PROTOCOL.md section 4: service
//! description, health, public key and the buyer-visible catalogue.

use crate::common::*;
use keysat_client::PublicKey;
use serde_json::json;

#[tokio::test(flavor = "multi_thread")]
async fn root_describes_the_service_in_json() {
    let app = spawn_app().await;
    let body = app.get("/").await.expect(200);
    assert_eq!(
        keys(&body),
        sorted(&["service", "version", "operator", "public_key_pem", "key_algorithm", "key_format_version"])
    );
    assert_eq!(body["service"], "keysat");
    assert_eq!(body["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(body["operator"], json!(null));
    assert_eq!(body["key_algorithm"], "ed25519");
    assert_eq!(body["key_format_version"], 2);
    let pem = body["public_key_pem"].as_str().unwrap();
    assert!(pem.starts_with("-----BEGIN PUBLIC KEY-----"), "{pem}");
    PublicKey::from_pem(pem).expect("the root's PEM loads");

    // An explicit JSON Accept header gets the same answer.
    let r = app.send(app.client.get(&app.base).header("accept", "application/json")).await;
    assert_eq!(r.expect(200), body);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn root_serves_a_page_to_browsers() {
    let app = spawn_app().await;
    let r = app.send(app.client.get(&app.base).header("accept", "text/html,application/xhtml+xml;q=0.9")).await;
    assert_eq!(r.status, 200);
    let ctype = r.headers["content-type"].to_str().unwrap();
    assert!(ctype.starts_with("text/html"), "{ctype}");
    assert!(r.text.to_ascii_lowercase().contains("<html"), "{}", r.text);
    assert!(r.json.is_null(), "a page, not JSON");

    // The operator's name is shown, HTML-escaped.
    app.admin_put("/settings", json!({"operator_name": "Ann <b>& Co"})).await.expect(200);
    let r = app.send(app.client.get(&app.base).header("accept", "text/html")).await;
    assert!(r.text.contains("Ann &lt;b&gt;&amp; Co") || r.text.contains("Ann &#60;b&#62;&#38; Co"), "{}", r.text);
    assert!(!r.text.contains("<b>&"), "unescaped operator name: {}", r.text);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn healthz_and_pubkey() {
    let app = spawn_app().await;
    let r = app.get("/healthz").await;
    assert!(r.headers["content-type"].to_str().unwrap().starts_with("application/json"));
    assert_eq!(r.expect(200), json!({"ok": true}));

    let body = app.get("/v1/pubkey").await.expect(200);
    assert_eq!(keys(&body), sorted(&["public_key_pem"]));
    let root = app.get("/").await.expect(200);
    assert_eq!(body["public_key_pem"], root["public_key_pem"]);

    // The published key verifies what the server issues.
    let pk = PublicKey::from_pem(body["public_key_pem"].as_str().unwrap()).expect("PEM loads");
    assert_eq!(pk.as_bytes(), app.signer.verifying_key().as_bytes());
    app.product_with_policy("app", json!({})).await;
    let (id, key) = app.issue_license("app", "default").await;
    let payload = keysat_client::verify(&key, &pk).expect("issued key verifies");
    assert_eq!(payload.license_id.to_string(), id);

    // Unknown routes answer in the envelope.
    app.get("/v1/nope").await.expect_error(404, "not_found");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn products_lists_only_active_products() {
    let app = spawn_app().await;
    assert_eq!(app.get("/v1/products").await.expect(200), json!([]));
    let a = app
        .create_product(
            "alpha",
            json!({"description": "First", "price_sats": 2100,
                   "entitlements_catalog": [{"slug": "pro", "name": "Pro", "description": "Pro features"}]}),
        )
        .await;
    app.create_product("beta", json!({})).await;
    app.create_product("gamma", json!({"active": false})).await;

    let list = app.get("/v1/products").await.expect(200);
    let slugs: Vec<&str> = list.as_array().unwrap().iter().map(|p| p["slug"].as_str().unwrap()).collect();
    assert_eq!(slugs, ["alpha", "beta"]);
    let alpha = &list[0];
    for field in ["id", "slug", "name", "description", "price_sats"] {
        assert!(alpha.get(field).is_some(), "{field} missing: {alpha}");
    }
    assert_eq!(alpha["id"], a["id"]);
    assert_eq!(alpha["price_sats"], 2100);
    assert_eq!(alpha["description"], "First");

    let one = app.get("/v1/products/alpha").await.expect(200);
    assert_eq!(&one, alpha);
    app.get("/v1/products/nope").await.expect_error(404, "not_found");
    app.get("/v1/products/gamma").await.expect_error(404, "not_found");

    // Deactivating hides a product; reactivating shows it again.
    app.admin_patch("/products/alpha", json!({"active": false})).await.expect(200);
    app.get("/v1/products/alpha").await.expect_error(404, "not_found");
    app.get("/v1/products/alpha/policies").await.expect_error(404, "not_found");
    assert_eq!(app.get("/v1/products").await.expect(200).as_array().unwrap().len(), 1);
    app.admin_patch("/products/alpha", json!({"active": true})).await.expect(200);
    app.get("/v1/products/alpha").await.expect(200);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn policies_show_buyer_visible_tiers_only() {
    let app = spawn_app().await;
    app.create_product(
        "app",
        json!({"description": "The app", "price_sats": 5000,
               "entitlements_catalog": [{"slug": "pro", "name": "Pro", "description": "Everything"},
                                        {"slug": "sync", "name": "Sync"}]}),
    )
    .await;
    app.create_policy(
        "app",
        json!({"slug": "default", "name": "Default", "description": "One machine", "price_sats": 5000,
               "max_machines": 1, "entitlements": ["pro"], "tier_rank": 1, "highlighted": true}),
    )
    .await;
    app.create_policy(
        "app",
        json!({"slug": "trial", "name": "Trial", "price_sats": 0, "duration_seconds": 14 * 86_400,
               "is_trial": true, "tier_rank": 0}),
    )
    .await;
    app.create_policy(
        "app",
        json!({"slug": "team", "name": "Team", "price_sats": 20_000, "max_machines": 5,
               "entitlements": ["pro", "sync"], "tier_rank": 2,
               "price_amount": "49.00", "price_currency": "usd"}),
    )
    .await;
    app.create_policy("app", json!({"slug": "secret", "name": "Hidden", "public": false})).await;
    app.create_policy("app", json!({"slug": "old", "name": "Old"})).await;
    app.admin_patch("/products/app/policies/old", json!({"archived": true})).await.expect(200);

    let body = app.get("/v1/products/app/policies").await.expect(200);
    assert_eq!(keys(&body), sorted(&["product", "policies"]));
    let product = &body["product"];
    assert_eq!(keys(product), sorted(&["slug", "name", "description", "base_price_sats", "entitlements_catalog"]));
    assert_eq!(product["base_price_sats"], 5000);
    assert_eq!(product["description"], "The app");
    assert_eq!(
        product["entitlements_catalog"],
        json!([{"slug": "pro", "name": "Pro", "description": "Everything"},
               {"slug": "sync", "name": "Sync", "description": ""}])
    );

    let policies = body["policies"].as_array().unwrap();
    let slugs: Vec<&str> = policies.iter().map(|p| p["slug"].as_str().unwrap()).collect();
    assert_eq!(slugs, ["trial", "default", "team"], "ordered by tier rank; hidden and archived left out");
    let fields = [
        "slug",
        "name",
        "description",
        "price_sats",
        "duration_seconds",
        "max_machines",
        "is_trial",
        "entitlements",
        "highlighted",
        "is_recurring",
        "renewal_period_days",
        "trial_days",
    ];
    for p in policies {
        let mut expected: Vec<&str> = fields.to_vec();
        if p["slug"] == "team" {
            expected.extend(["price_amount", "price_currency"]);
        }
        assert_eq!(keys(p), sorted(&expected), "{p}");
        assert!(p.get("id").is_none() && p.get("product_id").is_none());
    }
    let text = serde_json::to_string(&body).unwrap();
    assert!(!text.contains("\"id\""), "no ids are exposed: {text}");

    assert_eq!(policies[0]["is_trial"], true);
    assert_eq!(policies[0]["trial_days"], 14);
    assert_eq!(policies[0]["duration_seconds"], 14 * 86_400);
    assert_eq!(policies[1]["trial_days"], json!(null));
    assert_eq!(policies[1]["max_machines"], 1);
    assert_eq!(policies[1]["highlighted"], true);
    assert_eq!(policies[1]["entitlements"], json!(["pro"]));
    assert_eq!(policies[1]["description"], "One machine");
    assert_eq!(policies[2]["entitlements"], json!(["pro", "sync"]));
    assert_eq!(policies[2]["price_amount"], "49.00");
    assert_eq!(policies[2]["price_currency"], "USD");
    assert_eq!(policies[2]["duration_seconds"], 0);

    app.get("/v1/products/nope/policies").await.expect_error(404, "not_found");
    app.stop().await;
}
