//! The buyer pages over plain HTTP: what each page shows, the whole sale
//! without JavaScript, escaping of hostile content, the security headers,
//! refused cross-site forms, friendly errors and page weight. (The same
//! pages in a real browser: `pages_browser.rs`.)

use crate::common::*;
use crate::internals::Config;
use crate::pages_support::*;
use serde_json::json;

fn demo(c: &mut Config) {
    c.demo = true;
}

/// Asserts a 200 HTML page and returns it.
#[track_caller]
fn page(r: Reply) -> String {
    assert_eq!(r.status, 200, "{}", r.text);
    let ctype = r.headers["content-type"].to_str().unwrap();
    assert!(ctype.starts_with("text/html"), "{ctype}");
    r.text
}

#[tokio::test(flavor = "multi_thread")]
async fn storefront_lists_active_products_with_their_starting_price() {
    let app = spawn_with(demo).await;
    let b = Browser::new(&app);
    assert!(page(b.get("/").await).contains("Nothing is on sale yet"));

    shop(&app).await;
    app.product_with_policy("solo", json!({"price_sats": 5_000})).await;
    app.product_with_policy("gone", json!({})).await;
    app.admin_patch("/products/gone", json!({"active": false})).await.expect(200);
    let html = page(b.get("/").await);
    assert!(html.contains("Acme Editor") && html.contains("Edits text, fast."), "{html}");
    assert!(html.contains("href=\"/buy/app\"") && html.contains("href=\"/buy/solo\""), "{html}");
    // The cheapest tiers start the range, each in the unit it is charged in
    // (the free trial said as such); one tier is just its price.
    assert!(html.contains("Free tier · from 10,000 sats or 99.00 USD"), "{html}");
    assert!(html.contains(">5,000 sats<"), "{html}");
    assert!(!html.contains("Product gone") && !html.contains("/buy/gone"), "inactive product listed: {html}");
    // JSON clients still get the service description.
    assert_eq!(app.get("/").await.expect(200)["service"], "keysat");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn buy_page_shows_each_public_tier_and_the_featured_code() {
    let app = spawn_with(demo).await;
    shop(&app).await;
    let b = Browser::new(&app);
    let html = page(b.get("/buy/app").await);
    for text in [
        "Acme Editor",
        "One year",
        "10,000 sats",
        "1 year",
        "2 machines",
        "Pro features",
        "Lifetime",
        "99.00 USD",
        "in bitcoin at the rate of the day",
        "3 machines",
        "Cloud sync",
        "Free trial · 2 weeks",
        "1 machine",
        "Recommended",
    ] {
        assert!(html.contains(text), "missing {text:?}: {html}");
    }
    assert!(!html.contains("Secret tier") && !html.contains("Retired tier"), "non-public tier shown: {html}");
    // A fiat tier is priced in its currency alone: its price_sats is never shown or charged.
    assert!(!html.contains("30,000 sats"), "{html}");
    // Tiers in rank order; the highlighted one is chosen to begin with.
    let order: Vec<usize> = ["One year", "Lifetime", "Trial"].iter().map(|t| html.find(t).unwrap()).collect();
    assert!(order[0] < order[1] && order[1] < order[2], "{order:?}");
    assert!(html.contains(r#"id="tier-lifetime" value="lifetime" checked"#), "{html}");
    assert!(html.contains(r#"<div class="tier highlighted">"#), "{html}");
    // The featured code is filled in and priced: 20% off 99.00 USD.
    assert!(html.contains("Offer: code SPRING gives 20% off"), "{html}");
    assert!(html.contains(r#"name="code" value="SPRING""#), "{html}");
    assert_eq!(text_of(&html, "total-price"), "79.20 USD");
    assert_eq!(text_of(&html, "total-was"), "99.00 USD");

    // A link may choose the tier and the code.
    let html = page(b.get("/buy/app?tier=default&code=").await);
    assert!(html.contains(r#"id="tier-default" value="default" checked"#), "{html}");
    assert_eq!(text_of(&html, "total-price"), "10,000 sats");
    assert!(!html.contains("Offer:"), "{html}");
    let html = page(b.get("/buy/app?tier=trial").await);
    assert_eq!(text_of(&html, "pay"), "Get my key");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn code_preview_works_by_plain_form_submit() {
    let app = spawn_with(demo).await;
    shop(&app).await;
    let b = Browser::new(&app);
    let fields = [
        ("policy_slug", "default"),
        ("code", "spring"),
        ("buyer_email", "ada@example.com"),
        ("buyer_note", "for the team"),
        ("intent", "preview"),
    ];
    let html = page(b.form("/buy/app", &fields).await);
    assert_eq!(text_of(&html, "total-price"), "8,000 sats");
    assert_eq!(text_of(&html, "total-was"), "10,000 sats");
    assert!(html.contains("Code SPRING: 20% off."), "{html}");
    // What the buyer typed is kept.
    assert!(html.contains(r#"value="ada@example.com""#) && html.contains(">for the team</textarea>"), "{html}");
    assert!(html.contains(r#"id="tier-default" value="default" checked"#), "{html}");

    let html =
        page(b.form("/buy/app", &[("policy_slug", "default"), ("code", "NOPE-NOPE"), ("intent", "preview")]).await);
    assert!(html.contains("This code is unknown, expired or used up."), "{html}");
    assert_eq!(text_of(&html, "total-price"), "10,000 sats");
    // The free-license code makes the tier free.
    let html =
        page(b.form("/buy/app", &[("policy_slug", "default"), ("code", "FREEBIE"), ("intent", "preview")]).await);
    assert_eq!(text_of(&html, "total-price"), "0 sats");
    assert_eq!(text_of(&html, "pay"), "Get my key");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_whole_sale_without_javascript() {
    let app = spawn_with(demo).await;
    shop(&app).await;
    let b = Browser::new(&app);
    let pk = app.public_key().await;

    let r =
        b.form("/buy/app", &[("policy_slug", "default"), ("buyer_email", "ada@example.com"), ("intent", "pay")]).await;
    assert_eq!(r.status, 303, "{}", r.text);
    let checkout = location(&r);
    assert!(checkout.starts_with(&format!("{}/demo/checkout/", app.base)), "{checkout}");

    // Before paying, a thank-you page waits and refreshes itself.
    let waiting = app.post("/v1/purchase", json!({"product": "app", "policy_slug": "default"})).await.expect(200);
    let invoice_id = waiting["invoice_id"].as_str().unwrap().to_string();
    let html = page(b.get(&format!("/thank-you?invoice={invoice_id}")).await);
    assert!(html.contains(r#"<noscript><meta http-equiv="refresh" content="5"></noscript>"#), "{html}");
    assert!(html.contains(r#"data-stage="waiting_for_payment""#), "{html}");
    assert!(html.contains("Open the payment page"), "{html}");

    // Pay: the checkout sends the buyer back to the thank-you page, which has the key.
    let back = b.demo_checkout(&checkout, "pay").await;
    assert!(back.starts_with(&format!("{}/thank-you?invoice=", app.base)), "{back}");
    let r = app.send(reqwest::Client::new().get(&back).header("accept", "text/html")).await;
    assert_eq!(r.headers["cache-control"], "private, no-store");
    let html = page(r);
    assert!(html.contains(r#"data-stage="paid""#) && !html.contains("http-equiv=\"refresh\""), "{html}");
    let key = text_of(&html, "license-key").to_string();
    let payload = keysat_client::verify(&key, &pk).expect("the page's key verifies");
    assert_eq!(payload.entitlements, vec!["pro".to_string()]);
    assert_eq!(text_of(&html, "key-seats"), "2 machines");
    assert!(!text_of(&html, "key-expires").is_empty());

    // The .lic download is the same key.
    let id = back.rsplit('=').next().unwrap();
    let r = b.get(&format!("/thank-you/key.lic?invoice={id}")).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.headers["content-disposition"], "attachment; filename=\"app.lic\"");
    assert!(r.headers["content-type"].to_str().unwrap().starts_with("text/plain"));
    assert_eq!(keysat_client::key_in_file(&r.text), Some(key.as_str()));
    // No key yet, no file.
    assert_eq!(b.get(&format!("/thank-you/key.lic?invoice={invoice_id}")).await.status, 404);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn expired_checkout_offers_to_start_again_and_free_tiers_skip_it() {
    let app = spawn_with(demo).await;
    shop(&app).await;
    let b = Browser::new(&app);
    let r = b.form("/buy/app", &[("policy_slug", "lifetime"), ("intent", "pay")]).await;
    let back = b.demo_checkout(&location(&r), "expire").await;
    let html = page(app.send(reqwest::Client::new().get(&back).header("accept", "text/html")).await);
    assert!(html.contains(r#"data-stage="expired""#), "{html}");
    assert!(html.contains(r#"<a class="button" href="/buy/app">Start again</a>"#), "{html}");

    // Nothing to pay (a free tier, or a free-license code): straight to the key.
    for fields in [[("policy_slug", "trial"), ("code", "")], [("policy_slug", "default"), ("code", "FREEBIE")]] {
        let mut all = fields.to_vec();
        all.push(("intent", "pay"));
        let r = b.form("/buy/app", &all).await;
        let to = location(&r);
        assert!(to.starts_with(&format!("{}/thank-you?invoice=", app.base)), "{to}");
        let html = page(app.send(reqwest::Client::new().get(&to).header("accept", "text/html")).await);
        assert!(text_of(&html, "license-key").starts_with("LIC1-"), "{html}");
    }
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_input_shows_the_form_again_with_the_reason() {
    let app = spawn_with(demo).await;
    shop(&app).await;
    let b = Browser::new(&app);
    let r = b.form("/buy/app", &[("policy_slug", "default"), ("buyer_email", "not-an-email"), ("intent", "pay")]).await;
    assert_eq!(r.status, 422);
    assert!(r.text.contains("Email: &#39;not-an-email&#39; is not an e-mail address."), "{}", r.text);
    assert!(r.text.contains(r#"value="not-an-email""#), "{}", r.text);
    let r = b.form("/buy/app", &[("policy_slug", "default"), ("buyer_npub", "npub1nope"), ("intent", "pay")]).await;
    assert_eq!(r.status, 422);
    assert!(r.text.contains("is not an npub"), "{}", r.text);
    let r = b.form("/buy/app", &[("policy_slug", "hidden"), ("intent", "pay")]).await;
    assert_eq!(r.status, 404);
    assert!(r.text.contains("has no tier"), "{}", r.text);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn payments_not_connected_is_said_on_the_page() {
    let app = spawn_app().await;
    shop(&app).await;
    let b = Browser::new(&app);
    assert!(page(b.get("/buy/app").await).contains("has not connected a payment provider"));
    let r = b.form("/buy/app", &[("policy_slug", "default"), ("intent", "pay")]).await;
    assert_eq!(r.status, 503);
    assert!(r.text.contains("Payments are not set up yet") && r.text.contains("id=\"buy-form\""), "{}", r.text);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn redeem_page_turns_a_free_code_into_a_key() {
    let app = spawn_with(demo).await;
    shop(&app).await;
    let b = Browser::new(&app);
    let html = page(b.get("/redeem?code=FREEBIE&product=app").await);
    assert!(html.contains(r#"value="FREEBIE""#) && html.contains(r#"<option value="app" selected>"#), "{html}");

    let r = b.form("/redeem", &[("product", "app"), ("code", "freebie"), ("buyer_email", "bo@example.com")]).await;
    assert_eq!(r.status, 303, "{}", r.text);
    let html = page(b.get(&location(&r)).await);
    let key = text_of(&html, "license-key");
    keysat_client::verify(key, &app.public_key().await).expect("redeemed key verifies");

    let r = b.form("/redeem", &[("product", "app"), ("code", "SPRING")]).await;
    assert_eq!(r.status, 422);
    assert!(r.text.contains("gives a discount, not a free license"), "{}", r.text);
    let r = b.form("/redeem", &[("product", "app"), ("code", "NOPE-NOPE")]).await;
    assert_eq!(r.status, 422);
    assert!(r.text.contains("This code is unknown, expired or used up."), "{}", r.text);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn recover_finds_the_key_and_tells_nothing_else() {
    let app = spawn_with(|c| {
        c.demo = true;
        c.purchase_rate_per_minute = 12;
    })
    .await;
    shop(&app).await;
    let b = Browser::new(&app);
    // NIP-19's example key.
    let npub = "npub10elfcs4fr0l0r8af98jlmgdh9c8tcxjvz9qkw038js35mp4dma8qzvjptg";
    let fields =
        [("policy_slug", "default"), ("buyer_email", "Ada@Example.com"), ("buyer_npub", npub), ("intent", "pay")];
    let r = b.form("/buy/app", &fields).await;
    let back = b.demo_checkout(&location(&r), "pay").await;
    let id = back.rsplit('=').next().unwrap().to_string();
    assert!(page(b.get("/recover").await).contains("Find my key"));

    // The email in any case, or the npub (bech32 or hex): back to the key.
    let hex = "7e7e9c42a91bfef19fa929e5fda1b72e0ebc1a4c1141673e2794234d86addf4e";
    for contact in ["ada@example.com", " ADA@EXAMPLE.COM ", npub, hex] {
        let r = b.form("/recover", &[("invoice", &id), ("contact", contact)]).await;
        assert_eq!(r.status, 303, "{contact}: {}", r.text);
        assert_eq!(location(&r), format!("/thank-you?invoice={id}"));
    }
    // Every miss looks the same: wrong contact, unknown or malformed order number.
    let unknown = "00000000-0000-4000-8000-000000000000";
    let misses = [(id.as_str(), "eve@example.com"), (unknown, "ada@example.com"), ("garbage", "ada@example.com")];
    let mut answers = Vec::new();
    for (invoice, contact) in misses {
        let r = b.form("/recover", &[("invoice", invoice), ("contact", contact)]).await;
        assert_eq!(r.status, 200);
        let body = main_of(&r.text).replace(invoice, "").replace(contact, "");
        assert!(body.contains("We found no key for this order number"), "{body}");
        answers.push(body);
    }
    assert!(answers.windows(2).all(|w| w[0] == w[1]), "{answers:#?}");

    // Keys by Nostr DM: one answer whether or not anything was bought with the npub.
    assert!(page(b.get("/recover").await).contains("Send my keys by Nostr DM"));
    let other = "npub180cvv07tjdrrgpa0j7j7tmnyl2yr6yr7l8j4s3evf6u64th6gkwsyjh6w6";
    let mut dm_answers = Vec::new();
    for who in [npub, other] {
        let r = b.form("/recover/npub", &[("npub", who)]).await;
        assert_eq!(r.status, 200, "{}", r.text);
        let body = main_of(&r.text).to_string();
        assert!(body.contains("a Nostr direct message listing them is on its way"), "{body}");
        dm_answers.push(body);
    }
    assert_eq!(dm_answers[0], dm_answers[1]);
    let r = b.form("/recover/npub", &[("npub", "<b>not-an-npub</b>")]).await;
    assert_eq!(r.status, 422);
    assert!(r.text.contains("is not an npub") && !r.text.contains("<b>not-an-npub</b>"), "{}", r.text);
    // Only the npub that bought something gets a message queued.
    let queued: Vec<String> = sqlx::query_scalar("SELECT recipient FROM nostr_messages WHERE kind = 'recovery'")
        .fetch_all(&app.state.db.read)
        .await
        .unwrap();
    assert_eq!(queued, vec![hex.to_string()]);

    // Limited per client address (with purchases): 12 a minute.
    let mut limited = None;
    for i in 0..12 {
        let r = b.form("/recover", &[("invoice", unknown), ("contact", "x@example.com")]).await;
        if r.status == 429 {
            limited = Some((i, r));
            break;
        }
    }
    let (_, r) = limited.expect("rate limited");
    assert!(r.text.contains("Too many attempts"), "{}", r.text);
    assert!(r.headers["retry-after"].to_str().unwrap().parse::<u64>().unwrap() <= 60);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn hostile_content_is_shown_as_text_on_every_page() {
    let app = spawn_with(demo).await;
    hostile_shop(&app).await;
    let b = Browser::new(&app);
    let r = b.form("/buy/evil", &[("buyer_note", HOSTILE), ("intent", "pay")]).await;
    let back = b.demo_checkout(&location(&r), "pay").await;
    let invoice = back.rsplit('=').next().unwrap().to_string();
    let q = urlencode(HOSTILE);

    let mut pages = vec![
        ("/".to_string(), 200),
        ("/buy/evil".to_string(), 200),
        (format!("/buy/evil?tier={q}&code={q}"), 200),
        (format!("/thank-you?invoice={invoice}"), 200),
        (format!("/thank-you?invoice={q}"), 404),
        (format!("/redeem?code={q}&product={q}&policy_slug={q}&buyer_email={q}"), 200),
        ("/recover".to_string(), 200),
        (format!("/buy/{q}"), 404),
        (format!("/no/{q}"), 404),
    ];
    let mut answers = Vec::new();
    for (path, status) in pages.drain(..) {
        let r = b.get(&path).await;
        assert_eq!(r.status.as_u16(), status, "{path}: {}", r.text);
        answers.push((path, r.text));
    }
    for (path, fields) in [
        ("/buy/evil", vec![("code", HOSTILE), ("buyer_email", HOSTILE), ("buyer_npub", HOSTILE), ("intent", "pay")]),
        ("/buy/evil", vec![("policy_slug", HOSTILE), ("code", HOSTILE), ("intent", "preview")]),
        ("/redeem", vec![("product", HOSTILE), ("code", HOSTILE), ("buyer_email", HOSTILE)]),
        ("/recover", vec![("invoice", HOSTILE), ("contact", HOSTILE)]),
    ] {
        answers.push((format!("POST {path}"), b.form(path, &fields).await.text));
    }
    for (what, html) in &answers {
        assert!(!html.contains("<script>alert"), "{what}: unescaped script: {html}");
        assert!(!html.contains("\"pwned\""), "{what}: unescaped quote: {html}");
        assert!(!html.contains("href=\"javascript:") && !html.contains("src=\"javascript:"), "{what}: {html}");
        assert_eq!(html.matches("<script").count(), 1, "{what}: only our own script tag: {html}");
    }
    // And the text is there, escaped.
    let shown = escaped(HOSTILE);
    for (what, html) in &answers[..5] {
        assert!(html.contains(&shown), "{what}: {html}");
    }
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn forms_posted_from_another_site_are_refused() {
    let app = spawn_with(demo).await;
    shop(&app).await;
    let b = Browser::new(&app);
    let buy = [("policy_slug", "default"), ("intent", "pay")];
    let host = app.base.trim_start_matches("http://").to_string();
    for headers in [
        vec![("origin", "https://evil.example")],
        vec![("origin", "null")],
        vec![("sec-fetch-site", "cross-site"), ("origin", app.base.as_str())],
        vec![("sec-fetch-site", "same-site")],
        vec![("origin", "http://127.0.0.1:1")],
    ] {
        for (path, fields) in [("/buy/app", &buy[..]), ("/redeem", &[("product", "app"), ("code", "FREEBIE")][..])] {
            let r = b.form_with(path, fields, &headers).await;
            assert_eq!(r.status, 403, "{path} {headers:?}: {}", r.text);
            assert!(r.text.contains("sent from another site"), "{}", r.text);
        }
        let r = b.form_with("/recover", &[("invoice", "x"), ("contact", "y")], &headers).await;
        assert_eq!(r.status, 403, "/recover {headers:?}");
        let r = b.form_with("/recover/npub", &[("npub", "x")], &headers).await;
        assert_eq!(r.status, 403, "/recover/npub {headers:?}");
    }
    // Our own pages (by either header), another address of this server, and programs: accepted.
    let other_address = format!("http://{}", host.replace("127.0.0.1", "localhost"));
    for headers in [
        vec![("sec-fetch-site", "same-origin")],
        vec![("origin", app.base.as_str())],
        vec![("origin", other_address.as_str()), ("host", host.replace("127.0.0.1", "localhost").as_str())],
        vec![],
    ] {
        let r = b.form_with("/buy/app", &buy, &headers).await;
        assert_eq!(r.status, 303, "{headers:?}: {}", r.text);
    }
    // The refused posts created nothing: no free license was redeemed.
    assert_eq!(app.stats().await["licenses"], 0);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn security_headers_and_friendly_errors_on_every_page() {
    let app = spawn_with(demo).await;
    shop(&app).await;
    let b = Browser::new(&app);
    let paths = [
        "/",
        "/buy/app",
        "/redeem",
        "/recover",
        "/thank-you?invoice=00000000-0000-4000-8000-000000000000",
        "/thank-you",
        "/buy/unknown",
        "/nothing/here",
        "/static/keysat.css",
        "/static/keysat.js",
        "/favicon.ico",
    ];
    for path in paths {
        let r = b.get(path).await;
        let h = &r.headers;
        let csp = h["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("default-src 'self'") && csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        assert!(!csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"), "{csp}");
        assert_eq!(h["referrer-policy"], "same-origin", "{path}");
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(h["x-frame-options"], "DENY", "{path}");
        if r.status == 404 {
            assert!(h["content-type"].to_str().unwrap().starts_with("text/html"), "{path}");
            assert!(r.text.contains("Page not found") && r.text.contains("href=\"/\""), "{path}: {}", r.text);
        }
    }
    // A malformed query gets the error page too.
    let r = b.get("/buy/app?tier=a&tier=b").await;
    assert_eq!(r.status, 400);
    assert!(r.text.contains("That did not work"), "{}", r.text);
    // The pages carry no inline script or style for the CSP to block.
    for path in ["/", "/buy/app", "/redeem", "/recover"] {
        let html = b.get(path).await.text;
        assert!(!html.contains("<style") && !html.contains(" style="), "{path}");
        assert!(html.matches("<script").count() == 1 && html.contains("<script src=\"/static/keysat.js?v="), "{path}");
    }
    // Programs keep the JSON envelope, even for a page's address.
    app.get("/buy/unknown").await.expect_error(404, "not_found");
    app.get("/nothing/here").await.expect_error(404, "not_found");
    let r = b.get("/v1/nothing").await;
    assert_eq!(r.status, 404);
    assert_eq!(r.json["error"], "not_found", "the API stays JSON for browsers too");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn every_page_weighs_under_50_kb_with_its_assets() {
    let app = spawn_with(demo).await;
    shop(&app).await;
    let b = Browser::new(&app);
    let r = b.form("/buy/app", &[("policy_slug", "default"), ("intent", "pay")]).await;
    let back = b.demo_checkout(&location(&r), "pay").await;
    let thank_you = back.trim_start_matches(&app.base).to_string();
    let mut assets = 0;
    for path in ["/static/keysat.css", "/static/keysat.js", "/static/icon.svg"] {
        assets += b.get(path).await.text.len();
    }
    for path in ["/", "/buy/app", thank_you.as_str(), "/redeem", "/recover", "/nothing"] {
        let html = b.get(path).await.text.len();
        assert!(html + assets < 50 * 1024, "{path}: {html} + {assets} bytes");
        println!("{path}: {html} bytes of HTML + {assets} bytes of assets");
    }
    app.stop().await;
}
