//! The hot path's write queue: validation events and machine last-seen times
//! go into a bounded channel and are written in batches by one task, so a
//! request never waits on the disk. When the queue is full, events are
//! dropped and counted rather than slowing requests down.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use uuid::Uuid;

use crate::db::events::EventKey;
use crate::db::{self, Db};
use crate::domain::now_unix;

/// Capacity of the queue between requests and the writer.
const QUEUE_CAPACITY: usize = 65_536;
/// Most events folded into one transaction.
const MAX_BATCH: usize = 8_192;
/// How often queued events are written.
const FLUSH_EVERY: Duration = Duration::from_millis(250);

/// Something the hot path saw.
pub enum HotEvent {
    Validation(EventKey),
    Seen { machine_id: Uuid, at: i64 },
}

/// Sending side, held by the app state.
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

    pub fn validation(
        &self,
        license_id: Option<Uuid>,
        fingerprint: Option<&str>,
        client_ip: IpAddr,
        result: &'static str,
    ) {
        self.push(HotEvent::Validation(EventKey {
            license_id,
            fingerprint: fingerprint.map(str::to_owned),
            client_ip,
            result,
        }));
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
        loop {
            while buf.len() < MAX_BATCH {
                match rx.try_recv() {
                    Ok(e) => buf.push(e),
                    Err(_) => break,
                }
            }
            if buf.is_empty() {
                break;
            }
            let n = buf.len() as u64;
            match write_batch(&db, buf.drain(..)).await {
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

async fn write_batch(db: &Db, events: impl Iterator<Item = HotEvent>) -> Result<(), sqlx::Error> {
    let mut folded: HashMap<EventKey, i64> = HashMap::new();
    let mut seen: HashMap<Uuid, i64> = HashMap::new();
    for e in events {
        match e {
            HotEvent::Validation(k) => *folded.entry(k).or_default() += 1,
            HotEvent::Seen { machine_id, at } => {
                let t = seen.entry(machine_id).or_default();
                *t = (*t).max(at);
            }
        }
    }
    let rows: Vec<(EventKey, i64)> = folded.into_iter().collect();
    let mut tx = db.begin().await?;
    db::events::insert_batch(&mut tx, now_unix(), &rows).await?;
    for (id, at) in seen {
        db::machines::touch(&mut tx, id, at).await?;
    }
    tx.commit().await
}
