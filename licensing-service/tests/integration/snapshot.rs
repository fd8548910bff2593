//! `keysat snapshot`: a copy taken while the daemon runs (and writes) restores
//! into a fresh data directory where every key issued before it still
//! validates, signed by the same key; later keys are not in it.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::common::*;
use serde_json::json;

/// Runs `keysat snapshot --data-dir <data_dir> <dest>`; returns (success, stdout, stderr).
async fn run_snapshot(data_dir: &Path, dest: &Path) -> (bool, String, String) {
    let out = tokio::process::Command::new(KEYSAT_BIN)
        .arg("snapshot")
        .arg("--data-dir")
        .arg(data_dir)
        .arg(dest)
        .env_clear()
        .output()
        .await
        .expect("run keysat snapshot");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A fresh data directory holding `snapshot` as its database, as a restore leaves it.
fn restore_into_fresh_dir(snapshot: &Path) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::copy(snapshot, dir.path().join("keysat.db")).expect("copy the snapshot in place");
    dir
}

#[tokio::test]
async fn a_snapshot_taken_under_load_restores_every_key_issued_before_it() {
    let app = spawn_app().await;
    app.product_with_policy("app", json!({"max_machines": 2})).await;
    let (before_id, before_key) = app.issue_license("app", "default").await;
    assert_ok(&app.activate(&before_key, &"ab".repeat(32)).await);
    let pem = app.get("/v1/pubkey").await.expect(200)["public_key_pem"].clone();

    // Writers keep committing while the snapshot is taken.
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (client, base, key, stop) =
            (app.client.clone(), app.admin_base.clone(), app.admin_key.clone(), stop.clone());
        tokio::spawn(async move {
            let mut issued = 0u32;
            while !stop.load(Ordering::Relaxed) {
                let r = client
                    .post(format!("{base}/v1/admin/licenses"))
                    .bearer_auth(&key)
                    .json(&json!({"product_slug": "app", "note": "load"}))
                    .send()
                    .await
                    .expect("issue under load");
                assert_eq!(r.status().as_u16(), 201);
                issued += 1;
            }
            issued
        })
    };
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;

    let out_dir = tempfile::tempdir().unwrap();
    let dest = out_dir.path().join("backup").join("keysat-snapshot.db");
    let (ok, stdout, stderr) = run_snapshot(app.data_dir.path(), &dest).await;
    assert!(ok, "snapshot failed: {stderr}");
    assert!(stdout.contains("snapshot written"), "{stdout}");
    stop.store(true, Ordering::Relaxed);
    let issued_under_load = writer.await.unwrap();
    assert!(issued_under_load > 0, "the writer never ran");
    assert!(!out_dir.path().join("backup").join("keysat-snapshot.db.partial").exists());

    let (after_id, after_key) = app.issue_license("app", "default").await;
    let live_licenses = app.stats().await["licenses"].as_i64().unwrap();
    app.stop().await;

    let restored_dir = restore_into_fresh_dir(&dest);
    let restored = spawn_in(restored_dir, |_| {}).await;
    assert_eq!(restored.get("/v1/pubkey").await.expect(200)["public_key_pem"], pem, "same signing key");
    let v = restored.validate(json!({"key": before_key, "product_slug": "app"})).await;
    assert_ok(&v);
    assert_eq!(v["license_id"], json!(before_id));
    let license = restored.license(&before_id).await;
    assert_eq!(license["active_machines"], json!(1), "seats come back too");
    let later = restored.validate(json!({"key": after_key, "product_slug": "app"})).await;
    assert_refused(&later, "not_found");
    restored.admin_get(&format!("/licenses/{after_id}")).await.expect_error(404, "not_found");

    // A consistent prefix of the writes: more than before the load, fewer than at the end.
    let restored_licenses = restored.stats().await["licenses"].as_i64().unwrap();
    assert!((1..live_licenses).contains(&restored_licenses), "{restored_licenses} of {live_licenses}");
    let page = restored.admin_get("/licenses?limit=500").await.expect(200);
    for l in page["licenses"].as_array().unwrap() {
        let key = l["license_key"].as_str().unwrap();
        assert_ok(&restored.validate(json!({"key": key, "product_slug": "app"})).await);
    }
    restored.stop().await;
}

#[tokio::test]
async fn a_new_snapshot_replaces_the_old_one_whole() {
    let app = spawn_app().await;
    app.product_with_policy("app", json!({})).await;
    app.issue_license("app", "default").await;
    let out_dir = tempfile::tempdir().unwrap();
    let dest = out_dir.path().join("keysat-snapshot.db");
    assert!(run_snapshot(app.data_dir.path(), &dest).await.0);
    let (second_id, second_key) = app.issue_license("app", "default").await;
    let (ok, _, stderr) = run_snapshot(app.data_dir.path(), &dest).await;
    assert!(ok, "{stderr}");
    app.stop().await;

    let restored = spawn_in(restore_into_fresh_dir(&dest), |_| {}).await;
    assert_ok(&restored.validate(json!({"key": second_key, "product_slug": "app"})).await);
    assert_eq!(restored.license(&second_id).await["status"], json!("active"));
    restored.stop().await;
}

#[tokio::test]
async fn a_stopped_daemon_can_be_snapshotted_and_a_missing_database_is_refused() {
    let app = spawn_app().await;
    app.product_with_policy("app", json!({})).await;
    let (_, key) = app.issue_license("app", "default").await;
    let data_dir = app.stop().await;
    let dest = data_dir.path().join("backup/keysat-snapshot.db");
    let (ok, _, stderr) = run_snapshot(data_dir.path(), &dest).await;
    assert!(ok, "{stderr}");
    let restored = spawn_in(restore_into_fresh_dir(&dest), |_| {}).await;
    assert_ok(&restored.validate(json!({"key": key, "product_slug": "app"})).await);
    restored.stop().await;

    let empty = tempfile::tempdir().unwrap();
    let (ok, _, stderr) = run_snapshot(empty.path(), &empty.path().join("s.db")).await;
    assert!(!ok);
    assert!(stderr.contains("no database at"), "{stderr}");
    assert!(!empty.path().join("s.db").exists());
    let (ok, _, stderr) = run_snapshot(data_dir.path(), &data_dir.path().join("keysat.db")).await;
    assert!(!ok, "overwrote the live database");
    assert!(stderr.contains("must not overwrite"), "{stderr}");
}
