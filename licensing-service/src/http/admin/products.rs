//! `/v1/admin/products`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde_json::{json, Value};

use crate::db::{self, audit::NewAudit};
use crate::domain::catalog::{Product, ProductInput};
use crate::domain::{now_unix, DomainError};
use crate::http::error::ApiError;
use crate::http::extract::Json as JsonBody;
use crate::http::state::AppState;
use crate::http::views;

/// The product named by a path slug, or a 404.
pub async fn find(s: &AppState, slug: &str) -> Result<Product, ApiError> {
    db::products::by_slug(&s.db.read, slug).await?.ok_or_else(|| ApiError::not_found(format!("no product '{slug}'")))
}

pub async fn create(
    State(s): State<AppState>,
    JsonBody(input): JsonBody<ProductInput>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let now = now_unix();
    let product = Product::create(input, now)?;
    let mut tx = s.db.begin().await?;
    if db::products::by_slug(&mut *tx, product.slug.as_str()).await?.is_some() {
        return Err(DomainError::conflict("slug_taken", format!("a product '{}' already exists", product.slug)).into());
    }
    db::products::insert(&mut tx, &product).await?;
    db::audit::record(
        &mut tx,
        now,
        NewAudit {
            actor: "admin",
            action: "product.create",
            target_type: "product",
            target_id: product.id.to_string(),
            details: views::product(&product),
        },
    )
    .await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(views::product(&product))))
}

pub async fn list(State(s): State<AppState>) -> Result<Json<Value>, ApiError> {
    let products = db::products::list(&s.db.read, false).await?;
    Ok(Json(json!({ "products": products.iter().map(views::product).collect::<Vec<_>>() })))
}

pub async fn get(State(s): State<AppState>, Path(slug): Path<String>) -> Result<Json<Value>, ApiError> {
    let p = find(&s, &slug).await?;
    let policies = db::policies::for_product(&s.db.read, p.id).await?;
    let mut v = views::product(&p);
    v["policies"] = policies.iter().map(|pol| views::policy_admin(pol, p.slug.as_str())).collect();
    Ok(Json(v))
}

pub async fn patch(
    State(s): State<AppState>,
    Path(slug): Path<String>,
    JsonBody(input): JsonBody<ProductInput>,
) -> Result<Json<Value>, ApiError> {
    let now = now_unix();
    let mut tx = s.db.begin().await?;
    let before = db::products::by_slug(&mut *tx, &slug)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no product '{slug}'")))?;
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
    db::audit::record(
        &mut tx,
        now,
        NewAudit {
            actor: "admin",
            action: "product.update",
            target_type: "product",
            target_id: after.id.to_string(),
            details: json!({ "before": views::product(&before), "after": views::product(&after) }),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(Json(views::product(&after)))
}
