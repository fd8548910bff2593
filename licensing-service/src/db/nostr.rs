//! Keysat's Nostr identity, its relay list and operator settings (rows of
//! `settings`), and the direct messages waiting to be sent or sent.

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use sqlx::{Executor, Sqlite, SqlitePool};
use uuid::Uuid;

use super::{settings, Tx};
use crate::domain::outbox::NoticeKind;

/// Setting keys.
pub const RELAYS: &str = "nostr_relays";
pub const OPERATOR_NPUB: &str = "operator_npub";

fn notice_key(kind: NoticeKind) -> String {
    format!("notify_{}", kind.as_str())
}

/// The stored identity: (secret key bytes, public key hex).
pub async fn identity<'e, E: Executor<'e, Database = Sqlite>>(e: E) -> Result<Option<(Vec<u8>, String)>, sqlx::Error> {
    sqlx::query_as("SELECT secret_key, public_key FROM nostr_identity WHERE id = 1").fetch_optional(e).await
}

/// Stores the identity; only ever the first one.
pub async fn insert_identity<'e, E: Executor<'e, Database = Sqlite>>(
    e: E,
    secret: &[u8; 32],
    public_hex: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO nostr_identity (id, secret_key, public_key, created_at) VALUES (1, ?, ?, ?)")
        .bind(&secret[..])
        .bind(public_hex)
        .bind(now)
        .execute(e)
        .await
        .map(|_| ())
}

/// The stored relay list; `None` until one was stored.
pub async fn relays<'e, E: Executor<'e, Database = Sqlite>>(e: E) -> Result<Option<Vec<String>>, sqlx::Error> {
    settings::get_json(e, RELAYS).await
}

pub async fn set_relays<'e, E: Executor<'e, Database = Sqlite>>(e: E, relays: &[String]) -> Result<(), sqlx::Error> {
    settings::set(e, RELAYS, &serde_json::to_string(relays).expect("strings serialise")).await
}

/// The operator's public key (hex), if set.
pub async fn operator_npub<'e, E: Executor<'e, Database = Sqlite>>(e: E) -> Result<Option<String>, sqlx::Error> {
    settings::get(e, OPERATOR_NPUB).await
}

/// Where a notice of `kind` goes: the operator's public key (hex), when one
/// is set and notices of `kind` are not switched off (one statement).
pub async fn notice_recipient<'e, E: Executor<'e, Database = Sqlite>>(
    e: E,
    kind: NoticeKind,
) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT value FROM settings WHERE key = ?1 \
         AND coalesce((SELECT value FROM settings WHERE key = ?2), 'on') <> 'off'",
    )
    .bind(OPERATOR_NPUB)
    .bind(notice_key(kind))
    .fetch_optional(e)
    .await
}

/// Whether a database may hold an operator npub, known without a
/// statement: read at start-up, marked "changing" before the operator's
/// npub is written and read again once that change ended (committed or
/// not), so a notice queued meanwhile still looks the setting up. Nothing
/// else writes the setting.
#[derive(Debug, Default)]
pub struct OperatorWatch {
    /// Changes begun and not yet read again.
    changing: AtomicU32,
    set: AtomicBool,
    refreshing: tokio::sync::Mutex<()>,
}

impl OperatorWatch {
    pub async fn load(pool: &SqlitePool) -> Result<OperatorWatch, sqlx::Error> {
        let w = OperatorWatch { changing: AtomicU32::new(1), ..Default::default() };
        w.refresh(pool).await?;
        Ok(w)
    }

    /// The operator's npub is about to be written.
    pub fn changing(&self) {
        self.changing.fetch_add(1, Ordering::AcqRel);
    }

    /// Reads the setting again, ending one [`changing`](Self::changing).
    pub async fn refresh(&self, pool: &SqlitePool) -> Result<(), sqlx::Error> {
        let _one = self.refreshing.lock().await;
        // A failed read leaves "changing" up: every notice keeps looking.
        let npub = operator_npub(pool).await?;
        self.set.store(npub.is_some(), Ordering::Release);
        self.changing.fetch_sub(1, Ordering::AcqRel);
        Ok(())
    }

    /// May a notice be queued? `false` only when no npub is set.
    pub fn may_notify(&self) -> bool {
        self.changing.load(Ordering::Acquire) > 0 || self.set.load(Ordering::Acquire)
    }
}

/// Whether the operator wants notices of `kind` (on unless switched off).
pub async fn notice_enabled<'e, E: Executor<'e, Database = Sqlite>>(
    e: E,
    kind: NoticeKind,
) -> Result<bool, sqlx::Error> {
    Ok(settings::get(e, &notice_key(kind)).await?.as_deref() != Some("off"))
}

pub async fn set_notice_enabled<'e, E: Executor<'e, Database = Sqlite>>(
    e: E,
    kind: NoticeKind,
    on: bool,
) -> Result<(), sqlx::Error> {
    settings::set(e, &notice_key(kind), if on { "on" } else { "off" }).await
}

/// What a message carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageKind {
    /// A newly issued license, to its buyer.
    License,
    /// Every key of an npub, to that npub.
    Recovery,
    /// A notice to the operator.
    Operator,
    /// A buyer told that their purchase was refunded or charged back (text given).
    Refund,
}

impl MessageKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MessageKind::License => "license",
            MessageKind::Recovery => "recovery",
            MessageKind::Operator => "operator",
            MessageKind::Refund => "refund",
        }
    }
}

/// A message to enqueue.
pub struct NewMessage<'a> {
    pub kind: MessageKind,
    pub recipient_hex: &'a str,
    pub license_id: Option<Uuid>,
    pub notice: Option<NoticeKind>,
    pub text: Option<&'a str>,
}

/// Enqueues a message, due now; returns its id.
pub async fn enqueue(tx: &mut Tx, now: i64, m: NewMessage<'_>) -> Result<Uuid, sqlx::Error> {
    let id = crate::domain::new_id();
    sqlx::query(
        "INSERT INTO nostr_messages (id, kind, recipient, license_id, notice, text, state, attempts, \
         next_attempt_at, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, 'pending', 0, ?, ?, ?)",
    )
    .bind(id.to_string())
    .bind(m.kind.as_str())
    .bind(m.recipient_hex)
    .bind(m.license_id.map(|l| l.to_string()))
    .bind(m.notice.map(|n| n.as_str()))
    .bind(m.text)
    .bind(now)
    .bind(now)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(id)
}

/// A stored message.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Message {
    pub id: String,
    pub kind: String,
    pub recipient: String,
    pub license_id: Option<String>,
    pub notice: Option<String>,
    pub text: Option<String>,
    pub state: String,
    pub attempts: i64,
    pub next_attempt_at: i64,
    pub last_error: Option<String>,
    pub event_id: Option<String>,
    pub event_json: Option<String>,
    pub acked_by: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub delivered_at: Option<i64>,
}

const COLUMNS: &str = "id, kind, recipient, license_id, notice, text, state, attempts, next_attempt_at, last_error, \
    event_id, event_json, acked_by, created_at, updated_at, delivered_at";

/// Pending messages whose time has come, oldest first (in the order queued within a second).
pub async fn due(pool: &SqlitePool, now: i64, limit: i64) -> Result<Vec<Message>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM nostr_messages WHERE state = 'pending' AND next_attempt_at <= ? \
         ORDER BY next_attempt_at, created_at, rowid LIMIT ?"
    ))
    .bind(now)
    .bind(limit)
    .fetch_all(pool)
    .await
}

/// The latest message delivering a license's key (renewal notices aside).
pub async fn for_license(pool: &SqlitePool, license_id: Uuid) -> Result<Option<Message>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM nostr_messages WHERE license_id = ? AND kind = 'license' \
         AND (notice IS NULL OR notice != 'renewal_due') ORDER BY created_at DESC, rowid DESC LIMIT 1"
    ))
    .bind(license_id.to_string())
    .fetch_optional(pool)
    .await
}

/// Messages, newest first (operator view and tests).
pub async fn recent(pool: &SqlitePool, kind: Option<MessageKind>, limit: i64) -> Result<Vec<Message>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM nostr_messages WHERE (?1 IS NULL OR kind = ?1) ORDER BY rowid DESC LIMIT ?2"
    ))
    .bind(kind.map(|k| k.as_str()))
    .bind(limit)
    .fetch_all(pool)
    .await
}

/// Recovery messages to `recipient` enqueued since `since`.
pub async fn recoveries_since(
    conn: &mut sqlx::SqliteConnection,
    recipient_hex: &str,
    since: i64,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT COUNT(*) FROM nostr_messages WHERE recipient = ? AND kind = 'recovery' AND created_at >= ?",
    )
    .bind(recipient_hex)
    .bind(since)
    .fetch_one(conn)
    .await
}

/// Keeps the rendered text and the gift wrap built for it.
pub async fn store_event(
    pool: &SqlitePool,
    id: &str,
    text: &str,
    event_id: &str,
    event_json: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE nostr_messages SET text = ?, event_id = ?, event_json = ? WHERE id = ?")
        .bind(text)
        .bind(event_id)
        .bind(event_json)
        .bind(id)
        .execute(pool)
        .await
        .map(|_| ())
}

/// At least one relay accepted the event.
pub async fn mark_delivered(pool: &SqlitePool, id: &str, now: i64, acked_by: &[String]) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE nostr_messages SET state = 'delivered', attempts = attempts + 1, acked_by = ?, last_error = NULL, \
         delivered_at = ?, updated_at = ? WHERE id = ?",
    )
    .bind(serde_json::to_string(acked_by).expect("strings serialise"))
    .bind(now)
    .bind(now)
    .bind(id)
    .execute(pool)
    .await
    .map(|_| ())
}

/// No relay accepted it: try again at `next` or, with `None`, give up.
pub async fn mark_failed(
    pool: &SqlitePool,
    id: &str,
    now: i64,
    error: &str,
    next: Option<i64>,
) -> Result<(), sqlx::Error> {
    failed_attempt(pool, "nostr_messages", id, now, error, next).await
}

/// A failed attempt on a message of `table` (`nostr_messages`, `email_messages`):
/// due again at `next` or, with `None`, given up (`failed`).
pub(super) async fn failed_attempt(
    pool: &SqlitePool,
    table: &'static str,
    id: &str,
    now: i64,
    error: &str,
    next: Option<i64>,
) -> Result<(), sqlx::Error> {
    sqlx::query(&format!(
        "UPDATE {table} SET attempts = attempts + 1, last_error = ?, updated_at = ?, \
         state = CASE WHEN ? IS NULL THEN 'failed' ELSE 'pending' END, \
         next_attempt_at = COALESCE(?, next_attempt_at) WHERE id = ?"
    ))
    .bind(error)
    .bind(now)
    .bind(next)
    .bind(next)
    .bind(id)
    .execute(pool)
    .await
    .map(|_| ())
}

/// A message that can never be sent (its license is gone, its recipient is
/// not a valid key): failed at once.
pub async fn mark_undeliverable(pool: &SqlitePool, id: &str, now: i64, error: &str) -> Result<(), sqlx::Error> {
    mark_failed(pool, id, now, error, None).await
}

/// Forgets finished recovery and operator messages older than `cutoff`
/// (license deliveries stay: their state is shown on the license).
pub async fn prune(pool: &SqlitePool, cutoff: i64) -> Result<u64, sqlx::Error> {
    let done =
        sqlx::query("DELETE FROM nostr_messages WHERE kind != 'license' AND state != 'pending' AND updated_at < ?")
            .bind(cutoff)
            .execute(pool)
            .await?;
    Ok(done.rows_affected())
}

/// A key as a message lists it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct KeyLine {
    pub license_key: String,
    pub product_name: String,
    pub policy_name: String,
    pub status: String,
    pub issued_at: i64,
    pub expires_at: i64,
    /// The order it was bought with (none for a key the operator issued).
    pub invoice_id: Option<String>,
}

pub(super) const KEY_LINE: &str = "SELECT l.license_key, p.name AS product_name, po.name AS policy_name, l.status, l.issued_at, \
    l.expires_at, l.invoice_id FROM licenses l JOIN products p ON p.id = l.product_id JOIN policies po ON po.id = l.policy_id";

pub async fn key_line<'e, E: Executor<'e, Database = Sqlite>>(
    e: E,
    license_id: &str,
) -> Result<Option<KeyLine>, sqlx::Error> {
    sqlx::query_as(&format!("{KEY_LINE} WHERE l.id = ?")).bind(license_id).fetch_optional(e).await
}

/// Every key bought with (issued to) an npub that still works or may again
/// (not revoked), oldest first.
pub async fn keys_of_npub<'e, E: Executor<'e, Database = Sqlite>>(
    e: E,
    npub_hex: &str,
    limit: i64,
) -> Result<Vec<KeyLine>, sqlx::Error> {
    sqlx::query_as(&format!(
        "{KEY_LINE} WHERE l.buyer_npub = ? AND l.status != 'revoked' ORDER BY l.issued_at, l.rowid LIMIT ?"
    ))
    .bind(npub_hex)
    .bind(limit)
    .fetch_all(e)
    .await
}

/// Every message delivering a license (resends included), newest first.
pub async fn all_for_license(pool: &SqlitePool, license_id: Uuid) -> Result<Vec<Message>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM nostr_messages WHERE license_id = ? AND kind = 'license' \
         ORDER BY created_at DESC, rowid DESC"
    ))
    .bind(license_id.to_string())
    .fetch_all(pool)
    .await
}
