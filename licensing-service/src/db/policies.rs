//! Policies (tiers) of a product.

use sqlx::sqlite::SqliteRow;
use sqlx::types::Json;
use sqlx::{Executor, FromRow, Sqlite};
use uuid::Uuid;

use super::{Hyphenated, Tx};
use crate::domain::catalog::{FiatPrice, Policy};
use crate::domain::machine_rules::MachineRules;
use crate::domain::Slug;

/// A policies row: [`Policy`] with the types sqlx reads its columns as.
#[derive(sqlx::FromRow)]
struct Row {
    #[sqlx(try_from = "Hyphenated")]
    id: Uuid,
    #[sqlx(try_from = "Hyphenated")]
    product_id: Uuid,
    #[sqlx(try_from = "String")]
    slug: Slug,
    name: String,
    description: String,
    price_sats: i64,
    #[sqlx(flatten, try_from = "FiatColumns")]
    fiat_price: Option<FiatPrice>,
    duration_seconds: i64,
    grace_seconds: i64,
    max_machines: i64,
    #[sqlx(json)]
    entitlements: Vec<Slug>,
    is_trial: bool,
    public: bool,
    highlighted: bool,
    tier_rank: Option<i64>,
    archived: bool,
    is_recurring: bool,
    renewal_period_days: Option<i64>,
    renewal_notice_seconds: i64,
    created_at: i64,
    updated_at: i64,
    #[sqlx(flatten, try_from = "RulesColumns")]
    machine_rules: MachineRules,
}

/// The columns of a policy's [`MachineRules`].
#[derive(sqlx::FromRow)]
pub struct RulesColumns {
    lease_seconds: i64,
    self_reset_limit: i64,
    seat_timeout_seconds: i64,
    one_trial_per_machine: bool,
}

impl From<RulesColumns> for MachineRules {
    fn from(c: RulesColumns) -> MachineRules {
        MachineRules {
            lease_seconds: c.lease_seconds,
            self_reset_limit: c.self_reset_limit,
            seat_timeout_seconds: c.seat_timeout_seconds,
            one_trial_per_machine: c.one_trial_per_machine,
        }
    }
}

/// The columns a policy's [`FiatPrice`] is stored in: both set, or neither.
#[derive(sqlx::FromRow)]
pub struct FiatColumns {
    price_amount: Option<String>,
    price_currency: Option<String>,
}

impl From<FiatColumns> for Option<FiatPrice> {
    fn from(c: FiatColumns) -> Option<FiatPrice> {
        Some(FiatPrice { amount: c.price_amount?, currency: c.price_currency? })
    }
}

impl From<Row> for Policy {
    fn from(r: Row) -> Policy {
        Policy {
            id: r.id,
            product_id: r.product_id,
            slug: r.slug,
            name: r.name,
            description: r.description,
            price_sats: r.price_sats,
            fiat_price: r.fiat_price,
            duration_seconds: r.duration_seconds,
            grace_seconds: r.grace_seconds,
            max_machines: r.max_machines,
            entitlements: r.entitlements,
            is_trial: r.is_trial,
            public: r.public,
            highlighted: r.highlighted,
            tier_rank: r.tier_rank,
            archived: r.archived,
            is_recurring: r.is_recurring,
            renewal_period_days: r.renewal_period_days,
            renewal_notice_seconds: r.renewal_notice_seconds,
            created_at: r.created_at,
            updated_at: r.updated_at,
            machine_rules: r.machine_rules,
        }
    }
}

impl<'r> FromRow<'r, SqliteRow> for Policy {
    fn from_row(row: &'r SqliteRow) -> Result<Policy, sqlx::Error> {
        Row::from_row(row).map(Policy::from)
    }
}

pub(super) const COLUMNS: &str = "id, product_id, slug, name, description, price_sats, price_amount, price_currency, \
    duration_seconds, grace_seconds, max_machines, entitlements, is_trial, public, highlighted, tier_rank, \
    archived, is_recurring, renewal_period_days, created_at, updated_at, \
    lease_seconds, self_reset_limit, seat_timeout_seconds, one_trial_per_machine, \
    renewal_notice_seconds";

/// Inserts or, when the id exists, overwrites every mutable column.
pub async fn upsert(tx: &mut Tx, p: &Policy) -> Result<(), sqlx::Error> {
    sqlx::query(&format!(
        "INSERT INTO policies ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) \
         ON CONFLICT(id) DO UPDATE SET name = excluded.name, description = excluded.description, \
         price_sats = excluded.price_sats, price_amount = excluded.price_amount, \
         price_currency = excluded.price_currency, duration_seconds = excluded.duration_seconds, \
         grace_seconds = excluded.grace_seconds, max_machines = excluded.max_machines, \
         entitlements = excluded.entitlements, is_trial = excluded.is_trial, public = excluded.public, \
         highlighted = excluded.highlighted, tier_rank = excluded.tier_rank, archived = excluded.archived, \
         is_recurring = excluded.is_recurring, renewal_period_days = excluded.renewal_period_days, \
         updated_at = excluded.updated_at, lease_seconds = excluded.lease_seconds, \
         self_reset_limit = excluded.self_reset_limit, seat_timeout_seconds = excluded.seat_timeout_seconds, \
         one_trial_per_machine = excluded.one_trial_per_machine, \
         renewal_notice_seconds = excluded.renewal_notice_seconds"
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
    .bind(p.machine_rules.lease_seconds)
    .bind(p.machine_rules.self_reset_limit)
    .bind(p.machine_rules.seat_timeout_seconds)
    .bind(p.machine_rules.one_trial_per_machine)
    .bind(p.renewal_notice_seconds)
    .execute(&mut **tx)
    .await
    .map(|_| ())
}

pub async fn by_slug<'e, E: Executor<'e, Database = Sqlite>>(
    e: E,
    product_id: Uuid,
    slug: &str,
) -> Result<Option<Policy>, sqlx::Error> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM policies WHERE product_id = ? AND slug = ?"))
        .bind(product_id.to_string())
        .bind(slug)
        .fetch_optional(e)
        .await
}

pub async fn by_id<'e, E: Executor<'e, Database = Sqlite>>(e: E, id: Uuid) -> Result<Option<Policy>, sqlx::Error> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM policies WHERE id = ?")).bind(id.to_string()).fetch_optional(e).await
}

/// A product's policies, by tier rank (unranked last), then price, then slug.
pub async fn for_product<'e, E: Executor<'e, Database = Sqlite>>(
    e: E,
    product_id: Uuid,
) -> Result<Vec<Policy>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM policies WHERE product_id = ? \
         ORDER BY tier_rank IS NULL, tier_rank, price_sats, slug"
    ))
    .bind(product_id.to_string())
    .fetch_all(e)
    .await
}

/// Slugs of a product's entitlements that some policy grants.
pub async fn entitlements_in_use<'e, E: Executor<'e, Database = Sqlite>>(
    e: E,
    product_id: Uuid,
) -> Result<Vec<String>, sqlx::Error> {
    let lists: Vec<Json<Vec<String>>> = sqlx::query_scalar("SELECT entitlements FROM policies WHERE product_id = ?")
        .bind(product_id.to_string())
        .fetch_all(e)
        .await?;
    let mut all: Vec<String> = lists.into_iter().flat_map(|l| l.0).collect();
    all.sort();
    all.dedup();
    Ok(all)
}
