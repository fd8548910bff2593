//! The subscription pages in a real browser: headless Chromium driven by
//! `tests/js/renewals.mjs` (npm `playwright-core`) against the real server
//! in demo mode — the buy page saying what renewal means, `/renew` by
//! pasted key (with JavaScript) and by a reminder's link (without), and
//! `/upgrade`, each paid on the demo checkout and ending on the thank-you
//! page with a new key. Never skipped. Screenshots are kept in
//! `target/tmp/renewal-screenshots/`.

use std::path::Path;
use std::time::Duration;

use crate::common::*;
use serde_json::{json, Value};

const CHROMIUM: &str = "/usr/bin/chromium";
const MONTH: i64 = 30 * 86_400;

const SCENARIOS: [&str; 5] = [
    "buy_page_explains_subscriptions",
    "renew_pasting_the_key",
    "renew_from_the_reminder_link_without_javascript",
    "upgrade",
    "phone",
];

async fn stock(app: &TestApp) {
    let catalog = json!([{"slug": "sync", "name": "Sync"}, {"slug": "pro", "name": "Pro tools"}]);
    app.create_product("app", json!({"name": "Acme Editor", "price_sats": 5000, "entitlements_catalog": catalog}))
        .await;
    let tiers = [
        json!({"slug": "monthly", "name": "Monthly", "price_sats": 5000, "tier_rank": 1, "is_recurring": true,
               "duration_seconds": MONTH, "max_machines": 2, "entitlements": ["sync"], "highlighted": true}),
        json!({"slug": "pro", "name": "Pro monthly", "price_sats": 20_000, "tier_rank": 2, "is_recurring": true,
               "duration_seconds": MONTH, "max_machines": 5, "entitlements": ["pro", "sync"]}),
        json!({"slug": "yearly", "name": "Pro yearly", "price_sats": 200_000, "tier_rank": 2, "is_recurring": true,
               "duration_seconds": 365 * 86_400, "max_machines": 5, "entitlements": ["pro", "sync"]}),
        json!({"slug": "lifetime", "name": "Lifetime", "price_sats": 500_000, "tier_rank": 3,
               "entitlements": ["pro", "sync"]}),
    ];
    for t in tiers {
        app.create_policy("app", t).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn renew_and_upgrade_pages_in_headless_chromium() {
    let chromium = std::env::var("KEYSAT_CHROMIUM").unwrap_or_else(|_| CHROMIUM.to_string());
    assert!(Path::new(&chromium).exists(), "{chromium} is missing: apt-get install -y chromium");
    assert!(
        js_dir().join("node_modules/playwright-core").exists(),
        "playwright-core is missing: run `npm ci` in {}",
        js_dir().display()
    );
    let app = spawn_with(|c| c.demo = true).await;
    stock(&app).await;
    let (renew_id, renew_key) = app.issue_license("app", "monthly").await;
    let (upgrade_id, upgrade_key) = app.issue_license("app", "monthly").await;
    let sub = app.admin_get(&format!("/subscriptions?license_id={renew_id}")).await.expect(200);
    let link = sub["subscriptions"][0]["renew_url"].as_str().expect("a renew link").to_string();
    let expires = unix(&app.license(&renew_id).await["expires_at"]);
    let shots = Path::new(env!("CARGO_TARGET_TMPDIR")).join("renewal-screenshots");
    let _ = std::fs::remove_dir_all(&shots);

    let input = json!({"renew_key": renew_key, "link": link, "upgrade_key": upgrade_key});
    let run = tokio::process::Command::new("node")
        .arg("renewals.mjs")
        .arg(&app.base)
        .arg(&shots)
        .current_dir(js_dir())
        .env("KEYSAT_CHROMIUM", &chromium)
        .env("KEYSAT_TEST_RENEWALS", input.to_string())
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(Duration::from_secs(300), run)
        .await
        .expect("the browser tests finish within 5 minutes")
        .expect("node runs (is Node.js installed?)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let result: Value = stdout
        .lines()
        .find_map(|l| l.strip_prefix("RESULT "))
        .and_then(|j| serde_json::from_str(j).ok())
        .unwrap_or_else(|| panic!("no RESULT line from renewals.mjs\nstdout:\n{stdout}\nstderr:\n{stderr}"));
    assert!(
        out.status.success() && result["failed"].as_array().is_some_and(|f| f.is_empty()),
        "browser scenarios failed (screenshots in {}):\n{stderr}",
        shots.display()
    );
    let passed: Vec<&str> = result["passed"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
    assert_eq!(passed, SCENARIOS, "every scenario ran and passed");

    // Every key a page showed is this server's, for the same license, with the new terms.
    let pk = app.public_key().await;
    let keys = result["keys"].as_array().expect("keys");
    assert_eq!(keys.len(), 3, "{keys:?}");
    let payload = |k: &Value| keysat_client::verify(k["key"].as_str().unwrap(), &pk).expect("verifies");
    let renewed: Vec<_> = keys[..2].iter().map(payload).collect();
    assert_eq!(renewed[0].license_id.to_string(), renew_id);
    assert_eq!(renewed[0].expires_at as i64, expires + MONTH, "renewed once");
    assert_eq!(renewed[1].expires_at as i64, expires + 2 * MONTH, "and once more from the link");
    let upgraded = payload(&keys[2]);
    assert_eq!(upgraded.license_id.to_string(), upgrade_id);
    assert_eq!(upgraded.entitlements, vec!["pro".to_string(), "sync".to_string()]);
    assert_eq!(app.license(&upgrade_id).await["policy_slug"], "pro");

    for name in [
        "buy-subscriptions",
        "renew",
        "renew-summary",
        "thank-you-renewed",
        "renew-from-link",
        "upgrade",
        "thank-you-upgraded",
    ] {
        assert!(shots.join(format!("{name}.png")).exists(), "screenshot {name}.png");
    }
    app.stop().await;
}
