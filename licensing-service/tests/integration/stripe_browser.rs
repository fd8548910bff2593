//! Both rails on one buy page, in headless Chromium (Debian `chromium`,
//! driven by `tests/js/two-rails.mjs` through npm `playwright-core`): the
//! server in demo mode (bitcoin simulated) with Stripe's simulator connected.
//! "Pay with bitcoin" comes first, "Pay by card" goes away on a bitcoin-only
//! tier, and each button ends in a key this server signed.

use std::path::Path;
use std::time::Duration;

use crate::common::stripe_sim::{StripeSim, SECRET_KEY};
use crate::common::*;
use serde_json::{json, Value};

#[tokio::test(flavor = "multi_thread")]
async fn both_rails_on_one_buy_page_in_chromium() {
    let chromium = std::env::var("KEYSAT_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".to_string());
    assert!(Path::new(&chromium).exists(), "{chromium} is missing: apt-get install -y chromium");
    let sim = StripeSim::start().await;
    let url = url::Url::parse(&sim.base).unwrap();
    let app = spawn_with(|c| {
        c.demo = true;
        c.stripe_api_url = url;
    })
    .await;
    app.admin_post("/stripe/connect", json!({"secret_key": SECRET_KEY})).await.expect(200);
    app.create_product("app", json!({})).await;
    app.create_policy("app", json!({"slug": "card", "name": "Card", "price_amount": "49.00", "price_currency": "USD"}))
        .await;
    app.create_policy("app", json!({"slug": "sats", "name": "Sats", "price_sats": 21_000})).await;

    let run = tokio::process::Command::new("node")
        .arg("two-rails.mjs")
        .arg(&app.base)
        .arg(&sim.base)
        .current_dir(js_dir())
        .env("KEYSAT_CHROMIUM", &chromium)
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(Duration::from_secs(180), run).await.expect("within 3 minutes").expect("node runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let result: Value = stdout
        .lines()
        .find_map(|l| l.strip_prefix("RESULT "))
        .and_then(|j| serde_json::from_str(j).ok())
        .unwrap_or_else(|| panic!("no RESULT line\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr)));
    assert!(out.status.success(), "scenarios failed: {result:#}");
    assert_eq!(result["passed"], json!(["both_rails_bitcoin_first", "pay_by_card", "pay_with_bitcoin"]));
    let pk = app.public_key().await;
    for k in result["keys"].as_array().unwrap() {
        keysat_client::verify(k["key"].as_str().unwrap(), &pk).unwrap_or_else(|e| panic!("{k}: {e:?}"));
    }
    let card = app.admin_get("/invoices?provider=stripe&state=settled").await.expect(200);
    assert_eq!(card["invoices"].as_array().unwrap().len(), 1, "{card}");
    assert_eq!(card["invoices"][0]["buyer_email"], "card@example.com");
    app.stop().await;
}
