//! What is on sale: the one rule behind the public catalogue, the buy and
//! storefront pages, code previews, purchases and redemptions.

use crate::db::codes::DiscountCode;
use crate::db::{self, Db};
use crate::domain::catalog::{Policy, Product};
use crate::domain::discount::{Code, Quote, Refusal, Usage};
use crate::domain::{clip, now_unix};

use super::{Core, ServiceError};

/// The tier an order names when it names none.
pub const DEFAULT_TIER: &str = "default";

/// A product buyers can see, by slug.
pub async fn product_on_sale(db: &Db, slug: &str) -> Result<Product, ServiceError> {
    db::products::by_slug(&db.read, slug.trim())
        .await?
        .filter(Product::on_sale)
        .ok_or_else(|| ServiceError::NotFound(format!("no product '{}' is on sale", clip(slug, 64))))
}

/// The product's tiers buyers can choose, in the catalogue's order.
pub async fn tiers_on_sale(db: &Db, product: &Product) -> Result<Vec<Policy>, ServiceError> {
    Ok(db::policies::for_product(&db.read, product.id).await?.into_iter().filter(Policy::on_sale).collect())
}

/// The shop window: every product buyers can buy now, with its tiers on
/// sale; a product with no tier on sale is not listed.
pub async fn products_on_sale(db: &Db) -> Result<Vec<(Product, Vec<Policy>)>, ServiceError> {
    let mut out = Vec::new();
    for p in db::products::list(&db.read, true).await?.into_iter().filter(Product::on_sale) {
        let tiers = tiers_on_sale(db, &p).await?;
        if !tiers.is_empty() {
            out.push((p, tiers));
        }
    }
    Ok(out)
}

/// The product and tier an order names (no tier, or a blank one: `default`).
pub async fn buyable(db: &Db, product: &str, tier: Option<&str>) -> Result<(Product, Policy), ServiceError> {
    let product = product_on_sale(db, product).await?;
    let tier = tier.map(str::trim).filter(|t| !t.is_empty()).unwrap_or(DEFAULT_TIER);
    let policy = db::policies::by_slug(&db.read, product.id, tier).await?.filter(Policy::on_sale).ok_or_else(|| {
        ServiceError::NotFound(format!("product '{}' has no tier '{}'", product.slug, clip(tier, 64)))
    })?;
    Ok((product, policy))
}

/// What code `raw` does to `policy`'s price now, or why it cannot be used
/// ([`ServiceError::Refused`]; strangers are not told whether a code exists,
/// and another product's code looks unknown). The code preview and the buy
/// page ask this.
pub async fn quote_code(
    s: &Core,
    product: &Product,
    policy: &Policy,
    raw: &str,
) -> Result<(DiscountCode, Quote), ServiceError> {
    let unknown = || ServiceError::Refused(Refusal::UnknownCode);
    let code = Code::parse(raw).map_err(|_| unknown())?;
    let dc = db::codes::by_code(&s.db.read, &code).await?.filter(|c| c.product_id == product.id).ok_or_else(unknown)?;
    let mut conn = s.db.read.acquire().await?;
    let now = now_unix();
    let usage = db::codes::usage(&mut conn, dc.id, None, now - s.config.code_hold_seconds).await?;
    // A preview has no buyer yet: the order checks the per-buyer limit.
    let usage = Usage { buyer_known: true, ..usage };
    dc.rules.check(now, policy.slug.as_str(), usage).map_err(ServiceError::Refused)?;
    let q = Quote::for_policy(policy, Some(dc.kind)).map_err(ServiceError::Refused)?;
    Ok((dc, q))
}
