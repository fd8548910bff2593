//! The operator's catalogue: products and their policies (tiers) — create,
//! list, show, change. Each change is one transaction with its audit record
//! (before and after). What buyers may buy of it is `catalog.rs`.

use serde_json::json;

use super::views::{PolicyView, ProductDetails, ProductView};
use super::{audit, Core, ServiceError};
use crate::db;
use crate::domain::catalog::{Policy, PolicyInput, Product, ProductInput};
use crate::domain::{now_unix, DomainError};

/// The product with this slug, or not found.
pub async fn find(s: &Core, slug: &str) -> Result<Product, ServiceError> {
    db::products::by_slug(&s.db.read, slug).await?.ok_or_else(|| ServiceError::NotFound(format!("no product '{slug}'")))
}

/// A product's policy by slug, or not found.
pub async fn find_policy(s: &Core, product: &Product, policy_slug: &str) -> Result<Policy, ServiceError> {
    db::policies::by_slug(&s.db.read, product.id, policy_slug)
        .await?
        .ok_or_else(|| ServiceError::NotFound(format!("product '{}' has no policy '{policy_slug}'", product.slug)))
}

pub async fn create(s: &Core, input: ProductInput) -> Result<ProductView, ServiceError> {
    let now = now_unix();
    let product = Product::create(input, now)?;
    let view = ProductView::from(&product);
    let mut tx = s.db.begin().await?;
    if db::products::by_slug(&mut *tx, product.slug.as_str()).await?.is_some() {
        return Err(DomainError::conflict("slug_taken", format!("a product '{}' already exists", product.slug)).into());
    }
    db::products::insert(&mut tx, &product).await?;
    audit(&mut tx, now, "admin", "product.create", ("product", product.id), json!(view)).await?;
    tx.commit().await?;
    s.catalogue.changed();
    Ok(view)
}

pub async fn list(s: &Core) -> Result<Vec<ProductView>, ServiceError> {
    Ok(db::products::list(&s.db.read, false).await?.iter().map(ProductView::from).collect())
}

pub async fn details(s: &Core, slug: &str) -> Result<ProductDetails, ServiceError> {
    let p = find(s, slug).await?;
    let policies = db::policies::for_product(&s.db.read, p.id).await?;
    Ok(ProductDetails {
        policies: policies.iter().map(|pol| PolicyView::new(pol, &p.slug)).collect(),
        product: ProductView::from(&p),
    })
}

/// Changes the fields given; an entitlement a policy still grants cannot
/// leave the product's catalogue.
pub async fn update(s: &Core, slug: &str, input: ProductInput) -> Result<ProductView, ServiceError> {
    let now = now_unix();
    let mut tx = s.db.begin().await?;
    let before = db::products::by_slug(&mut *tx, slug)
        .await?
        .ok_or_else(|| ServiceError::NotFound(format!("no product '{slug}'")))?;
    let after = before.patched(input, now)?;
    let in_use = db::policies::entitlements_in_use(&mut *tx, before.id).await?;
    if let Some(gone) =
        in_use.iter().find(|e| !after.entitlements_catalog.iter().any(|c| c.slug.as_str() == e.as_str()))
    {
        return Err(DomainError::conflict(
            "entitlement_in_use",
            format!("entitlement '{gone}' is granted by a policy; remove it from the policies first"),
        )
        .into());
    }
    db::products::update(&mut tx, &after).await?;
    let view = ProductView::from(&after);
    let details = json!({ "before": ProductView::from(&before), "after": view });
    audit(&mut tx, now, "admin", "product.update", ("product", after.id), details).await?;
    tx.commit().await?;
    s.catalogue.changed();
    Ok(view)
}

pub async fn create_policy(s: &Core, product_slug: &str, input: PolicyInput) -> Result<PolicyView, ServiceError> {
    let product = find(s, product_slug).await?;
    let policy = Policy::create(&product, input, now_unix())?;
    write_policy(s, "policy.create", None, &policy, &product).await
}

pub async fn policies(s: &Core, product_slug: &str) -> Result<Vec<PolicyView>, ServiceError> {
    let product = find(s, product_slug).await?;
    let policies = db::policies::for_product(&s.db.read, product.id).await?;
    Ok(policies.iter().map(|p| PolicyView::new(p, &product.slug)).collect())
}

pub async fn policy(s: &Core, product_slug: &str, policy_slug: &str) -> Result<PolicyView, ServiceError> {
    let product = find(s, product_slug).await?;
    Ok(PolicyView::new(&find_policy(s, &product, policy_slug).await?, &product.slug))
}

pub async fn update_policy(
    s: &Core,
    product_slug: &str,
    policy_slug: &str,
    input: PolicyInput,
) -> Result<PolicyView, ServiceError> {
    let product = find(s, product_slug).await?;
    let before = find_policy(s, &product, policy_slug).await?;
    let after = before.patched(&product, input, now_unix())?;
    write_policy(s, "policy.update", Some(&before), &after, &product).await
}

async fn write_policy(
    s: &Core,
    action: &str,
    before: Option<&Policy>,
    after: &Policy,
    product: &Product,
) -> Result<PolicyView, ServiceError> {
    let now = after.updated_at;
    let mut tx = s.db.begin().await?;
    if before.is_none() && db::policies::by_slug(&mut *tx, after.product_id, after.slug.as_str()).await?.is_some() {
        return Err(
            DomainError::conflict("slug_taken", format!("the product already has a policy '{}'", after.slug)).into()
        );
    }
    db::policies::upsert(&mut tx, after).await?;
    let view = PolicyView::new(after, &product.slug);
    let details = match before {
        Some(b) => json!({ "before": PolicyView::new(b, &product.slug), "after": view }),
        None => json!(view),
    };
    audit(&mut tx, now, "admin", action, ("policy", after.id), details).await?;
    let timeout = after.machine_rules.seat_timeout_seconds;
    if before.is_some_and(|b| b.machine_rules.seat_timeout_seconds != timeout) {
        db::machines::set_policy_lapse_after(&mut tx, after.id, timeout).await?;
    }
    tx.commit().await?;
    s.catalogue.changed();
    s.licensing.policy_saved(after.id, after.machine_rules);
    Ok(view)
}
