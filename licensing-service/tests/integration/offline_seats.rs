//! Air-gapped activation (`ACT1` → `ACTR1`, API and page), buyers freeing
//! their own machines within `self_reset_limit`, floating seats freed by the
//! scheduler, and one trial per machine; the policy fields behind them.

use std::time::Duration;

use keysat_client::uuid::Uuid;
use keysat_client::{verify_activation, ActivationChallenge, LicenseKey};
use serde_json::{json, Value};

use crate::common::*;
use crate::delivery_support::start_receiver;

fn license_id(key: &str) -> Uuid {
    LicenseKey::parse(key).unwrap().payload().license_id
}

fn challenge(license: Uuid, fingerprint: &str) -> ActivationChallenge {
    let mut nonce = [0u8; 10];
    nonce.copy_from_slice(&Uuid::new_v4().as_bytes()[..10]);
    ActivationChallenge::new(license, fingerprint, nonce)
}

async fn offline(app: &TestApp, key: &str, challenge: &str) -> Value {
    app.post("/v1/machines/offline-activate", json!({"key": key, "challenge": challenge, "hostname": "vault-pc"}))
        .await
        .expect(200)
}

#[tokio::test(flavor = "multi_thread")]
async fn air_gapped_round_trip_replay_expiry_and_seats() {
    let app = spawn_app().await;
    app.create_product("app", json!({"entitlements_catalog": [{"slug": "pro", "name": "Pro"}]})).await;
    app.create_policy(
        "app",
        json!({"slug": "default", "max_machines": 2, "entitlements": ["pro"], "lease_seconds": 86_400}),
    )
    .await;
    let (_, key) = app.issue_license("app", "default").await;
    let (_, other_key) = app.issue_license("app", "default").await;
    let pk = app.public_key().await;
    let lid = license_id(&key);

    // The app shows a challenge; the buyer types it in elsewhere (in lower case, spaced).
    let c = challenge(lid, "vault-fingerprint");
    let typed = c.to_code_string().to_lowercase().replace('-', " ").replacen(' ', "-", 1);
    let body = offline(&app, &key, &typed).await;
    assert_ok(&body);
    assert_eq!(body["active_count"], 1, "the air-gapped machine holds a seat: {body}");
    let response = body["response"].as_str().expect("a response code");
    assert!(response.starts_with("ACTR1-"), "{response}");
    let grant = verify_activation(response, &c, &pk, "vault-fingerprint", now() as u64).expect("verifies offline");
    assert_eq!(grant.entitlements, ["pro"]);
    assert_eq!(unix(&body["response_expires_at"]), grant.expires_at as i64);
    assert!((grant.expires_at - grant.issued_at) == 86_400, "lease_seconds: {grant:?}");
    // Only on that machine, only for that challenge, only until it expires.
    let code = |r: Result<keysat_client::ActivationGrant, keysat_client::Error>| r.unwrap_err().code();
    assert_eq!(code(verify_activation(response, &c, &pk, "other-machine", now() as u64)), "fingerprint_mismatch");
    let another = challenge(lid, "vault-fingerprint");
    assert_eq!(code(verify_activation(response, &another, &pk, "vault-fingerprint", now() as u64)), "bad_signature");
    assert_eq!(code(verify_activation(response, &c, &pk, "vault-fingerprint", grant.expires_at)), "expired");

    // A challenge is answered once; an expired grant needs a new challenge.
    let replay = offline(&app, &key, &c.to_code_string()).await;
    assert_refused(&replay, "challenge_used");
    assert!(replay.get("response").is_none());
    let renewed = offline(&app, &key, &another.to_code_string()).await;
    assert_ok(&renewed);
    assert_eq!(renewed["machine_id"], body["machine_id"], "the same machine keeps its seat");
    assert_eq!(renewed["active_count"], 1);

    // Precise refusals: a typo, not a challenge, another license's challenge.
    let mut typo = c.to_code_string().into_bytes();
    typo[12] = if typo[12] == b'7' { b'8' } else { b'7' };
    assert_refused(&offline(&app, &key, std::str::from_utf8(&typo).unwrap()).await, "challenge_checksum");
    assert_refused(&offline(&app, &key, "ACT1-HELLO").await, "bad_challenge");
    assert_refused(&offline(&app, &other_key, &challenge(lid, "x").to_code_string()).await, "challenge_mismatch");
    assert_refused(&offline(&app, "LIC1-nope", &challenge(lid, "x").to_code_string()).await, "bad_format");

    // Seats count: a second machine fits, a third does not.
    assert_ok(&offline(&app, &key, &challenge(lid, "second").to_code_string()).await);
    assert_refused(&offline(&app, &key, &challenge(lid, "third").to_code_string()).await, "too_many_machines");
    let list = app.post("/v1/machines/list", json!({"key": key})).await.expect(200);
    let machines = list["machines"].as_array().unwrap();
    assert_eq!(machines.len(), 2);
    assert!(machines.iter().all(|m| m["air_gapped"] == true && m.get("fingerprint").is_none()), "{list}");
    assert!(machines.iter().any(|m| m["hostname"] == "vault-pc"));
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_activate_page_answers_a_response_code_without_javascript() {
    let app = spawn_app().await;
    app.product_with_policy("app", json!({"max_machines": 1})).await;
    let (_, key) = app.issue_license("app", "default").await;
    let pk = app.public_key().await;
    let c = challenge(license_id(&key), "kiosk");
    let page = app.send(app.client.get(format!("{}/activate", app.base))).await;
    assert_eq!(page.status, 200);
    assert!(page.text.contains("name=\"challenge\""), "{}", page.text);
    let form = [("key", key.as_str()), ("challenge", &c.to_code_string()), ("hostname", "kiosk 1")];
    let done = app.send(app.client.post(format!("{}/activate", app.base)).form(&form)).await;
    assert_eq!(done.status, 200, "{}", done.text);
    assert_eq!(done.headers["cache-control"], "private, no-store");
    let start = done.text.find("ACTR1-").expect("the response code is shown");
    let code: String = done.text[start..].chars().take_while(|ch| ch.is_ascii_alphanumeric() || *ch == '-').collect();
    verify_activation(&code, &c, &pk, "kiosk", now() as u64).expect("the page's code verifies");
    // The same challenge again: refused, with the reason on the page.
    let again = app.send(app.client.post(format!("{}/activate", app.base)).form(&form)).await;
    assert_eq!(again.status, 422);
    assert!(again.text.contains("already been answered"), "{}", again.text);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn buyers_free_their_own_machines_within_the_limit() {
    let app = spawn_app().await;
    app.product_with_policy("app", json!({"max_machines": 3, "self_reset_limit": 2})).await;
    let (id, key) = app.issue_license("app", "default").await;
    for (fp, host) in [("fp-a", "laptop"), ("fp-b", "desk"), ("fp-c", "old-box")] {
        let body = json!({"key": key, "fingerprint": fp, "hostname": host, "platform": "linux"});
        assert_ok(&app.post("/v1/machines/activate", body).await.expect(200));
    }
    let list = app.post("/v1/machines/list", json!({"key": key})).await.expect(200);
    assert_eq!(list["active_count"], 3);
    assert_eq!((list["self_reset_limit"].as_i64(), list["resets_left"].as_i64()), (Some(2), Some(2)));
    let machines = list["machines"].as_array().unwrap();
    let old = machines.iter().find(|m| m["hostname"] == "old-box").unwrap();
    assert_eq!(old["platform"], "linux");
    assert!(old["last_seen_at"].as_str().is_some() && old.get("fingerprint").is_none(), "{old}");
    let old_id = old["machine_id"].as_str().unwrap().to_string();

    // One machine.
    let freed = app.post("/v1/machines/deactivate", json!({"key": key, "machine_id": old_id})).await.expect(200);
    assert_ok(&freed);
    assert_eq!((freed["active_count"].as_u64(), freed["resets_left"].as_i64()), (Some(2), Some(1)), "{freed}");
    assert_eq!(freed["freed"], json!([old_id]));
    assert_refused(&app.heartbeat(&key, "fp-c").await, "not_activated");
    let gone = app.post("/v1/machines/deactivate", json!({"key": key, "machine_id": old_id})).await.expect(200);
    assert_refused(&gone, "not_activated");

    // All of them, through the page.
    let page = app.send(app.client.post(format!("{}/seats", app.base)).form(&[("key", key.as_str())])).await;
    assert_eq!(page.status, 200);
    assert!(
        page.text.contains("laptop") && page.text.contains("desk") && !page.text.contains("old-box"),
        "{}",
        page.text
    );
    let all = app
        .send(app.client.post(format!("{}/seats/free", app.base)).form(&[("key", key.as_str()), ("all", "1")]))
        .await;
    assert_eq!(all.status, 200, "{}", all.text);
    assert!(all.text.contains("2 machines were freed"), "{}", all.text);
    assert_eq!(app.license(&id).await["active_machines"], 0);

    // Past the limit: refused, saying when the next free is possible; nothing changes.
    assert_ok(&app.activate(&key, "fp-a").await);
    let refused = app.post("/v1/machines/deactivate", json!({"key": key, "all": true})).await.expect(200);
    assert_refused(&refused, "reset_limit_reached");
    let next = unix(&refused["next_reset_at"]);
    assert!((now() + 30 * 86_400 - 60..=now() + 30 * 86_400).contains(&next), "{refused}");
    assert!(refused["message"].as_str().unwrap().contains(&refused["next_reset_at"].as_str().unwrap()[..10]));
    assert_eq!(app.license(&id).await["active_machines"], 1);
    let page = app
        .send(app.client.post(format!("{}/seats/free", app.base)).form(&[("key", key.as_str()), ("all", "1")]))
        .await;
    assert_eq!(page.status, 422);
    assert!(page.text.contains("next free is possible"), "{}", page.text);

    // Audited as the buyer's, with machine.deactivated events; the operator is never limited.
    let audit = app.admin_get("/audit?action=machine.deactivate").await.expect(200);
    let by_buyer = audit["entries"].as_array().unwrap().iter().filter(|e| e["actor"] == "buyer").count();
    assert_eq!(by_buyer, 3);
    app.admin_post(&format!("/licenses/{id}/reset-seats"), json!({})).await.expect(200);
    assert_eq!(app.license(&id).await["active_machines"], 0);
    // Bad requests change nothing.
    app.post("/v1/machines/deactivate", json!({"key": key, "machine_id": "nope"}))
        .await
        .expect_error(400, "invalid_request");
    app.post("/v1/machines/deactivate", json!({"key": key, "fingerprint": "fp-a", "all": true}))
        .await
        .expect_error(400, "invalid_request");
    assert_refused(&app.post("/v1/machines/list", json!({"key": "LIC1-x"})).await.expect(200), "bad_format");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_floating_seat_not_heard_from_is_freed_by_the_scheduler() {
    let app = spawn_with(|c| c.seat_quiet_seconds = 0).await;
    app.product_with_policy("app", json!({"max_machines": 2, "seat_timeout_seconds": 3})).await;
    let (id, key) = app.issue_license("app", "default").await;
    let receiver = start_receiver(None).await;
    app.admin_post("/webhook-endpoints", json!({"url": receiver.url, "events": ["machine.deactivated"]}))
        .await
        .expect(201);
    assert_ok(&app.activate(&key, "crashed").await);
    let hb = app.heartbeat(&key, "alive").await;
    assert_refused(&hb, "not_activated");
    let a = app.activate(&key, "alive").await;
    let lapses = unix(&a["seat_lapses_at"]);
    assert!((now() + 2..=now() + 3).contains(&lapses), "{a}");

    // "alive" keeps heartbeating; "crashed" is silent.
    let started = std::time::Instant::now();
    let mut freed = false;
    while started.elapsed() < Duration::from_secs(12) {
        let hb = app.heartbeat(&key, "alive").await;
        assert_ok(&hb);
        assert!(unix(&hb["seat_lapses_at"]) >= now() + 2, "{hb}");
        let l = app.license(&id).await;
        if l["active_machines"] == 1 {
            freed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert!(freed, "the silent seat was freed");
    for _ in 0..4 {
        assert_ok(&app.heartbeat(&key, "alive").await);
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert_refused(&app.heartbeat(&key, "crashed").await, "not_activated");
    assert_ok(&app.heartbeat(&key, "alive").await);
    let events = receiver.wait_for(1, WAIT, |r| r.json["type"] == "machine.deactivated").await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].json["data"]["fingerprint"], "crashed");
    assert_eq!(events[0].json["data"]["by"], "scheduler");
    let audit = app.admin_get("/audit?action=machine.deactivate").await.expect(200);
    assert_eq!(audit["entries"][0]["actor"], "scheduler");
    // The crashed machine comes back: it simply takes a seat again.
    assert_ok(&app.activate(&key, "crashed").await);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn one_trial_per_machine() {
    let app = spawn_with(|c| {
        c.code_rate_per_minute = 1_000;
        c.purchase_rate_per_minute = 1_000;
    })
    .await;
    app.create_product("app", json!({})).await;
    let trial = json!({"slug": "trial", "price_sats": 0, "is_trial": true, "duration_seconds": 14 * 86_400,
        "max_machines": 1, "one_trial_per_machine": true});
    app.create_policy("app", trial).await;
    app.create_policy(
        "app",
        json!({"slug": "open-trial", "price_sats": 0, "is_trial": true, "duration_seconds": 86_400}),
    )
    .await;

    // Two trials, two e-mails, one machine.
    let buy = |email: &str| json!({"product": "app", "policy_slug": "trial", "buyer_email": email});
    let first = app.purchase(buy("a@example.com")).await.expect(200)["license_key"].as_str().unwrap().to_string();
    let second = app.purchase(buy("b@example.com")).await.expect(200)["license_key"].as_str().unwrap().to_string();
    assert_ok(&app.activate(&first, "fp-1").await);
    assert_ok(&app.validate(json!({"key": first, "fingerprint": "fp-1"})).await);
    assert_refused(&app.activate(&second, "fp-1").await, "trial_already_used");
    assert_refused(&app.validate(json!({"key": second, "fingerprint": "fp-1"})).await, "trial_already_used");
    assert_refused(
        &app.post("/v1/machines/lease", json!({"key": second, "fingerprint": "fp-1"})).await.expect(200),
        "trial_already_used",
    );
    let air = challenge(license_id(&second), "fp-1");
    assert_refused(&offline(&app, &second, &air.to_code_string()).await, "trial_already_used");
    // Another machine may still try it.
    assert_ok(&app.activate(&second, "fp-2").await);

    // Up front: a trial purchase or a free code naming a machine that had one.
    let mut named = buy("c@example.com");
    named["fingerprint"] = json!("fp-1");
    app.purchase(named).await.expect_error(422, "trial_already_used");
    let code = app.create_code(json!({"kind": "free_license", "policies": ["trial"]})).await;
    let redeem = json!({"product": "app", "policy_slug": "trial", "code": code, "fingerprint": "fp-2"});
    app.post("/v1/redeem", redeem).await.expect_error(422, "trial_already_used");
    let redeem = json!({"product": "app", "policy_slug": "trial", "code": code, "fingerprint": "fp-new"});
    app.post("/v1/redeem", redeem).await.expect(200);

    // Without the rule, a tier's trials are not limited per machine.
    let open = |email: &str| json!({"product": "app", "policy_slug": "open-trial", "buyer_email": email, "fingerprint": "fp-1"});
    let k1 = app.purchase(open("d@example.com")).await.expect(200)["license_key"].as_str().unwrap().to_string();
    let k2 = app.purchase(open("e@example.com")).await.expect(200)["license_key"].as_str().unwrap().to_string();
    assert_ok(&app.activate(&k1, "fp-9").await);
    assert_ok(&app.activate(&k2, "fp-9").await);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn machine_rules_are_policy_fields_the_operator_sets() {
    let app = spawn_app().await;
    app.create_product("app", json!({})).await;
    let p = app.create_policy("app", json!({"slug": "default"})).await;
    assert_eq!(
        (&p["lease_seconds"], &p["self_reset_limit"], &p["seat_timeout_seconds"], &p["one_trial_per_machine"]),
        (&json!(604_800), &json!(3), &json!(0), &json!(false))
    );
    let patched = app
        .admin_patch(
            "/products/app/policies/default",
            json!({"lease_seconds": 3600, "self_reset_limit": 0, "seat_timeout_seconds": 900, "one_trial_per_machine": true}),
        )
        .await
        .expect(200);
    assert_eq!(
        (&patched["lease_seconds"], &patched["self_reset_limit"], &patched["seat_timeout_seconds"]),
        (&json!(3600), &json!(0), &json!(900))
    );
    assert_eq!(patched["one_trial_per_machine"], true);
    for bad in [json!({"lease_seconds": 0}), json!({"self_reset_limit": -1}), json!({"seat_timeout_seconds": -5})] {
        app.admin_patch("/products/app/policies/default", bad).await.expect_error(422, "invalid_field");
    }
    // A tier whose holders may not free machines says so.
    let (_, key) = app.issue_license("app", "default").await;
    assert_ok(&app.activate(&key, "fp").await);
    let refused = app.post("/v1/machines/deactivate", json!({"key": key, "all": true})).await.expect(200);
    assert_refused(&refused, "reset_limit_reached");
    assert!(refused.get("next_reset_at").is_none(), "{refused}");
    // A changed timeout reaches seats held now.
    let a = app.heartbeat(&key, "fp").await;
    assert!(unix(&a["seat_lapses_at"]) >= now() + 899, "{a}");
    app.stop().await;
}
