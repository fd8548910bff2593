//! Seats: `/v1/machines/{activate,heartbeat,deactivate}`, and seat limits
//! holding under concurrent activations.

use crate::common::*;
use futures::future::join_all;
use serde_json::{json, Value};

/// The machine answer is `{ok, reason?, message?, machine_id?, active_count, max_machines}`.
#[track_caller]
fn seats(body: &Value, active: u64, max: i64) {
    assert_eq!(body["active_count"].as_u64(), Some(active), "{body}");
    assert_eq!(body["max_machines"].as_i64(), Some(max), "{body}");
}

#[tokio::test(flavor = "multi_thread")]
async fn activate_heartbeat_deactivate() {
    let app = spawn_app().await;
    app.product_with_policy("app", json!({"max_machines": 2})).await;
    let (id, key) = app.issue_license("app", "default").await;

    let a = app
        .post(
            "/v1/machines/activate",
            json!({"key": key, "fingerprint": "fp-1", "hostname": "laptop", "platform": "macos"}),
        )
        .await
        .expect(200);
    assert_ok(&a);
    assert_eq!(keys(&a), sorted(&["ok", "machine_id", "active_count", "max_machines"]));
    seats(&a, 1, 2);
    let m1 = a["machine_id"].as_str().unwrap().to_string();

    // Activating again is idempotent.
    let again = app.activate(&key, "fp-1").await;
    assert_eq!(again["machine_id"], m1.as_str());
    seats(&again, 1, 2);

    let hb = app.heartbeat(&key, "fp-1").await;
    assert_ok(&hb);
    assert_eq!(hb["machine_id"], m1.as_str());
    seats(&hb, 1, 2);

    // Unknown fingerprints hold no seat.
    let hb = app.heartbeat(&key, "fp-unknown").await;
    assert_refused(&hb, "not_activated");
    assert!(hb.get("machine_id").is_none());
    seats(&hb, 1, 2);
    let d = app.deactivate(&key, "fp-unknown").await;
    assert_refused(&d, "not_activated");
    seats(&d, 1, 2);

    let a2 = app.activate(&key, "fp-2").await;
    assert_ok(&a2);
    seats(&a2, 2, 2);
    let full = app.activate(&key, "fp-3").await;
    assert_refused(&full, "too_many_machines");
    seats(&full, 2, 2);

    // Deactivating frees the seat for another machine.
    let d = app
        .post("/v1/machines/deactivate", json!({"key": key, "fingerprint": "fp-1", "reason": "reinstall"}))
        .await
        .expect(200);
    assert_ok(&d);
    assert_eq!(d["machine_id"], m1.as_str());
    seats(&d, 1, 2);
    assert_refused(&app.heartbeat(&key, "fp-1").await, "not_activated");
    assert_refused(&app.deactivate(&key, "fp-1").await, "not_activated");
    let a3 = app.activate(&key, "fp-3").await;
    assert_ok(&a3);
    seats(&a3, 2, 2);

    // The operator sees the history, with the application's reason.
    let detail = app.license(&id).await;
    assert_eq!(detail["active_machines"], 2);
    let m = detail["machines"].as_array().unwrap().iter().find(|m| m["id"] == m1.as_str()).unwrap().clone();
    assert_eq!(m["active"], false);
    assert_eq!(m["deactivation_reason"], "reinstall");
    assert_eq!(m["hostname"], "laptop");
    assert_eq!(m["platform"], "macos");

    // A machine that left can come back once a seat is free, in its old row.
    assert_ok(&app.deactivate(&key, "fp-2").await);
    let back = app.activate(&key, "fp-1").await;
    assert_ok(&back);
    assert_eq!(back["machine_id"], m1.as_str());
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn deactivate_works_whatever_the_license_state() {
    let app = spawn_app().await;
    app.product_with_policy("app", json!({"max_machines": 2})).await;
    let (id, key) = app.issue_license("app", "default").await;
    assert_ok(&app.activate(&key, "fp-1").await);
    app.admin_post(&format!("/licenses/{id}/suspend"), json!({})).await.expect(200);
    assert_refused(&app.activate(&key, "fp-2").await, "suspended");
    assert_refused(&app.heartbeat(&key, "fp-1").await, "suspended");
    let d = app.deactivate(&key, "fp-1").await;
    assert_ok(&d);
    seats(&d, 0, 2);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn zero_seats_means_unlimited() {
    let app = spawn_app().await;
    app.product_with_policy("app", json!({"max_machines": 0})).await;
    let (id, key) = app.issue_license("app", "default").await;
    for i in 0..12 {
        let a = app.activate(&key, &format!("fp-{i}")).await;
        assert_ok(&a);
        seats(&a, i + 1, 0);
    }
    assert_ok(&app.validate(json!({"key": key, "fingerprint": "one-more"})).await);
    assert_eq!(app.license(&id).await["active_machines"], 13);
    let d = app.deactivate(&key, "fp-0").await;
    seats(&d, 12, 0);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_machine_bodies_are_client_errors() {
    let app = spawn_app().await;
    app.product_with_policy("app", json!({})).await;
    let (_, key) = app.issue_license("app", "default").await;
    for path in ["/v1/machines/activate", "/v1/machines/heartbeat", "/v1/machines/deactivate"] {
        app.post_raw(path, "{not json").await.expect_error(400, "malformed_json");
        app.post(path, json!({"key": key})).await.expect(400);
        app.post(path, json!({"fingerprint": "fp"})).await.expect(400);
        app.post(path, json!({"key": key, "fingerprint": ""})).await.expect(400);
        app.post(path, json!({"key": key, "fingerprint": "x".repeat(257)})).await.expect(400);
        app.post(path, json!({"key": key, "fingerprint": 7})).await.expect(400);
    }
    app.post("/v1/machines/activate", json!({"key": key, "fingerprint": "fp", "hostname": "h".repeat(256)}))
        .await
        .expect(400);
    assert_eq!(app.stats().await["active_machines"], 0);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_activations_never_exceed_the_seats() {
    let app = spawn_app().await;
    app.product_with_policy("app", json!({"max_machines": 3})).await;
    let (id, key) = app.issue_license("app", "default").await;

    let calls = (0..50).map(|i| {
        let app = &app;
        let key = key.clone();
        async move { app.activate(&key, &format!("machine-{i:02}")).await }
    });
    let answers = join_all(calls).await;
    let granted: Vec<&Value> = answers.iter().filter(|a| a["ok"] == true).collect();
    let refused: Vec<&Value> = answers.iter().filter(|a| a["reason"] == "too_many_machines").collect();
    assert_eq!(granted.len(), 3, "{answers:?}");
    assert_eq!(refused.len(), 47, "{answers:?}");
    for a in &answers {
        assert_eq!(a["max_machines"], 3);
        assert!(a["active_count"].as_u64().unwrap() <= 3, "{a}");
    }

    let listed = app.admin_get(&format!("/machines?license_id={id}")).await.expect(200);
    let active: Vec<&Value> = listed["machines"].as_array().unwrap().iter().filter(|m| m["active"] == true).collect();
    assert_eq!(active.len(), 3);
    assert_eq!(listed["machines"].as_array().unwrap().len(), 3, "refused machines leave no rows");
    let mut granted_ids: Vec<&str> = granted.iter().map(|a| a["machine_id"].as_str().unwrap()).collect();
    let mut listed_ids: Vec<&str> = active.iter().map(|m| m["id"].as_str().unwrap()).collect();
    granted_ids.sort();
    listed_ids.sort();
    assert_eq!(granted_ids, listed_ids);

    // The winners hold their seats; validation agrees with the database.
    for m in &active {
        assert_ok(&app.heartbeat(&key, m["fingerprint"].as_str().unwrap()).await);
    }
    assert_refused(&app.validate(json!({"key": key, "fingerprint": "late"})).await, "too_many_machines");

    // A one-seat license racing on first use binds exactly one machine.
    app.create_policy("app", json!({"slug": "single", "max_machines": 1})).await;
    let (id1, key1) = app.issue_license("app", "single").await;
    let first_use = join_all((0..20).map(|i| {
        let key1 = key1.clone();
        let app = &app;
        async move { app.validate(json!({"key": key1, "fingerprint": format!("pc-{i}")})).await }
    }))
    .await;
    assert_eq!(first_use.iter().filter(|a| a["ok"] == true).count(), 1, "{first_use:?}");
    assert_eq!(first_use.iter().filter(|a| a["reason"] == "fingerprint_mismatch").count(), 19, "{first_use:?}");
    assert_eq!(app.license(&id1).await["active_machines"], 1);

    // The same machine racing itself gets one seat.
    let (id2, key2) = app.issue_license("app", "default").await;
    let same = join_all((0..20).map(|_| app.activate(&key2, "twin"))).await;
    assert!(same.iter().all(|a| a["ok"] == true), "{same:?}");
    let first = &same[0]["machine_id"];
    assert!(same.iter().all(|a| &a["machine_id"] == first));
    assert_eq!(app.license(&id2).await["active_machines"], 1);
    app.stop().await;
}
