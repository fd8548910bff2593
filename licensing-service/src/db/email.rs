//! The operator's SMTP settings (settings key `smtp`) and the e-mails
//! waiting to be sent or sent (`email_messages`), the e-mail twin of
//! `db::nostr`'s messages.

use sqlx::{Executor, Sqlite, SqlitePool};
use uuid::Uuid;

use super::nostr::KeyLine;
use super::{settings, Tx};
use crate::domain::email::Smtp;

/// Setting key of the SMTP settings (JSON); absent: e-mail is off.
pub const SMTP: &str = "smtp";

pub async fn smtp<'e, E: Executor<'e, Database = Sqlite>>(e: E) -> Result<Option<Smtp>, sqlx::Error> {
    settings::get_json(e, SMTP).await
}

pub async fn set_smtp<'e, E: Executor<'e, Database = Sqlite>>(e: E, smtp: Option<&Smtp>) -> Result<(), sqlx::Error> {
    match smtp {
        Some(s) => settings::set(e, SMTP, &serde_json::to_string(s).expect("settings serialise")).await,
        None => settings::delete(e, SMTP).await,
    }
}

/// What an e-mail carries (the `kind` column).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmailKind {
    /// A license's key, or a notice about it (`notice`).
    License,
    /// Every key bought with an address, to that address.
    Recovery,
    /// A refund or a dispute (text given).
    Refund,
}

impl EmailKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EmailKind::License => "license",
            EmailKind::Recovery => "recovery",
            EmailKind::Refund => "refund",
        }
    }
}

/// An e-mail to enqueue.
pub struct NewEmail<'a> {
    pub kind: EmailKind,
    pub to: &'a str,
    pub license_id: Option<Uuid>,
    pub notice: Option<&'a str>,
    pub text: Option<&'a str>,
}

/// Enqueues an e-mail, due now; returns its id.
pub async fn enqueue(tx: &mut Tx, now: i64, m: NewEmail<'_>) -> Result<Uuid, sqlx::Error> {
    let id = crate::domain::new_id();
    sqlx::query(
        "INSERT INTO email_messages (id, kind, recipient, license_id, notice, text, state, attempts, \
         next_attempt_at, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, 'pending', 0, ?, ?, ?)",
    )
    .bind(id.to_string())
    .bind(m.kind.as_str())
    .bind(m.to)
    .bind(m.license_id.map(|l| l.to_string()))
    .bind(m.notice)
    .bind(m.text)
    .bind(now)
    .bind(now)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(id)
}

/// A stored e-mail.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Email {
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
    pub server_reply: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    pub delivered_at: Option<i64>,
}

const COLUMNS: &str = "id, kind, recipient, license_id, notice, text, state, attempts, next_attempt_at, last_error, \
    server_reply, created_at, updated_at, delivered_at";

/// Pending e-mails whose time has come, oldest first (in the order queued within a second).
pub async fn due(pool: &SqlitePool, now: i64, limit: i64) -> Result<Vec<Email>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM email_messages WHERE state = 'pending' AND next_attempt_at <= ? \
         ORDER BY next_attempt_at, created_at, rowid LIMIT ?"
    ))
    .bind(now)
    .bind(limit)
    .fetch_all(pool)
    .await
}

/// The latest e-mail about a license.
pub async fn latest_for_license(pool: &SqlitePool, license_id: Uuid) -> Result<Option<Email>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM email_messages WHERE license_id = ? ORDER BY created_at DESC, rowid DESC LIMIT 1"
    ))
    .bind(license_id.to_string())
    .fetch_optional(pool)
    .await
}

/// Every e-mail about a license (resends and notices included), newest first.
pub async fn all_for_license(pool: &SqlitePool, license_id: Uuid) -> Result<Vec<Email>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM email_messages WHERE license_id = ? ORDER BY created_at DESC, rowid DESC"
    ))
    .bind(license_id.to_string())
    .fetch_all(pool)
    .await
}

/// Recovery e-mails to `to` enqueued since `since`.
pub async fn recoveries_since(conn: &mut sqlx::SqliteConnection, to: &str, since: i64) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT COUNT(*) FROM email_messages WHERE recipient = ? COLLATE NOCASE AND kind = 'recovery' \
         AND created_at >= ?",
    )
    .bind(to)
    .bind(since)
    .fetch_one(conn)
    .await
}

/// The server took it.
pub async fn mark_delivered(pool: &SqlitePool, id: &str, now: i64, reply: &str) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE email_messages SET state = 'delivered', attempts = attempts + 1, server_reply = ?, \
         last_error = NULL, delivered_at = ?, updated_at = ? WHERE id = ?",
    )
    .bind(reply)
    .bind(now)
    .bind(now)
    .bind(id)
    .execute(pool)
    .await
    .map(|_| ())
}

/// Not sent: try again at `next` or, with `None`, give up (dead letter).
pub async fn mark_failed(
    pool: &SqlitePool,
    id: &str,
    now: i64,
    error: &str,
    next: Option<i64>,
) -> Result<(), sqlx::Error> {
    super::nostr::failed_attempt(pool, "email_messages", id, now, error, next).await
}

/// Forgets finished e-mails older than `cutoff` except the latest of each
/// license (its state is shown on the license).
pub async fn prune(pool: &SqlitePool, cutoff: i64) -> Result<u64, sqlx::Error> {
    let done = sqlx::query(
        "DELETE FROM email_messages WHERE state != 'pending' AND updated_at < ? AND (license_id IS NULL OR \
         id != (SELECT e.id FROM email_messages e WHERE e.license_id = email_messages.license_id \
         ORDER BY e.created_at DESC, e.rowid DESC LIMIT 1))",
    )
    .bind(cutoff)
    .execute(pool)
    .await?;
    Ok(done.rows_affected())
}

/// Every key bought with (issued to) an address that still works or may
/// again (not revoked), oldest first.
pub async fn keys_of_email<'e, E: Executor<'e, Database = Sqlite>>(
    e: E,
    email: &str,
    limit: i64,
) -> Result<Vec<KeyLine>, sqlx::Error> {
    sqlx::query_as(&format!(
        "{} WHERE l.buyer_email = ? COLLATE NOCASE AND l.status != 'revoked' ORDER BY l.issued_at, l.rowid LIMIT ?",
        super::nostr::KEY_LINE
    ))
    .bind(email)
    .bind(limit)
    .fetch_all(e)
    .await
}

/// The slug of a license's product (the `.lic` file's name).
pub async fn product_slug<'e, E: Executor<'e, Database = Sqlite>>(
    e: E,
    license_id: &str,
) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT p.slug FROM licenses l JOIN products p ON p.id = l.product_id WHERE l.id = ?")
        .bind(license_id)
        .fetch_optional(e)
        .await
}
