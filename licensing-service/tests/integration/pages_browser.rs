//! The buyer pages in a real browser: headless Chromium (Debian `chromium`)
//! driven by `tests/js/pages.mjs` through npm `playwright-core`, against the
//! real server in demo mode. Never skipped: without Chromium or the npm
//! packages (`npm ci` in `tests/js`) the test fails and says what is missing.
//! Screenshots are kept in `target/tmp/pages-screenshots/`.

use std::path::Path;
use std::time::Duration;

use crate::common::*;
use crate::pages_support::*;
use serde_json::Value;

const CHROMIUM: &str = "/usr/bin/chromium";

/// Every scenario the script must report as passed.
const SCENARIOS: [&str; 16] = [
    "sale_with_javascript",
    "thank_you_follows_the_payment_live",
    "sale_without_javascript",
    "redeem",
    "recover",
    "phone",
    "keyboard",
    "dark_and_light",
    "hostile_content",
    "seller_on_every_page",
    "fiat_tier_price_and_invoice",
    "revoked_license",
    "field_errors",
    "no_contact_warning",
    "demo_shop",
    "page_weight",
];

#[tokio::test(flavor = "multi_thread")]
async fn buyer_pages_in_headless_chromium() {
    let chromium = std::env::var("KEYSAT_CHROMIUM").unwrap_or_else(|_| CHROMIUM.to_string());
    assert!(Path::new(&chromium).exists(), "{chromium} is missing: apt-get install -y chromium");
    assert!(
        js_dir().join("node_modules/playwright-core").exists(),
        "playwright-core is missing: run `npm ci` in {}",
        js_dir().display()
    );

    let app = spawn_with(|c| c.demo = true).await;
    shop(&app).await;
    hostile_shop(&app).await;
    app.admin_put("/settings", crate::seller::identity()).await.expect(200);
    // A second daemon as `keysat serve --demo` (what `make demo` runs) starts it: the seeded shop.
    let demo_shop = spawn_with(|c| {
        c.demo = true;
        c.demo_shop = true;
    })
    .await;
    let shots = Path::new(env!("CARGO_TARGET_TMPDIR")).join("pages-screenshots");
    let _ = std::fs::remove_dir_all(&shots);

    let run = tokio::process::Command::new("node")
        .arg("pages.mjs")
        .arg(&app.base)
        .arg(&shots)
        .current_dir(js_dir())
        .env("KEYSAT_CHROMIUM", &chromium)
        .env("KEYSAT_TEST_HOSTILE", HOSTILE)
        .env("KEYSAT_TEST_ADMIN", &app.admin_base)
        .env("KEYSAT_TEST_ADMIN_KEY", &app.admin_key)
        .env("KEYSAT_TEST_DEMO_SHOP", &demo_shop.base)
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
        .unwrap_or_else(|| panic!("no RESULT line from pages.mjs\nstdout:\n{stdout}\nstderr:\n{stderr}"));
    assert!(
        out.status.success() && result["failed"].as_array().is_some_and(|f| f.is_empty()),
        "browser scenarios failed (screenshots in {}):\n{stderr}",
        shots.display()
    );
    let passed: Vec<&str> = result["passed"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
    assert_eq!(passed, SCENARIOS, "every scenario ran and passed");

    // Every key a page showed is one this server signed, with its tier's entitlements.
    let pk = app.public_key().await;
    let keys = result["keys"].as_array().expect("keys");
    assert!(keys.len() >= 6, "{keys:?}");
    let mut seen = std::collections::HashSet::new();
    for k in keys {
        let key = k["key"].as_str().unwrap();
        let payload = keysat_client::verify(key, &pk).unwrap_or_else(|e| panic!("{k}: {e:?}"));
        let wanted: Vec<String> = serde_json::from_value(k["entitlements"].clone()).unwrap();
        assert_eq!(payload.entitlements, wanted, "{k}");
        assert!(seen.insert(key.to_string()), "the same key twice: {k}");
    }

    // Pages stay small; the screenshots are there to look at.
    for (page, bytes) in result["weights"].as_object().expect("weights") {
        let bytes = bytes.as_u64().unwrap();
        assert!(bytes < 50 * 1024, "{page}: {bytes} bytes");
        println!("{page}: {bytes} bytes transferred");
    }
    for name in [
        "storefront",
        "buy",
        "thank-you",
        "buy-no-javascript",
        "phone-buy",
        "phone-thank-you",
        "buy-dark",
        "buy-seller-terms",
        "not-found",
        "demo-checkout-fiat",
        "thank-you-revoked",
        "buy-field-error",
        "thank-you-only-copy",
        "demo-shop-storefront",
        "demo-shop-buy",
        "demo-shop-thank-you",
    ] {
        assert!(shots.join(format!("{name}.png")).exists(), "screenshot {name}.png");
    }
    demo_shop.stop().await;
    app.stop().await;
}
