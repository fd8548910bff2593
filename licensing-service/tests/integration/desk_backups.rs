//! Backups on the machine: taken on demand (the schedule's rules are unit
//! tests on a compressed clock in `backup.rs`), shown in `/v1/admin/status`
//! and the metrics, a failure reported; `keysat restore` refuses a damaged or
//! foreign file and a running daemon, and Keysat starts on what it restored.

use std::process::Command;

use crate::common::*;
use crate::desk_metrics::{parse, value};
use serde_json::json;

fn restore(data_dir: &std::path::Path, file: &std::path::Path) -> std::process::Output {
    Command::new(KEYSAT_BIN)
        .args(["restore", "--data-dir", data_dir.to_str().unwrap(), file.to_str().unwrap()])
        .env_clear()
        .output()
        .expect("run keysat restore")
}

#[tokio::test(flavor = "multi_thread")]
async fn a_backup_is_taken_checked_listed_and_shown() {
    let app = spawn_app().await;
    let status = app.admin_get("/status").await.expect(200);
    assert_eq!(status["backups"]["last"], serde_json::Value::Null);
    assert_eq!(status["backups"]["scheduled"], false, "tests run without the schedule");
    app.product_with_policy("app", json!({})).await;
    app.issue_license("app", "default").await;

    let taken = app.admin_post("/backups", json!({})).await.expect(201);
    let name = taken["name"].as_str().unwrap();
    assert!(name.starts_with("keysat-") && name.ends_with("Z.db"), "{name}");
    let path = app.data_dir.path().join("backups").join(name);
    keysat::backup::check(&path).await.expect("a whole Keysat database");

    let status = app.admin_get("/status").await.expect(200);
    assert_eq!(status["licenses"], 1);
    assert_eq!(status["backups"]["last"]["name"], name);
    assert_eq!(status["backups"]["failing"], serde_json::Value::Null);
    assert_eq!(app.admin_get("/backups").await.expect(200)["files"][0]["name"], name);
    let metrics = app.client.get(format!("{}/metrics", app.admin_base)).bearer_auth(&app.admin_key).send().await;
    let scrape = parse(&metrics.unwrap().text().await.unwrap());
    assert!(value(&scrape, "keysat_backup_age_seconds", &[]) < 60.0);
    assert!(app.audit_count().await >= 3, "the backup is audited");

    // A failure is reported (here: the backups directory cannot be made),
    // to the operator once while it lasts.
    let npub = "npub1sg6plzptd64u62a878hep2kev88swjh3tw00gjsfl8f237lmu63q0uf63m";
    app.admin_put("/settings", json!({"operator_npub": npub})).await.expect(200);
    std::fs::remove_dir_all(app.data_dir.path().join("backups")).unwrap();
    std::fs::write(app.data_dir.path().join("backups"), "not a directory").unwrap();
    app.admin_post("/backups", json!({})).await.expect_error(503, "backup_failed");
    app.admin_post("/backups", json!({})).await.expect_error(503, "backup_failed");
    let notices: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM nostr_messages WHERE notice = 'backup_failed'")
        .fetch_one(&app.state.db.read)
        .await
        .unwrap();
    assert_eq!(notices, 1, "one notice per failing streak");
    let status = app.admin_get("/status").await.expect(200);
    assert!(status["backups"]["failing"]["message"].as_str().unwrap().contains("backups"), "{status}");
    assert_eq!(status["backups"]["last"]["name"], name, "the last good one is still named");
}

#[tokio::test(flavor = "multi_thread")]
async fn restore_refuses_damage_and_a_running_daemon_then_starts_on_the_backup() {
    let app = spawn_app().await;
    app.product_with_policy("app", json!({})).await;
    let (kept, _) = app.issue_license("app", "default").await;
    let taken = app.admin_post("/backups", json!({})).await.expect(201);
    let (later, _) = app.issue_license("app", "default").await;
    let backup = app.data_dir.path().join("backups").join(taken["name"].as_str().unwrap());
    let outside = tempfile::tempdir().unwrap();
    let good = outside.path().join("good.db");
    std::fs::copy(&backup, &good).unwrap();

    // Refused while Keysat runs on the data directory.
    let out = restore(app.data_dir.path(), &good);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("another Keysat is running"), "{out:?}");
    let data_dir = app.stop().await;

    // A damaged file and a foreign one are refused; nothing moves.
    let damaged = outside.path().join("damaged.db");
    let bytes = std::fs::read(&good).unwrap();
    std::fs::write(&damaged, &bytes[..bytes.len() / 2]).unwrap();
    let foreign = outside.path().join("foreign.db");
    std::fs::write(&foreign, "SQLite format 3\0 but not really").unwrap();
    for bad in [&damaged, &foreign, &outside.path().join("missing.db")] {
        let out = restore(data_dir.path(), bad);
        assert!(!out.status.success(), "{bad:?} was restored");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.starts_with("keysat: ") && err.lines().count() == 1, "one clear line: {err}");
    }
    assert!(!data_dir.path().read_dir().unwrap().any(|e| e
        .unwrap()
        .file_name()
        .to_string_lossy()
        .starts_with("before")));

    let out = restore(data_dir.path(), &good);
    assert!(out.status.success(), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("before-restore-"), "{out:?}");
    let app = spawn_in(data_dir, |_| {}).await;
    app.admin_get(&format!("/licenses/{kept}")).await.expect(200);
    app.admin_get(&format!("/licenses/{later}")).await.expect_error(404, "not_found");
}
