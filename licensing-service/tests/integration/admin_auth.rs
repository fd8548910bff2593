//! The admin API answers only to `Authorization: Bearer <admin key>`, and with
//! `admin_bind` set it lives on its own listener, not the public port.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, OnceLock};

use crate::common::*;
use crate::internals::admin_routes_table;
use reqwest::Method;
use serde_json::json;

/// Every admin route the server serves (the router's own table), with its
/// path parameters filled in.
pub(crate) fn admin_routes() -> Vec<(&'static str, String)> {
    let routes: Vec<_> = admin_routes_table().iter().map(|(method, path, _)| (*method, fill(path))).collect();
    // The table is the router's: it holds the routes a hand-kept list once missed.
    for prefix in ["/discount-codes", "/btcpay/", "/webhook-deliveries/", "/licenses/"] {
        assert!(routes.iter().any(|(_, p)| p.starts_with(prefix)), "no {prefix} route in the table");
    }
    routes
}

/// A path with each `{param}` replaced by a value of the right shape.
pub(crate) fn fill(path: &str) -> String {
    path.split('/')
        .map(|seg| match seg {
            "{slug}" => "app",
            "{policy_slug}" => "default",
            "{id}" => "00000000-0000-0000-0000-000000000000",
            "{code}" => "NO-SUCH-CODE",
            "{file}" => "licenses.csv",
            s if s.starts_with('{') => panic!("{path}: give {s} a placeholder value here"),
            s => s,
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// The auth checks below send hundreds of wrong keys from one address.
pub(crate) async fn spawn_lenient() -> TestApp {
    spawn_with(|c| c.admin_auth_failures_per_minute = 100_000).await
}

pub(crate) fn request(app: &TestApp, base: &str, method: &str, path: &str) -> reqwest::RequestBuilder {
    let method: Method = method.parse().unwrap();
    let body = json!({"slug": "x", "name": "X", "price_sats": 1, "reason": "r", "operator_name": "Mallory"});
    app.client.request(method, format!("{base}/v1/admin{path}")).json(&body)
}

#[tokio::test(flavor = "multi_thread")]
async fn every_admin_route_needs_the_key() {
    let app = spawn_lenient().await;
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
    for (method, path) in &admin_routes() {
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
    for (method, path) in &admin_routes() {
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
    let app = spawn_with(|c| {
        c.admin_bind = Some("127.0.0.1:0".parse().unwrap());
        c.admin_auth_failures_per_minute = 100_000;
    })
    .await;
    let admin_addr = app.admin_addr.expect("a second listener");
    assert_ne!(admin_addr, app.public_addr);
    assert_eq!(app.admin_base, format!("http://{admin_addr}"));

    // On the public port the admin API does not exist, key or not.
    for (method, path) in &admin_routes() {
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

/// Everything the process logs, from every thread, while it is held. The
/// tests share one process: the process-wide tracing subscriber, installed
/// on first use, keeps lines only while a capture is held, so the capture
/// holds what was logged during this test (its neighbours' lines included)
/// and nothing from before or after it.
struct LogCapture(&'static Mutex<Vec<u8>>);

static CAPTURING: AtomicBool = AtomicBool::new(false);

impl LogCapture {
    fn start() -> LogCapture {
        static LOGS: OnceLock<&'static Mutex<Vec<u8>>> = OnceLock::new();
        let logs = *LOGS.get_or_init(|| {
            let logs: &'static Mutex<Vec<u8>> = Box::leak(Box::default());
            struct Sink(&'static Mutex<Vec<u8>>);
            impl std::io::Write for Sink {
                fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
                    if CAPTURING.load(Ordering::SeqCst) {
                        self.0.lock().unwrap().extend_from_slice(b);
                    }
                    Ok(b.len())
                }
                fn flush(&mut self) -> std::io::Result<()> {
                    Ok(())
                }
            }
            tracing_subscriber::fmt().with_ansi(false).with_writer(move || Sink(logs)).init();
            logs
        });
        assert!(!CAPTURING.swap(true, Ordering::SeqCst), "one log capture at a time");
        logs.lock().unwrap().clear();
        LogCapture(logs)
    }

    fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
}

impl Drop for LogCapture {
    fn drop(&mut self) {
        CAPTURING.store(false, Ordering::SeqCst);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn failed_attempts_slow_an_address_down_and_are_logged_without_the_key() {
    let logs = LogCapture::start();
    let app = spawn_with(|c| c.admin_auth_failures_per_minute = 3).await;
    let url = format!("{}/v1/admin/products", app.admin_base);
    let mallory = client_from(3);
    let wrong = "mallorys-guess-0123456789abcdef";
    for _ in 0..3 {
        let r = app.send(mallory.get(&url).bearer_auth(wrong)).await;
        r.expect_error(401, "unauthorized");
    }
    // Past the limit the address is refused before its key is looked at: the right key too.
    for key in [wrong, ADMIN_KEY] {
        let r = app.send(mallory.get(&url).bearer_auth(key)).await;
        let retry: u64 = r.headers["retry-after"].to_str().unwrap().parse().unwrap();
        assert!((1..=60).contains(&retry), "{retry}");
        let body = r.expect_error(429, "rate_limited");
        assert!(body["message"].as_str().unwrap().contains("failed admin authentications"), "{body}");
    }
    // Another address is not held back.
    assert_eq!(app.admin_get("/products").await.expect(200)["products"], json!([]));

    // A flood is logged with the address, but only so many lines a minute, never a key.
    for _ in 0..200 {
        let r = app.send(mallory.post(&url).bearer_auth(wrong).json(&json!({}))).await;
        assert_eq!(r.status, 429);
    }
    let text = logs.text();
    let lines: Vec<&str> =
        text.lines().filter(|l| l.contains("admin authentication failed") && l.contains("127.0.0.3")).collect();
    assert!(lines.len() >= 4 && lines.len() <= 20, "{} lines:\n{}", lines.len(), lines.join("\n"));
    assert!(lines[0].contains("client=127.0.0.3") && lines[0].contains("/v1/admin/products"), "{}", lines[0]);
    assert!(lines[0].contains("wrong key"), "{}", lines[0]);
    assert!(!text.contains(wrong) && !text.contains(ADMIN_KEY), "a key reached the log:\n{text}");
    app.stop().await;
}
