//! Invoices and the provider events seen for them.

use std::sync::LazyLock;

use sqlx::{Executor, FromRow, Row, Sqlite};
use uuid::Uuid;

use super::{Hyphenated, NullableUuid, Tx};
use crate::domain::catalog::{Policy, Product};
use crate::domain::invoice::InvoiceStatus;
use crate::domain::subscription::Purpose;

/// An invoice as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Invoice {
    #[sqlx(try_from = "Hyphenated")]
    pub id: Uuid,
    #[sqlx(try_from = "Hyphenated")]
    pub product_id: Uuid,
    #[sqlx(try_from = "Hyphenated")]
    pub policy_id: Uuid,
    #[sqlx(try_from = "String")]
    pub status: InvoiceStatus,
    /// A payment was seen and is confirming.
    #[sqlx(rename = "stage", try_from = "Stage")]
    pub processing: bool,
    pub provider: String,
    pub provider_invoice_id: Option<String>,
    pub checkout_url: Option<String>,
    pub amount_sats: i64,
    pub base_price_sats: i64,
    pub discount_sats: i64,
    pub price_amount: Option<String>,
    pub price_currency: Option<String>,
    #[sqlx(try_from = "NullableUuid")]
    pub code_id: Option<Uuid>,
    pub buyer_email: Option<String>,
    pub buyer_npub: Option<String>,
    pub buyer_note: Option<String>,
    pub redirect_url: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    pub settled_at: Option<i64>,
    pub closed_at: Option<i64>,
    /// What it pays for: a new license, or a renewal or upgrade of `target_license_id`.
    #[sqlx(try_from = "String")]
    pub purpose: Purpose,
    #[sqlx(try_from = "NullableUuid")]
    pub target_license_id: Option<Uuid>,
}

/// The `stage` column of a pending invoice: `new`, or `processing` once a
/// payment was seen (read as [`Invoice::processing`]).
#[derive(Debug, sqlx::Type)]
#[sqlx(transparent)]
pub struct Stage(String);

impl From<Stage> for bool {
    fn from(stage: Stage) -> bool {
        stage.0 == "processing"
    }
}

const COLUMNS: &str = "id, product_id, policy_id, status, stage, provider, provider_invoice_id, checkout_url, \
    amount_sats, base_price_sats, discount_sats, price_amount, price_currency, code_id, buyer_email, buyer_npub, \
    buyer_note, redirect_url, created_at, updated_at, settled_at, closed_at, purpose, target_license_id";

pub async fn insert(tx: &mut Tx, i: &Invoice) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO invoices (id, product_id, policy_id, status, stage, provider, provider_invoice_id, checkout_url, \
         amount_sats, base_price_sats, discount_sats, price_amount, price_currency, code_id, buyer_email, buyer_npub, \
         buyer_note, redirect_url, created_at, updated_at, settled_at, closed_at, purpose, target_license_id) \
         VALUES (?, ?, ?, ?, 'new', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(i.id.to_string())
    .bind(i.product_id.to_string())
    .bind(i.policy_id.to_string())
    .bind(i.status.as_str())
    .bind(&i.provider)
    .bind(&i.provider_invoice_id)
    .bind(&i.checkout_url)
    .bind(i.amount_sats)
    .bind(i.base_price_sats)
    .bind(i.discount_sats)
    .bind(&i.price_amount)
    .bind(&i.price_currency)
    .bind(i.code_id.map(|c| c.to_string()))
    .bind(&i.buyer_email)
    .bind(&i.buyer_npub)
    .bind(&i.buyer_note)
    .bind(&i.redirect_url)
    .bind(i.created_at)
    .bind(i.updated_at)
    .bind(i.settled_at)
    .bind(i.closed_at)
    .bind(i.purpose.as_str())
    .bind(i.target_license_id.map(|l| l.to_string()))
    .execute(&mut **tx)
    .await
    .map(|_| ())
}

pub async fn by_id<'e, E: Executor<'e, Database = Sqlite>>(e: E, id: Uuid) -> Result<Option<Invoice>, sqlx::Error> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM invoices WHERE id = ?")).bind(id.to_string()).fetch_optional(e).await
}

/// An invoice with the product and tier it pins (`None` if since deleted).
pub struct Pinned {
    pub invoice: Invoice,
    pub product: Option<Product>,
    pub policy: Option<Policy>,
}

/// [`by_id`] with the invoice's product and tier, read in one round trip to
/// SQLite's worker thread (three statements in one query; each row says
/// which it is).
pub async fn pinned(tx: &mut Tx, id: Uuid) -> Result<Option<Pinned>, sqlx::Error> {
    static SQL: LazyLock<String> = LazyLock::new(|| {
        format!(
            "SELECT 'invoice' AS part, {COLUMNS} FROM invoices WHERE id = ?1; \
             SELECT 'product' AS part, {} FROM products WHERE id = (SELECT product_id FROM invoices WHERE id = ?1); \
             SELECT 'policy' AS part, {} FROM policies WHERE id = (SELECT policy_id FROM invoices WHERE id = ?1)",
            super::products::COLUMNS,
            super::policies::COLUMNS
        )
    });
    let rows = sqlx::query(&SQL).bind(id.to_string()).fetch_all(&mut **tx).await?;
    let (mut invoice, mut product, mut policy) = (None, None, None);
    for row in &rows {
        match row.try_get::<&str, _>("part")? {
            "invoice" => invoice = Some(Invoice::from_row(row)?),
            "product" => product = Some(Product::from_row(row)?),
            _ => policy = Some(Policy::from_row(row)?),
        }
    }
    Ok(invoice.map(|invoice| Pinned { invoice, product, policy }))
}

/// Our invoice for a provider's invoice id.
pub async fn by_provider_id<'e, E: Executor<'e, Database = Sqlite>>(
    e: E,
    provider: &str,
    provider_invoice_id: &str,
) -> Result<Option<Invoice>, sqlx::Error> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM invoices WHERE provider = ? AND provider_invoice_id = ?"))
        .bind(provider)
        .bind(provider_invoice_id)
        .fetch_optional(e)
        .await
}

/// Records the provider's invoice once it exists.
pub async fn set_checkout(
    tx: &mut Tx,
    id: Uuid,
    provider_invoice_id: &str,
    checkout_url: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE invoices SET provider_invoice_id = ?, checkout_url = ?, updated_at = ? WHERE id = ?")
        .bind(provider_invoice_id)
        .bind(checkout_url)
        .bind(now)
        .bind(id.to_string())
        .execute(&mut **tx)
        .await
        .map(|_| ())
}

pub async fn mark_processing(tx: &mut Tx, id: Uuid, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE invoices SET stage = 'processing', updated_at = ? WHERE id = ? AND status = 'pending'")
        .bind(now)
        .bind(id.to_string())
        .execute(&mut **tx)
        .await
        .map(|_| ())
}

/// Settles the invoice unless it already is; true when this call settled it.
pub async fn mark_settled(tx: &mut Tx, id: Uuid, now: i64) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE invoices SET status = 'settled', settled_at = ?, updated_at = ? WHERE id = ? AND status <> 'settled'",
    )
    .bind(now)
    .bind(now)
    .bind(id.to_string())
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Closes a pending invoice as expired or invalid; true when this call closed it.
pub async fn mark_closed(tx: &mut Tx, id: Uuid, status: InvoiceStatus, now: i64) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE invoices SET status = ?, closed_at = ?, updated_at = ? WHERE id = ? AND status = 'pending'",
    )
    .bind(status.as_str())
    .bind(now)
    .bind(now)
    .bind(id.to_string())
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Invoices reconciliation should ask the provider about: pending and
/// created before `older_than`, or closed recently enough that a late
/// payment may still arrive (`closed_since`), oldest look-up first.
pub async fn to_reconcile<'e, E: Executor<'e, Database = Sqlite>>(
    e: E,
    older_than: i64,
    closed_since: i64,
    limit: i64,
) -> Result<Vec<Invoice>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM invoices \
         WHERE (status = 'pending' AND created_at <= ?1) \
            OR (status IN ('expired', 'invalid') AND closed_at >= ?2 AND provider_invoice_id IS NOT NULL) \
         ORDER BY coalesce(last_checked_at, 0), created_at LIMIT ?3"
    ))
    .bind(older_than)
    .bind(closed_since)
    .bind(limit)
    .fetch_all(e)
    .await
}

pub async fn mark_checked<'e, E: Executor<'e, Database = Sqlite>>(e: E, id: Uuid, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE invoices SET last_checked_at = ? WHERE id = ?")
        .bind(now)
        .bind(id.to_string())
        .execute(e)
        .await
        .map(|_| ())
}

pub async fn count_pending<'e, E: Executor<'e, Database = Sqlite>>(e: E) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT count(*) FROM invoices WHERE status = 'pending'").fetch_one(e).await
}

/// Records a provider delivery; false when it was seen before.
pub async fn record_event(
    tx: &mut Tx,
    provider: &str,
    delivery_id: &str,
    event_type: &str,
    invoice_id: Option<Uuid>,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "INSERT INTO provider_events (provider, delivery_id, event_type, invoice_id, received_at) \
         VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
    )
    .bind(provider)
    .bind(delivery_id)
    .bind(event_type)
    .bind(invoice_id.map(|i| i.to_string()))
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Records the provider's id of an invoice found by its order id.
pub async fn set_provider_id(tx: &mut Tx, id: Uuid, provider_invoice_id: &str, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE invoices SET provider_invoice_id = ?, updated_at = ? WHERE id = ? AND provider_invoice_id IS NULL",
    )
    .bind(provider_invoice_id)
    .bind(now)
    .bind(id.to_string())
    .execute(&mut **tx)
    .await
    .map(|_| ())
}

/// Tags an invoice with the client address bucket it came from.
pub async fn set_client_addr(tx: &mut Tx, id: Uuid, addr: &str) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE invoices SET client_addr = ? WHERE id = ?")
        .bind(addr)
        .bind(id.to_string())
        .execute(&mut **tx)
        .await
        .map(|_| ())
}

/// Unpaid invoices created since `since`, from one address bucket or from all.
pub async fn count_open<'e, E: Executor<'e, Database = Sqlite>>(
    e: E,
    addr: Option<&str>,
    since: i64,
) -> Result<i64, sqlx::Error> {
    let (n,): (i64,) = match addr {
        Some(a) => {
            sqlx::query_as(
                "SELECT count(*) FROM invoices WHERE status = 'pending' AND client_addr = ? AND created_at >= ?",
            )
            .bind(a)
            .bind(since)
            .fetch_one(e)
            .await?
        }
        None => {
            sqlx::query_as("SELECT count(*) FROM invoices WHERE status = 'pending' AND created_at >= ?")
                .bind(since)
                .fetch_one(e)
                .await?
        }
    };
    Ok(n)
}

/// Records why a provider invoice did not settle this one; false when the
/// same reason was recorded already.
pub async fn set_mismatch(tx: &mut Tx, id: Uuid, why: &str, now: i64) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("UPDATE invoices SET mismatch = ?, updated_at = ? WHERE id = ? AND mismatch IS NOT ?")
        .bind(why)
        .bind(now)
        .bind(id.to_string())
        .bind(why)
        .execute(&mut **tx)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Why a provider invoice did not settle this one, if one did not.
pub async fn mismatch<'e, E: Executor<'e, Database = Sqlite>>(e: E, id: Uuid) -> Result<Option<String>, sqlx::Error> {
    let row: Option<(Option<String>,)> =
        sqlx::query_as("SELECT mismatch FROM invoices WHERE id = ?").bind(id.to_string()).fetch_optional(e).await?;
    Ok(row.and_then(|r| r.0))
}

/// Records the provider's payment behind a paid invoice (Stripe: its PaymentIntent).
pub async fn set_payment_id<'e, E: Executor<'e, Database = Sqlite>>(
    e: E,
    id: Uuid,
    payment_id: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE invoices SET provider_payment_id = ? WHERE id = ? AND provider_payment_id IS NULL")
        .bind(payment_id)
        .bind(id.to_string())
        .execute(e)
        .await
        .map(|_| ())
}

/// The provider's payment behind an invoice, once known.
pub async fn payment_id<'e, E: Executor<'e, Database = Sqlite>>(e: E, id: Uuid) -> Result<Option<String>, sqlx::Error> {
    let row: Option<(Option<String>,)> = sqlx::query_as("SELECT provider_payment_id FROM invoices WHERE id = ?")
        .bind(id.to_string())
        .fetch_optional(e)
        .await?;
    Ok(row.and_then(|r| r.0))
}

/// Our invoice paid with this provider payment.
pub async fn by_payment_id<'e, E: Executor<'e, Database = Sqlite>>(
    e: E,
    provider: &str,
    payment_id: &str,
) -> Result<Option<Invoice>, sqlx::Error> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM invoices WHERE provider = ? AND provider_payment_id = ?"))
        .bind(provider)
        .bind(payment_id)
        .fetch_optional(e)
        .await
}
