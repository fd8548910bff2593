//! Products.

use sqlx::{Executor, Sqlite};
use uuid::Uuid;

use super::{json_col, uuid_col, Tx};
use crate::domain::catalog::Product;
use crate::domain::Slug;

#[derive(sqlx::FromRow)]
struct Row {
    id: String,
    slug: String,
    name: String,
    description: String,
    price_sats: i64,
    active: bool,
    entitlements_catalog: String,
    created_at: i64,
    updated_at: i64,
}

const COLUMNS: &str = "id, slug, name, description, price_sats, active, entitlements_catalog, created_at, updated_at";

impl TryFrom<Row> for Product {
    type Error = sqlx::Error;
    fn try_from(r: Row) -> Result<Product, sqlx::Error> {
        Ok(Product {
            id: uuid_col(&r.id)?,
            slug: Slug::parse(&r.slug).map_err(|e| sqlx::Error::Decode(Box::new(e)))?,
            name: r.name,
            description: r.description,
            price_sats: r.price_sats,
            active: r.active,
            entitlements_catalog: json_col(&r.entitlements_catalog)?,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

fn catalog_json(p: &Product) -> String {
    serde_json::to_string(&p.entitlements_catalog).expect("catalogue serialises")
}

pub async fn insert(tx: &mut Tx, p: &Product) -> Result<(), sqlx::Error> {
    sqlx::query(&format!("INSERT INTO products ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"))
        .bind(p.id.to_string())
        .bind(p.slug.as_str())
        .bind(&p.name)
        .bind(&p.description)
        .bind(p.price_sats)
        .bind(p.active)
        .bind(catalog_json(p))
        .bind(p.created_at)
        .bind(p.updated_at)
        .execute(&mut **tx)
        .await
        .map(|_| ())
}

pub async fn update(tx: &mut Tx, p: &Product) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE products SET name = ?, description = ?, price_sats = ?, active = ?, \
         entitlements_catalog = ?, updated_at = ? WHERE id = ?",
    )
    .bind(&p.name)
    .bind(&p.description)
    .bind(p.price_sats)
    .bind(p.active)
    .bind(catalog_json(p))
    .bind(p.updated_at)
    .bind(p.id.to_string())
    .execute(&mut **tx)
    .await
    .map(|_| ())
}

pub async fn by_slug<'e, E: Executor<'e, Database = Sqlite>>(e: E, slug: &str) -> Result<Option<Product>, sqlx::Error> {
    sqlx::query_as::<_, Row>(&format!("SELECT {COLUMNS} FROM products WHERE slug = ?"))
        .bind(slug)
        .fetch_optional(e)
        .await?
        .map(Product::try_from)
        .transpose()
}

pub async fn by_id<'e, E: Executor<'e, Database = Sqlite>>(e: E, id: Uuid) -> Result<Option<Product>, sqlx::Error> {
    sqlx::query_as::<_, Row>(&format!("SELECT {COLUMNS} FROM products WHERE id = ?"))
        .bind(id.to_string())
        .fetch_optional(e)
        .await?
        .map(Product::try_from)
        .transpose()
}

/// All products (or only active ones), by slug.
pub async fn list<'e, E: Executor<'e, Database = Sqlite>>(
    e: E,
    only_active: bool,
) -> Result<Vec<Product>, sqlx::Error> {
    let filter = if only_active { "WHERE active = 1" } else { "" };
    sqlx::query_as::<_, Row>(&format!("SELECT {COLUMNS} FROM products {filter} ORDER BY slug"))
        .fetch_all(e)
        .await?
        .into_iter()
        .map(Product::try_from)
        .collect()
}
