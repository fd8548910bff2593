//! The hot path's write queue: one event per validation or machine call goes
//! into a bounded channel and one task writes them in batches, so a request
//! never waits on the disk. Machine last-seen times are derived from the same
//! events. When the queue is full, events are dropped and counted rather than
//! slowing requests down.

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use uuid::Uuid;

use crate::db::events::{EventKey, EventTally};
use crate::db::{self, Db};
use crate::domain::now_unix;

/// Capacity of the queue between requests and the writer.
const QUEUE_CAPACITY: usize = 65_536;
/// Most events folded into one transaction.
const MAX_BATCH: usize = 16_384;
/// How often queued events are written.
const FLUSH_EVERY: Duration = Duration::from_millis(250);

/// One validation, activation or heartbeat as the log records it.
pub struct HotEvent {
    pub key: EventKey,
    pub client_ip: IpAddr,
}

/// Sending side, held by the licensing service.
#[derive(Clone)]
pub struct EventQueue {
    tx: mpsc::Sender<HotEvent>,
    pub dropped: Arc<AtomicU64>,
    pub written: Arc<AtomicU64>,
}

impl EventQueue {
    /// Starts the writer task. When `shutdown` turns true it stops taking
    /// events, writes what is queued, and ends.
    pub fn start(db: Db, shutdown: watch::Receiver<bool>) -> (EventQueue, JoinHandle<()>) {
        let (tx, rx) = mpsc::channel(QUEUE_CAPACITY);
        let q = EventQueue { tx, dropped: Arc::default(), written: Arc::default() };
        let handle = tokio::spawn(writer(db, rx, q.written.clone(), shutdown));
        (q, handle)
    }

    /// Never blocks; drops the event when the queue is full.
    pub fn push(&self, e: HotEvent) {
        if self.tx.try_send(e).is_err() {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }
}

async fn writer(
    db: Db,
    mut rx: mpsc::Receiver<HotEvent>,
    written: Arc<AtomicU64>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut buf = Vec::with_capacity(MAX_BATCH);
    let mut closing = false;
    loop {
        if !closing {
            tokio::select! {
                _ = tokio::time::sleep(FLUSH_EVERY) => {}
                _ = shutdown.wait_for(|stop| *stop) => {
                    closing = true;
                    rx.close();
                }
            }
        }
        // Drain what is queued now, one transaction per full batch.
        while take_queued(&mut rx, &mut buf) > 0 {
            let n = buf.len() as u64;
            match write_batch(&db, std::mem::take(&mut buf)).await {
                Ok(()) => {
                    written.fetch_add(n, Ordering::Relaxed);
                }
                Err(e) => tracing::warn!(error = %e, events = n, "could not write validation events"),
            }
        }
        if closing {
            break;
        }
    }
}

/// Moves what is queued right now (up to a batch) into `buf`.
fn take_queued(rx: &mut mpsc::Receiver<HotEvent>, buf: &mut Vec<HotEvent>) -> usize {
    while buf.len() < MAX_BATCH {
        match rx.try_recv() {
            Ok(e) => buf.push(e),
            Err(_) => break,
        }
    }
    buf.len()
}

/// Folds a batch by (license, machine, result) and writes it with the
/// machines' last-seen times in one transaction.
async fn write_batch(db: &Db, events: Vec<HotEvent>) -> Result<(), sqlx::Error> {
    // Folding a large batch is CPU work: keep it off the request workers.
    let (rows, seen) = tokio::task::spawn_blocking(move || fold(events)).await.expect("folding events");
    let now = now_unix();
    let mut tx = db.begin().await?;
    db::events::insert_batch(&mut tx, now, &rows).await?;
    for machine_id in seen {
        db::machines::touch(&mut tx, machine_id, now).await?;
    }
    tx.commit().await
}

type Folded = (Vec<(EventKey, EventTally)>, HashSet<Uuid>);

fn fold(events: Vec<HotEvent>) -> Folded {
    let mut folded: HashMap<EventKey, (EventTally, HashSet<IpAddr>)> = HashMap::new();
    for e in events {
        let (tally, ips) = folded
            .entry(e.key)
            .or_insert_with(|| (EventTally { count: 0, ip_count: 0, last_ip: e.client_ip }, HashSet::new()));
        tally.count += 1;
        tally.last_ip = e.client_ip;
        ips.insert(e.client_ip);
    }
    let seen: HashSet<Uuid> = folded.keys().filter_map(|k| k.machine_id).collect();
    let rows = folded
        .into_iter()
        .map(|(k, (mut t, ips))| {
            t.ip_count = ips.len() as i64;
            (k, t)
        })
        .collect();
    (rows, seen)
}
