//! The event outbox and its webhook deliveries. An event is written by the
//! transaction of its cause, together with one pending delivery per active
//! endpoint subscribed to its type; the scheduler sends them. An event no
//! active endpoint subscribes to is not stored at all (an endpoint created
//! later never receives older events anyway).

use serde_json::Value;
use sqlx::{Executor, QueryBuilder, Sqlite, SqlitePool};
use uuid::Uuid;

use super::{Conn, Tx};
pub use crate::domain::outbox::EventType;

/// Writes `event` with `data` and fans it out to the endpoints that want it.
/// Returns the event id (`evt_…`), the one receivers deduplicate by.
pub async fn enqueue(tx: &mut Tx, now: i64, event: EventType, data: Value) -> Result<String, sqlx::Error> {
    enqueue_at(tx, now, now, event, data).await
}

/// The event types the active webhook endpoints subscribe to, held in
/// memory so that an event no endpoint wants costs no statement at all.
///
/// Kept per open database in a process-wide registry, because [`enqueue`]
/// sees only the transaction: it asks whether an endpoint of ANY open
/// database may want the type (a daemon opens one; the tests open several,
/// and then only check the table more often than needed). A change of
/// endpoints marks its database "changing" before it writes (so events
/// enqueued meanwhile check the table) and [`Subscriptions::refresh`] reads
/// the set again once it committed.
#[derive(Debug)]
pub struct Subscriptions {
    slot: usize,
    refreshing: tokio::sync::Mutex<()>,
}

#[derive(Default)]
struct Wanted {
    /// Endpoint changes begun and not yet refreshed.
    changing: u32,
    /// Types subscribed to (`*` for all).
    types: Vec<String>,
}

impl Wanted {
    fn may_want(&self, event: EventType) -> bool {
        self.changing > 0 || self.types.iter().any(|t| t == "*" || t == event.as_str())
    }
}

static SUBSCRIBED: std::sync::RwLock<Vec<Option<Wanted>>> = std::sync::RwLock::new(Vec::new());

fn registry_mut() -> std::sync::RwLockWriteGuard<'static, Vec<Option<Wanted>>> {
    SUBSCRIBED.write().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Subscriptions {
    /// Registers a database and reads what its endpoints subscribe to.
    pub async fn load(pool: &SqlitePool) -> Result<Subscriptions, sqlx::Error> {
        let slot = {
            let mut all = registry_mut();
            let wanted = Wanted { changing: 1, types: Vec::new() };
            match all.iter().position(Option::is_none) {
                Some(i) => {
                    all[i] = Some(wanted);
                    i
                }
                None => {
                    all.push(Some(wanted));
                    all.len() - 1
                }
            }
        };
        let s = Subscriptions { slot, refreshing: Default::default() };
        s.refresh(pool).await?;
        Ok(s)
    }

    /// May an active endpoint of this database want `event`? `false` only
    /// when none can (where the database is at hand: [`may_be_wanted`]
    /// answers for every database open in the process).
    pub fn may_want(&self, event: EventType) -> bool {
        let all = SUBSCRIBED.read().unwrap_or_else(std::sync::PoisonError::into_inner);
        all.get(self.slot).and_then(Option::as_ref).is_some_and(|w| w.may_want(event))
    }

    /// An endpoint change is about to be written: until the next
    /// [`refresh`](Self::refresh), every event checks the table.
    pub fn changing(&self) {
        if let Some(Some(w)) = registry_mut().get_mut(self.slot) {
            w.changing += 1;
        }
    }

    /// Reads the subscribed types again (after an endpoint change ended,
    /// committed or not), ending one [`changing`](Self::changing).
    pub async fn refresh(&self, pool: &SqlitePool) -> Result<(), sqlx::Error> {
        // One refresh at a time: the last to store is the last to read.
        let _one = self.refreshing.lock().await;
        let types: Vec<String> = sqlx::query_scalar(
            "SELECT DISTINCT j.value FROM webhook_endpoints e, json_each(e.events) j WHERE e.active = 1",
        )
        .fetch_all(pool)
        .await?;
        if let Some(Some(w)) = registry_mut().get_mut(self.slot) {
            w.types = types;
            w.changing = w.changing.saturating_sub(1);
        }
        Ok(())
    }
}

impl Drop for Subscriptions {
    fn drop(&mut self) {
        if let Some(w) = registry_mut().get_mut(self.slot) {
            *w = None;
        }
    }
}

/// May an active endpoint want `event`? `false` only when none can.
pub fn may_be_wanted(event: EventType) -> bool {
    let all = SUBSCRIBED.read().unwrap_or_else(std::sync::PoisonError::into_inner);
    all.iter().flatten().any(|w| w.may_want(event))
}

/// As [`enqueue`], with the first delivery attempt not before `deliver_at`
/// (so an event that may soon be undone can be withdrawn first).
pub async fn enqueue_at(
    tx: &mut Tx,
    now: i64,
    deliver_at: i64,
    event: EventType,
    data: Value,
) -> Result<String, sqlx::Error> {
    let id = format!("evt_{}", crate::domain::new_id().simple());
    if !wanted(tx, event).await? {
        return Ok(id);
    }
    sqlx::query("INSERT INTO outbox_events (id, type, created_at, data) VALUES (?, ?, ?, ?)")
        .bind(&id)
        .bind(event.as_str())
        .bind(now)
        .bind(data.to_string())
        .execute(&mut **tx)
        .await?;
    sqlx::query(
        "INSERT INTO webhook_deliveries (id, event_id, endpoint_id, state, attempts, next_attempt_at, created_at, \
         updated_at) \
         SELECT 'whd_' || lower(hex(randomblob(16))), ?1, e.id, 'pending', 0, ?4, ?2, ?2 FROM webhook_endpoints e \
         WHERE e.active = 1 AND EXISTS (SELECT 1 FROM json_each(e.events) j WHERE j.value IN (?3, '*'))",
    )
    .bind(&id)
    .bind(now)
    .bind(event.as_str())
    .bind(deliver_at)
    .execute(&mut **tx)
    .await?;
    Ok(id)
}

/// Whether any active endpoint subscribes to `event`: no statement when
/// [`may_be_wanted`] already says none can.
async fn wanted(tx: &mut Conn, event: EventType) -> Result<bool, sqlx::Error> {
    if !may_be_wanted(event) {
        return Ok(false);
    }
    let wanted: Option<i64> = sqlx::query_scalar(
        "SELECT 1 FROM webhook_endpoints e \
         WHERE e.active = 1 AND EXISTS (SELECT 1 FROM json_each(e.events) j WHERE j.value IN (?1, '*')) LIMIT 1",
    )
    .bind(event.as_str())
    .fetch_optional(&mut *tx)
    .await?;
    Ok(wanted.is_some())
}

/// [`enqueue`] for many events of one type at once (a group of seat
/// changes): no statement when no endpoint wants them, three when one does.
pub async fn enqueue_many(tx: &mut Conn, now: i64, event: EventType, data: Vec<Value>) -> Result<(), sqlx::Error> {
    if data.is_empty() || !wanted(tx, event).await? {
        return Ok(());
    }
    let rows: Vec<(String, String)> =
        data.iter().map(|d| (format!("evt_{}", crate::domain::new_id().simple()), d.to_string())).collect();
    let rows = serde_json::to_string(&rows).expect("events serialise");
    sqlx::query(
        "INSERT INTO outbox_events (id, type, created_at, data) SELECT j.value ->> 0, ?2, ?3, j.value ->> 1 \
         FROM json_each(?1) j",
    )
    .bind(&rows)
    .bind(event.as_str())
    .bind(now)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO webhook_deliveries (id, event_id, endpoint_id, state, attempts, next_attempt_at, created_at, \
         updated_at) \
         SELECT 'whd_' || lower(hex(randomblob(16))), j.value ->> 0, e.id, 'pending', 0, ?2, ?2, ?2 \
         FROM json_each(?1) j JOIN webhook_endpoints e \
         WHERE e.active = 1 AND EXISTS (SELECT 1 FROM json_each(e.events) k WHERE k.value IN (?3, '*'))",
    )
    .bind(&rows)
    .bind(now)
    .bind(event.as_str())
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// A stored event.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Event {
    pub id: String,
    #[sqlx(rename = "type")]
    pub event_type: String,
    pub created_at: i64,
    pub data: String,
}

/// A delivery ready to send: what to send and where.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Due {
    pub id: String,
    pub attempts: i64,
    pub state: String,
    pub endpoint_id: String,
    pub url: String,
    pub secret: String,
    pub event_id: String,
    pub event_type: String,
    pub event_created_at: i64,
    pub data: String,
}

const DUE_COLUMNS: &str = "d.id, d.attempts, d.state, d.endpoint_id, e.url, e.secret, o.id AS event_id, \
    o.type AS event_type, o.created_at AS event_created_at, o.data";

/// Pending deliveries whose time has come, to active endpoints, oldest first (in the order queued within a second).
pub async fn due(pool: &SqlitePool, now: i64, limit: i64) -> Result<Vec<Due>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {DUE_COLUMNS} FROM webhook_deliveries d \
         JOIN webhook_endpoints e ON e.id = d.endpoint_id JOIN outbox_events o ON o.id = d.event_id \
         WHERE d.state = 'pending' AND d.next_attempt_at <= ? AND e.active = 1 \
         ORDER BY d.next_attempt_at, d.created_at, d.rowid LIMIT ?"
    ))
    .bind(now)
    .bind(limit)
    .fetch_all(pool)
    .await
}

/// One delivery, whatever its state, ready to send again.
pub async fn due_by_id<'e, E: Executor<'e, Database = Sqlite>>(e: E, id: &str) -> Result<Option<Due>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {DUE_COLUMNS} FROM webhook_deliveries d \
         JOIN webhook_endpoints e ON e.id = d.endpoint_id JOIN outbox_events o ON o.id = d.event_id WHERE d.id = ?"
    ))
    .bind(id)
    .fetch_optional(e)
    .await
}

/// What one attempt found.
#[derive(Debug, Clone)]
pub struct AttemptResult {
    pub at: i64,
    pub status_code: Option<u16>,
    pub latency_ms: i64,
    pub error: Option<String>,
    pub manual: bool,
}

impl AttemptResult {
    pub fn succeeded(&self) -> bool {
        self.status_code.is_some_and(|c| (200..300).contains(&c))
    }
}

/// Where a delivery goes after an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    Delivered,
    RetryAt(i64),
    Dead,
    /// A manual attempt that failed: the delivery keeps its state and schedule.
    Unchanged,
}

/// Logs the attempt and moves the delivery on; scheduled attempts count
/// towards the schedule, manual ones do not.
pub async fn record_attempt(tx: &mut Tx, id: &str, r: &AttemptResult, next: Next) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO webhook_attempts (delivery_id, at, status_code, latency_ms, error, manual) VALUES (?, ?, ?, ?, ?, ?)",
    )
    .bind(id)
    .bind(r.at)
    .bind(r.status_code.map(i64::from))
    .bind(r.latency_ms)
    .bind(&r.error)
    .bind(r.manual)
    .execute(&mut **tx)
    .await?;
    let counted = i64::from(!r.manual);
    let (state, next_at, delivered_at): (Option<&str>, Option<i64>, Option<i64>) = match next {
        Next::Delivered => (Some("delivered"), None, Some(r.at)),
        Next::RetryAt(t) => (Some("pending"), Some(t), None),
        Next::Dead => (Some("dead"), None, None),
        Next::Unchanged => (None, None, None),
    };
    sqlx::query(
        "UPDATE webhook_deliveries SET attempts = attempts + ?, last_status = ?, last_latency_ms = ?, last_error = ?, \
         updated_at = ?, state = COALESCE(?, state), \
         next_attempt_at = CASE WHEN ? IS NULL THEN next_attempt_at ELSE ? END, \
         delivered_at = COALESCE(?, delivered_at) WHERE id = ?",
    )
    .bind(counted)
    .bind(r.status_code.map(i64::from))
    .bind(r.latency_ms)
    .bind(&r.error)
    .bind(r.at)
    .bind(state)
    .bind(state)
    .bind(next_at)
    .bind(delivered_at)
    .bind(id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// A delivery as the operator sees it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Delivery {
    pub rowid: i64,
    pub id: String,
    pub event_id: String,
    pub event_type: String,
    pub endpoint_id: String,
    pub endpoint_url: String,
    pub state: String,
    pub attempts: i64,
    pub next_attempt_at: Option<i64>,
    pub last_status: Option<i64>,
    pub last_latency_ms: Option<i64>,
    pub last_error: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    pub delivered_at: Option<i64>,
}

const DELIVERY_COLUMNS: &str = "d.rowid, d.id, d.event_id, o.type AS event_type, d.endpoint_id, \
    e.url AS endpoint_url, d.state, d.attempts, d.next_attempt_at, d.last_status, d.last_latency_ms, d.last_error, \
    d.created_at, d.updated_at, d.delivered_at";

/// Filters for the delivery log; newest first, paged by `before_rowid`.
#[derive(Debug, Default)]
pub struct DeliveryFilter {
    pub endpoint_id: Option<String>,
    pub event_id: Option<String>,
    pub state: Option<String>,
    pub before_rowid: Option<i64>,
    pub limit: i64,
}

pub async fn list(pool: &SqlitePool, f: &DeliveryFilter) -> Result<Vec<Delivery>, sqlx::Error> {
    let mut q: QueryBuilder<Sqlite> = QueryBuilder::new(format!(
        "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id \
         JOIN outbox_events o ON o.id = d.event_id WHERE 1 = 1"
    ));
    if let Some(v) = &f.endpoint_id {
        q.push(" AND d.endpoint_id = ").push_bind(v.clone());
    }
    if let Some(v) = &f.event_id {
        q.push(" AND d.event_id = ").push_bind(v.clone());
    }
    if let Some(v) = &f.state {
        q.push(" AND d.state = ").push_bind(v.clone());
    }
    if let Some(r) = f.before_rowid {
        q.push(" AND d.rowid < ").push_bind(r);
    }
    q.push(" ORDER BY d.rowid DESC LIMIT ").push_bind(f.limit);
    q.build_query_as().fetch_all(pool).await
}

pub async fn delivery<'e, E: Executor<'e, Database = Sqlite>>(e: E, id: &str) -> Result<Option<Delivery>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id \
         JOIN outbox_events o ON o.id = d.event_id WHERE d.id = ?"
    ))
    .bind(id)
    .fetch_optional(e)
    .await
}

/// One logged attempt.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Attempt {
    pub at: i64,
    pub status_code: Option<i64>,
    pub latency_ms: i64,
    pub error: Option<String>,
    pub manual: bool,
}

/// A delivery's attempts, oldest first.
pub async fn attempts(pool: &SqlitePool, delivery_id: &str) -> Result<Vec<Attempt>, sqlx::Error> {
    sqlx::query_as(
        "SELECT at, status_code, latency_ms, error, manual FROM webhook_attempts WHERE delivery_id = ? ORDER BY id",
    )
    .bind(delivery_id)
    .fetch_all(pool)
    .await
}

/// An event by id.
pub async fn event<'e, E: Executor<'e, Database = Sqlite>>(e: E, id: &str) -> Result<Option<Event>, sqlx::Error> {
    sqlx::query_as("SELECT id, type, created_at, data FROM outbox_events WHERE id = ?").bind(id).fetch_optional(e).await
}

/// Forgets events older than `cutoff` whose deliveries are all finished
/// (their deliveries and attempt log go with them).
pub async fn prune(pool: &SqlitePool, cutoff: i64) -> Result<u64, sqlx::Error> {
    let done = sqlx::query(
        "DELETE FROM outbox_events WHERE created_at < ? AND NOT EXISTS \
         (SELECT 1 FROM webhook_deliveries d WHERE d.event_id = outbox_events.id AND d.state = 'pending')",
    )
    .bind(cutoff)
    .execute(pool)
    .await?;
    Ok(done.rows_affected())
}

/// Withdraws the not-yet-sent `machine.deactivated` events of `machine_id`
/// written since `since`; true when none is left, i.e. nobody was told of
/// the seat's freeing (none was stored when no endpoint subscribed).
pub async fn withdraw_deactivation(tx: &mut Conn, machine_id: Uuid, since: i64) -> Result<bool, sqlx::Error> {
    sqlx::query(
        "DELETE FROM outbox_events WHERE type = ?1 AND created_at >= ?2 AND json_extract(data, '$.machine_id') = ?3 \
         AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.event_id = outbox_events.id AND d.attempts > 0)",
    )
    .bind(EventType::MachineDeactivated.as_str())
    .bind(since)
    .bind(machine_id.to_string())
    .execute(&mut *tx)
    .await?;
    let told: Option<i64> = sqlx::query_scalar(
        "SELECT 1 FROM outbox_events WHERE type = ?1 AND created_at >= ?2 \
         AND json_extract(data, '$.machine_id') = ?3 LIMIT 1",
    )
    .bind(EventType::MachineDeactivated.as_str())
    .bind(since)
    .bind(machine_id.to_string())
    .fetch_optional(&mut *tx)
    .await?;
    Ok(told.is_none())
}
