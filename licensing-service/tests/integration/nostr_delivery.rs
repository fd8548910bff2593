//! Nostr delivery against a real relay in-process: a buyer receives their
//! key by NIP-17 DM and verifies it offline; a relay that is down at issuance
//! gets it once it is back; the operator hears of sales; recover by npub.

use crate::common::*;
use crate::delivery_support::*;
use crate::internals::{operator, Config, NoticeKind, RetrySchedule};
use nostr_sdk::{Kind, ToBech32};
use serde_json::{json, Value};

/// Nostr messages retried every second.
fn fast(c: &mut Config) {
    c.nostr_retry = RetrySchedule::parse("1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s").unwrap();
}

/// Polls the license's details until its DM reaches `state`.
async fn delivery_state(app: &TestApp, license_id: &str, state: &str) -> Value {
    poll(WAIT, || async {
        let d = app.license(license_id).await["nostr_delivery"].clone();
        (d["state"] == state).then_some(d)
    })
    .await
    .unwrap_or_else(|| panic!("the DM never reached {state}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn buyer_receives_the_key_by_dm_and_verifies_it() {
    let relay = start_relay(None).await;
    let app = spawn_with(fast).await;
    let nostr = use_relays(&app, &[&relay.url]).await;
    assert!(nostr["npub"].as_str().unwrap().starts_with("npub1"), "{nostr}");
    assert_eq!(nostr["relays"][0]["url"], relay.url.as_str());
    assert_eq!(nostr["relays"][0]["status"], "connected", "{nostr}");
    app.admin_put("/settings", json!({"operator_name": "Ada Software"})).await.expect(200);
    app.product_with_policy("app", json!({"entitlements": [], "duration_seconds": 86_400})).await;

    let buyer = NostrUser::new(&relay.url).await;
    let issued = app.issue(json!({"product_slug": "app", "buyer_npub": buyer.npub()})).await;
    let id = issued["license_id"].as_str().unwrap();
    let d = delivery_state(&app, id, "delivered").await;
    assert_eq!(d["recipient_npub"], buyer.npub());
    assert_eq!(d["relays_accepted"], json!([relay.url]));
    assert!(d["delivered_at"].is_string() && d["last_error"].is_null(), "{d}");

    let dms = buyer.wait_for_dms(1, WAIT).await;
    assert_eq!(dms.len(), 1);
    let dm = &dms[0];
    assert_eq!(dm.sender, keysat_key(&app).await, "sealed by Keysat's identity");
    assert_eq!(dm.kind, Kind::PrivateDirectMessage);
    assert!(dm.content.contains("Product app"), "{}", dm.content);
    assert!(dm.content.contains("Ada Software"), "{}", dm.content);
    assert!(dm.content.contains(&format!("{}/recover", app.base)), "{}", dm.content);
    let keys = keys_in(&dm.content);
    assert_eq!(keys, vec![issued["license_key"].as_str().unwrap().to_string()]);
    let payload = keysat_client::verify(&keys[0], &app.public_key().await).expect("the DM'd key verifies offline");
    assert_eq!(payload.license_id.to_string(), id);

    // A license without an npub sends nothing; the identity survives a restart.
    let (plain, _) = app.issue_license("app", "default").await;
    assert_eq!(app.license(&plain).await["nostr_delivery"], Value::Null);
    let npub = nostr["npub"].clone();
    let dir = app.stop().await;
    let app = spawn_in(dir, fast).await;
    let again = app.admin_get("/nostr").await.expect(200);
    assert_eq!(again["npub"], npub);
    assert_eq!(again["relays"][0]["url"], relay.url.as_str(), "the relay list is kept");
    buyer.stop().await;
    app.stop().await;
    relay.stop();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_relay_down_at_issuance_gets_the_dm_when_it_is_back() {
    let reserved = reserve_port(); // refused until the relay takes it
    let port = reserved.port;
    let url = format!("ws://127.0.0.1:{port}");
    let app = spawn_with(fast).await;
    let nostr = use_relays(&app, &[&url]).await;
    assert_eq!(nostr["relays"][0]["status"], "disconnected", "{nostr}");
    app.product_with_policy("app", json!({})).await;
    let buyer_keys = nostr_sdk::Keys::generate();
    let buyer_npub = buyer_keys.public_key().to_bech32().unwrap();

    // Issuance does not wait for the relay.
    let issued = app.issue(json!({"product_slug": "app", "buyer_npub": buyer_npub})).await;
    let id = issued["license_id"].as_str().unwrap();
    let pending = poll(WAIT, || async {
        let d = app.license(id).await["nostr_delivery"].clone();
        (d["attempts"].as_i64().unwrap_or(0) >= 2).then_some(d)
    })
    .await
    .expect("attempts while the relay is down");
    assert_eq!(pending["state"], "pending");
    assert!(pending["last_error"].as_str().unwrap().contains(&url), "{pending}");
    assert!(pending["next_attempt_at"].is_string());

    let relay = start_relay(Some(reserved.release())).await;
    let d = delivery_state(&app, id, "delivered").await;
    assert_eq!(d["relays_accepted"], json!([url]));
    let buyer = NostrUser::with_keys(&relay.url, buyer_keys).await;
    let dms = buyer.wait_for_dms(1, WAIT).await;
    let keys = keys_in(&dms[0].content);
    keysat_client::verify(&keys[0], &app.public_key().await).expect("verifies");
    assert_eq!(app.admin_get("/nostr").await.expect(200)["relays"][0]["status"], "connected");
    buyer.stop().await;
    app.stop().await;
    relay.stop();
}

#[tokio::test(flavor = "multi_thread")]
async fn the_operator_hears_of_a_sale_unless_switched_off() {
    let relay = start_relay(None).await;
    let app = spawn_with(fast).await;
    use_relays(&app, &[&relay.url]).await;
    let operator = NostrUser::new(&relay.url).await;

    // No operator npub yet: nothing is queued.
    let db = &app.state.db;
    assert!(!operator::notify_operator(db, NoticeKind::Sale, "ignored").await.unwrap());

    let s = app.admin_put("/settings", json!({"operator_npub": operator.keys.public_key().to_hex()})).await.expect(200);
    assert_eq!(s["operator_npub"], operator.npub(), "shown as an npub");
    assert_eq!(
        s["notifications"],
        json!({"sale": true, "free_redemption": true, "webhook_dead_letter": true, "btcpay_connection_lost": true,
            "btcpay_connected": true, "backup_failed": true})
    );
    let text = operator::sale_text("My App", "Pro", 50_000, "inv_1");
    assert!(operator::notify_operator(db, NoticeKind::Sale, &text).await.unwrap());
    let dms = operator.wait_for_dms(1, WAIT).await;
    assert_eq!(dms[0].content, "Sale: My App (Pro) for 50,000 sats. Invoice inv_1.");
    assert_eq!(dms[0].sender, keysat_key(&app).await);

    // Switched off: no DM for that kind; others still go.
    let s = app.admin_put("/settings", json!({"notifications": {"sale": false}})).await.expect(200);
    assert_eq!(s["notifications"]["sale"], false);
    assert_eq!(s["notifications"]["free_redemption"], true);
    assert!(!operator::notify_operator(db, NoticeKind::Sale, "not sent").await.unwrap());
    let text = operator::free_redemption_text("My App", "Trial", "FREE1");
    assert!(operator::notify_operator(db, NoticeKind::FreeRedemption, &text).await.unwrap());
    let dms = operator.wait_for_dms(2, WAIT).await;
    assert!(dms.iter().any(|d| d.content.contains("FREE1")));
    assert_eq!(queued_dms(&app.state.db.read, "operator").await, 2, "the switched-off sale was never queued");
    assert_eq!(operator.dms().await.len(), 2);

    // Settings are validated and audited; null clears the npub.
    app.admin_put("/settings", json!({"operator_npub": "npub1nope"})).await.expect_error(422, "invalid_field");
    app.admin_put("/settings", json!({"notifications": {"sales": true}})).await.expect_error(422, "invalid_field");
    let audit = app.admin_get("/audit?action=settings.update").await.expect(200);
    let targets: Vec<&str> =
        audit["entries"].as_array().unwrap().iter().map(|e| e["target_id"].as_str().unwrap()).collect();
    assert!(targets.contains(&"operator_npub") && targets.contains(&"notifications"), "{targets:?}");
    let s = app.admin_put("/settings", json!({"operator_npub": null})).await.expect(200);
    assert_eq!(s["operator_npub"], Value::Null);
    assert_eq!(s["notifications"]["sale"], false, "other settings are kept");
    operator.stop().await;
    app.stop().await;
    relay.stop();
}

#[tokio::test(flavor = "multi_thread")]
async fn recover_by_npub_sends_every_key_and_answers_the_same_either_way() {
    let relay = start_relay(None).await;
    let app = spawn_with(|c| {
        fast(c);
        c.recover_rate_per_hour = 4;
        c.recover_per_npub_per_hour = 1;
    })
    .await;
    use_relays(&app, &[&relay.url]).await;
    app.product_with_policy("app", json!({})).await;
    let buyer = NostrUser::new(&relay.url).await;
    let hex = buyer.keys.public_key().to_hex();
    let first = app.issue(json!({"product_slug": "app", "buyer_npub": buyer.npub()})).await;
    let second = app.issue(json!({"product_slug": "app", "buyer_npub": hex})).await;
    let revoked = app.issue(json!({"product_slug": "app", "buyer_npub": hex})).await;
    let rid = revoked["license_id"].as_str().unwrap();
    app.admin_post(&format!("/licenses/{rid}/revoke"), json!({"reason": "refund"})).await.expect(200);
    buyer.wait_for_dms(3, WAIT).await;

    let found = app.post("/v1/recover/npub", json!({"npub": buyer.npub()})).await.expect(202);
    let stranger = nostr_sdk::Keys::generate().public_key().to_bech32().unwrap();
    let nothing = app.post("/v1/recover/npub", json!({"npub": stranger})).await.expect(202);
    assert_eq!(found, nothing, "the answer does not tell whether anything was found");

    let dms = buyer.wait_for_dms(4, WAIT).await;
    let recovery: Vec<_> = dms.iter().filter(|d| d.content.contains("as asked for at")).collect();
    assert_eq!(recovery.len(), 1);
    let keys = keys_in(&recovery[0].content);
    let expected: Vec<String> =
        [&first, &second].iter().map(|l| l["license_key"].as_str().unwrap().to_string()).collect();
    assert_eq!(keys, expected, "every key bought with the npub, except the revoked one");

    // Per npub: the same answer, but no second DM within the hour.
    let again = app.post("/v1/recover/npub", json!({"npub": hex})).await.expect(202);
    assert_eq!(again, found);
    // Per address: the fifth request of the hour is refused.
    app.post("/v1/recover/npub", json!({"npub": "not an npub"})).await.expect_error(422, "invalid_field");
    let limited = app.post("/v1/recover/npub", json!({"npub": hex})).await;
    assert!(limited.headers.contains_key("retry-after"), "{:?}", limited.headers);
    limited.expect_error(429, "rate_limited");
    assert_eq!(queued_dms(&app.state.db.read, "recovery").await, 1, "one recovery DM only");
    assert_eq!(buyer.dms().await.len(), 4);
    buyer.stop().await;
    app.stop().await;
    relay.stop();
}

#[tokio::test(flavor = "multi_thread")]
async fn without_relays_issuance_succeeds_and_delivery_gives_up_in_the_end() {
    let app = spawn_with(|c| c.nostr_retry = RetrySchedule::parse("1s,1s").unwrap()).await;
    let nostr = app.admin_get("/nostr").await.expect(200);
    assert_eq!(nostr["relays"], json!([]));
    app.product_with_policy("app", json!({})).await;
    let buyer = nostr_sdk::Keys::generate().public_key().to_bech32().unwrap();
    let issued = app.issue(json!({"product_slug": "app", "buyer_npub": buyer})).await;
    let id = issued["license_id"].as_str().unwrap();
    let d = delivery_state(&app, id, "failed").await;
    assert_eq!(d["attempts"], 3);
    assert_eq!(d["last_error"], "no relays are configured");
    assert_eq!(d["next_attempt_at"], Value::Null);
    // The license itself is untouched.
    assert_ok(&app.validate(json!({"key": issued["license_key"]})).await);

    // Relay settings are validated and audited.
    app.admin_put("/nostr", json!({"relays": ["https://relay.example"]})).await.expect_error(422, "invalid_field");
    // (Loopback addresses where nothing listens: no test reaches outside the machine.)
    let held = reserve_port(); // bound, never listened on: refused for the whole test
    let closed = format!("ws://127.0.0.1:{}", held.port);
    let set = app.admin_put("/nostr", json!({"relays": [closed, format!("{closed}")]})).await.expect(200);
    assert_eq!(set["relays"], json!([{"url": closed, "status": "disconnected"}]));
    let many: Vec<String> = (0..21).map(|i| format!("ws://127.0.0.1:{}", 1000 + i)).collect();
    app.admin_put("/nostr", json!({"relays": many})).await.expect_error(422, "invalid_field");
    let audit = app.admin_get("/audit?action=nostr.relays.update").await.expect(200);
    assert_eq!(audit["entries"][0]["details"]["after"], json!([closed]));
    app.admin_put("/nostr", json!({"relays": []})).await.expect(200);
    app.stop().await;
}
