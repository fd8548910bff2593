//! CORS for a seller's website: the public catalogue, purchases, code
//! previews, validation and machines answer the origins the operator listed
//! (`cors_origins` of `PUT /v1/admin/settings`, none by default) and no
//! other; the admin API and the pages never carry a CORS header. And
//! `docs/website-snippet.html`, served by a second origin, shows the tiers
//! and opens Keysat's checkout in headless Chromium.

use std::path::Path;
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::common::*;
use crate::pages_support::shop;

const SITE: &str = "https://shop.example";
const EVIL: &str = "https://evil.example";

/// A request from a page of `origin`.
async fn from(app: &TestApp, origin: &str, method: Method, url: &str, body: Option<Value>) -> Reply {
    let mut req = app.client.request(method, url).header("origin", origin);
    if let Some(b) = body {
        req = req.json(&b);
    }
    app.send(req).await
}

/// A browser's preflight for a JSON POST (or GET) from `origin`.
async fn preflight(app: &TestApp, origin: &str, url: &str, method: &str) -> Reply {
    let req = app
        .client
        .request(Method::OPTIONS, url)
        .header("origin", origin)
        .header("access-control-request-method", method)
        .header("access-control-request-headers", "content-type");
    app.send(req).await
}

fn allow_origin(r: &Reply) -> Option<&str> {
    r.headers.get("access-control-allow-origin").map(|v| v.to_str().unwrap())
}

fn cors_headers(r: &Reply) -> Vec<String> {
    r.headers.keys().map(|k| k.to_string()).filter(|k| k.starts_with("access-control-")).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn listed_origins_only_and_never_the_admin_api_or_pages() {
    let app = spawn_with(|c| c.demo = true).await;
    shop(&app).await;
    let products = format!("{}/v1/products", app.base);
    let purchase = format!("{}/v1/purchase", app.base);

    // None by default.
    assert_eq!(app.admin_get("/settings").await.expect(200)["cors_origins"], json!([]));
    let r = from(&app, SITE, Method::GET, &products, None).await;
    assert_eq!((r.status, cors_headers(&r)), (StatusCode::OK, vec![]));
    assert!(cors_headers(&preflight(&app, SITE, &purchase, "POST").await).is_empty());

    // Bad origins are refused, and nothing changes.
    for bad in ["*", "shop.example", "https://shop.example/buy", "ftp://shop.example", "https://a@shop.example"] {
        let r = app.admin_put("/settings", json!({"cors_origins": [SITE, bad]})).await;
        r.expect_error(422, "invalid_field");
    }
    assert_eq!(app.admin_get("/settings").await.expect(200)["cors_origins"], json!([]));
    let saved = app.admin_put("/settings", json!({"cors_origins": ["https://Shop.Example/", "http://localhost:8000"]}));
    assert_eq!(saved.await.expect(200)["cors_origins"], json!(["http://localhost:8000", SITE]));

    // A listed origin's preflight, and an unlisted one's.
    let ok = preflight(&app, SITE, &purchase, "POST").await;
    assert_eq!(ok.status, StatusCode::NO_CONTENT);
    assert_eq!(allow_origin(&ok), Some(SITE));
    let methods = ok.headers["access-control-allow-methods"].to_str().unwrap();
    assert!(methods.contains("POST") && methods.contains("GET"), "{methods}");
    assert!(ok.headers["access-control-allow-headers"].to_str().unwrap().contains("content-type"));
    assert!(ok.headers.get("access-control-allow-credentials").is_none());
    let refused = preflight(&app, EVIL, &purchase, "POST").await;
    assert!(cors_headers(&refused).is_empty(), "{:?}", refused.headers);
    assert_ne!(refused.status, StatusCode::NO_CONTENT);

    // Real cross-origin calls: the catalogue, a purchase, a validation.
    let got = from(&app, SITE, Method::GET, &format!("{products}/app/policies"), None).await;
    assert_eq!(allow_origin(&got), Some(SITE));
    assert!(got.headers["vary"].to_str().unwrap().contains("origin"));
    let bought =
        from(&app, SITE, Method::POST, &purchase, Some(json!({"product": "app", "policy_slug": "default"}))).await;
    assert_eq!(allow_origin(&bought), Some(SITE));
    let invoice = bought.expect(200)["invoice_id"].as_str().unwrap().to_string();
    let polled = from(&app, SITE, Method::GET, &format!("{purchase}/{invoice}"), None).await;
    assert_eq!(allow_origin(&polled), Some(SITE));
    let (_, key) = app.issue_license("app", "default").await;
    let validated = from(
        &app,
        "http://localhost:8000",
        Method::POST,
        &format!("{}/v1/validate", app.base),
        Some(json!({"key": key})),
    )
    .await;
    assert_eq!(allow_origin(&validated), Some("http://localhost:8000"));
    assert_eq!(validated.expect(200)["ok"], true);
    let evil = from(&app, EVIL, Method::GET, &products, None).await;
    assert!(cors_headers(&evil).is_empty());

    // Never the admin API, the pages or the routes not listed, whoever asks.
    let admin = app.admin(Method::GET, "/settings").header("origin", SITE);
    assert!(cors_headers(&app.send(admin).await).is_empty());
    let admin_url = format!("{}/v1/admin/settings", app.admin_base);
    assert!(cors_headers(&preflight(&app, SITE, &admin_url, "PUT").await).is_empty());
    for path in ["/buy/app", "/", "/v1/pubkey", "/v1/openapi.json"] {
        let r = from(&app, SITE, Method::GET, &format!("{}{path}", app.base), None).await;
        assert!(cors_headers(&r).is_empty(), "{path}: {:?}", r.headers);
    }
    let redeem = preflight(&app, SITE, &format!("{}/v1/redeem", app.base), "POST").await;
    assert!(cors_headers(&redeem).is_empty());

    // The list is kept: audited, and still there after a restart.
    let audit = app.admin_get("/audit?limit=50").await.expect(200);
    assert!(audit["entries"].as_array().unwrap().iter().any(|e| e["target_id"] == "cors_origins"), "{audit}");
    let app = spawn_in(app.stop().await, |c| c.demo = true).await;
    let again = from(&app, SITE, Method::GET, &format!("{}/v1/products", app.base), None).await;
    assert_eq!(allow_origin(&again), Some(SITE));
    app.admin_put("/settings", json!({"cors_origins": []})).await.expect(200);
    let none = from(&app, SITE, Method::GET, &format!("{}/v1/products", app.base), None).await;
    assert!(cors_headers(&none).is_empty());
}

/// Serves `html` at `/` on a free port: the seller's website, another origin.
async fn website(html: String) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let router = axum::Router::new().route("/", axum::routing::get(move || async move { axum::response::Html(html) }));
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    base
}

async fn run_snippet(site: &str, keysat: &str, mode: &str) -> Value {
    let chromium = std::env::var("KEYSAT_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".to_string());
    assert!(Path::new(&chromium).exists(), "{chromium} is missing: apt-get install -y chromium");
    let run = tokio::process::Command::new("node")
        .arg("website-snippet.mjs")
        .args([site, keysat, mode])
        .current_dir(js_dir())
        .env("KEYSAT_CHROMIUM", &chromium)
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(Duration::from_secs(120), run).await.expect("done in 2 minutes").expect("node runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let result: Value = stdout
        .lines()
        .find_map(|l| l.strip_prefix("RESULT "))
        .and_then(|j| serde_json::from_str(j).ok())
        .unwrap_or_else(|| panic!("no RESULT\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr)));
    assert!(out.status.success(), "{mode}: {result:#}");
    result
}

#[tokio::test(flavor = "multi_thread")]
async fn the_website_snippet_shows_the_tiers_and_opens_the_checkout_from_another_origin() {
    let app = spawn_with(|c| c.demo = true).await;
    shop(&app).await;
    let snippet = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/website-snippet.html"))
        .expect("docs/website-snippet.html");
    let configured = snippet
        .replace("https://keysat.example.com", &app.base)
        .replace("data-product=\"myapp\"", "data-product=\"app\"");
    assert_ne!(configured, snippet);
    let page = format!(
        "<!doctype html><html><head><title>Acme</title><link rel=\"icon\" href=\"data:,\"></head><body><h1>Acme Editor</h1>{configured}</body></html>"
    );
    let site = website(page).await;

    // Not listed yet: the browser refuses, the box links to Keysat's buy page.
    let refused = run_snippet(&site, &app.base, "unlisted").await;
    assert_eq!(refused["fallback"], json!(format!("{}/buy/app", app.base)));

    app.admin_put("/settings", json!({"cors_origins": [site]})).await.expect(200);
    let shown = run_snippet(&site, &app.base, "listed").await;
    let tiers: Vec<(&str, &str)> = shown["tiers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["name"].as_str().unwrap(), t["price"].as_str().unwrap()))
        .collect();
    assert_eq!(tiers, [("One year", "10,000 sats"), ("Lifetime", "99.00 USD"), ("Trial", "Free")]);
    assert_eq!(shown["tiers"][1]["highlighted"], true);
    // The purchase it started is Keysat's, waiting at the (demo) checkout.
    assert!(shown["checkout"].as_str().unwrap().starts_with(&format!("{}/demo/checkout/", app.base)));
    let sales = app.admin_get("/invoices").await.expect(200);
    assert_eq!(sales["invoices"].as_array().unwrap().len(), 1, "{sales}");
}
