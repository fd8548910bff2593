//! Floating seats: a seat not heard from (validate, heartbeat, activation
//! or lease) for its policy's `seat_timeout_seconds` is freed by the
//! scheduler, with its audit record and `machine.deactivated` event.
//!
//! The machines' last-seen times are written once a second by the event
//! writer (`events.rs`); a seat carries its timeout (`lapse_after`), so the
//! scan is a seek in the partial index `machines_lapse` (active seats with a
//! timeout, by the time they lapse): a run that finds nothing reads nothing
//! else, however many machines never lapse.

use serde_json::json;

use super::{seats, Licensing};
use crate::db::{self, audit::NewAudit};

/// Seats freed per transaction.
const BATCH: i64 = 200;
/// Transactions per run at most (the next run goes on).
const MAX_ROUNDS: usize = 50;

impl Licensing {
    /// Frees every seat whose timeout has passed at `now`; returns how many.
    pub async fn free_lapsed(&self, now: i64) -> Result<usize, sqlx::Error> {
        let mut freed = 0;
        for _ in 0..MAX_ROUNDS {
            // Most runs find nothing: look first without taking the writer.
            let due = db::machines::lapsed(&self.db.read, now, BATCH).await?;
            if due.is_empty() {
                break;
            }
            let mut tx = self.db.begin().await?;
            let mut snapshots = Vec::new();
            for (machine_id, license_id, unseen) in &due {
                // A sign of life may have been written since the look.
                if !db::machines::still_lapsed(&mut tx, *machine_id, now).await? {
                    continue;
                }
                let reason = format!("not heard from for {unseen} s: the floating seat lapsed");
                let audit = NewAudit {
                    actor: "scheduler",
                    action: "machine.deactivate",
                    target_type: "machine",
                    target_id: machine_id.to_string(),
                    details: json!({ "license_id": license_id, "reason": reason, "lapsed": true }),
                };
                let quiet = self.seat_quiet_seconds;
                if let Some(snap) =
                    seats::free(&mut tx, *machine_id, *license_id, &reason, Some(audit), now, quiet).await?
                {
                    snapshots.push(snap);
                    freed += 1;
                }
            }
            tx.commit().await?;
            for snap in snapshots {
                self.cache.store(snap);
            }
            if (due.len() as i64) < BATCH {
                break;
            }
        }
        Ok(freed)
    }
}
