//! What is on sale: the one rule behind the public catalogue, the buy and
//! storefront pages, code previews, purchases and redemptions.

use crate::db::{self, Db};
use crate::domain::catalog::{Policy, Product};
use crate::domain::clip;

use super::ServiceError;

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

/// The product and tier an order names (no tier, or a blank one: `default`).
pub async fn buyable(db: &Db, product: &str, tier: Option<&str>) -> Result<(Product, Policy), ServiceError> {
    let product = product_on_sale(db, product).await?;
    let tier = tier.map(str::trim).filter(|t| !t.is_empty()).unwrap_or(DEFAULT_TIER);
    let policy = db::policies::by_slug(&db.read, product.id, tier).await?.filter(Policy::on_sale).ok_or_else(|| {
        ServiceError::NotFound(format!("product '{}' has no tier '{}'", product.slug, clip(tier, 64)))
    })?;
    Ok((product, policy))
}
