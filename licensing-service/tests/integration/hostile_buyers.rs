//! What a stranger on the internet tries against the money paths (issue 11):
//! fiat tiers for sats, someone else's Idempotency-Key, a provider invoice
//! that is not ours, unpaid checkouts by the thousand, codes locked or
//! guessed, per-buyer codes without a buyer. Each test failed before the fix.

use std::time::Duration;

use crate::common::btcpay_sim::BtcpaySim;
use crate::common::{client_from, poll, spawn_with, TestApp};
use crate::internals::Config;
use serde_json::{json, Value};

fn open(c: &mut Config) {
    c.code_rate_per_minute = 10_000;
    c.purchase_rate_per_minute = 10_000;
}

async fn post_from(app: &TestApp, client: &reqwest::Client, path: &str, key: &str, body: Value) -> (u16, Value) {
    let r = client.post(format!("{}{path}", app.base)).header("idempotency-key", key).json(&body).send().await.unwrap();
    let replayed = r.headers().get("idempotent-replayed").is_some();
    let status = r.status().as_u16();
    let mut v: Value = r.json().await.unwrap();
    v["_replayed"] = json!(replayed);
    (status, v)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_fiat_tier_is_never_had_for_sats() {
    let app = spawn_with(|c| {
        open(c);
        c.demo = true;
    })
    .await;
    // The product's price (which a tier's price_sats defaults to) is 0.
    app.product_with_policy("app", json!({"price_sats": 0})).await;
    app.create_policy("app", json!({"slug": "pro", "name": "Pro", "price_amount": "49.00", "price_currency": "USD"}))
        .await;
    // A code worth sats that could only ever apply to the fiat tier is refused when created…
    let r = app
        .admin_post(
            "/discount-codes",
            json!({"product_slug": "app", "code": "PRO-500", "kind": "fixed_sats_off", "value": 500, "policies": ["pro"]}),
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.text);
    assert!(r.text.contains("priced in fiat"), "{}", r.text);
    // …and one for the whole product is refused when applied to it, even featured.
    let welcome =
        app.create_code(json!({"code": "WELCOME-500", "kind": "fixed_sats_off", "value": 500, "featured": true})).await;
    app.purchase(json!({"product": "app", "policy_slug": "pro", "code": welcome}))
        .await
        .expect_error(422, "not_valid_for_currency");
    app.post("/v1/discount-codes/preview", json!({"product": "app", "policy_slug": "pro", "code": welcome}))
        .await
        .expect_error(422, "not_valid_for_currency");
    let html = app.get("/buy/app?tier=pro&code=WELCOME-500").await.text;
    assert!(html.contains(r#"<strong id="total-price">49.00 USD</strong>"#), "{html}");
    assert!(html.contains(">Pay with bitcoin</button>"), "{html}");

    // Without a code the fiat tier is charged its fiat price: an invoice, not a key.
    let p = app.purchase(json!({"product": "app", "policy_slug": "pro"})).await.expect(200);
    assert_eq!(p["status"], "pending");
    assert_eq!(p["price_amount"], "49.00");
    assert_eq!(p["price_currency"], "USD");
    assert!(p.get("license_key").is_none(), "{p}");
    // A percentage applies to the fiat amount; only a code that really zeroes it is free.
    app.create_code(json!({"code": "HALF-OFF", "kind": "percent_off", "value": 50})).await;
    let half = app.purchase(json!({"product": "app", "policy_slug": "pro", "code": "HALF-OFF"})).await.expect(200);
    assert_eq!(
        half["price_amount"], "24.50",
        "4900 cents less 50% (2450, exact; a fraction would round the discount down)"
    );
    assert_eq!(half["status"], "pending");
    app.create_code(json!({"code": "ON-THE-HOUSE", "kind": "free_license"})).await;
    let free = app.purchase(json!({"product": "app", "policy_slug": "pro", "code": "ON-THE-HOUSE"})).await.expect(200);
    assert_eq!(free["status"], "settled");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_idempotency_key_answers_only_its_own_request_from_its_own_client() {
    let app = spawn_with(open).await;
    app.product_with_policy("app", json!({"price_sats": 8000})).await;
    let c = app.create_code(json!({"code": "GIFT-CODE", "kind": "free_license", "max_uses": 10})).await;
    let victim = client_from(1);
    let body = json!({"product": "app", "code": c, "buyer_email": "victim@example.com"});
    let (status, first) = post_from(&app, &victim, "/v1/redeem", "order-42", body.clone()).await;
    assert_eq!(status, 200, "{first}");
    // The victim's own retry is the first answer again.
    let (_, again) = post_from(&app, &victim, "/v1/redeem", "order-42", body.clone()).await;
    assert_eq!((again["license_key"].clone(), again["_replayed"].clone()), (first["license_key"].clone(), json!(true)));

    // The same key with another body, from the same address: refused, nothing created.
    let other = json!({"product": "app", "code": c, "buyer_email": "attacker@example.com"});
    let (status, refused) = post_from(&app, &victim, "/v1/redeem", "order-42", other.clone()).await;
    assert_eq!((status, refused["error"].clone()), (422, json!("idempotency_key_reused")), "{refused}");
    assert!(refused.get("license_key").is_none());
    // The same key from another client is that client's own key: a new redemption, never the victim's answer.
    let attacker = client_from(2);
    let (status, theirs) = post_from(&app, &attacker, "/v1/redeem", "order-42", body.clone()).await;
    assert_eq!(status, 200, "{theirs}");
    assert_eq!(theirs["_replayed"], json!(false));
    assert_ne!(theirs["license_key"], first["license_key"]);
    // Purchases likewise.
    let (_, inv) = post_from(&app, &victim, "/v1/purchase", "buy-1", json!({"product": "app", "code": c})).await;
    let (_, inv2) = post_from(&app, &attacker, "/v1/purchase", "buy-1", json!({"product": "app", "code": c})).await;
    assert_ne!(inv["invoice_id"], inv2["invoice_id"]);
    // Key-carrying answers are kept by no cache.
    let r = app.get(&format!("/v1/purchase/{}", inv["invoice_id"].as_str().unwrap())).await;
    assert_eq!(r.headers["cache-control"], "no-store");
    let r = app.post("/v1/redeem", json!({"product": "app", "code": c})).await;
    assert_eq!(r.headers["cache-control"], "no-store");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_provider_invoice_for_another_amount_or_currency_settles_nothing() {
    let app = spawn_with(|c| {
        open(c);
        c.reconcile_min_age_seconds = 0;
    })
    .await;
    app.product_with_policy("app", json!({"price_sats": 8000})).await;
    let sim = BtcpaySim::start(&[("S1", "Shop")]).await;
    app.connect_btcpay(&sim, &["S1"]).await;
    // The status names the store and who made the key, so a swapped key is noticed.
    let status = app.admin_get("/btcpay/status").await.expect(200);
    assert_eq!((status["store_id"].clone(), status["key_owner"].clone()), (json!("S1"), json!("user-1")));

    let cheap = app.purchase(json!({"product": "app"})).await.expect(200);
    let cheap_id = cheap["btcpay_invoice_id"].as_str().unwrap().to_string();
    sim.tamper(&cheap_id, |i| i.amount = "80".into());
    let other_currency = app.purchase(json!({"product": "app"})).await.expect(200);
    let other_currency_id = other_currency["btcpay_invoice_id"].as_str().unwrap().to_string();
    sim.tamper(&other_currency_id, |i| i.currency = "USD".into());
    let honest = app.purchase(json!({"product": "app"})).await.expect(200);
    for id in [&cheap_id, &other_currency_id, honest["btcpay_invoice_id"].as_str().unwrap()] {
        sim.pay_and_settle(id).await;
    }
    app.reconcile().await;
    for bad in [&cheap, &other_currency] {
        let polled = app.poll(bad["invoice_id"].as_str().unwrap()).await;
        assert_ne!(polled["status"], "settled", "{polled}");
        assert!(polled["license_key"].is_null(), "{polled}");
    }
    assert_eq!(app.poll(honest["invoice_id"].as_str().unwrap()).await["status"], "settled");
    let audit = app.admin_get("/audit?action=invoice.mismatch").await.expect(200);
    let reasons: Vec<String> =
        audit["entries"].as_array().unwrap().iter().map(|e| e["details"]["reason"].to_string()).collect();
    assert_eq!(reasons.len(), 2, "{audit}");
    assert!(reasons.iter().any(|r| r.contains("80 SATS")), "{reasons:?}");
    assert!(reasons.iter().any(|r| r.contains("in USD")), "{reasons:?}");
    // Replays and later passes record nothing more.
    sim.settle(&cheap_id).await;
    app.reconcile().await;
    assert_eq!(app.admin_get("/audit?action=invoice.mismatch").await.expect(200)["entries"], audit["entries"]);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn unpaid_checkouts_are_capped_per_address_and_overall() {
    let app = spawn_with(|c| {
        open(c);
        c.demo = true;
        c.max_pending_per_address = 3;
        c.max_pending_invoices = 5;
    })
    .await;
    app.product_with_policy("app", json!({"price_sats": 8000})).await;
    let here = client_from(1);
    let buy = |client: &reqwest::Client| {
        client.post(format!("{}/v1/purchase", app.base)).json(&json!({"product": "app"})).send()
    };
    for _ in 0..3 {
        assert_eq!(buy(&here).await.unwrap().status(), 200);
    }
    let r = buy(&here).await.unwrap();
    assert_eq!(r.status(), 429);
    assert!(r.headers().contains_key("retry-after"));
    assert_eq!(r.json::<Value>().await.unwrap()["error"], "too_many_open_invoices");
    // Another buyer still can, until the shop-wide cap.
    let there = client_from(2);
    assert_eq!(buy(&there).await.unwrap().status(), 200);
    assert_eq!(buy(&there).await.unwrap().status(), 200);
    assert_eq!(buy(&client_from(3)).await.unwrap().status(), 503);
    // Nothing was written for the refused ones.
    let (n,): (i64,) = sqlx::query_as("SELECT count(*) FROM invoices").fetch_one(&app.state.db.read).await.unwrap();
    assert_eq!(n, 5);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unpaid_checkout_holds_a_limited_code_only_briefly() {
    let app = spawn_with(|c| {
        open(c);
        c.demo = true;
        c.code_hold_seconds = 1;
    })
    .await;
    app.product_with_policy("app", json!({"price_sats": 8000})).await;
    let c = app.create_code(json!({"code": "LAUNCH-3", "kind": "percent_off", "value": 50, "max_uses": 3})).await;
    for i in 0..3 {
        let who = client_from(10 + i);
        let r = who.post(format!("{}/v1/purchase", app.base)).json(&json!({"product": "app", "code": c})).send().await;
        assert_eq!(r.unwrap().status(), 200);
    }
    // Held while those checkouts are fresh…
    app.purchase(json!({"product": "app", "code": c})).await.expect_error(422, "unknown_code");
    // …then, once the holds lapse (1 s here), a paying buyer gets it. A
    // refused purchase creates nothing, so asking again is the poll.
    let p = poll(Duration::from_secs(10), || async {
        let r = app.purchase(json!({"product": "app", "code": c})).await;
        (r.status == 200).then_some(r.json)
    })
    .await
    .expect("the code is free again once the holds lapse");
    assert_eq!(p["amount_sats"], 4000);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn codes_cannot_be_guessed_or_shared_without_a_buyer() {
    let app = spawn_with(|c| {
        c.code_rate_per_minute = 5;
        c.purchase_rate_per_minute = 10_000;
    })
    .await;
    app.product_with_policy("app", json!({"price_sats": 8000})).await;
    app.create_code(json!({"code": "USED-UP1", "kind": "percent_off", "value": 10, "max_uses": 0})).await;
    // Used up and unknown read the same on the buy page.
    let used = app.get("/buy/app?code=USED-UP1").await.text;
    let unknown = app.get("/buy/app?code=NO-SUCH1").await.text;
    let note =
        |html: &str| html.split(r#"id="code-note""#).nth(1).and_then(|s| s.split("</p>").next()).map(String::from);
    assert!(note(&used).is_some_and(|n| n.contains("unknown, expired or used up")), "{used}");
    assert_eq!(note(&used), note(&unknown));
    // A code in the address is looked up like a preview: five a minute from one address.
    let mut limited = None;
    for _ in 0..5 {
        let r = app.get("/buy/app?code=GUESS-ME1").await;
        if r.status == 429 {
            limited = Some(r);
            break;
        }
    }
    let r = limited.expect("the buy page limits code look-ups");
    assert!(r.headers.contains_key("retry-after"));

    // One use per buyer means a buyer must be named.
    let other = spawn_with(open).await;
    other.product_with_policy("app", json!({"price_sats": 8000})).await;
    let once = other.create_code(json!({"code": "ONE-EACH", "kind": "free_license", "max_uses_per_buyer": 1})).await;
    other.post("/v1/redeem", json!({"product": "app", "code": once})).await.expect_error(422, "buyer_required");
    let mine = json!({"product": "app", "code": once, "buyer_email": "ada@example.com"});
    other.post("/v1/redeem", mine.clone()).await.expect(200);
    other.post("/v1/redeem", mine).await.expect_error(422, "unknown_code");
    other.stop().await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn creating_endpoints_take_json_only_and_keep_urls_clean() {
    let app = spawn_with(|c| {
        open(c);
        c.demo = true;
    })
    .await;
    app.product_with_policy("app", json!({"price_sats": 8000})).await;
    // What a form or fetch on another site can send without asking first.
    for path in ["/v1/purchase", "/v1/redeem"] {
        let r = app
            .client
            .post(format!("{}{path}", app.base))
            .header("content-type", "text/plain")
            .body(r#"{"product":"app","code":"X-CODE-1"}"#)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 415, "{path}");
    }
    let r = app.purchase(json!({"product": "app", "redirect_url": format!("{}/do\nne", app.base)})).await;
    assert_eq!(r.status, 422, "{}", r.text);
    let ok =
        app.purchase(json!({"product": "app", "redirect_url": format!("{}/done?x=a b", app.base)})).await.expect(200);
    let (stored,): (String,) = sqlx::query_as("SELECT redirect_url FROM invoices WHERE id = ?")
        .bind(ok["invoice_id"].as_str().unwrap())
        .fetch_one(&app.state.db.read)
        .await
        .unwrap();
    assert_eq!(stored, format!("{}/done?x=a%20b", app.base));
    // Admin times stay in a range a date can show.
    let r = app
        .admin_post(
            "/discount-codes",
            json!({"product_slug": "app", "kind": "free_license", "valid_until": "9223372036854775807"}),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.text);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_btcpay_connect_page_carries_the_page_security_headers() {
    let app = spawn_with(open).await;
    let r = app
        .client
        .post(format!("{}/v1/btcpay/connect/callback?state=forged", app.base))
        .form(&[("apiKey", "stolen"), ("userId", "mallory")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let h = r.headers();
    assert!(h["content-security-policy"].to_str().unwrap().contains("frame-ancestors 'none'"), "{h:?}");
    assert_eq!(h["x-frame-options"], "DENY");
    assert_eq!(h["x-content-type-options"], "nosniff");
    // A forged state connects nothing.
    assert_eq!(app.admin_get("/btcpay/status").await.expect(200)["connected"], false);
    app.stop().await;
}

/// A POST with a raw Idempotency-Key header value; (status, JSON answer).
async fn post_with_key(app: &TestApp, path: &str, key: &[u8], body: &Value) -> (u16, Value) {
    let value = reqwest::header::HeaderValue::from_bytes(key).expect("a header value");
    let r = app.client.post(format!("{}{path}", app.base)).header("idempotency-key", value).json(body).send().await;
    let r = r.unwrap();
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread")]
async fn malformed_idempotency_keys_are_400_and_create_nothing() {
    let app = spawn_with(open).await;
    app.product_with_policy("app", json!({"price_sats": 8000})).await;
    let c = app.create_code(json!({"code": "GIFT-CODE", "kind": "free_license", "max_uses": 10})).await;
    let body = json!({"product": "app", "code": c});
    // The rule: 1 to 200 visible ASCII characters.
    let too_long = "k".repeat(201);
    for key in [b"   ".as_slice(), b"has space", b"tab\there", too_long.as_bytes(), "caf\u{e9}".as_bytes()] {
        for path in ["/v1/redeem", "/v1/purchase"] {
            let (status, answer) = post_with_key(&app, path, key, &body).await;
            assert_eq!(
                (status, answer["error"].clone()),
                (400, json!("invalid_idempotency_key")),
                "{path} {:?}: {answer}",
                String::from_utf8_lossy(key)
            );
        }
    }
    assert_eq!(app.admin_get("/discount-codes/GIFT-CODE").await.expect(200)["stats"]["uses"], json!(0));
    // At the limit it is a key like any other.
    let (status, _) = post_with_key(&app, "/v1/redeem", "k".repeat(200).as_bytes(), &body).await;
    assert_eq!(status, 200);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_key_whose_first_request_is_in_flight_is_409_then_replays_the_first_answer() {
    let app = spawn_with(open).await;
    let sim = BtcpaySim::start(&[("S1", "Shop")]).await;
    app.connect_btcpay(&sim, &["S1"]).await;
    app.product_with_policy("app", json!({"price_sats": 8000})).await;
    let body = json!({"product": "app"});

    // The first request waits inside BTCPay's invoice creation.
    sim.hold_invoices();
    let first = {
        let (client, base, body) = (app.client.clone(), app.base.clone(), body.clone());
        tokio::spawn(async move {
            let r = client.post(format!("{base}/v1/purchase")).header("idempotency-key", "k-1").json(&body).send();
            let r = r.await.unwrap();
            (r.status().as_u16(), r.json::<Value>().await.unwrap())
        })
    };
    let invoice_posts =
        || sim.requests().iter().filter(|r| r.method == "POST" && r.path.ends_with("/invoices")).count();
    poll(Duration::from_secs(10), || async { (invoice_posts() == 1).then_some(()) })
        .await
        .expect("the first request reaches BTCPay");
    let (status, answer) = post_with_key(&app, "/v1/purchase", b"k-1", &body).await;
    assert_eq!((status, answer["error"].clone()), (409, json!("request_in_progress")), "{answer}");

    sim.release_invoices();
    let (status, first) = first.await.unwrap();
    assert_eq!(status, 200, "{first}");
    // Once answered, the same request gets that answer; no second invoice.
    let (status, again) = post_with_key(&app, "/v1/purchase", b"k-1", &body).await;
    assert_eq!((status, again["invoice_id"].clone()), (200, first["invoice_id"].clone()));
    assert_eq!(invoice_posts(), 1, "the 409 and the replay made no invoice");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_answer_is_replayed_only_until_the_key_is_pruned() {
    // The replay window is 24 h, shortened by `KEYSAT_UNPAID_RETENTION_SECONDS`
    // when that is shorter (prune forgets spent keys after it): 1 s here,
    // pruned every second.
    let app = spawn_with(|c| {
        open(c);
        c.retention.unpaid_seconds = 1;
        c.retention.interval_seconds = 1;
    })
    .await;
    app.product_with_policy("app", json!({"price_sats": 8000})).await;
    let c = app.create_code(json!({"code": "GIFT-CODE", "kind": "free_license", "max_uses": 10})).await;
    let body = json!({"product": "app", "code": c});
    let (status, first) = post_with_key(&app, "/v1/redeem", b"order-7", &body).await;
    assert_eq!(status, 200, "{first}");
    let stored = || async {
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM idempotency_keys")
            .fetch_one(&app.state.db.read)
            .await
            .unwrap()
    };
    assert_eq!(stored().await, 1);
    poll(Duration::from_secs(15), || async { (stored().await == 0).then_some(()) })
        .await
        .expect("the spent key is pruned after the retention");
    // Past the window, the same key is a new request: a new license.
    let (status, second) = post_with_key(&app, "/v1/redeem", b"order-7", &body).await;
    assert_eq!(status, 200, "{second}");
    assert_ne!(second["license_id"], first["license_id"]);
    assert_eq!(app.admin_get("/discount-codes/GIFT-CODE").await.expect(200)["stats"]["uses"], json!(2));
    app.stop().await;
}
