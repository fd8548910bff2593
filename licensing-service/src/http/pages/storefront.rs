//! `GET /` for browsers: the shop's products, each with its starting price.

use askama::Template;
use axum::http::StatusCode;
use axum::response::Response;

use super::{render, sats, Caching, Chrome};
use crate::domain::catalog::Policy;
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
    // A product with no tier on sale is not listed: nothing could be bought.
    for catalog::Shelved { product: p, tiers, .. } in shelf.products.iter().filter(|p| !p.tiers.is_empty()) {
        products.push(ProductCard {
            slug: p.slug.to_string(),
            name: p.name.clone(),
            description: p.description.clone(),
            price: starting_price(tiers),
            tiers: tiers.len(),
        });
    }
    let page = Storefront { has_operator: s.operator_name().is_some(), chrome: Chrome::new(s), products };
    render(&page, StatusCode::OK, Caching::Revalidate)
}

/// What the cheapest tiers cost, each in the unit it is charged in (sats
/// and fiat are not compared: there is no rate here): "from 10,000 sats or
/// 9.00 USD", "Free tier · from …" when a tier costs nothing.
fn starting_price(tiers: &[Policy]) -> String {
    let mut lowest_sats: Option<i64> = None;
    let mut lowest_fiat: Vec<(&str, &str, f64)> = Vec::new();
    let mut free = false;
    for t in tiers {
        match &t.fiat_price {
            Some(f) => {
                let value = f.amount.parse::<f64>().unwrap_or(f64::MAX);
                match lowest_fiat.iter_mut().find(|(c, _, _)| *c == f.currency) {
                    Some(entry) if value < entry.2 => *entry = (&f.currency, &f.amount, value),
                    Some(_) => {}
                    None => lowest_fiat.push((&f.currency, &f.amount, value)),
                }
            }
            None if t.price_sats == 0 => free = true,
            None => lowest_sats = Some(lowest_sats.map_or(t.price_sats, |l| l.min(t.price_sats))),
        }
    }
    let mut paid: Vec<String> = lowest_sats.map(sats).into_iter().collect();
    paid.extend(lowest_fiat.iter().map(|(currency, amount, _)| format!("{amount} {currency}")));
    let several = tiers.len() > 1;
    match (free, paid.is_empty()) {
        (true, true) => "Free".to_string(),
        (true, false) => format!("Free tier · from {}", paid.join(" or ")),
        (false, _) if several => format!("from {}", paid.join(" or ")),
        (false, _) => paid.join(" or "),
    }
}
