//! Outbound webhooks against a test receiver: signed bodies, retries with
//! backoff, dead-letter and manual redeliver, filters, and no event lost
//! across a restart.

use std::collections::BTreeSet;

use crate::common::*;
use crate::delivery_support::*;
use crate::internals::{nostr_db, Config, RetrySchedule};
use serde_json::{json, Value};

/// Webhooks retried after 1 s, twice; then dead-letter.
fn fast(c: &mut Config) {
    c.webhook_retry = RetrySchedule::parse("1s,1s").unwrap();
    c.seat_quiet_seconds = 1;
}

/// Registers an endpoint; returns (id, secret).
async fn endpoint(app: &TestApp, url: &str, events: Value) -> (String, String) {
    let e = app.admin_post("/webhook-endpoints", json!({"url": url, "events": events})).await.expect(201);
    (e["id"].as_str().unwrap().to_string(), e["secret"].as_str().unwrap().to_string())
}

fn of_type(t: &'static str) -> impl Fn(&Received) -> bool {
    move |r: &Received| r.json["type"] == t
}

async fn deliveries(app: &TestApp, query: &str) -> Vec<Value> {
    app.admin_get(&format!("/webhook-deliveries?{query}")).await.expect(200)["deliveries"].as_array().unwrap().clone()
}

#[tokio::test(flavor = "multi_thread")]
async fn events_arrive_signed_with_the_secret_shown_once() {
    let started = std::time::Instant::now();
    let receiver = start_receiver(None).await;
    let app = spawn_with(fast).await;
    let created = app
        .admin_post("/webhook-endpoints", json!({"url": receiver.url, "events": ["*"], "description": "accounting"}))
        .await
        .expect(201);
    let id = created["id"].as_str().unwrap();
    let secret = created["secret"].as_str().unwrap();
    assert!(secret.starts_with("whsec_"), "{created}");
    assert_eq!(created["events"], json!(["*"]));
    // The secret is never shown again.
    let listed = app.admin_get("/webhook-endpoints").await.expect(200);
    assert_eq!(listed["endpoints"][0]["id"], id);
    assert!(listed["endpoints"][0].get("secret").is_none(), "{listed}");
    assert!(app.admin_get(&format!("/webhook-endpoints/{id}")).await.expect(200).get("secret").is_none());

    app.product_with_policy("app", json!({"max_machines": 2})).await;
    let issued = app.issue(json!({"product_slug": "app", "buyer_email": "ada@example.com"})).await;
    let lid = issued["license_id"].as_str().unwrap();
    let key = issued["license_key"].as_str().unwrap();
    let got = receiver.wait_for(1, WAIT, of_type("license.issued")).await;
    let r = &got[0];
    assert!(signature_verifies(secret, r.header("keysat-signature"), &r.body), "{:?}", r.headers);
    assert!(!signature_verifies("whsec_wrong", r.header("keysat-signature"), &r.body));
    let t: i64 = r.header("keysat-signature").split(',').next().unwrap().trim_start_matches("t=").parse().unwrap();
    assert!((t - now()).abs() < 60);
    assert_eq!(r.header("content-type"), "application/json");
    assert_eq!(keys(&r.json), sorted(&["id", "type", "created_at", "data"]));
    assert!(r.json["id"].as_str().unwrap().starts_with("evt_"));
    assert_eq!(r.header("keysat-event-id"), r.json["id"].as_str().unwrap());
    assert!((unix(&r.json["created_at"]) - now()).abs() < 60);
    let data = &r.json["data"];
    assert_eq!(data["license_id"], lid);
    assert_eq!(data["license_key"], key);
    assert_eq!(data["product_slug"], "app");
    assert_eq!(data["policy_slug"], "default");
    assert_eq!(data["buyer_email"], "ada@example.com");
    assert_eq!(data["source"], "admin");

    // Every license and machine change is told, each once. (Not in call
    // order: a freed seat is told only after the quiet period, so
    // `machine.deactivated` may follow the revocation; the lists are compared sorted.)
    assert_ok(&app.activate(key, "fp-1").await);
    assert_ok(&app.validate(json!({"key": key, "fingerprint": "fp-2"})).await); // a seat taken by validation
    assert_ok(&app.deactivate(key, "fp-1").await);
    // Validations holding a seat write nothing.
    for _ in 0..20 {
        assert_ok(&app.validate(json!({"key": key, "fingerprint": "fp-2"})).await);
    }
    for action in ["suspend", "unsuspend"] {
        app.admin_post(&format!("/licenses/{lid}/{action}"), json!({})).await.expect(200);
    }
    app.admin_post(&format!("/licenses/{lid}/revoke"), json!({"reason": "chargeback"})).await.expect(200);
    let all = receiver.wait_for(7, WAIT, |_| true).await;
    let types: Vec<&str> = all.iter().map(|r| r.json["type"].as_str().unwrap()).collect();
    let expected = [
        "license.issued",
        "machine.activated",
        "machine.activated",
        "machine.deactivated",
        "license.suspended",
        "license.unsuspended",
        "license.revoked",
    ];
    let mut sorted_types = types.clone();
    sorted_types.sort();
    let mut sorted_expected = expected.to_vec();
    sorted_expected.sort();
    assert_eq!(sorted_types, sorted_expected, "{types:?}");
    for r in &all {
        assert!(signature_verifies(secret, r.header("keysat-signature"), &r.body));
        assert_eq!(r.json["data"]["license_id"], lid, "{}", r.body);
    }
    let revoked = all.iter().find(|r| r.json["type"] == "license.revoked").unwrap();
    assert_eq!(revoked.json["data"]["status"], "revoked");
    assert_eq!(revoked.json["data"]["previous_status"], "active");
    assert_eq!(revoked.json["data"]["reason"], "chargeback");
    let deactivated = all.iter().find(|r| r.json["type"] == "machine.deactivated").unwrap();
    assert_eq!(deactivated.json["data"]["fingerprint"], "fp-1");
    assert_eq!(deactivated.json["data"]["by"], "application");

    // Nothing more for this license: a sentinel goes through the same paths
    // (a second license, a seat taken and freed, told after the quiet
    // period), and once its `machine.deactivated` is here, anything the first
    // license still had queued would have been sent before it.
    let sentinel = app.issue(json!({"product_slug": "app", "policy_slug": "default"})).await;
    let skey = sentinel["license_key"].as_str().unwrap();
    assert_ok(&app.activate(skey, "fp-sentinel").await);
    assert_ok(&app.deactivate(skey, "fp-sentinel").await);
    receiver
        .wait_for(1, WAIT, |r| {
            r.json["type"] == "machine.deactivated" && r.json["data"]["fingerprint"] == "fp-sentinel"
        })
        .await;
    let ours: Vec<Received> = receiver.received().into_iter().filter(|r| r.json["data"]["license_id"] == lid).collect();
    assert_eq!(ours.len(), 7, "exactly these seven events: {ours:?}");

    // The log shows each delivery with its status and latency.
    // (The receiver records a request before Keysat has its answer: wait
    // until Keysat has recorded every delivery's outcome.)
    let log = poll(WAIT, || async {
        let log = deliveries(&app, &format!("endpoint_id={id}")).await;
        log.iter().all(|d| d["state"] != "pending").then_some(log)
    })
    .await
    .expect("every delivery's outcome recorded");
    // The first license's seven and the sentinel's three (issued, activated, deactivated).
    assert_eq!(log.len(), 7 + 3);
    for d in &log {
        assert_eq!(d["state"], "delivered", "{d}");
        assert_eq!(d["status_code"], 200);
        assert_eq!(d["attempts"], 1);
        // A measured time: a whole number of milliseconds, within the test's own run.
        let latency = d["latency_ms"].as_i64().unwrap_or_else(|| panic!("latency_ms: {d}"));
        assert!((0..=started.elapsed().as_millis() as i64).contains(&latency), "{d}");
        assert_eq!(d["endpoint_url"], receiver.url.as_str());
    }
    let counts = app.admin_get(&format!("/webhook-endpoints/{id}")).await.expect(200)["deliveries"].clone();
    assert_eq!(counts, json!({"pending": 0, "delivered": 7 + 3, "dead": 0}));
    app.stop().await;
    receiver.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_500_is_retried_with_backoff_until_a_200() {
    let receiver = start_receiver(None).await;
    receiver.answer(&[500, 503]);
    let app = spawn_with(|c| c.webhook_retry = RetrySchedule::parse("1s,2s,5s").unwrap()).await;
    let (id, secret) = endpoint(&app, &receiver.url, json!(["license.issued"])).await;
    app.product_with_policy("app", json!({})).await;
    app.issue_license("app", "default").await;

    let got = receiver.wait_for(3, WAIT, of_type("license.issued")).await;
    assert_eq!(got.iter().map(|r| r.answered).collect::<Vec<_>>(), vec![500, 503, 200]);
    let ids: BTreeSet<&str> = got.iter().map(|r| r.json["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), 1, "one event, the same id every time: receivers deduplicate by it");
    assert!(got.iter().all(|r| signature_verifies(&secret, r.header("keysat-signature"), &r.body)));

    let d = poll(WAIT, || async {
        let d = deliveries(&app, &format!("endpoint_id={id}")).await.remove(0);
        (d["state"] == "delivered").then_some(d)
    })
    .await
    .expect("delivered");
    assert_eq!(d["attempts"], 3);
    assert_eq!(d["status_code"], 200);
    let detail = app.admin_get(&format!("/webhook-deliveries/{}", d["id"].as_str().unwrap())).await.expect(200);
    let log = detail["log"].as_array().unwrap();
    assert_eq!(log.iter().map(|a| a["status_code"].as_i64().unwrap()).collect::<Vec<_>>(), vec![500, 503, 200]);
    assert!(log[0]["error"].as_str().unwrap().starts_with("HTTP 500"), "{}", log[0]);
    assert_eq!(log[2]["error"], Value::Null);
    // Backoff: the second retry waited longer than the first.
    let at: Vec<i64> = log.iter().map(|a| unix(&a["at"])).collect();
    assert!(at[1] - at[0] >= 1 && at[2] - at[1] >= 2, "{at:?}");
    assert_eq!(detail["event"]["type"], "license.issued");
    app.stop().await;
    receiver.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn past_the_last_attempt_it_is_dead_letter_and_a_manual_redeliver_succeeds() {
    let port = reserve_port();
    let app = spawn_with(fast).await;
    let operator = nostr_sdk::Keys::generate().public_key().to_hex();
    app.admin_put("/settings", json!({"operator_npub": operator})).await.expect(200);
    let (id, secret) = endpoint(&app, &format!("http://127.0.0.1:{}/hook", port.port), json!(["*"])).await;
    app.product_with_policy("app", json!({})).await;
    app.issue_license("app", "default").await;

    let dead = poll(WAIT, || async {
        let d = deliveries(&app, "state=dead").await;
        d.into_iter().next()
    })
    .await
    .expect("dead-letter after the last attempt");
    assert_eq!(dead["attempts"], 3, "the first attempt and one per delay");
    assert_eq!(dead["status_code"], Value::Null);
    assert!(dead["error"].as_str().unwrap().contains("connect"), "{dead}");
    assert_eq!(dead["next_attempt_at"], Value::Null);
    assert_eq!(deliveries(&app, "state=pending").await.len(), 0);
    // The operator is told (a notice queued for their npub).
    let notices = nostr_db::recent(&app.state.db.read, Some(nostr_db::MessageKind::Operator), 10).await.unwrap();
    assert_eq!(notices.len(), 1);
    assert_eq!(notices[0].recipient, operator);
    assert!(notices[0].text.as_deref().unwrap().contains(dead["id"].as_str().unwrap()));

    // It stays dead: no more attempts. The sentinel, a second event to the
    // same endpoint issued now, runs the whole schedule (3 attempts) to dead
    // letter; by then the first had every chance of another attempt.
    let did = dead["id"].as_str().unwrap();
    app.issue_license("app", "default").await;
    poll(WAIT, || async { (deliveries(&app, "state=dead").await.len() == 2).then_some(()) })
        .await
        .expect("the sentinel delivery, too, reaches dead letter");
    assert_eq!(
        app.admin_get(&format!("/webhook-deliveries/{did}")).await.expect(200)["log"].as_array().unwrap().len(),
        3
    );

    // Still down: a manual redeliver is logged and changes nothing.
    let r = app.admin_post(&format!("/webhook-deliveries/{did}/retry"), json!({})).await.expect(200);
    assert_eq!(r["delivered"], false);
    assert_eq!(r["state"], "dead");
    assert_eq!(r["log"].as_array().unwrap().len(), 4);
    assert_eq!(r["log"][3]["manual"], true);

    let receiver = start_receiver_on(port).await;
    let r = app.admin_post(&format!("/webhook-deliveries/{did}/retry"), json!({})).await.expect(200);
    assert_eq!(r["delivered"], true, "{r}");
    assert_eq!(r["state"], "delivered");
    assert_eq!(r["status_code"], 200);
    assert_eq!(r["attempts"], 3, "manual attempts do not count against the schedule");
    let got = receiver.received();
    assert_eq!(got.len(), 1);
    assert!(signature_verifies(&secret, got[0].header("keysat-signature"), &got[0].body));
    assert_eq!(got[0].json["id"], dead["event_id"]);
    let audit = app.admin_get("/audit?action=webhook_delivery.retry").await.expect(200);
    assert_eq!(audit["entries"].as_array().unwrap().len(), 2);
    app.admin_post("/webhook-deliveries/whd_nope/retry", json!({})).await.expect_error(404, "not_found");
    let counts = app.admin_get(&format!("/webhook-endpoints/{id}")).await.expect(200)["deliveries"].clone();
    // The sentinel stays dead: only the first was redelivered by hand.
    assert_eq!(counts, json!({"pending": 0, "delivered": 1, "dead": 1}));
    app.stop().await;
    receiver.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_restart_with_undelivered_events_loses_none() {
    let port = reserve_port();
    let app =
        spawn_with(|c| c.webhook_retry = RetrySchedule::parse("1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s").unwrap()).await;
    let (_, secret) =
        endpoint(&app, &format!("http://127.0.0.1:{}/hook", port.port), json!(["license.issued", "license.revoked"]))
            .await;
    app.product_with_policy("app", json!({})).await;
    let mut expected = BTreeSet::new();
    for _ in 0..3 {
        let (id, _) = app.issue_license("app", "default").await;
        expected.insert(id);
    }
    let (rid, _) = app.issue_license("app", "default").await;
    expected.insert(rid.clone());
    app.admin_post(&format!("/licenses/{rid}/revoke"), json!({"reason": "test"})).await.expect(200);
    poll(WAIT, || async {
        let d = deliveries(&app, "state=pending").await;
        (d.len() == 5 && d.iter().all(|d| d["attempts"].as_i64().unwrap() >= 1)).then_some(())
    })
    .await
    .expect("every delivery tried and failed while the receiver is down");
    let dir = app.stop().await;

    let receiver = start_receiver_on(port).await;
    let app = spawn_in(dir, |c| c.webhook_retry = RetrySchedule::parse("1s").unwrap()).await;
    let got = receiver.wait_for(5, WAIT, |_| true).await;
    let ids: BTreeSet<&str> = got.iter().map(|r| r.json["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), 5, "five distinct events: {got:?}");
    let licenses: BTreeSet<String> = got
        .iter()
        .filter(|r| r.json["type"] == "license.issued")
        .map(|r| r.json["data"]["license_id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(licenses, expected);
    assert_eq!(got.iter().filter(|r| r.json["type"] == "license.revoked").count(), 1);
    assert!(got.iter().all(|r| signature_verifies(&secret, r.header("keysat-signature"), &r.body)));
    poll(WAIT, || async { (deliveries(&app, "state=delivered").await.len() == 5).then_some(()) })
        .await
        .expect("all delivered");
    app.stop().await;
    receiver.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn endpoints_filter_events_pause_rotate_and_delete() {
    let receiver = start_receiver(None).await;
    let app = spawn_with(fast).await;
    app.product_with_policy("app", json!({"duration_seconds": 1})).await;
    let (revokes, old_secret) = endpoint(&app, &receiver.url, json!(["license.revoked", "license.expired"])).await;
    let (paused, _) = endpoint(&app, &receiver.url, json!(["*"])).await;
    let p = app.admin_patch(&format!("/webhook-endpoints/{paused}"), json!({"active": false})).await.expect(200);
    assert_eq!(p["active"], false);
    assert!(p.get("secret").is_none());

    let (lid, _) = app.issue_license("app", "default").await;
    // A license of one second expires: `license.expired`, told once.
    let expired = receiver.wait_for(1, WAIT, of_type("license.expired")).await;
    assert_eq!(expired[0].json["data"]["license_id"], lid.as_str());
    assert!(expired[0].json["data"]["grace_until"].is_string());
    app.admin_post(&format!("/licenses/{lid}/revoke"), json!({"reason": "x"})).await.expect(200);
    receiver.wait_for(1, WAIT, of_type("license.revoked")).await;
    // Nothing left to send (no pending delivery) rather than a fixed wait.
    poll(WAIT, || async { deliveries(&app, "state=pending").await.is_empty().then_some(()) })
        .await
        .expect("nothing pending");
    let got = receiver.received();
    assert_eq!(got.len(), 2, "only the subscribed types, and nothing to the paused endpoint: {got:?}");
    assert_eq!(deliveries(&app, &format!("endpoint_id={paused}")).await.len(), 0);

    // Rotating shows the new secret once; the next event is signed with it.
    let r = app
        .admin_patch(
            &format!("/webhook-endpoints/{revokes}"),
            json!({"rotate_secret": true, "events": ["license.revoked"]}),
        )
        .await
        .expect(200);
    let secret = r["secret"].as_str().unwrap().to_string();
    assert_eq!(r["events"], json!(["license.revoked"]));
    let (lid2, _) = app.issue_license("app", "default").await;
    app.admin_post(&format!("/licenses/{lid2}/revoke"), json!({"reason": "x"})).await.expect(200);
    let got = receiver.wait_for(2, WAIT, of_type("license.revoked")).await;
    let last = got.iter().find(|r| r.json["data"]["license_id"] == lid2.as_str()).unwrap();
    assert!(signature_verifies(&secret, last.header("keysat-signature"), &last.body));
    // The rotated-out secret no longer verifies what is sent now.
    assert_ne!(secret, old_secret);
    assert!(!signature_verifies(&old_secret, last.header("keysat-signature"), &last.body));
    // (It did verify what was sent before the rotation: the check is about the secret.)
    let before = got.iter().find(|r| r.json["data"]["license_id"] == lid.as_str()).unwrap();
    assert!(signature_verifies(&old_secret, before.header("keysat-signature"), &before.body));

    // Bad input changes nothing.
    for body in [
        json!({"url": "ftp://x.example/hook", "events": ["*"]}),
        json!({"url": "not a url", "events": ["*"]}),
        json!({"url": receiver.url, "events": []}),
        json!({"url": receiver.url, "events": ["license.exploded"]}),
        json!({"url": receiver.url, "events": ["*", "license.issued"]}),
    ] {
        app.admin_post("/webhook-endpoints", body).await.expect_error(422, "invalid_field");
    }
    app.admin_post("/webhook-endpoints", json!({"url": receiver.url})).await.expect(400);
    app.admin_get("/webhook-deliveries?state=lost").await.expect_error(422, "invalid_field");
    assert_eq!(app.admin_get("/webhook-endpoints").await.expect(200)["endpoints"].as_array().unwrap().len(), 2);

    // Deleting takes the endpoint's deliveries with it.
    assert_eq!(app.admin_delete(&format!("/webhook-endpoints/{revokes}")).await.status, 204);
    app.admin_get(&format!("/webhook-endpoints/{revokes}")).await.expect_error(404, "not_found");
    app.admin_delete(&format!("/webhook-endpoints/{revokes}")).await.expect_error(404, "not_found");
    assert_eq!(deliveries(&app, "").await.len(), 0);
    let audit = app.admin_get("/audit?target_type=webhook_endpoint").await.expect(200);
    let actions: Vec<&str> =
        audit["entries"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions.iter().filter(|a| **a == "webhook_endpoint.create").count(), 2);
    assert!(actions.contains(&"webhook_endpoint.update") && actions.contains(&"webhook_endpoint.delete"));
    app.stop().await;
    receiver.stop().await;
}
