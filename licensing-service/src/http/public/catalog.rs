//! The public catalogue: active products and their buyer-visible tiers
//! (PROTOCOL.md §4 "Catalogue": no internal ids of tiers, no metadata).

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use schemars::JsonSchema;
use serde::Serialize;
use uuid::Uuid;

use crate::db;
use crate::domain::catalog::{Entitlement, Policy, Product};
use crate::domain::Slug;
use crate::http::error::ApiError;
use crate::http::state::AppState;
use crate::services::catalog;

/// A product of `GET /v1/products` and `GET /v1/products/{slug}`.
#[derive(Serialize, JsonSchema)]
pub struct PublicProduct<'a> {
    id: Uuid,
    slug: &'a Slug,
    name: &'a str,
    description: &'a str,
    price_sats: i64,
    entitlements_catalog: &'a [Entitlement],
    /// The product's web page, when the seller gave one.
    #[serde(skip_serializing_if = "Option::is_none")]
    homepage_url: Option<&'a str>,
    /// Where to download the application, when the seller gave it.
    #[serde(skip_serializing_if = "Option::is_none")]
    download_url: Option<&'a str>,
}

impl<'a> From<&'a Product> for PublicProduct<'a> {
    fn from(p: &'a Product) -> Self {
        PublicProduct {
            id: p.id,
            slug: &p.slug,
            name: &p.name,
            description: &p.description,
            price_sats: p.price_sats,
            entitlements_catalog: &p.entitlements_catalog,
            homepage_url: p.homepage_url.as_deref(),
            download_url: p.download_url.as_deref(),
        }
    }
}

/// `GET /v1/products/{slug}/policies`: the product (without its id) and its tiers.
#[derive(Serialize, JsonSchema)]
pub struct Tiers<'a> {
    product: TiersProduct<'a>,
    policies: Vec<PublicPolicy<'a>>,
}

#[derive(Serialize, JsonSchema)]
struct TiersProduct<'a> {
    slug: &'a Slug,
    name: &'a str,
    description: &'a str,
    base_price_sats: i64,
    entitlements_catalog: &'a [Entitlement],
    #[serde(skip_serializing_if = "Option::is_none")]
    homepage_url: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    download_url: Option<&'a str>,
}

/// A tier as buyers see it. `price_amount` and `price_currency` are there
/// only for a tier priced in fiat.
#[derive(Serialize, JsonSchema)]
pub struct PublicPolicy<'a> {
    slug: &'a Slug,
    name: &'a str,
    description: &'a str,
    price_sats: i64,
    duration_seconds: i64,
    max_machines: i64,
    is_trial: bool,
    entitlements: &'a [Slug],
    highlighted: bool,
    is_recurring: bool,
    renewal_period_days: Option<i64>,
    trial_days: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    price_amount: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    price_currency: Option<&'a str>,
}

impl<'a> From<&'a Policy> for PublicPolicy<'a> {
    fn from(p: &'a Policy) -> Self {
        PublicPolicy {
            slug: &p.slug,
            name: &p.name,
            description: &p.description,
            price_sats: p.price_sats,
            duration_seconds: p.duration_seconds,
            max_machines: p.max_machines,
            is_trial: p.is_trial,
            entitlements: &p.entitlements,
            highlighted: p.highlighted,
            is_recurring: p.is_recurring,
            renewal_period_days: p.renewal_period_days,
            trial_days: p.trial_days(),
            price_amount: p.fiat_price.as_ref().map(|f| f.amount.as_str()),
            price_currency: p.fiat_price.as_ref().map(|f| f.currency.as_str()),
        }
    }
}

impl<'a> Tiers<'a> {
    pub fn new(p: &'a Product, policies: &'a [Policy]) -> Self {
        Tiers {
            product: TiersProduct {
                slug: &p.slug,
                name: &p.name,
                description: &p.description,
                base_price_sats: p.price_sats,
                entitlements_catalog: &p.entitlements_catalog,
                homepage_url: p.homepage_url.as_deref(),
                download_url: p.download_url.as_deref(),
            },
            policies: policies.iter().map(PublicPolicy::from).collect(),
        }
    }
}

async fn active_product(s: &AppState, slug: &str) -> Result<Product, ApiError> {
    Ok(catalog::product_on_sale(&s.db, slug).await?)
}

pub async fn list_products(State(s): State<AppState>) -> Result<Response, ApiError> {
    let products = db::products::list(&s.db.read, true).await?;
    let public: Vec<PublicProduct> = products.iter().map(PublicProduct::from).collect();
    Ok(Json(public).into_response())
}

pub async fn get_product(State(s): State<AppState>, Path(slug): Path<String>) -> Result<Response, ApiError> {
    let p = active_product(&s, &slug).await?;
    Ok(Json(PublicProduct::from(&p)).into_response())
}

pub async fn list_policies(State(s): State<AppState>, Path(slug): Path<String>) -> Result<Response, ApiError> {
    let p = active_product(&s, &slug).await?;
    let policies = catalog::tiers_on_sale(&s.db, &p).await?;
    Ok(Json(Tiers::new(&p, &policies)).into_response())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::domain::catalog::FiatPrice;

    fn policy(fiat: Option<FiatPrice>) -> Policy {
        Policy {
            id: Uuid::from_u128(1),
            product_id: Uuid::from_u128(2),
            slug: Slug::parse("pro").unwrap(),
            name: "Pro".into(),
            description: String::new(),
            price_sats: 50_000,
            fiat_price: fiat,
            duration_seconds: 31_536_000,
            grace_seconds: 0,
            max_machines: 3,
            entitlements: vec![Slug::parse("pro").unwrap()],
            is_trial: false,
            public: true,
            highlighted: true,
            tier_rank: None,
            archived: false,
            is_recurring: false,
            renewal_period_days: None,
            renewal_notice_seconds: 0,
            created_at: 1,
            updated_at: 1,
            machine_rules: Default::default(),
        }
    }

    /// The fields `views::policy_public` wrote: no ids, the fiat price only
    /// for a fiat tier, `trial_days` and `renewal_period_days` as null.
    #[test]
    fn a_public_tier_is_written_as_before() {
        let expected = json!({
            "slug": "pro", "name": "Pro", "description": "", "price_sats": 50_000,
            "duration_seconds": 31_536_000, "max_machines": 3, "is_trial": false, "entitlements": ["pro"],
            "highlighted": true, "is_recurring": false, "renewal_period_days": null, "trial_days": null,
        });
        let p = policy(None);
        assert_eq!(serde_json::to_value(PublicPolicy::from(&p)).unwrap(), expected);
        let fiat = policy(Some(FiatPrice { amount: "9.50".into(), currency: "EUR".into() }));
        let mut with_fiat = expected;
        with_fiat["price_amount"] = json!("9.50");
        with_fiat["price_currency"] = json!("EUR");
        assert_eq!(serde_json::to_value(PublicPolicy::from(&fiat)).unwrap(), with_fiat);
    }
}
