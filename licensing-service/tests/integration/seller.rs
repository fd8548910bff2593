//! Issue 18: who the buyer deals with and what they keep. The seller's
//! contact, support, terms and refund policy (operator settings) and a
//! product's links and key instructions, checked and audited, shown on the
//! pages, in the `.lic` file and the public catalogue; demo mode's shop.

use serde_json::json;

use crate::common::*;
use crate::pages_support::*;

const NPUB: &str = "npub10elfcs4fr0l0r8af98jlmgdh9c8tcxjvz9qkw038js35mp4dma8qzvjptg";

/// The seller's identity as the page tests set it.
pub fn identity() -> serde_json::Value {
    json!({
        "contact_email": "help@acme.example",
        "contact_npub": NPUB,
        "support_url": "https://acme.example/support",
        "terms_url": "https://acme.example/terms",
        "refund_policy": "Full refund within 30 days."
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn seller_identity_is_checked_audited_and_kept() {
    let app = spawn_app().await;
    let s = app.admin_get("/settings").await.expect(200);
    for f in ["contact_email", "contact_npub", "support_url", "terms_url", "refund_policy"] {
        assert_eq!(s[f], json!(null), "{f} starts empty");
    }

    // Each bad value is refused by its field, and nothing of the change is written.
    for (field, bad) in [
        ("contact_email", json!("not-an-address")),
        ("contact_npub", json!("npub1nope")),
        ("support_url", json!("javascript:alert(1)")),
        ("terms_url", json!("ftp://acme.example/terms")),
        ("terms_url", json!("https://user:pw@acme.example/terms")),
        ("support_url", json!(format!("https://acme.example/{}", "x".repeat(2000)))),
        ("refund_policy", json!("x".repeat(4001))),
    ] {
        let mut body = identity();
        body[field] = bad;
        let e = app.admin_put("/settings", body).await.expect_error(422, "invalid_field");
        assert!(e["message"].as_str().unwrap().starts_with(field), "{field}: {e}");
    }
    assert_eq!(app.admin_get("/settings").await.expect(200)["contact_email"], json!(null), "nothing written");
    app.admin_put("/settings", json!({"contact_mail": "typo@acme.example"})).await.expect(400);

    // Good values are trimmed, a hex key is shown as an npub, and they are audited.
    let mut body = identity();
    body["contact_email"] = json!("  help@acme.example ");
    body["contact_npub"] = json!("7e7f9c42a91bfef19fa929e5fda1b72e0ebc1a4c1141673e2794234d86addf4e");
    let s = app.admin_put("/settings", body).await.expect(200);
    assert_eq!(s["contact_email"], "help@acme.example");
    assert!(s["contact_npub"].as_str().unwrap().starts_with("npub1"), "{s}");
    assert_eq!(s["terms_url"], "https://acme.example/terms");
    let audit = app.admin_get("/audit?action=settings.update").await.expect(200);
    let entry = audit["entries"].as_array().unwrap().iter().find(|e| e["target_id"] == "seller_identity");
    let entry = entry.unwrap_or_else(|| panic!("no audit record: {audit}"));
    assert_eq!(entry["details"]["before"]["terms_url"], json!(null));
    assert_eq!(entry["details"]["after"]["refund_policy"], "Full refund within 30 days.");

    // `null` (or blank) clears one; the others stay.
    let s = app.admin_put("/settings", json!({"support_url": null, "refund_policy": "  "})).await.expect(200);
    assert_eq!(s["support_url"], json!(null));
    assert_eq!(s["refund_policy"], json!(null));
    assert_eq!(s["contact_email"], "help@acme.example");

    // They survive a restart and are on the pages at once.
    let dir = app.stop().await;
    let app = spawn_in(dir, |_| {}).await;
    assert_eq!(app.admin_get("/settings").await.expect(200)["terms_url"], "https://acme.example/terms");
    let html = Browser::new(&app).get("/").await.text;
    assert!(html.contains(r#"href="mailto:help@acme.example""#), "{html}");
    assert!(html.contains(r#"href="https://acme.example/terms""#), "{html}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn product_links_are_checked_and_shown_where_buyers_need_them() {
    let app = spawn_with(|c| c.demo = true).await;
    for (field, bad) in [
        ("homepage_url", json!("javascript:alert(1)")),
        ("download_url", json!("not a url")),
        ("key_instructions", json!("x".repeat(2001))),
    ] {
        let body = json!({"slug": "app", "name": "App", "price_sats": 1000, field: bad});
        app.admin_post("/products", body).await.expect_error(422, "invalid_field");
    }
    assert_eq!(app.admin_get("/products/app").await.status, 404, "nothing created");
    let p = app
        .create_product(
            "app",
            json!({"homepage_url": "https://acme.example/app", "download_url": "https://acme.example/app.dmg",
                   "key_instructions": "Open App, then Help → License, and paste the key."}),
        )
        .await;
    assert_eq!(p["download_url"], "https://acme.example/app.dmg");
    app.create_policy("app", json!({"slug": "default", "price_sats": 1000})).await;

    // The public catalogue gives the links (extended, nothing renamed).
    let public = app.get("/v1/products/app").await.expect(200);
    assert_eq!(public["homepage_url"], "https://acme.example/app");
    assert_eq!(public["download_url"], "https://acme.example/app.dmg");
    let tiers = app.get("/v1/products/app/policies").await.expect(200);
    assert_eq!(tiers["product"]["download_url"], "https://acme.example/app.dmg");

    // A patch changes one, `null` clears one, absent keeps.
    app.admin_patch("/products/app", json!({"download_url": "ftp://x"})).await.expect_error(422, "invalid_field");
    let p = app.admin_patch("/products/app", json!({"homepage_url": null})).await.expect(200);
    assert_eq!(p["homepage_url"], json!(null));
    assert_eq!(p["download_url"], "https://acme.example/app.dmg");
    assert!(app.get("/v1/products/app").await.expect(200).get("homepage_url").is_none());

    // Thank-you offers the download and says what to do with the key.
    let b = Browser::new(&app);
    let bought = app.purchase(json!({"product": "app", "buyer_email": "a@b.example"})).await.expect(200);
    b.demo_checkout(bought["checkout_url"].as_str().unwrap(), "pay").await;
    let invoice = bought["invoice_id"].as_str().unwrap();
    let html = b.get(&format!("/thank-you?invoice={invoice}")).await.text;
    assert!(html.contains(r#"id="download-app" href="https://acme.example/app.dmg""#), "{html}");
    assert!(html.contains("Download Product app</a>"), "{html}");
    assert!(text_of(&html, "key-instructions").contains("Help → License"), "{html}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_lic_file_carries_the_order_the_state_and_a_recovery_hint() {
    let app = spawn_with(|c| c.demo = true).await;
    app.admin_put("/settings", identity()).await.expect(200);
    app.product_with_policy("app", json!({"price_sats": 1000})).await;
    let b = Browser::new(&app);
    let bought = app.purchase(json!({"product": "app"})).await.expect(200);
    let invoice = bought["invoice_id"].as_str().unwrap().to_string();
    // The order number is on the page from the first (waiting) moment.
    let waiting = b.get(&format!("/thank-you?invoice={invoice}")).await.text;
    assert_eq!(text_of(&waiting, "order-number"), invoice);
    b.demo_checkout(bought["checkout_url"].as_str().unwrap(), "pay").await;

    let file = b.get(&format!("/thank-you/key.lic?invoice={invoice}")).await;
    assert_eq!(file.status, 200);
    let key = keysat_client::key_in_file(&file.text).expect("a key line");
    keysat_client::verify(key, &app.public_key().await).expect("the file's key verifies");
    assert!(file.text.starts_with(&format!("{key}\n# ")), "the key is the first line:\n{}", file.text);
    assert!(file.text.contains(&format!("# Order number: {invoice}\n")), "{}", file.text);
    assert!(file.text.contains(&format!("{}/recover", app.base)), "{}", file.text);
    assert!(file.text.contains("# Questions? Contact the seller: e-mail help@acme.example"), "{}", file.text);
    assert!(file.text.lines().skip(1).all(|l| l.starts_with("# ")), "{}", file.text);

    // No e-mail or npub given: the page says it is the only copy, download first.
    let html = b.get(&format!("/thank-you?invoice={invoice}")).await.text;
    let only = html.find(r#"id="only-copy""#).unwrap_or_else(|| panic!("no warning: {html}"));
    assert!(only < html.find(r#"id="license-key""#).unwrap(), "the warning comes before the key");
    assert!(html.contains("This page is the only copy of your key."), "{html}");

    // Revoked: said on the page and in the file, never "your key is ready".
    let license = app.poll(&invoice).await["license_id"].as_str().unwrap().to_string();
    app.admin_post(&format!("/licenses/{license}/revoke"), json!({"reason": "chargeback"})).await.expect(200);
    let html = b.get(&format!("/thank-you?invoice={invoice}")).await.text;
    assert_eq!(text_of(&html, "paid-title"), "This license key is revoked");
    assert!(!html.contains("your key is ready"), "{html}");
    assert!(text_of(&html, "key-state-note").contains("no longer works"), "{html}");
    let file = b.get(&format!("/thank-you/key.lic?invoice={invoice}")).await.text;
    assert!(file.contains("# REVOKED: this key no longer works."), "{file}");
    assert_eq!(keysat_client::key_in_file(&file), Some(key), "still the same key line");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn buyer_pages_show_the_seller_and_say_what_will_happen() {
    let app = spawn_with(|c| c.demo = true).await;
    shop(&app).await;
    let b = Browser::new(&app);

    // No contact set: the pages say so rather than showing nothing.
    let html = b.get("/buy/app").await.text;
    assert!(html.contains("The seller has not published a way to contact them."), "{html}");
    assert!(html.contains("has not published terms of sale or a refund policy"), "{html}");

    app.admin_put("/settings", identity()).await.expect(200);
    for path in ["/", "/buy/app", "/redeem", "/recover", "/no/such/page"] {
        let html = b.get(path).await.text;
        let footer = &html[html.find("<footer").unwrap_or_else(|| panic!("{path}: no footer"))..];
        assert!(footer.contains(r#"href="mailto:help@acme.example""#), "{path}: {footer}");
        assert!(footer.contains(r#"href="https://acme.example/terms""#), "{path}: {footer}");
        assert!(footer.contains(r#"href="https://acme.example/support""#), "{path}: {footer}");
    }
    // The buy page shows the terms and refund policy before the pay button.
    let html = b.get("/buy/app").await.text;
    let refund = html.find("Full refund within 30 days.").expect("refund policy");
    assert!(refund < html.find(r#"id="pay""#).unwrap(), "before paying");
    assert!(html.contains(r#"id="terms-link" href="https://acme.example/terms""#), "{html}");

    // A buyer's 404 in words, with the contact; the API's stays JSON.
    let html = b.get("/no/such/page").await.text;
    assert!(html.contains("There is nothing at this address") && !html.contains("endpoint"), "{html}");
    assert!(main_of(&html).contains("mailto:help@acme.example"), "{html}");
    app.get("/v1/no-such").await.expect_error(404, "not_found");

    // A free code: the line under the button says nothing is paid.
    let html = b.get("/buy/app?tier=default&code=FREEBIE").await.text;
    assert_eq!(text_of(&html, "pay-help"), "Nothing to pay: your key is issued on the next page, at once.");

    // A field refused: marked, its message beside it, the values kept.
    let r = b
        .form(
            "/buy/app",
            &[("policy_slug", "default"), ("buyer_npub", "npub1nope"), ("buyer_note", "hi"), ("intent", "pay")],
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.text);
    assert!(r.text.contains(r#"aria-describedby="buyer_npub-error npub-help" aria-invalid="true""#), "{}", r.text);
    assert!(text_of(&r.text, "buyer_npub-error").starts_with("Nostr public key:"), "{}", r.text);
    assert!(r.text.contains(r#"value="npub1nope""#) && r.text.contains(">hi</textarea>"), "{}", r.text);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn no_payment_provider_disables_the_pay_button_and_says_why() {
    let app = spawn_app().await;
    shop(&app).await;
    let html = Browser::new(&app).get("/buy/app?tier=default&code=").await.text;
    assert!(html.contains(r#"aria-describedby="pay-help" disabled>Pay with bitcoin"#), "{html}");
    assert!(text_of(&html, "pay-help").starts_with("Paid tiers cannot be bought until the seller connects"), "{html}");
    // A free code needs no provider: the button works.
    let html = Browser::new(&app).get("/buy/app?tier=default&code=FREEBIE").await.text;
    assert!(html.contains(r#"aria-describedby="pay-help">Get my key"#), "{html}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn demo_mode_opens_a_shop_on_an_empty_data_directory_only() {
    let app = spawn_with(|c| {
        c.demo = true;
        c.demo_shop = true;
    })
    .await;
    let products = app.get("/v1/products").await.expect(200);
    assert_eq!(products.as_array().unwrap().len(), 1, "{products}");
    let tiers = app.get("/v1/products/acme-notes/policies").await.expect(200);
    let tiers = tiers["policies"].as_array().unwrap();
    assert_eq!(tiers.len(), 3);
    assert_eq!(tiers.iter().filter(|t| t["is_recurring"] == json!(true)).count(), 1);
    assert!(tiers.iter().any(|t| t["price_currency"] == "USD"));
    let codes = app.admin_get("/discount-codes?product=acme-notes").await.expect(200);
    let text = codes.to_string();
    assert!(text.contains("LAUNCH20") && text.contains("FRIEND-FREE"), "{codes}");
    let s = app.admin_get("/settings").await.expect(200);
    assert_eq!(s["contact_email"], "support@example.com");
    assert!(s["refund_policy"].is_string());
    // The storefront lists it with the featured code filled in on its buy page.
    let b = Browser::new(&app);
    assert!(b.get("/").await.text.contains("href=\"/buy/acme-notes\""));
    assert!(b.get("/buy/acme-notes").await.text.contains(r#"value="LAUNCH20""#));

    // Not seeded again, and not over an operator's own products.
    app.admin_patch("/products/acme-notes", json!({"active": false})).await.expect(200);
    let dir = app.stop().await;
    let app = spawn_in(dir, |c| {
        c.demo = true;
        c.demo_shop = true;
    })
    .await;
    assert_eq!(app.admin_get("/products").await.expect(200)["products"].as_array().map(Vec::len), Some(1));
    app.stop().await;

    // The test harness's demo (and any daemon not started by `serve --demo`) opens no shop.
    let plain = spawn_with(|c| c.demo = true).await;
    assert_eq!(plain.get("/v1/products").await.expect(200), json!([]));
    plain.stop().await;
}
