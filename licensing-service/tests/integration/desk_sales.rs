//! The operator's desk, sales: the invoice list and one invoice in full,
//! revenue against figures computed here, and what a license was paid with.

use std::collections::BTreeMap;

use crate::common::*;
use serde_json::{json, Value};

/// A purchase in demo mode; paid at once unless `pay` is false. Returns the invoice id.
pub async fn buy(app: &TestApp, body: Value, pay: bool) -> String {
    let p = app.purchase(body).await.expect(200);
    let invoice = p["invoice_id"].as_str().unwrap().to_string();
    if pay {
        let checkout = p["checkout_url"].as_str().unwrap();
        let no_redirects = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        let paid = no_redirects.post(format!("{checkout}/pay")).send().await.unwrap();
        assert_eq!(paid.status().as_u16(), 303);
        assert_eq!(app.poll(&invoice).await["status"], "settled");
    }
    invoice
}

/// A demo shop: `app` (sats: default 10 000, pro 25 000; fiat: usd 19.99 USD), `tool` (sats 3 000).
pub async fn shop() -> TestApp {
    let app = spawn_with(|c| c.demo = true).await;
    app.product_with_policy("app", json!({"price_sats": 10_000})).await;
    app.create_policy("app", json!({"slug": "pro", "name": "Pro", "price_sats": 25_000})).await;
    app.create_policy(
        "app",
        json!({"slug": "usd", "name": "Dollars", "price_sats": 1, "price_amount": "19.99", "price_currency": "USD"}),
    )
    .await;
    app.product_with_policy("tool", json!({"price_sats": 3_000})).await;
    app.create_code(json!({"code": "HALF-OFF", "kind": "percent_off", "value": 50})).await;
    app.create_code(json!({"code": "FIVE-HUNDRED", "kind": "fixed_sats_off", "value": 500})).await;
    app
}

/// One sale as this test sees it.
struct Sold {
    product: &'static str,
    tier: &'static str,
    code: Option<&'static str>,
    sats: i64,
    /// Hundredths of a dollar.
    cents: i64,
}

#[tokio::test(flavor = "multi_thread")]
async fn revenue_adds_up_sales_codes_and_fiat_tiers() {
    let app = shop().await;
    let plan = [
        Sold { product: "app", tier: "default", code: None, sats: 10_000, cents: 0 },
        Sold { product: "app", tier: "default", code: Some("HALF-OFF"), sats: 5_000, cents: 0 },
        Sold { product: "app", tier: "pro", code: Some("FIVE-HUNDRED"), sats: 24_500, cents: 0 },
        Sold { product: "app", tier: "pro", code: None, sats: 25_000, cents: 0 },
        Sold { product: "app", tier: "usd", code: None, sats: 0, cents: 1999 },
        Sold { product: "app", tier: "usd", code: None, sats: 0, cents: 1999 },
        Sold { product: "tool", tier: "default", code: None, sats: 3_000, cents: 0 },
    ];
    let from = now() - 1;
    for (n, s) in plan.iter().enumerate() {
        let mut body = json!({"product": s.product, "policy_slug": s.tier, "buyer_email": format!("b{n}@example.com")});
        if let Some(c) = s.code {
            body["code"] = json!(c);
        }
        buy(&app, body, true).await;
    }
    // Neither a pending nor an expired invoice is revenue.
    buy(&app, json!({"product": "app"}), false).await;
    let to = now() + 2;

    let r = app.admin_get(&format!("/revenue?from={from}&to={to}&group_by=tier")).await.expect(200);
    let total_sats: i64 = plan.iter().map(|s| s.sats).sum();
    assert_eq!(r["totals"]["sales"], plan.len());
    assert_eq!(r["totals"]["sats"], total_sats);
    let cents: i64 = plan.iter().map(|s| s.cents).sum();
    let usd = format!("{}.{:02}", cents / 100, cents % 100);
    assert_eq!(r["totals"]["fiat"], json!([{"currency": "USD", "amount": usd}]));
    assert_eq!(r["totals"]["refunded_sats"], 0);
    let mut by_tier: BTreeMap<String, (i64, i64)> = BTreeMap::new();
    for s in &plan {
        let e = by_tier.entry(format!("{}/{}", s.product, s.tier)).or_default();
        e.0 += 1;
        e.1 += s.sats;
    }
    let groups = r["groups"].as_array().unwrap();
    assert_eq!(groups.len(), by_tier.len(), "{r}");
    for g in groups {
        let (sales, sats) = by_tier[g["key"].as_str().unwrap()];
        assert_eq!((g["sales"].as_i64().unwrap(), g["sats"].as_i64().unwrap()), (sales, sats), "{g}");
    }

    let r = app.admin_get(&format!("/revenue?from={from}&to={to}&group_by=code")).await.expect(200);
    let code_of = |k: &Value| r["groups"].as_array().unwrap().iter().find(|g| &g["key"] == k).cloned().unwrap();
    assert_eq!(code_of(&json!("HALF-OFF"))["sats"], 5_000);
    assert_eq!(code_of(&json!("FIVE-HUNDRED"))["sats"], 24_500);
    assert_eq!(code_of(&Value::Null)["sales"], 5);
    let r = app.admin_get(&format!("/revenue?from={from}&to={to}&group_by=day")).await.expect(200);
    assert_eq!(r["groups"][0]["key"], chrono_day(now()));
    assert_eq!(r["groups"].as_array().unwrap().iter().map(|g| g["sats"].as_i64().unwrap()).sum::<i64>(), total_sats);
    // A period before the sales holds none.
    let r = app.admin_get(&format!("/revenue?from={}&to={from}", from - 86_400)).await.expect(200);
    assert_eq!((r["totals"]["sales"].as_i64(), r["totals"]["sats"].as_i64()), (Some(0), Some(0)));

    app.admin_get("/revenue?group_by=year").await.expect_error(400, "invalid_request");
    app.admin_get(&format!("/revenue?from={to}&to={from}")).await.expect_error(400, "invalid_request");
}

fn chrono_day(t: i64) -> String {
    let days = t.div_euclid(86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

#[tokio::test(flavor = "multi_thread")]
async fn invoices_are_listed_filtered_and_shown_in_full() {
    let app = shop().await;
    let a = buy(&app, json!({"product": "app", "buyer_email": "Ann@Example.com", "code": "HALF-OFF"}), true).await;
    let b = buy(&app, json!({"product": "tool", "buyer_email": "bob@example.com"}), true).await;
    let c = buy(&app, json!({"product": "app", "policy_slug": "usd"}), false).await;

    let ids = |v: &Value| -> Vec<String> {
        v["invoices"].as_array().unwrap().iter().map(|i| i["invoice_id"].as_str().unwrap().to_string()).collect()
    };
    assert_eq!(ids(&app.admin_get("/invoices").await.expect(200)), [c.as_str(), b.as_str(), a.as_str()]);
    assert_eq!(ids(&app.admin_get("/invoices?state=settled").await.expect(200)), [b.as_str(), a.as_str()]);
    assert_eq!(ids(&app.admin_get("/invoices?state=pending").await.expect(200)), [c.as_str()]);
    assert_eq!(ids(&app.admin_get("/invoices?product=tool").await.expect(200)), [b.as_str()]);
    assert_eq!(ids(&app.admin_get("/invoices?product=app&tier=usd").await.expect(200)), [c.as_str()]);
    assert_eq!(ids(&app.admin_get("/invoices?code=half-off").await.expect(200)), [a.as_str()]);
    assert_eq!(ids(&app.admin_get("/invoices?buyer=ann@example.com").await.expect(200)), [a.as_str()]);
    assert_eq!(ids(&app.admin_get("/invoices?provider=simulated&limit=2").await.expect(200)).len(), 2);
    let page = app.admin_get("/invoices?limit=2").await.expect(200);
    let next = page["next_cursor"].as_str().unwrap();
    assert_eq!(ids(&app.admin_get(&format!("/invoices?limit=2&cursor={next}")).await.expect(200)), [a.as_str()]);
    assert!(ids(&app.admin_get(&format!("/invoices?from={}", now() + 60)).await.expect(200)).is_empty());

    let d = app.admin_get(&format!("/invoices/{a}")).await.expect(200);
    assert_eq!(d["status"], "settled");
    assert_eq!(d["code"], "HALF-OFF");
    assert_eq!(d["amount_sats"], 5_000);
    assert_eq!(d["provider_invoice"]["state"], "settled");
    assert_eq!(d["provider_invoice"]["charged_amount"], "5000");
    assert_eq!(d["deliveries"], json!([]));
    let license = &d["license"];
    assert_eq!(license["invoice_id"], a);
    assert_eq!(license["product_name"], "Product app");
    assert_eq!(license["policy_name"], "Default");
    assert_eq!(license["amount_paid_sats"], 5_000);
    assert_eq!(license["code"], "HALF-OFF");
    assert_eq!(d["license_id"], license["license_id"]);
    let pending = app.admin_get(&format!("/invoices/{c}")).await.expect(200);
    assert_eq!((pending["license"].clone(), pending["price_amount"].clone()), (Value::Null, json!("19.99")));

    // The license list carries what each was paid with.
    let list = app.admin_get("/licenses").await.expect(200);
    let of = |inv: &str| list["licenses"].as_array().unwrap().iter().find(|l| l["invoice_id"] == inv).cloned().unwrap();
    assert_eq!((of(&b)["amount_paid_sats"].clone(), of(&b)["code"].clone()), (json!(3_000), Value::Null));

    app.admin_get("/invoices/nope").await.expect_error(404, "not_found");
    app.admin_get("/invoices?state=paid").await.expect_error(400, "invalid_request");
    app.admin_get("/invoices?code=NO-SUCH").await.expect_error(404, "not_found");
    app.admin_get("/invoices?tier=usd").await.expect_error(400, "invalid_request");
    app.admin_get("/invoices?buyer=nobody").await.expect_error(400, "invalid_request");
}
