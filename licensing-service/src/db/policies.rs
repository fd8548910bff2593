//! Policies (tiers) of a product.

use sqlx::{Executor, Sqlite};
use uuid::Uuid;

use super::{json_col, uuid_col, Tx};
use crate::domain::catalog::{FiatPrice, Policy};
use crate::domain::Slug;

#[derive(sqlx::FromRow)]
struct Row {
    id: String,
    product_id: String,
    slug: String,
    name: String,
    description: String,
    price_sats: i64,
    price_amount: Option<String>,
    price_currency: Option<String>,
    duration_seconds: i64,
    grace_seconds: i64,
    max_machines: i64,
    entitlements: String,
    is_trial: bool,
    public: bool,
    highlighted: bool,
    tier_rank: Option<i64>,
    archived: bool,
    is_recurring: bool,
    renewal_period_days: Option<i64>,
    created_at: i64,
    updated_at: i64,
}

const COLUMNS: &str = "id, product_id, slug, name, description, price_sats, price_amount, price_currency, \
    duration_seconds, grace_seconds, max_machines, entitlements, is_trial, public, highlighted, tier_rank, \
    archived, is_recurring, renewal_period_days, created_at, updated_at";

impl TryFrom<Row> for Policy {
    type Error = sqlx::Error;
    fn try_from(r: Row) -> Result<Policy, sqlx::Error> {
        let decode = |e| sqlx::Error::Decode(Box::new(e));
        Ok(Policy {
            id: uuid_col(&r.id)?,
            product_id: uuid_col(&r.product_id)?,
            slug: Slug::parse(&r.slug).map_err(decode)?,
            name: r.name,
            description: r.description,
            price_sats: r.price_sats,
            fiat_price: match (r.price_amount, r.price_currency) {
                (Some(amount), Some(currency)) => Some(FiatPrice { amount, currency }),
                _ => None,
            },
            duration_seconds: r.duration_seconds,
            grace_seconds: r.grace_seconds,
            max_machines: r.max_machines,
            entitlements: json_col(&r.entitlements)?,
            is_trial: r.is_trial,
            public: r.public,
            highlighted: r.highlighted,
            tier_rank: r.tier_rank,
            archived: r.archived,
            is_recurring: r.is_recurring,
            renewal_period_days: r.renewal_period_days,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

/// Inserts or, when the id exists, overwrites every mutable column.
pub async fn upsert(tx: &mut Tx, p: &Policy) -> Result<(), sqlx::Error> {
    sqlx::query(&format!(
        "INSERT INTO policies ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) \
         ON CONFLICT(id) DO UPDATE SET name = excluded.name, description = excluded.description, \
         price_sats = excluded.price_sats, price_amount = excluded.price_amount, \
         price_currency = excluded.price_currency, duration_seconds = excluded.duration_seconds, \
         grace_seconds = excluded.grace_seconds, max_machines = excluded.max_machines, \
         entitlements = excluded.entitlements, is_trial = excluded.is_trial, public = excluded.public, \
         highlighted = excluded.highlighted, tier_rank = excluded.tier_rank, archived = excluded.archived, \
         is_recurring = excluded.is_recurring, renewal_period_days = excluded.renewal_period_days, \
         updated_at = excluded.updated_at"
    ))
    .bind(p.id.to_string())
    .bind(p.product_id.to_string())
    .bind(p.slug.as_str())
    .bind(&p.name)
    .bind(&p.description)
    .bind(p.price_sats)
    .bind(p.fiat_price.as_ref().map(|f| f.amount.clone()))
    .bind(p.fiat_price.as_ref().map(|f| f.currency.clone()))
    .bind(p.duration_seconds)
    .bind(p.grace_seconds)
    .bind(p.max_machines)
    .bind(serde_json::to_string(&p.entitlements).expect("slugs serialise"))
    .bind(p.is_trial)
    .bind(p.public)
    .bind(p.highlighted)
    .bind(p.tier_rank)
    .bind(p.archived)
    .bind(p.is_recurring)
    .bind(p.renewal_period_days)
    .bind(p.created_at)
    .bind(p.updated_at)
    .execute(&mut **tx)
    .await
    .map(|_| ())
}

pub async fn by_slug<'e, E: Executor<'e, Database = Sqlite>>(
    e: E,
    product_id: Uuid,
    slug: &str,
) -> Result<Option<Policy>, sqlx::Error> {
    sqlx::query_as::<_, Row>(&format!("SELECT {COLUMNS} FROM policies WHERE product_id = ? AND slug = ?"))
        .bind(product_id.to_string())
        .bind(slug)
        .fetch_optional(e)
        .await?
        .map(Policy::try_from)
        .transpose()
}

pub async fn by_id<'e, E: Executor<'e, Database = Sqlite>>(e: E, id: Uuid) -> Result<Option<Policy>, sqlx::Error> {
    sqlx::query_as::<_, Row>(&format!("SELECT {COLUMNS} FROM policies WHERE id = ?"))
        .bind(id.to_string())
        .fetch_optional(e)
        .await?
        .map(Policy::try_from)
        .transpose()
}

/// A product's policies, by tier rank (unranked last), then price, then slug.
pub async fn for_product<'e, E: Executor<'e, Database = Sqlite>>(
    e: E,
    product_id: Uuid,
) -> Result<Vec<Policy>, sqlx::Error> {
    sqlx::query_as::<_, Row>(&format!(
        "SELECT {COLUMNS} FROM policies WHERE product_id = ? \
         ORDER BY tier_rank IS NULL, tier_rank, price_sats, slug"
    ))
    .bind(product_id.to_string())
    .fetch_all(e)
    .await?
    .into_iter()
    .map(Policy::try_from)
    .collect()
}

/// Slugs of a product's entitlements that some policy grants.
pub async fn entitlements_in_use<'e, E: Executor<'e, Database = Sqlite>>(
    e: E,
    product_id: Uuid,
) -> Result<Vec<String>, sqlx::Error> {
    let lists: Vec<String> = sqlx::query_scalar("SELECT entitlements FROM policies WHERE product_id = ?")
        .bind(product_id.to_string())
        .fetch_all(e)
        .await?;
    let mut all = Vec::new();
    for l in lists {
        all.extend(json_col::<Vec<String>>(&l)?);
    }
    all.sort();
    all.dedup();
    Ok(all)
}
