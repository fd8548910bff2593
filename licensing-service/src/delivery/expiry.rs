//! `license.expired`: a scan walks forward through expiry times and writes
//! one event per license that reached its `expires_at`, moving its
//! watermark in the same transaction (so each expiry is told exactly once,
//! and expiries passed while the daemon was stopped are told when it starts).
//! The watermark starts at the moment the migration created it.
//!
//! Every query states `expires_at > 0` itself, so SQLite may use the partial
//! index `licenses_expires` (a bound watermark proves nothing about zero):
//! a run costs an index seek, not a scan of every license.

use serde_json::json;

use crate::db::{self, Db};
use crate::delivery::events::license_event;
use crate::domain::outbox::EventType;
use crate::domain::time::ts;

/// The setting holding the last expiry time scanned.
const WATERMARK: &str = "expiry_scan_watermark";
/// Licenses handled per transaction.
const BATCH: i64 = 200;

/// Writes `license.expired` for every license (not revoked) whose expiry
/// falls after the watermark and at or before `now`. Returns how many.
pub async fn scan(db: &Db, now: i64) -> Result<usize, sqlx::Error> {
    // Most runs find nothing: look first without taking the writer.
    let probe_started = std::time::Instant::now();
    let watermark = db::settings::get(&db.read, WATERMARK).await?.and_then(|v| v.parse::<i64>().ok()).unwrap_or(now);
    let any: Option<i64> = sqlx::query_scalar(
        "SELECT 1 FROM licenses WHERE expires_at > 0 AND expires_at > ? AND expires_at <= ? AND status != 'revoked' LIMIT 1",
    )
    .bind(watermark)
    .bind(now)
    .fetch_optional(&db.read)
    .await?;
    tracing::debug!(micros = probe_started.elapsed().as_micros() as u64, "expiry probe");
    if any.is_none() {
        return Ok(0);
    }
    let mut written = 0;
    loop {
        let mut tx = db.begin().await?;
        // Set by the migration that created this scan: expiries before it are history.
        let watermark =
            db::settings::get(&mut *tx, WATERMARK).await?.and_then(|v| v.parse::<i64>().ok()).unwrap_or(now);
        // The next batch of expiry times; a second is always taken whole.
        let next: Vec<i64> = sqlx::query_scalar(
            "SELECT expires_at FROM licenses WHERE expires_at > 0 AND expires_at > ? AND expires_at <= ? AND status != 'revoked' \
             ORDER BY expires_at LIMIT ?",
        )
        .bind(watermark)
        .bind(now)
        .bind(BATCH)
        .fetch_all(&mut *tx)
        .await?;
        let last_batch = (next.len() as i64) < BATCH;
        let upto = if last_batch { now } else { next.last().copied().unwrap_or(now) };
        let ids: Vec<String> = sqlx::query_scalar(
            "SELECT id FROM licenses WHERE expires_at > 0 AND expires_at > ? AND expires_at <= ? AND status != 'revoked' \
             ORDER BY expires_at, id",
        )
        .bind(watermark)
        .bind(upto)
        .fetch_all(&mut *tx)
        .await?;
        for id in &ids {
            let Some(l) = db::licenses::by_id(&mut *tx, db::uuid_col(id)?).await? else { continue };
            let grace_until = l.expires_at + l.grace_seconds;
            license_event(&mut tx, now, EventType::LicenseExpired, &l, json!({"grace_until": ts(grace_until)})).await?;
            written += 1;
        }
        db::settings::set(&mut *tx, WATERMARK, &upto.max(watermark).to_string()).await?;
        tx.commit().await?;
        if last_batch {
            return Ok(written);
        }
    }
}
