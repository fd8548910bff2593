//! The hot path's activity records: every validation, activation or
//! heartbeat is folded in memory at once into a tally per (license, machine,
//! fingerprint, result), and one task writes the tallies every
//! [`FLUSH_EVERY`] in one transaction, with the machines' last-seen times.
//! So the rows written are bounded by the distinct machines (and refusals)
//! seen in an interval, not by the requests, a request never waits on the
//! disk, and nothing is dropped: a burst only makes the tallies count higher.
//! A tally that could not be written is folded back and written next time.

use std::collections::hash_map::{Entry, HashMap};
use std::hash::{BuildHasher, RandomState};
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;
use uuid::Uuid;

use crate::db::events::{EventKey, EventTally};
use crate::db::{self, Db};
use crate::domain::now_unix;

/// How often the tallies are written: a machine's row and last-seen time at
/// most once per interval.
const FLUSH_EVERY: Duration = Duration::from_secs(1);
/// Independent locks, so concurrent requests rarely wait for each other.
const SHARDS: usize = 32;
/// Distinct keys one shard holds before refusals lose their fingerprint
/// (their count is kept under the license and result alone).
const SHARD_KEYS: usize = 16_384;
/// Distinct client addresses told apart per tally (`ip_count` saturates here).
const MAX_IPS: usize = 64;
/// Most rows written per transaction.
const MAX_BATCH: usize = 16_384;

/// One validation, activation or heartbeat as the log records it.
pub struct HotEvent {
    pub key: EventKey,
    pub client_ip: IpAddr,
}

/// What is folded for one key until the next write.
struct Pending {
    count: i64,
    last_ip: IpAddr,
    ips: Vec<IpAddr>,
}

impl Pending {
    fn add(&mut self, count: i64, ip: IpAddr) {
        self.count += count;
        self.last_ip = ip;
        if self.ips.len() < MAX_IPS && !self.ips.contains(&ip) {
            self.ips.push(ip);
        }
    }
}

type Shard = Mutex<HashMap<EventKey, Pending>>;

struct Folds {
    shards: Vec<Shard>,
    hasher: RandomState,
}

impl Folds {
    fn shard(&self, key: &EventKey) -> &Shard {
        &self.shards[(self.hasher.hash_one(key) as usize) % SHARDS]
    }

    fn add(&self, key: EventKey, count: i64, ip: IpAddr) {
        let mut map = self.shard(&key).lock().expect("event fold lock");
        // A full shard keeps refusals' counts without their fingerprints; seats
        // and licenses are bounded by the database's own rows.
        let key = if map.len() >= SHARD_KEYS && key.machine_id.is_none() && !map.contains_key(&key) {
            EventKey { fingerprint: None, ..key }
        } else {
            key
        };
        match map.entry(key) {
            Entry::Occupied(mut e) => e.get_mut().add(count, ip),
            Entry::Vacant(e) => {
                e.insert(Pending { count, last_ip: ip, ips: vec![ip] });
            }
        }
    }

    /// Everything folded so far, leaving the shards empty.
    fn take(&self) -> Vec<(EventKey, Pending)> {
        let mut out = Vec::new();
        for shard in &self.shards {
            let map = std::mem::take(&mut *shard.lock().expect("event fold lock"));
            out.extend(map);
        }
        out
    }
}

/// The folding side, held by the licensing service.
#[derive(Clone)]
pub struct EventQueue {
    folds: Arc<Folds>,
    closed: Arc<AtomicBool>,
    /// Events refused because the writer had already stopped (at shutdown).
    pub dropped: Arc<AtomicU64>,
    pub written: Arc<AtomicU64>,
}

impl EventQueue {
    /// Starts the writer task. When `shutdown` turns true it stops taking
    /// events, writes what is folded, and ends.
    pub fn start(db: Db, shutdown: watch::Receiver<bool>) -> (EventQueue, JoinHandle<()>) {
        let folds = Folds { shards: (0..SHARDS).map(|_| Mutex::default()).collect(), hasher: RandomState::new() };
        let q = EventQueue {
            folds: Arc::new(folds),
            closed: Arc::default(),
            dropped: Arc::default(),
            written: Arc::default(),
        };
        let handle = tokio::spawn(writer(db, q.clone(), shutdown));
        (q, handle)
    }

    /// Never blocks on the disk: a short lock on one shard of the tallies.
    pub fn push(&self, e: HotEvent) {
        if self.closed.load(Ordering::Acquire) {
            self.dropped.fetch_add(1, Ordering::Relaxed);
            return;
        }
        self.folds.add(e.key, 1, e.client_ip);
    }
}

async fn writer(db: Db, q: EventQueue, mut shutdown: watch::Receiver<bool>) {
    let mut closing = false;
    loop {
        tokio::select! {
            _ = tokio::time::sleep(FLUSH_EVERY) => {}
            _ = shutdown.wait_for(|stop| *stop) => {
                closing = true;
                q.closed.store(true, Ordering::Release);
            }
        }
        flush(&db, &q).await;
        if closing {
            break;
        }
    }
}

/// Writes what is folded, a transaction per batch; a batch that fails is
/// folded back to be written next time.
async fn flush(db: &Db, q: &EventQueue) {
    let mut pending = q.folds.take();
    while !pending.is_empty() {
        let rest = pending.split_off(pending.len().min(MAX_BATCH));
        let batch = std::mem::replace(&mut pending, rest);
        let rows: Vec<(EventKey, EventTally)> = batch
            .into_iter()
            .map(|(k, p)| (k, EventTally { count: p.count, ip_count: p.ips.len() as i64, last_ip: p.last_ip }))
            .collect();
        let n: i64 = rows.iter().map(|(_, t)| t.count).sum();
        match write_batch(db, &rows).await {
            Ok(()) => {
                q.written.fetch_add(n as u64, Ordering::Relaxed);
            }
            Err(e) => {
                tracing::warn!(error = %e, events = n, "could not write validation events; retrying");
                for (k, t) in rows {
                    q.folds.add(k, t.count, t.last_ip);
                }
            }
        }
    }
}

/// The tallies and the last-seen times of their machines, in one transaction.
async fn write_batch(db: &Db, rows: &[(EventKey, EventTally)]) -> Result<(), sqlx::Error> {
    let now = now_unix();
    let mut seen: Vec<Uuid> = rows.iter().filter_map(|(k, _)| k.machine_id).collect();
    seen.sort_unstable();
    seen.dedup();
    let mut tx = db.begin().await?;
    db::events::insert_batch(&mut tx, now, rows).await?;
    db::machines::touch_many(&mut tx, &seen, now).await?;
    tx.commit().await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(fp: &str, machine: Option<Uuid>) -> EventKey {
        EventKey { license_id: None, machine_id: machine, fingerprint: Some(fp.into()), result: "ok" }
    }

    #[test]
    fn events_fold_per_key_and_full_shards_keep_counts() {
        let folds = Folds { shards: (0..SHARDS).map(|_| Mutex::default()).collect(), hasher: RandomState::new() };
        let ip = |n: u8| IpAddr::from([10, 0, 0, n]);
        for i in 0..3 {
            folds.add(key("a", None), 1, ip(i));
        }
        folds.add(key("a", None), 1, ip(0));
        let machine = Some(Uuid::new_v4());
        folds.add(key("b", machine), 1, ip(9));
        // Far more distinct refusals than the shards hold: all still counted.
        let many = SHARD_KEYS * SHARDS * 5 / 4;
        for i in 0..many {
            folds.add(key(&format!("x{i}"), None), 1, ip(1));
        }
        let all = folds.take();
        assert!(folds.take().is_empty());
        let total: i64 = all.iter().map(|(_, p)| p.count).sum();
        assert_eq!(total, 5 + many as i64);
        let a = all.iter().find(|(k, _)| k == &key("a", None)).unwrap();
        assert_eq!((a.1.count, a.1.ips.len(), a.1.last_ip), (4, 3, ip(0)));
        assert!(all.iter().any(|(k, p)| k.machine_id == machine && p.count == 1));
        assert!(all.len() <= SHARDS * (SHARD_KEYS + 1) + 1, "{}", all.len());
    }
}
