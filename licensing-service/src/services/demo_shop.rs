//! `keysat serve --demo` opens a shop: on a data directory with no product
//! yet, an example product with three tiers (one a monthly subscription, one
//! priced in US dollars), a featured code, a free code and the seller's
//! identity, all made through the same services as the operator's actions.

use serde_json::json;

use super::codes::{self, NewCode};
use super::settings::{self, Change};
use super::{products, Core, ServiceError};
use crate::db;
use crate::domain::catalog::{PolicyInput, ProductInput};

/// The example product's slug.
pub const PRODUCT: &str = "acme-notes";
/// The featured code (20% off) and the free code.
pub const FEATURED_CODE: &str = "LAUNCH20";
pub const FREE_CODE: &str = "FRIEND-FREE";

/// `serve --demo` (not a test's demo daemon): seeds the example shop when
/// the data directory has no product; says whether it did.
pub async fn open(s: &Core) -> Result<bool, ServiceError> {
    if !(s.config.demo && s.config.demo_shop) {
        return Ok(false);
    }
    let seeded = seed_if_empty(s).await?;
    if seeded {
        tracing::info!("demo mode: seeded the example shop");
    }
    Ok(seeded)
}

/// Seeds the example shop when the data directory has no product; says
/// whether it did. Never touches a shop that has products.
pub async fn seed_if_empty(s: &Core) -> Result<bool, ServiceError> {
    if !db::products::list(&s.db.read, false).await?.is_empty() {
        return Ok(false);
    }
    product(s).await?;
    tiers(s).await?;
    codes(s).await?;
    identity(s).await?;
    Ok(true)
}

async fn product(s: &Core) -> Result<(), ServiceError> {
    products::create(
        s,
        ProductInput {
            slug: Some(PRODUCT.into()),
            name: Some("Acme Notes".into()),
            description: Some(
                "A note-taking app that stays out of your way. (An example product of the demo shop.)".into(),
            ),
            price_sats: Some(21_000),
            entitlements_catalog: Some(
                serde_json::from_value(json!([
                    {"slug": "sync", "name": "Sync between devices"},
                    {"slug": "themes", "name": "Extra themes"}
                ]))
                .map_err(anyhow::Error::from)?,
            ),
            homepage_url: Some(Some("https://example.com/acme-notes".into())),
            download_url: Some(Some("https://example.com/acme-notes/download".into())),
            key_instructions: Some(Some(
                "Open Acme Notes, choose Help → Enter license, and paste the key (or open the downloaded .lic file)."
                    .into(),
            )),
            ..ProductInput::default()
        },
    )
    .await?;
    Ok(())
}

async fn tiers(s: &Core) -> Result<(), ServiceError> {
    let tier = |v: serde_json::Value| serde_json::from_value::<PolicyInput>(v).map_err(anyhow::Error::from);
    products::create_policy(
        s,
        PRODUCT,
        tier(json!({"slug": "default", "name": "Personal", "description": "One year of updates on one machine.",
                    "price_sats": 21_000, "duration_seconds": 31_536_000, "max_machines": 1,
                    "entitlements": ["themes"], "tier_rank": 1}))?,
    )
    .await?;
    products::create_policy(
        s,
        PRODUCT,
        tier(json!({"slug": "monthly", "name": "Monthly", "description": "Everything, renewed each month.",
                    "price_sats": 2_100, "duration_seconds": 2_592_000, "is_recurring": true, "max_machines": 3,
                    "entitlements": ["sync", "themes"], "tier_rank": 2}))?,
    )
    .await?;
    products::create_policy(
        s,
        PRODUCT,
        tier(json!({"slug": "lifetime", "name": "Lifetime", "description": "Pay once, keep it forever.",
                    "price_sats": 0, "price_amount": "19.99", "price_currency": "USD", "max_machines": 3,
                    "entitlements": ["sync", "themes"], "highlighted": true, "tier_rank": 3}))?,
    )
    .await?;
    Ok(())
}

async fn codes(s: &Core) -> Result<(), ServiceError> {
    let code = |code: &str, kind: &str, value: Option<i64>, featured: bool| NewCode {
        code: Some(code.to_string()),
        product_slug: PRODUCT.to_string(),
        kind: kind.to_string(),
        value,
        policies: None,
        max_uses: Some(100),
        max_uses_per_buyer: None,
        valid_from: None,
        valid_until: None,
        featured: Some(featured),
        referrer: None,
    };
    codes::create(s, code(FEATURED_CODE, "percent_off", Some(20), true)).await?;
    codes::create(s, code(FREE_CODE, "free_license", None, false)).await?;
    Ok(())
}

async fn identity(s: &Core) -> Result<(), ServiceError> {
    let name = s.operator_name().is_none().then(|| Some("Acme Software (demo)".to_string()));
    settings::update(
        s,
        Change {
            operator_name: name,
            contact_email: Some(Some("support@example.com".into())),
            support_url: Some(Some("https://example.com/support".into())),
            terms_url: Some(Some("https://example.com/terms".into())),
            refund_policy: Some(Some(
                "Full refund within 30 days of purchase, no questions asked: write to support@example.com with \
                 your order number."
                    .into(),
            )),
            ..Change::default()
        },
    )
    .await?;
    Ok(())
}
