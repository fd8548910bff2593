//! Discount codes and their uses.

use sqlx::{Executor, Sqlite, SqliteConnection};
use uuid::Uuid;

use super::{Hyphenated, Tx};
use crate::domain::discount::{Code, Kind, Rules, Usage};
use crate::domain::DomainError;

/// A code as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DiscountCode {
    #[sqlx(try_from = "Hyphenated")]
    pub id: Uuid,
    #[sqlx(try_from = "String")]
    pub code: Code,
    #[sqlx(try_from = "Hyphenated")]
    pub product_id: Uuid,
    #[sqlx(flatten, try_from = "KindColumns")]
    pub kind: Kind,
    #[sqlx(flatten, try_from = "RulesColumns")]
    pub rules: Rules,
    pub featured: bool,
    pub referrer: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// The columns a code's [`Kind`] is stored in.
#[derive(sqlx::FromRow)]
pub struct KindColumns {
    kind: String,
    value: Option<i64>,
}

impl TryFrom<KindColumns> for Kind {
    type Error = DomainError;
    fn try_from(c: KindColumns) -> Result<Kind, DomainError> {
        Kind::parse(&c.kind, c.value)
    }
}

/// The columns a code's [`Rules`] are stored in.
#[derive(sqlx::FromRow)]
pub struct RulesColumns {
    active: bool,
    valid_from: Option<i64>,
    valid_until: Option<i64>,
    #[sqlx(json)]
    policies: Vec<String>,
    max_uses: Option<i64>,
    max_uses_per_buyer: Option<i64>,
}

impl From<RulesColumns> for Rules {
    fn from(c: RulesColumns) -> Rules {
        let RulesColumns { active, valid_from, valid_until, policies, max_uses, max_uses_per_buyer } = c;
        Rules { active, valid_from, valid_until, policies, max_uses, max_uses_per_buyer }
    }
}

const COLUMNS: &str = "id, code, product_id, kind, value, policies, max_uses, max_uses_per_buyer, valid_from, \
    valid_until, active, featured, referrer, created_at, updated_at";

/// Inserts, or overwrites every mutable column of an existing id.
pub async fn upsert(tx: &mut Tx, c: &DiscountCode) -> Result<(), sqlx::Error> {
    sqlx::query(&format!(
        "INSERT INTO discount_codes ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) \
         ON CONFLICT(id) DO UPDATE SET kind = excluded.kind, value = excluded.value, policies = excluded.policies, \
         max_uses = excluded.max_uses, max_uses_per_buyer = excluded.max_uses_per_buyer, \
         valid_from = excluded.valid_from, valid_until = excluded.valid_until, active = excluded.active, \
         featured = excluded.featured, referrer = excluded.referrer, updated_at = excluded.updated_at"
    ))
    .bind(c.id.to_string())
    .bind(c.code.as_str())
    .bind(c.product_id.to_string())
    .bind(c.kind.name())
    .bind(c.kind.value())
    .bind(serde_json::to_string(&c.rules.policies).expect("strings serialise"))
    .bind(c.rules.max_uses)
    .bind(c.rules.max_uses_per_buyer)
    .bind(c.rules.valid_from)
    .bind(c.rules.valid_until)
    .bind(c.rules.active)
    .bind(c.featured)
    .bind(&c.referrer)
    .bind(c.created_at)
    .bind(c.updated_at)
    .execute(&mut **tx)
    .await
    .map(|_| ())
}

pub async fn by_code<'e, E: Executor<'e, Database = Sqlite>>(
    e: E,
    code: &Code,
) -> Result<Option<DiscountCode>, sqlx::Error> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM discount_codes WHERE code = ?"))
        .bind(code.as_str())
        .fetch_optional(e)
        .await
}

/// Every code, or one product's, newest first.
pub async fn list<'e, E: Executor<'e, Database = Sqlite>>(
    e: E,
    product_id: Option<Uuid>,
) -> Result<Vec<DiscountCode>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM discount_codes WHERE ?1 IS NULL OR product_id = ?1 ORDER BY created_at DESC, code"
    ))
    .bind(product_id.map(|p| p.to_string()))
    .fetch_all(e)
    .await
}

/// The product's active featured code, if any (newest wins).
pub async fn featured<'e, E: Executor<'e, Database = Sqlite>>(
    e: E,
    product_id: Uuid,
) -> Result<Option<DiscountCode>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM discount_codes WHERE product_id = ? AND featured = 1 AND active = 1 \
         ORDER BY created_at DESC LIMIT 1"
    ))
    .bind(product_id.to_string())
    .fetch_optional(e)
    .await
}

/// Deletes a code that was never used; false when it has uses.
pub async fn delete_unused(tx: &mut Tx, id: Uuid) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "DELETE FROM discount_codes WHERE id = ?1 AND NOT EXISTS (SELECT 1 FROM code_uses WHERE code_id = ?1)",
    )
    .bind(id.to_string())
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Uses taken (reserved or consumed), in total and by `buyer`.
/// A reservation counts only while younger than `held_since`: an unpaid
/// checkout holds a use for a short while, never for good (a late payment
/// still consumes it).
pub async fn usage(
    conn: &mut SqliteConnection,
    code_id: Uuid,
    buyer: Option<&str>,
    held_since: i64,
) -> Result<Usage, sqlx::Error> {
    let (taken, by_buyer): (i64, i64) = sqlx::query_as(
        "SELECT count(*), coalesce(sum(buyer IS NOT NULL AND buyer = ?2), 0) FROM code_uses \
         WHERE code_id = ?1 AND (state = 'consumed' OR (state = 'reserved' AND created_at >= ?3))",
    )
    .bind(code_id.to_string())
    .bind(buyer)
    .bind(held_since)
    .fetch_one(conn)
    .await?;
    Ok(Usage { taken, taken_by_buyer: by_buyer, buyer_known: buyer.is_some() })
}

/// A new use in `state` ('reserved' for a pending invoice, 'consumed' for a free redemption).
pub struct NewUse<'a> {
    pub code_id: Uuid,
    pub state: &'a str,
    pub buyer: Option<&'a str>,
    pub invoice_id: Option<&'a str>,
    pub license_id: Option<Uuid>,
    pub sats: i64,
}

pub async fn insert_use(tx: &mut Tx, u: NewUse<'_>, now: i64) -> Result<Uuid, sqlx::Error> {
    let id = Uuid::new_v4();
    sqlx::query(
        "INSERT INTO code_uses (id, code_id, state, buyer, invoice_id, license_id, sats, created_at, updated_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(id.to_string())
    .bind(u.code_id.to_string())
    .bind(u.state)
    .bind(u.buyer)
    .bind(u.invoice_id)
    .bind(u.license_id.map(|l| l.to_string()))
    .bind(u.sats)
    .bind(now)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(id)
}

/// The invoice settled: its use is consumed by `license_id` (even one
/// released by an expiry: the buyer paid late, and a paid sale is never lost).
pub async fn consume_for_invoice(tx: &mut Tx, invoice_id: &str, license_id: Uuid, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE code_uses SET state = 'consumed', license_id = ?, updated_at = ? \
         WHERE invoice_id = ? AND state IN ('reserved', 'released')",
    )
    .bind(license_id.to_string())
    .bind(now)
    .bind(invoice_id)
    .execute(&mut **tx)
    .await
    .map(|_| ())
}

/// The invoice expired or is invalid: its reserved use is given back.
pub async fn release_for_invoice(tx: &mut Tx, invoice_id: &str, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE code_uses SET state = 'released', updated_at = ? WHERE invoice_id = ? AND state = 'reserved'")
        .bind(now)
        .bind(invoice_id)
        .execute(&mut **tx)
        .await
        .map(|_| ())
}

/// Usage statistics of one code.
#[derive(Debug, sqlx::FromRow, serde::Serialize)]
pub struct CodeStats {
    pub uses: i64,
    pub reserved: i64,
    pub licenses_issued: i64,
    pub sats_attributed: i64,
    pub last_used_at: Option<i64>,
}

pub async fn stats<'e, E: Executor<'e, Database = Sqlite>>(e: E, code_id: Uuid) -> Result<CodeStats, sqlx::Error> {
    sqlx::query_as(
        "SELECT coalesce(sum(state = 'consumed'), 0) AS uses, coalesce(sum(state = 'reserved'), 0) AS reserved, \
         coalesce(sum(state = 'consumed' AND license_id IS NOT NULL), 0) AS licenses_issued, \
         coalesce(sum(CASE WHEN state = 'consumed' THEN sats ELSE 0 END), 0) AS sats_attributed, \
         max(CASE WHEN state = 'consumed' THEN updated_at END) AS last_used_at \
         FROM code_uses WHERE code_id = ?",
    )
    .bind(code_id.to_string())
    .fetch_one(e)
    .await
}

/// Stores the first answer for a key (replacing one older than 24 hours).
pub async fn remember_answer(
    tx: &mut Tx,
    scope: &str,
    key: &str,
    request_hash: &str,
    status: i64,
    body: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO idempotency_keys (scope, key, request_hash, status, body, created_at) VALUES (?, ?, ?, ?, ?, ?) \
         ON CONFLICT(scope, key) DO UPDATE SET request_hash = excluded.request_hash, status = excluded.status, \
         body = excluded.body, created_at = excluded.created_at",
    )
    .bind(scope)
    .bind(key)
    .bind(request_hash)
    .bind(status)
    .bind(body)
    .bind(now)
    .execute(&mut **tx)
    .await
    .map(|_| ())
}

/// A claimed key whose request never finished is free again after this.
pub const ABANDONED_AFTER_SECONDS: i64 = 120;

/// What is stored for a key: status 0 while its request is in flight.
#[derive(sqlx::FromRow)]
pub struct StoredAnswer {
    pub request_hash: String,
    pub status: i64,
    pub body: String,
    pub created_at: i64,
}

/// Claims an `Idempotency-Key` for a request in flight (status 0): what is
/// stored if the key was used since `since`, else `None` and the key is now
/// held by this request.
pub async fn claim_idempotency_key(
    tx: &mut Tx,
    scope: &str,
    key: &str,
    request_hash: &str,
    since: i64,
    now: i64,
) -> Result<Option<StoredAnswer>, sqlx::Error> {
    let found: Option<StoredAnswer> = sqlx::query_as(
        "SELECT request_hash, status, body, created_at FROM idempotency_keys WHERE scope = ? AND key = ?",
    )
    .bind(scope)
    .bind(key)
    .fetch_optional(&mut **tx)
    .await?;
    if let Some(f) = found {
        // A request still in flight, unless it was abandoned (the process died).
        let live = if f.status == 0 { f.created_at >= now - ABANDONED_AFTER_SECONDS } else { f.created_at >= since };
        if live {
            return Ok(Some(f));
        }
    }
    remember_answer(tx, scope, key, request_hash, 0, "", now).await?;
    Ok(None)
}

/// Lets a key be used again (its request failed before creating anything).
pub async fn forget_idempotency_key(tx: &mut Tx, scope: &str, key: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM idempotency_keys WHERE scope = ? AND key = ?")
        .bind(scope)
        .bind(key)
        .execute(&mut **tx)
        .await
        .map(|_| ())
}
