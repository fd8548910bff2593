//! `GET /` for browsers: the shop's products, each with its starting price.

use askama::Template;
use axum::http::StatusCode;
use axum::response::Response;

use super::{render, sats, Caching, Chrome};
use crate::http::error::ApiError;
use crate::http::state::AppState;
use crate::services::catalog;

#[derive(Template)]
#[template(path = "storefront.html")]
struct Storefront {
    chrome: Chrome,
    has_operator: bool,
    products: Vec<ProductCard>,
}

struct ProductCard {
    slug: String,
    name: String,
    description: String,
    /// "from 10,000 sats" (or the one price when there is one tier).
    price: String,
    tiers: usize,
}

pub async fn page(s: &AppState) -> Result<Response, ApiError> {
    let mut products = Vec::new();
    let shelf = s.catalogue.shelf(&s.db).await?;
    for catalog::Shelved { product: p, tiers, .. } in &shelf.products {
        let lowest = tiers.iter().map(|t| t.price_sats).min().unwrap_or(p.price_sats);
        let price = if tiers.len() > 1 { format!("from {}", sats(lowest)) } else { sats(lowest) };
        products.push(ProductCard {
            slug: p.slug.to_string(),
            name: p.name.clone(),
            description: p.description.clone(),
            price,
            tiers: tiers.len(),
        });
    }
    let page = Storefront { has_operator: s.operator_name().is_some(), chrome: Chrome::new(s), products };
    render(&page, StatusCode::OK, Caching::Revalidate)
}
