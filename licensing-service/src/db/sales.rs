//! Reads for the operator's desk: invoices with their code and license,
//! settled sales for revenue, and what a license was paid with.

use std::collections::HashMap;

use sqlx::{QueryBuilder, Sqlite, SqlitePool};
use uuid::Uuid;

use super::invoices::Invoice;
use super::NullableUuid;

/// An invoice with the code it used and the license it produced (or renewed, or upgraded).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct InvoiceRow {
    pub rowid: i64,
    #[sqlx(flatten)]
    pub invoice: Invoice,
    pub code: Option<String>,
    #[sqlx(try_from = "NullableUuid")]
    pub license_id: Option<Uuid>,
}

const COLUMNS: &str = "i.rowid AS rowid, i.id, i.product_id, i.policy_id, i.status, i.stage, i.provider, \
    i.provider_invoice_id, i.checkout_url, i.amount_sats, i.base_price_sats, i.discount_sats, i.price_amount, \
    i.price_currency, i.code_id, i.buyer_email, i.buyer_npub, i.buyer_note, i.redirect_url, i.created_at, \
    i.updated_at, i.settled_at, i.closed_at, i.purpose, i.target_license_id, c.code AS code, \
    coalesce(l.id, i.target_license_id) AS license_id";

const FROM: &str =
    " FROM invoices i LEFT JOIN discount_codes c ON c.id = i.code_id LEFT JOIN licenses l ON l.invoice_id = i.id";

/// Filters of the invoice list; newest first, paged by `before_rowid`.
#[derive(Debug, Default)]
pub struct InvoiceFilter {
    pub status: Option<&'static str>,
    pub provider: Option<String>,
    pub product_id: Option<Uuid>,
    pub policy_id: Option<Uuid>,
    pub code_id: Option<Uuid>,
    /// A lower-case e-mail address (whole) or an npub in hex.
    pub buyer: Option<String>,
    pub created_from: Option<i64>,
    pub created_to: Option<i64>,
    pub before_rowid: Option<i64>,
    pub limit: i64,
}

pub async fn list(pool: &SqlitePool, f: &InvoiceFilter) -> Result<Vec<InvoiceRow>, sqlx::Error> {
    let mut q: QueryBuilder<Sqlite> = QueryBuilder::new(format!("SELECT {COLUMNS}{FROM} WHERE 1 = 1"));
    if let Some(s) = f.status {
        q.push(" AND i.status = ").push_bind(s);
    }
    if let Some(p) = &f.provider {
        q.push(" AND i.provider = ").push_bind(p.clone());
    }
    if let Some(p) = f.product_id {
        q.push(" AND i.product_id = ").push_bind(p.to_string());
    }
    if let Some(p) = f.policy_id {
        q.push(" AND i.policy_id = ").push_bind(p.to_string());
    }
    if let Some(c) = f.code_id {
        q.push(" AND i.code_id = ").push_bind(c.to_string());
    }
    if let Some(b) = &f.buyer {
        q.push(" AND (lower(i.buyer_email) = ").push_bind(b.clone());
        q.push(" OR i.buyer_npub = ").push_bind(b.clone()).push(")");
    }
    if let Some(t) = f.created_from {
        q.push(" AND i.created_at >= ").push_bind(t);
    }
    if let Some(t) = f.created_to {
        q.push(" AND i.created_at < ").push_bind(t);
    }
    if let Some(r) = f.before_rowid {
        q.push(" AND i.rowid < ").push_bind(r);
    }
    q.push(" ORDER BY i.rowid DESC LIMIT ").push_bind(f.limit);
    q.build_query_as().fetch_all(pool).await
}

pub async fn invoice(pool: &SqlitePool, id: Uuid) -> Result<Option<InvoiceRow>, sqlx::Error> {
    sqlx::query_as(&format!("SELECT {COLUMNS}{FROM} WHERE i.id = ?")).bind(id.to_string()).fetch_optional(pool).await
}

/// A provider delivery (webhook) received about an invoice.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ProviderEvent {
    pub provider: String,
    pub delivery_id: String,
    pub event_type: String,
    pub received_at: i64,
}

pub async fn provider_events(pool: &SqlitePool, invoice_id: Uuid) -> Result<Vec<ProviderEvent>, sqlx::Error> {
    sqlx::query_as(
        "SELECT provider, delivery_id, event_type, received_at FROM provider_events \
         WHERE invoice_id = ? ORDER BY received_at, delivery_id",
    )
    .bind(invoice_id.to_string())
    .fetch_all(pool)
    .await
}

/// One settled invoice, as revenue counts it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Sale {
    pub invoice_id: String,
    pub settled_at: i64,
    #[sqlx(try_from = "super::Hyphenated")]
    pub product_id: Uuid,
    #[sqlx(try_from = "super::Hyphenated")]
    pub policy_id: Uuid,
    pub provider: String,
    pub code: Option<String>,
    pub amount_sats: i64,
    pub price_amount: Option<String>,
    pub price_currency: Option<String>,
    pub buyer_email: Option<String>,
    pub buyer_npub: Option<String>,
}

const SALE: &str = "SELECT i.id AS invoice_id, i.settled_at, i.product_id, i.policy_id, i.provider, c.code, \
    i.amount_sats, i.price_amount, i.price_currency, i.buyer_email, i.buyer_npub \
    FROM invoices i LEFT JOIN discount_codes c ON c.id = i.code_id";

/// Invoices settled in `[from, to)`, oldest first.
pub async fn settled(pool: &SqlitePool, from: i64, to: i64) -> Result<Vec<Sale>, sqlx::Error> {
    sqlx::query_as(&format!(
        "{SALE} WHERE i.status = 'settled' AND i.settled_at >= ? AND i.settled_at < ? ORDER BY i.settled_at"
    ))
    .bind(from)
    .bind(to)
    .fetch_all(pool)
    .await
}

/// Every settled invoice (for customers: what each buyer paid).
pub async fn all_settled(pool: &SqlitePool) -> Result<Vec<Sale>, sqlx::Error> {
    sqlx::query_as(&format!("{SALE} WHERE i.status = 'settled' AND i.settled_at IS NOT NULL")).fetch_all(pool).await
}

/// The sales of these invoices (ours), by invoice id: what each license was paid with.
pub async fn by_invoices(pool: &SqlitePool, ids: &[&str]) -> Result<HashMap<String, Sale>, sqlx::Error> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let mut q: QueryBuilder<Sqlite> = QueryBuilder::new(format!("{SALE} WHERE i.settled_at IS NOT NULL AND i.id IN ("));
    let mut list = q.separated(", ");
    for id in ids {
        list.push_bind(id.to_string());
    }
    q.push(")");
    let rows: Vec<Sale> = q.build_query_as().fetch_all(pool).await?;
    Ok(rows.into_iter().map(|s| (s.invoice_id.clone(), s)).collect())
}
