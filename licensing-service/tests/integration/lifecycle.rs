//! Across restarts and off the hot path: keys and seats survive a restart,
//! and validation events are written in batches and flushed on a graceful stop.

use std::time::Duration;

use crate::common::*;
use serde_json::{json, Value};

#[tokio::test(flavor = "multi_thread")]
async fn keys_issued_before_a_restart_still_validate() {
    let app = spawn_app().await;
    app.product_with_policy("app", json!({"max_machines": 2})).await;
    let (id, key) = app.issue_license("app", "default").await;
    let (revoked_id, revoked) = app.issue_license("app", "default").await;
    app.admin_post(&format!("/licenses/{revoked_id}/revoke"), json!({"reason": "test"})).await.expect(200);
    let seat = app.activate(&key, "fp-1").await;
    assert_ok(&seat);
    let pem_before = app.get("/v1/pubkey").await.expect(200)["public_key_pem"].clone();
    let signer_before = app.signer.to_bytes();
    let old_base = app.base.clone();

    let dir = app.stop().await;
    // The old listener is gone.
    assert!(reqwest::get(format!("{old_base}/healthz")).await.is_err());

    let app = spawn_in(dir, |_| {}).await;
    assert_eq!(app.get("/v1/pubkey").await.expect(200)["public_key_pem"], pem_before);
    assert_eq!(app.get("/").await.expect(200)["public_key_pem"], pem_before);
    assert_eq!(app.signer.to_bytes(), signer_before, "the signing key never changes");
    keysat_client::verify(&key, &app.public_key().await).expect("the old key verifies offline");

    let v = app.validate(json!({"key": key, "product_slug": "app"})).await;
    assert_ok(&v);
    assert_eq!(v["license_id"], id);
    assert_refused(&app.validate(json!({"key": revoked})).await, "revoked");
    // Seats survive too.
    let hb = app.heartbeat(&key, "fp-1").await;
    assert_ok(&hb);
    assert_eq!(hb["machine_id"], seat["machine_id"]);
    assert_eq!(hb["active_count"], 1);
    assert_ok(&app.activate(&key, "fp-2").await);
    assert_refused(&app.activate(&key, "fp-3").await, "too_many_machines");

    // And so does the rest of the state.
    assert_eq!(app.stats().await["licenses"], 2);
    assert_eq!(app.admin_get("/products").await.expect(200)["products"].as_array().unwrap().len(), 1);
    let (_, new_key) = app.issue_license("app", "default").await;
    assert_ok(&app.validate(json!({"key": new_key})).await);
    app.stop().await;
}

/// Polls the stats until `field` reaches at least `min`; returns the stats.
async fn stats_reach(app: &TestApp, field: &str, min: i64) -> Value {
    poll(Duration::from_secs(3), || async {
        let s = app.stats().await;
        (s[field].as_i64().unwrap_or(0) >= min).then_some(s)
    })
    .await
    .unwrap_or_else(|| panic!("{field} never reached {min}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn validation_events_are_written_in_batches() {
    let app = spawn_app().await;
    app.product_with_policy("app", json!({"max_machines": 5})).await;
    let (id, key) = app.issue_license("app", "default").await;
    let before = app.stats().await;
    assert_eq!(before["validation_events_written"], 0);
    assert_eq!(before["validation_log_rows"], 0);
    assert_eq!(before["validation_events_dropped"], 0);

    for _ in 0..5 {
        assert_ok(&app.validate(json!({"key": key, "fingerprint": "fp-1"})).await);
    }
    assert_refused(&app.validate(json!({"key": key, "product_slug": "other"})).await, "product_mismatch");
    assert_refused(&app.validate(json!({"key": "junk"})).await, "bad_format");
    assert_ok(&app.heartbeat(&key, "fp-1").await);

    let s = stats_reach(&app, "validation_events_written", 8).await;
    assert!(s["validation_log_rows"].as_i64().unwrap() >= 3, "{s}");
    assert_eq!(s["validation_events_dropped"], 0);

    // The license's details list them (identical events folded with a count).
    let d = app.license(&id).await;
    let recent = d["recent_validations"].as_array().unwrap();
    let count_of = |result: &str| -> i64 {
        recent.iter().filter(|e| e["result"] == result).map(|e| e["count"].as_i64().unwrap()).sum()
    };
    assert_eq!(count_of("ok"), 6, "{recent:?}");
    assert_eq!(count_of("product_mismatch"), 1, "{recent:?}");
    for e in recent {
        for field in ["at", "fingerprint", "client_ip", "result", "count"] {
            assert!(e.get(field).is_some(), "{field} missing: {e}");
        }
        assert_eq!(e["client_ip"], "127.0.0.1");
        assert!((unix(&e["at"]) - now()).abs() < 60);
    }
    assert!(recent.iter().any(|e| e["fingerprint"] == "fp-1"));
    assert!(recent.iter().all(|e| e["result"] != "bad_format"), "a bad key belongs to no license");

    // More validations keep growing the counter.
    let written = s["validation_events_written"].as_i64().unwrap();
    for _ in 0..3 {
        app.validate(json!({"key": key})).await;
    }
    stats_reach(&app, "validation_events_written", written + 3).await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn validation_events_written_counts_validations_only() {
    let app = spawn_app().await;
    app.product_with_policy("app", json!({})).await;
    let (_, key) = app.issue_license("app", "default").await;
    // One activation, then four validations and a heartbeat from the seated machine.
    for _ in 0..5 {
        assert_ok(&app.validate(json!({"key": key, "fingerprint": "fp-1"})).await);
    }
    assert_ok(&app.heartbeat(&key, "fp-1").await);
    stats_reach(&app, "validation_events_written", 6).await;
    // A sentinel validation after the heartbeat: once it is written, a
    // writer that counted the heartbeat's last-seen update would show 8.
    assert_ok(&app.validate(json!({"key": key, "fingerprint": "fp-1"})).await);
    let s = stats_reach(&app, "validation_events_written", 7).await;
    assert_eq!(s["validation_events_written"], 7, "last-seen updates are not validation events: {s}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn queued_events_are_flushed_on_graceful_stop() {
    let app = spawn_app().await;
    app.product_with_policy("app", json!({})).await;
    let (id, key) = app.issue_license("app", "default").await;
    let (_, other) = app.issue_license("app", "default").await;
    // Distinct fingerprints so no two events fold into one row.
    for i in 0..20 {
        assert_ok(&app.validate(json!({"key": key, "fingerprint": format!("fp-{i}")})).await);
    }
    assert_ok(&app.validate(json!({"key": other})).await);
    // Stop at once: whatever the writer has not written yet must be flushed now.
    let dir = app.stop().await;

    let app = spawn_in(dir, |_| {}).await;
    let s = app.stats().await;
    assert_eq!(s["validation_log_rows"], 21, "{s}");
    assert_eq!(s["validation_events_written"], 0, "a fresh process has written nothing yet");
    assert_eq!(s["active_machines"], 20);
    let d = app.license(&id).await;
    let recent = d["recent_validations"].as_array().unwrap();
    assert_eq!(recent.len(), 20);
    assert!(recent.iter().all(|e| e["result"] == "ok" && e["count"] == 1));
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn heartbeats_update_last_seen_in_the_background() {
    let app = spawn_app().await;
    app.product_with_policy("app", json!({})).await;
    let (id, key) = app.issue_license("app", "default").await;
    assert_ok(&app.activate(&key, "fp").await);
    let first = app.license(&id).await["machines"][0]["last_seen_at"].clone();
    // last_seen_at has one-second resolution: wait for the clock to tick
    // past it (a poll on the clock, not a fixed sleep).
    poll(Duration::from_secs(3), || async { (now() > unix(&first)).then_some(()) }).await.expect("a second passes");
    assert_ok(&app.heartbeat(&key, "fp").await);
    let seen = poll(Duration::from_secs(3), || async {
        let m = app.license(&id).await["machines"][0].clone();
        (unix(&m["last_seen_at"]) > unix(&first)).then_some(m)
    })
    .await
    .expect("last_seen_at moves forward");
    assert_eq!(unix(&seen["activated_at"]), unix(&first));
    app.stop().await;
}
