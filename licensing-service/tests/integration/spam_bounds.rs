//! Spam cannot grow the disk or flood webhooks (issue 11, items 5 and 6):
//! every table a stranger can write to is pruned on a schedule and the
//! database file stops growing; seat churn reuses one row, tells nobody and
//! is limited per license.

use std::time::Duration;

use crate::common::btcpay_sim::BtcpaySim;
use crate::common::{assert_ok, spawn_with, TestApp};
use serde_json::json;

/// Rows of a table, read from the live database.
async fn rows(app: &TestApp, table: &str) -> i64 {
    let (n,): (i64,) =
        sqlx::query_as(&format!("SELECT count(*) FROM {table}")).fetch_one(&app.state.db.read).await.unwrap();
    n
}

fn db_bytes(app: &TestApp) -> u64 {
    ["keysat.db", "keysat.db-wal"]
        .iter()
        .map(|f| std::fs::metadata(app.data_dir.path().join(f)).map(|m| m.len()).unwrap_or(0))
        .sum()
}

/// The database's size once the WAL is all in it: a TRUNCATE checkpoint,
/// retried while a reader holds it back. Rounds then compare pages, not
/// where the daemon's own periodic checkpoint happened to fall (a WAL just
/// truncated made round 0 look 4 MB smaller than the rounds after it).
async fn settled_db_bytes(app: &TestApp) -> u64 {
    let wal = app.data_dir.path().join("keysat.db-wal");
    for _ in 0..50 {
        app.state.db.checkpoint().await.expect("checkpoint");
        if std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0) == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    db_bytes(app)
}

/// The tables spam writes to, and their row counts.
const SPAMMED: [&str; 6] =
    ["invoices", "idempotency_keys", "code_uses", "provider_events", "machines", "outbox_events"];

async fn counts(app: &TestApp) -> Vec<(&'static str, i64)> {
    let mut out = Vec::new();
    for t in SPAMMED {
        out.push((t, rows(app, t).await));
    }
    out
}

/// One round of spam: unpaid purchases (with codes and idempotency keys)
/// that expire, and machines that come and go.
async fn spam(app: &TestApp, sim: &BtcpaySim, key: &str, round: usize) {
    for i in 0..60 {
        let r = app
            .client
            .post(format!("{}/v1/purchase", app.base))
            .header("idempotency-key", format!("spam-{round}-{i}"))
            .json(&json!({"product": "app", "code": "TEN-OFF", "buyer_email": format!("s{i}@example.com")}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let body: serde_json::Value = r.json().await.unwrap();
        sim.expire(body["btcpay_invoice_id"].as_str().unwrap()).await;
    }
    for i in 0..60 {
        let fp = format!("fp-{round}-{i}");
        assert_ok(&app.activate(key, &fp).await);
        assert_ok(&app.deactivate(key, &fp).await);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn spammed_tables_are_pruned_and_the_file_stops_growing() {
    let app = spawn_with(|c| {
        c.purchase_rate_per_minute = 100_000;
        c.purchase_global_rate_per_minute = 100_000;
        c.code_rate_per_minute = 100_000;
        c.validate_rate_per_minute = 100_000;
        c.max_pending_per_address = 100_000;
        c.retention.unpaid_seconds = 0;
        c.retention.history_seconds = 0;
        c.retention.interval_seconds = 1;
        // Freed seats stay as long as the validation log may name them.
        c.validation_log_days = 0;
        c.seat_quiet_seconds = 0;
        c.seat_changes_per_hour = 100_000;
    })
    .await;
    app.product_with_policy("app", json!({"price_sats": 8000, "max_machines": 0})).await;
    app.admin_post(
        "/discount-codes",
        json!({"product_slug": "app", "code": "TEN-OFF", "kind": "percent_off", "value": 10}),
    )
    .await
    .expect(201);
    let sim = BtcpaySim::start(&[("S1", "Shop")]).await;
    app.connect_btcpay(&sim, &["S1"]).await;
    let (_, key) = app.issue_license("app", "default").await;

    let mut sizes = Vec::new();
    for round in 0..3 {
        spam(&app, &sim, &key, round).await;
        // (The prune job runs while the spam is written: some rows may be gone already.)
        let before = counts(&app).await;
        // The prune job runs every second: wait for it to catch up (the
        // issued license's own rows and the one pending-free event may stay).
        let mut after = before.clone();
        for _ in 0..100 {
            tokio::time::sleep(Duration::from_millis(100)).await;
            after = counts(&app).await;
            if after.iter().all(|(_, n)| *n <= 2) {
                break;
            }
        }
        assert!(after.iter().all(|(_, n)| *n <= 2), "round {round}: {before:?} → {after:?}");
        sizes.push(settled_db_bytes(&app).await);
        println!("round {round}: rows before prune {before:?}, after {after:?}, database + WAL {} bytes", sizes[round]);
    }
    // Freed pages are reused: the third round costs no more room than the first left.
    assert!(sizes[2] <= sizes[0] + sizes[0] / 4, "database grew: {sizes:?}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn seat_churn_reuses_one_row_and_tells_nobody() {
    let app = spawn_with(|c| {
        c.validate_rate_per_minute = 100_000;
        c.seat_quiet_seconds = 30;
        // The first activation, a hundred pairs and a last free.
        c.seat_changes_per_hour = 202;
    })
    .await;
    app.product_with_policy("app", json!({"max_machines": 1})).await;
    let receiver = app
        .admin_post("/webhook-endpoints", json!({"url": "http://127.0.0.1:9/hook", "events": ["*"]}))
        .await
        .expect(201);
    assert!(receiver["id"].is_string());
    let (license_id, key) = app.issue_license("app", "default").await;
    let deliveries_before = rows(&app, "webhook_deliveries").await;
    assert_ok(&app.activate(&key, "fp-1").await);
    for _ in 0..100 {
        assert_ok(&app.deactivate(&key, "fp-1").await);
        assert_ok(&app.activate(&key, "fp-1").await);
    }
    let (machines,): (i64,) = sqlx::query_as("SELECT count(*) FROM machines WHERE license_id = ?")
        .bind(&license_id)
        .fetch_one(&app.state.db.read)
        .await
        .unwrap();
    assert_eq!(machines, 1, "one row for one fingerprint");
    // The first activation is told; the hundred free-and-retake pairs are not.
    assert_eq!(rows(&app, "webhook_deliveries").await - deliveries_before, 1);
    // A seat that stays freed is told, after the quiet time.
    assert_ok(&app.deactivate(&key, "fp-1").await);
    let (due,): (i64,) = sqlx::query_as(
        "SELECT min(d.next_attempt_at) - o.created_at FROM webhook_deliveries d JOIN outbox_events o ON o.id = d.event_id \
         WHERE o.type = 'machine.deactivated'",
    )
    .fetch_one(&app.state.db.read)
    .await
    .unwrap();
    assert_eq!(due, 30);
    // Seat changes on one license are limited: the next one is refused.
    crate::common::assert_refused(&app.activate(&key, "fp-1").await, "rate_limited");
    app.stop().await;
}
