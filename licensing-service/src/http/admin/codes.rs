//! `/v1/admin/discount-codes`: create (or generate), list, get with usage
//! statistics, patch, disable / enable, delete when never used.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use rand::RngCore;
use serde::Deserialize;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::db::codes::DiscountCode;
use crate::db::{self, audit::NewAudit};
use crate::domain::catalog::Product;
use crate::domain::discount::{Code, Kind, Rules};
use crate::domain::{now_unix, nullable, optional_text, DomainError};
use crate::http::error::ApiError;
use crate::http::extract::Json as JsonBody;
use crate::http::state::AppState;
use crate::http::views::{parse_time, ts};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateBody {
    code: Option<String>,
    product_slug: String,
    kind: String,
    value: Option<i64>,
    policies: Option<Vec<String>>,
    max_uses: Option<i64>,
    max_uses_per_buyer: Option<i64>,
    valid_from: Option<String>,
    valid_until: Option<String>,
    featured: Option<bool>,
    referrer: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct PatchBody {
    kind: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    value: Option<Option<i64>>,
    policies: Option<Vec<String>>,
    #[serde(default, deserialize_with = "nullable")]
    max_uses: Option<Option<i64>>,
    #[serde(default, deserialize_with = "nullable")]
    max_uses_per_buyer: Option<Option<i64>>,
    #[serde(default, deserialize_with = "nullable")]
    valid_from: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    valid_until: Option<Option<String>>,
    active: Option<bool>,
    featured: Option<bool>,
    #[serde(default, deserialize_with = "nullable")]
    referrer: Option<Option<String>>,
}

async fn view(s: &AppState, c: &DiscountCode, product_slug: &str) -> Result<Value, ApiError> {
    let st = db::codes::stats(&s.db.read, c.id).await?;
    Ok(json!({
        "id": c.id,
        "code": c.code,
        "product_slug": product_slug,
        "kind": c.kind.name(),
        "value": c.kind.value(),
        "policies": c.rules.policies,
        "max_uses": c.rules.max_uses,
        "max_uses_per_buyer": c.rules.max_uses_per_buyer,
        "valid_from": c.rules.valid_from.map(ts),
        "valid_until": c.rules.valid_until.map(ts),
        "active": c.rules.active,
        "featured": c.featured,
        "referrer": c.referrer,
        "created_at": ts(c.created_at),
        "updated_at": ts(c.updated_at),
        "stats": {
            "uses": st.uses,
            "reserved": st.reserved,
            "licenses_issued": st.licenses_issued,
            "sats_attributed": st.sats_attributed,
            "last_used_at": st.last_used_at.map(ts),
        },
    }))
}

fn limit(field: &'static str, v: Option<i64>, min: i64) -> Result<Option<i64>, DomainError> {
    match v {
        Some(n) if n < min => Err(DomainError::invalid(field, format!("must be at least {min}"))),
        other => Ok(other),
    }
}

/// The policy slugs must be tiers of the product.
async fn check_policies(s: &AppState, product: &Product, list: Vec<String>) -> Result<Vec<String>, ApiError> {
    let tiers = db::policies::for_product(&s.db.read, product.id).await?;
    let mut list = list;
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
async fn check_currency(s: &AppState, product: &Product, kind: Kind, policies: &[String]) -> Result<(), ApiError> {
    if !kind.is_sats_denominated() {
        return Ok(());
    }
    let tiers = db::policies::for_product(&s.db.read, product.id).await?;
    let targeted = tiers.iter().filter(|t| policies.is_empty() || policies.iter().any(|p| p == t.slug.as_str()));
    let mut fiat_only = true;
    for t in targeted {
        fiat_only &= t.fiat_price.is_some();
    }
    if fiat_only && !tiers.is_empty() {
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

async fn write(
    s: &AppState,
    action: &str,
    before: Option<&Value>,
    c: &DiscountCode,
    slug: &str,
) -> Result<(), ApiError> {
    let mut tx = s.db.begin().await?;
    if before.is_none() && db::codes::by_code(&mut *tx, &c.code).await?.is_some() {
        return Err(
            DomainError::conflict("code_taken", format!("the code '{}' exists already", c.code.as_str())).into()
        );
    }
    db::codes::upsert(&mut tx, c).await?;
    let after = json!({"code": c.code, "product": slug, "kind": c.kind.name(), "value": c.kind.value(),
        "policies": c.rules.policies, "max_uses": c.rules.max_uses, "max_uses_per_buyer": c.rules.max_uses_per_buyer,
        "valid_from": c.rules.valid_from, "valid_until": c.rules.valid_until, "active": c.rules.active,
        "featured": c.featured, "referrer": c.referrer});
    let details = match before {
        Some(b) => json!({"before": b, "after": after}),
        None => after,
    };
    db::audit::record(
        &mut tx,
        c.updated_at,
        NewAudit { actor: "admin", action, target_type: "discount_code", target_id: c.code.as_str().into(), details },
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

pub async fn create(
    State(s): State<AppState>,
    JsonBody(b): JsonBody<CreateBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let product = crate::services::products::find(&s.core, &b.product_slug).await?;
    let code = match b.code.as_deref() {
        Some(c) => Code::parse(c)?,
        None => {
            let mut raw = [0u8; 12];
            rand::rngs::OsRng.fill_bytes(&mut raw);
            Code::generate(&raw)
        }
    };
    let now = now_unix();
    let rules = Rules {
        active: true,
        valid_from: b.valid_from.as_deref().map(|v| parse_time("valid_from", v)).transpose()?,
        valid_until: b.valid_until.as_deref().map(|v| parse_time("valid_until", v)).transpose()?,
        policies: check_policies(&s, &product, b.policies.unwrap_or_default()).await?,
        max_uses: limit("max_uses", b.max_uses, 0)?,
        max_uses_per_buyer: limit("max_uses_per_buyer", b.max_uses_per_buyer, 1)?,
    };
    check_window(&rules)?;
    let kind = Kind::parse(&b.kind, b.value)?;
    check_currency(&s, &product, kind, &rules.policies).await?;
    let c = DiscountCode {
        id: Uuid::new_v4(),
        code,
        product_id: product.id,
        kind,
        rules,
        featured: b.featured.unwrap_or(false),
        referrer: optional_text("referrer", b.referrer, 120)?,
        created_at: now,
        updated_at: now,
    };
    write(&s, "discount_code.create", None, &c, product.slug.as_str()).await?;
    Ok((StatusCode::CREATED, Json(view(&s, &c, product.slug.as_str()).await?)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    product: Option<String>,
}

pub async fn list(State(s): State<AppState>, Query(q): Query<ListQuery>) -> Result<Json<Value>, ApiError> {
    let product_id = match &q.product {
        Some(slug) => Some(crate::services::products::find(&s.core, slug).await?.id),
        None => None,
    };
    let products = db::products::list(&s.db.read, false).await?;
    let mut out = Vec::new();
    for c in db::codes::list(&s.db.read, product_id).await? {
        let slug = products.iter().find(|p| p.id == c.product_id).map(|p| p.slug.to_string()).unwrap_or_default();
        out.push(view(&s, &c, &slug).await?);
    }
    Ok(Json(json!({ "discount_codes": out })))
}

/// A code by its (case-insensitive) text, with its product.
async fn find(s: &AppState, code: &str) -> Result<(DiscountCode, Product), ApiError> {
    let not_found = || ApiError::not_found(format!("no discount code '{code}'"));
    let parsed = Code::parse(code).map_err(|_| not_found())?;
    let c = db::codes::by_code(&s.db.read, &parsed).await?.ok_or_else(not_found)?;
    let p = db::products::by_id(&s.db.read, c.product_id).await?.ok_or_else(ApiError::internal)?;
    Ok((c, p))
}

pub async fn get(State(s): State<AppState>, Path(code): Path<String>) -> Result<Json<Value>, ApiError> {
    let (c, p) = find(&s, &code).await?;
    Ok(Json(view(&s, &c, p.slug.as_str()).await?))
}

pub async fn patch(
    State(s): State<AppState>,
    Path(code): Path<String>,
    JsonBody(b): JsonBody<PatchBody>,
) -> Result<Json<Value>, ApiError> {
    let (before, product) = find(&s, &code).await?;
    let before_view = view(&s, &before, product.slug.as_str()).await?;
    let mut c = before.clone();
    if b.kind.is_some() || b.value.is_some() {
        let kind = b.kind.unwrap_or_else(|| before.kind.name().to_string());
        let value = match b.value {
            Some(v) => v,
            None if kind == before.kind.name() => before.kind.value(),
            None => None,
        };
        c.kind = Kind::parse(&kind, value)?;
    }
    if let Some(list) = b.policies {
        c.rules.policies = check_policies(&s, &product, list).await?;
    }
    if let Some(v) = b.max_uses {
        c.rules.max_uses = limit("max_uses", v, 0)?;
    }
    if let Some(v) = b.max_uses_per_buyer {
        c.rules.max_uses_per_buyer = limit("max_uses_per_buyer", v, 1)?;
    }
    if let Some(v) = b.valid_from {
        c.rules.valid_from = v.as_deref().map(|t| parse_time("valid_from", t)).transpose()?;
    }
    if let Some(v) = b.valid_until {
        c.rules.valid_until = v.as_deref().map(|t| parse_time("valid_until", t)).transpose()?;
    }
    check_window(&c.rules)?;
    check_currency(&s, &product, c.kind, &c.rules.policies).await?;
    if let Some(v) = b.active {
        c.rules.active = v;
    }
    if let Some(v) = b.featured {
        c.featured = v;
    }
    if let Some(v) = b.referrer {
        c.referrer = optional_text("referrer", v, 120)?;
    }
    c.updated_at = now_unix();
    write(&s, "discount_code.update", Some(&before_view), &c, product.slug.as_str()).await?;
    Ok(Json(view(&s, &c, product.slug.as_str()).await?))
}

async fn set_active(s: &AppState, code: &str, active: bool) -> Result<Json<Value>, ApiError> {
    let (before, product) = find(s, code).await?;
    let mut c = before.clone();
    c.rules.active = active;
    c.updated_at = now_unix();
    let action = if active { "discount_code.enable" } else { "discount_code.disable" };
    let before_view = json!({ "active": before.rules.active });
    write(s, action, Some(&before_view), &c, product.slug.as_str()).await?;
    Ok(Json(view(s, &c, product.slug.as_str()).await?))
}

pub async fn disable(State(s): State<AppState>, Path(code): Path<String>) -> Result<Json<Value>, ApiError> {
    set_active(&s, &code, false).await
}

pub async fn enable(State(s): State<AppState>, Path(code): Path<String>) -> Result<Json<Value>, ApiError> {
    set_active(&s, &code, true).await
}

pub async fn delete(State(s): State<AppState>, Path(code): Path<String>) -> Result<Json<Value>, ApiError> {
    let (c, product) = find(&s, &code).await?;
    let now = now_unix();
    let mut tx = s.db.begin().await?;
    if !db::codes::delete_unused(&mut tx, c.id).await? {
        return Err(ApiError::conflict("code_in_use", "the code has been used; disable it instead"));
    }
    db::audit::record(
        &mut tx,
        now,
        NewAudit {
            actor: "admin",
            action: "discount_code.delete",
            target_type: "discount_code",
            target_id: c.code.as_str().into(),
            details: json!({ "product": product.slug, "kind": c.kind.name() }),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(Json(json!({ "ok": true, "deleted": c.code })))
}
