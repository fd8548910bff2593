//! The public catalogue: active products and their buyer-visible tiers.

use axum::extract::{Path, State};
use axum::Json;
use serde_json::{json, Value};

use crate::db;
use crate::domain::catalog::Product;
use crate::http::error::ApiError;
use crate::http::state::AppState;
use crate::http::views;
use crate::services::catalog;

fn public_product(p: &Product) -> Value {
    json!({
        "id": p.id,
        "slug": p.slug,
        "name": p.name,
        "description": p.description,
        "price_sats": p.price_sats,
        "entitlements_catalog": p.entitlements_catalog,
    })
}

async fn active_product(s: &AppState, slug: &str) -> Result<Product, ApiError> {
    Ok(catalog::product_on_sale(&s.db, slug).await?)
}

pub async fn list_products(State(s): State<AppState>) -> Result<Json<Value>, ApiError> {
    let products = db::products::list(&s.db.read, true).await?;
    Ok(Json(Value::Array(products.iter().map(public_product).collect())))
}

pub async fn get_product(State(s): State<AppState>, Path(slug): Path<String>) -> Result<Json<Value>, ApiError> {
    Ok(Json(public_product(&active_product(&s, &slug).await?)))
}

pub async fn list_policies(State(s): State<AppState>, Path(slug): Path<String>) -> Result<Json<Value>, ApiError> {
    let p = active_product(&s, &slug).await?;
    let policies = catalog::tiers_on_sale(&s.db, &p).await?;
    Ok(Json(json!({
        "product": {
            "slug": p.slug,
            "name": p.name,
            "description": p.description,
            "base_price_sats": p.price_sats,
            "entitlements_catalog": p.entitlements_catalog,
        },
        "policies": policies
            .iter()
            .map(views::policy_public)
            .collect::<Vec<_>>(),
    })))
}
