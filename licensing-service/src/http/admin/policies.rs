//! `/v1/admin/products/{slug}/policies`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde_json::{json, Value};

use crate::db::{self, audit::NewAudit};
use crate::domain::catalog::{Policy, PolicyInput};
use crate::domain::{now_unix, DomainError};
use crate::http::error::ApiError;
use crate::http::extract::Json as JsonBody;
use crate::http::state::AppState;
use crate::http::views;

async fn write(
    s: &AppState,
    action: &str,
    before: Option<&Policy>,
    after: &Policy,
    product_slug: &str,
) -> Result<(), ApiError> {
    let now = after.updated_at;
    let mut tx = s.db.begin().await?;
    if before.is_none() && db::policies::by_slug(&mut *tx, after.product_id, after.slug.as_str()).await?.is_some() {
        return Err(
            DomainError::conflict("slug_taken", format!("the product already has a policy '{}'", after.slug)).into()
        );
    }
    db::policies::upsert(&mut tx, after).await?;
    let after_json = views::policy_admin(after, product_slug);
    db::audit::record(
        &mut tx,
        now,
        NewAudit {
            actor: "admin",
            action,
            target_type: "policy",
            target_id: after.id.to_string(),
            details: match before {
                Some(b) => json!({ "before": views::policy_admin(b, product_slug), "after": after_json }),
                None => after_json,
            },
        },
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

pub async fn create(
    State(s): State<AppState>,
    Path(slug): Path<String>,
    JsonBody(input): JsonBody<PolicyInput>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let product = super::products::find(&s, &slug).await?;
    let policy = Policy::create(&product, input, now_unix())?;
    write(&s, "policy.create", None, &policy, product.slug.as_str()).await?;
    Ok((StatusCode::CREATED, Json(views::policy_admin(&policy, product.slug.as_str()))))
}

pub async fn list(State(s): State<AppState>, Path(slug): Path<String>) -> Result<Json<Value>, ApiError> {
    let product = super::products::find(&s, &slug).await?;
    let policies = db::policies::for_product(&s.db.read, product.id).await?;
    Ok(Json(json!({
        "policies": policies.iter().map(|p| views::policy_admin(p, product.slug.as_str())).collect::<Vec<_>>()
    })))
}

pub async fn get(
    State(s): State<AppState>,
    Path((slug, policy_slug)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let product = super::products::find(&s, &slug).await?;
    let policy = find(&s, &product, &policy_slug).await?;
    Ok(Json(views::policy_admin(&policy, product.slug.as_str())))
}

pub async fn patch(
    State(s): State<AppState>,
    Path((slug, policy_slug)): Path<(String, String)>,
    JsonBody(input): JsonBody<PolicyInput>,
) -> Result<Json<Value>, ApiError> {
    let product = super::products::find(&s, &slug).await?;
    let before = find(&s, &product, &policy_slug).await?;
    let after = before.patched(&product, input, now_unix())?;
    write(&s, "policy.update", Some(&before), &after, product.slug.as_str()).await?;
    Ok(Json(views::policy_admin(&after, product.slug.as_str())))
}

/// A product's policy by slug, or a 404.
pub async fn find(
    s: &AppState,
    product: &crate::domain::catalog::Product,
    policy_slug: &str,
) -> Result<Policy, ApiError> {
    db::policies::by_slug(&s.db.read, product.id, policy_slug)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("product '{}' has no policy '{policy_slug}'", product.slug)))
}
