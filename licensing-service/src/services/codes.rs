//! The operator's discount codes: create (or generate), list, show with
//! usage statistics, change, disable / enable, delete when never used. Each
//! change is one transaction with its audit record (before and after).

use rand::RngCore;
use schemars::JsonSchema;
use serde::Serialize;
use serde_json::{json, Value};
use sqlx::SqliteConnection;
use uuid::Uuid;

use super::{audit, Core, ServiceError};
use crate::db::codes::{CodeStats, DiscountCode};
use crate::db::{self, Tx};
use crate::domain::catalog::Product;
use crate::domain::discount::{Code, Kind, Rules};
use crate::domain::time::Timestamp;
use crate::domain::{now_unix, optional_text, DomainError};

/// A discount code as the operator sees it, with how it has been used.
#[derive(Debug, Serialize, JsonSchema)]
pub struct CodeView {
    pub id: Uuid,
    pub code: Code,
    /// Empty if the product is gone.
    pub product_slug: String,
    pub kind: &'static str,
    /// Null for `free_license`.
    pub value: Option<i64>,
    /// Tier slugs it applies to; empty: every tier.
    pub policies: Vec<String>,
    pub max_uses: Option<i64>,
    pub max_uses_per_buyer: Option<i64>,
    pub valid_from: Option<Timestamp>,
    pub valid_until: Option<Timestamp>,
    pub active: bool,
    pub featured: bool,
    pub referrer: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub stats: UsageView,
}

/// How a code has been used.
#[derive(Debug, Serialize, JsonSchema)]
pub struct UsageView {
    pub uses: i64,
    pub reserved: i64,
    pub licenses_issued: i64,
    pub sats_attributed: i64,
    pub last_used_at: Option<Timestamp>,
}

impl CodeView {
    pub fn new(c: &DiscountCode, product_slug: &str, st: CodeStats) -> CodeView {
        CodeView {
            id: c.id,
            code: c.code.clone(),
            product_slug: product_slug.to_string(),
            kind: c.kind.name(),
            value: c.kind.value(),
            policies: c.rules.policies.clone(),
            max_uses: c.rules.max_uses,
            max_uses_per_buyer: c.rules.max_uses_per_buyer,
            valid_from: c.rules.valid_from.map(Timestamp),
            valid_until: c.rules.valid_until.map(Timestamp),
            active: c.rules.active,
            featured: c.featured,
            referrer: c.referrer.clone(),
            created_at: Timestamp(c.created_at),
            updated_at: Timestamp(c.updated_at),
            stats: UsageView {
                uses: st.uses,
                reserved: st.reserved,
                licenses_issued: st.licenses_issued,
                sats_attributed: st.sats_attributed,
                last_used_at: st.last_used_at.map(Timestamp),
            },
        }
    }
}

async fn view(conn: &mut SqliteConnection, c: &DiscountCode, product_slug: &str) -> Result<CodeView, sqlx::Error> {
    Ok(CodeView::new(c, product_slug, db::codes::stats(conn, c.id).await?))
}

/// A new code; times are unix seconds.
#[derive(Debug)]
pub struct NewCode {
    /// None: a random readable code.
    pub code: Option<String>,
    pub product_slug: String,
    pub kind: String,
    pub value: Option<i64>,
    pub policies: Option<Vec<String>>,
    pub max_uses: Option<i64>,
    pub max_uses_per_buyer: Option<i64>,
    pub valid_from: Option<i64>,
    pub valid_until: Option<i64>,
    pub featured: Option<bool>,
    pub referrer: Option<String>,
}

/// A change: absent fields keep their value; `Some(None)` clears a nullable one.
#[derive(Debug, Default)]
pub struct CodeChange {
    pub kind: Option<String>,
    pub value: Option<Option<i64>>,
    pub policies: Option<Vec<String>>,
    pub max_uses: Option<Option<i64>>,
    pub max_uses_per_buyer: Option<Option<i64>>,
    pub valid_from: Option<Option<i64>>,
    pub valid_until: Option<Option<i64>>,
    pub active: Option<bool>,
    pub featured: Option<bool>,
    pub referrer: Option<Option<String>>,
}

fn limit(field: &'static str, v: Option<i64>, min: i64) -> Result<Option<i64>, DomainError> {
    match v {
        Some(n) if n < min => Err(DomainError::invalid(field, format!("must be at least {min}"))),
        other => Ok(other),
    }
}

/// The policy slugs must be tiers of the product.
async fn check_policies(
    conn: &mut SqliteConnection,
    product: &Product,
    mut list: Vec<String>,
) -> Result<Vec<String>, ServiceError> {
    let tiers = db::policies::for_product(conn, product.id).await?;
    list.sort();
    list.dedup();
    if let Some(bad) = list.iter().find(|p| !tiers.iter().any(|t| t.slug.as_str() == p.as_str())) {
        return Err(
            DomainError::invalid("policies", format!("product '{}' has no policy '{bad}'", product.slug)).into()
        );
    }
    Ok(list)
}

/// A code worth sats must be usable on some tier it names (or, naming none,
/// on some tier of the product): a fiat-priced tier refuses it, since a fixed
/// number of sats off a price in dollars would let the day's rate decide.
async fn check_currency(
    conn: &mut SqliteConnection,
    product: &Product,
    kind: Kind,
    policies: &[String],
) -> Result<(), ServiceError> {
    if !kind.is_sats_denominated() {
        return Ok(());
    }
    let tiers = db::policies::for_product(conn, product.id).await?;
    let mut targeted = tiers.iter().filter(|t| policies.is_empty() || policies.iter().any(|p| p == t.slug.as_str()));
    if targeted.all(|t| t.fiat_price.is_some()) && !tiers.is_empty() {
        return Err(DomainError::invalid(
            "kind",
            format!(
                "{} is an amount of sats, and every tier it would apply to is priced in fiat: use percent_off or free_license",
                kind.name()
            ),
        )
        .into());
    }
    Ok(())
}

fn check_window(rules: &Rules) -> Result<(), DomainError> {
    match (rules.valid_from, rules.valid_until) {
        (Some(f), Some(u)) if u <= f => Err(DomainError::invalid("valid_until", "must be after valid_from")),
        _ => Ok(()),
    }
}

fn new_code(given: Option<&str>) -> Result<Code, DomainError> {
    match given {
        Some(c) => Code::parse(c),
        None => {
            let mut raw = [0u8; 12];
            rand::rngs::OsRng.fill_bytes(&mut raw);
            Ok(Code::generate(&raw))
        }
    }
}

/// Stores the code with its audit record (`before` is what it was, for a change).
async fn write(
    tx: &mut Tx,
    action: &str,
    before: Option<Value>,
    c: &DiscountCode,
    slug: &str,
) -> Result<(), ServiceError> {
    if before.is_none() && db::codes::by_code(&mut **tx, &c.code).await?.is_some() {
        return Err(
            DomainError::conflict("code_taken", format!("the code '{}' exists already", c.code.as_str())).into()
        );
    }
    db::codes::upsert(tx, c).await?;
    let after = json!({"code": c.code, "product": slug, "kind": c.kind.name(), "value": c.kind.value(),
        "policies": c.rules.policies, "max_uses": c.rules.max_uses, "max_uses_per_buyer": c.rules.max_uses_per_buyer,
        "valid_from": c.rules.valid_from, "valid_until": c.rules.valid_until, "active": c.rules.active,
        "featured": c.featured, "referrer": c.referrer});
    let details = match before {
        Some(b) => json!({"before": b, "after": after}),
        None => after,
    };
    audit(tx, c.updated_at, "admin", action, ("discount_code", c.code.as_str()), details).await?;
    Ok(())
}

pub async fn create(s: &Core, input: NewCode) -> Result<CodeView, ServiceError> {
    let product = super::products::find(s, &input.product_slug).await?;
    let code = new_code(input.code.as_deref())?;
    let now = now_unix();
    let mut tx = s.db.begin().await?;
    let rules = Rules {
        active: true,
        valid_from: input.valid_from,
        valid_until: input.valid_until,
        policies: check_policies(&mut tx, &product, input.policies.unwrap_or_default()).await?,
        max_uses: limit("max_uses", input.max_uses, 0)?,
        max_uses_per_buyer: limit("max_uses_per_buyer", input.max_uses_per_buyer, 1)?,
    };
    check_window(&rules)?;
    let kind = Kind::parse(&input.kind, input.value)?;
    check_currency(&mut tx, &product, kind, &rules.policies).await?;
    let c = DiscountCode {
        id: Uuid::new_v4(),
        code,
        product_id: product.id,
        kind,
        rules,
        featured: input.featured.unwrap_or(false),
        referrer: optional_text("referrer", input.referrer, 120)?,
        created_at: now,
        updated_at: now,
    };
    write(&mut tx, "discount_code.create", None, &c, product.slug.as_str()).await?;
    let answer = view(&mut tx, &c, product.slug.as_str()).await?;
    tx.commit().await?;
    s.catalogue.changed();
    Ok(answer)
}

/// Every code, or one product's (by slug), newest first.
pub async fn list(s: &Core, product: Option<&str>) -> Result<Vec<CodeView>, ServiceError> {
    let product_id = match product {
        Some(slug) => Some(super::products::find(s, slug).await?.id),
        None => None,
    };
    let mut conn = s.db.read.acquire().await?;
    let products = db::products::list(&mut *conn, false).await?;
    let mut out = Vec::new();
    for c in db::codes::list(&mut *conn, product_id).await? {
        let slug = products.iter().find(|p| p.id == c.product_id).map(|p| p.slug.to_string()).unwrap_or_default();
        out.push(view(&mut conn, &c, &slug).await?);
    }
    Ok(out)
}

/// A code by its (case-insensitive) text, with its product.
async fn find(conn: &mut SqliteConnection, code: &str) -> Result<(DiscountCode, Product), ServiceError> {
    let not_found = || ServiceError::NotFound(format!("no discount code '{code}'"));
    let parsed = Code::parse(code).map_err(|_| not_found())?;
    let c = db::codes::by_code(&mut *conn, &parsed).await?.ok_or_else(not_found)?;
    let p = db::products::by_id(&mut *conn, c.product_id)
        .await?
        .ok_or_else(|| anyhow::anyhow!("discount code {} names a missing product {}", c.code.as_str(), c.product_id))?;
    Ok((c, p))
}

pub async fn get(s: &Core, code: &str) -> Result<CodeView, ServiceError> {
    let mut conn = s.db.read.acquire().await?;
    let (c, p) = find(&mut conn, code).await?;
    Ok(view(&mut conn, &c, p.slug.as_str()).await?)
}

/// Changes the fields given; the result must still be a valid code.
pub async fn update(s: &Core, code: &str, change: CodeChange) -> Result<CodeView, ServiceError> {
    let mut tx = s.db.begin().await?;
    let (before, product) = find(&mut tx, code).await?;
    let before_view = view(&mut tx, &before, product.slug.as_str()).await?;
    let mut c = before.clone();
    if change.kind.is_some() || change.value.is_some() {
        let kind = change.kind.unwrap_or_else(|| before.kind.name().to_string());
        let value = match change.value {
            Some(v) => v,
            None if kind == before.kind.name() => before.kind.value(),
            None => None,
        };
        c.kind = Kind::parse(&kind, value)?;
    }
    if let Some(list) = change.policies {
        c.rules.policies = check_policies(&mut tx, &product, list).await?;
    }
    if let Some(v) = change.max_uses {
        c.rules.max_uses = limit("max_uses", v, 0)?;
    }
    if let Some(v) = change.max_uses_per_buyer {
        c.rules.max_uses_per_buyer = limit("max_uses_per_buyer", v, 1)?;
    }
    if let Some(v) = change.valid_from {
        c.rules.valid_from = v;
    }
    if let Some(v) = change.valid_until {
        c.rules.valid_until = v;
    }
    check_window(&c.rules)?;
    check_currency(&mut tx, &product, c.kind, &c.rules.policies).await?;
    c.rules.active = change.active.unwrap_or(c.rules.active);
    c.featured = change.featured.unwrap_or(c.featured);
    if let Some(v) = change.referrer {
        c.referrer = optional_text("referrer", v, 120)?;
    }
    c.updated_at = now_unix();
    write(&mut tx, "discount_code.update", Some(json!(before_view)), &c, product.slug.as_str()).await?;
    let answer = view(&mut tx, &c, product.slug.as_str()).await?;
    tx.commit().await?;
    s.catalogue.changed();
    Ok(answer)
}

/// Disables (buyers can no longer use it) or enables a code.
pub async fn set_active(s: &Core, code: &str, active: bool) -> Result<CodeView, ServiceError> {
    let mut tx = s.db.begin().await?;
    let (before, product) = find(&mut tx, code).await?;
    let mut c = before.clone();
    c.rules.active = active;
    c.updated_at = now_unix();
    let action = if active { "discount_code.enable" } else { "discount_code.disable" };
    let was = json!({ "active": before.rules.active });
    write(&mut tx, action, Some(was), &c, product.slug.as_str()).await?;
    let answer = view(&mut tx, &c, product.slug.as_str()).await?;
    tx.commit().await?;
    s.catalogue.changed();
    Ok(answer)
}

/// What a delete answers.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Deleted {
    pub ok: bool,
    pub deleted: Code,
}

/// Deletes a code that was never used (one that was can only be disabled).
pub async fn delete(s: &Core, code: &str) -> Result<Deleted, ServiceError> {
    let now = now_unix();
    let mut tx = s.db.begin().await?;
    let (c, product) = find(&mut tx, code).await?;
    if !db::codes::delete_unused(&mut tx, c.id).await? {
        return Err(DomainError::conflict("code_in_use", "the code has been used; disable it instead").into());
    }
    let details = json!({ "product": product.slug, "kind": c.kind.name() });
    audit(&mut tx, now, "admin", "discount_code.delete", ("discount_code", c.code.as_str()), details).await?;
    tx.commit().await?;
    s.catalogue.changed();
    Ok(Deleted { ok: true, deleted: c.code })
}
