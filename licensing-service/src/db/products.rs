//! Products.

use sqlx::sqlite::SqliteRow;
use sqlx::{Executor, FromRow, Sqlite};
use uuid::Uuid;

use super::{Hyphenated, Tx};
use crate::domain::catalog::{Entitlement, Product};
use crate::domain::Slug;

/// A products row: [`Product`] with the types sqlx reads its columns as.
#[derive(sqlx::FromRow)]
struct Row {
    #[sqlx(try_from = "Hyphenated")]
    id: Uuid,
    #[sqlx(try_from = "String")]
    slug: Slug,
    name: String,
    description: String,
    price_sats: i64,
    active: bool,
    #[sqlx(json)]
    entitlements_catalog: Vec<Entitlement>,
    homepage_url: Option<String>,
    download_url: Option<String>,
    key_instructions: Option<String>,
    created_at: i64,
    updated_at: i64,
}

impl From<Row> for Product {
    fn from(r: Row) -> Product {
        Product {
            id: r.id,
            slug: r.slug,
            name: r.name,
            description: r.description,
            price_sats: r.price_sats,
            active: r.active,
            entitlements_catalog: r.entitlements_catalog,
            homepage_url: r.homepage_url,
            download_url: r.download_url,
            key_instructions: r.key_instructions,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

impl<'r> FromRow<'r, SqliteRow> for Product {
    fn from_row(row: &'r SqliteRow) -> Result<Product, sqlx::Error> {
        Row::from_row(row).map(Product::from)
    }
}

pub(super) const COLUMNS: &str =
    "id, slug, name, description, price_sats, active, entitlements_catalog, homepage_url, \
    download_url, key_instructions, created_at, updated_at";

fn catalog_json(p: &Product) -> String {
    serde_json::to_string(&p.entitlements_catalog).expect("catalogue serialises")
}

pub async fn insert(tx: &mut Tx, p: &Product) -> Result<(), sqlx::Error> {
    sqlx::query(&format!("INSERT INTO products ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"))
        .bind(p.id.to_string())
        .bind(p.slug.as_str())
        .bind(&p.name)
        .bind(&p.description)
        .bind(p.price_sats)
        .bind(p.active)
        .bind(catalog_json(p))
        .bind(&p.homepage_url)
        .bind(&p.download_url)
        .bind(&p.key_instructions)
        .bind(p.created_at)
        .bind(p.updated_at)
        .execute(&mut **tx)
        .await
        .map(|_| ())
}

pub async fn update(tx: &mut Tx, p: &Product) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE products SET name = ?, description = ?, price_sats = ?, active = ?, \
         entitlements_catalog = ?, homepage_url = ?, download_url = ?, key_instructions = ?, updated_at = ? \
         WHERE id = ?",
    )
    .bind(&p.name)
    .bind(&p.description)
    .bind(p.price_sats)
    .bind(p.active)
    .bind(catalog_json(p))
    .bind(&p.homepage_url)
    .bind(&p.download_url)
    .bind(&p.key_instructions)
    .bind(p.updated_at)
    .bind(p.id.to_string())
    .execute(&mut **tx)
    .await
    .map(|_| ())
}

pub async fn by_slug<'e, E: Executor<'e, Database = Sqlite>>(e: E, slug: &str) -> Result<Option<Product>, sqlx::Error> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM products WHERE slug = ?")).bind(slug).fetch_optional(e).await
}

pub async fn by_id<'e, E: Executor<'e, Database = Sqlite>>(e: E, id: Uuid) -> Result<Option<Product>, sqlx::Error> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM products WHERE id = ?")).bind(id.to_string()).fetch_optional(e).await
}

/// All products (or only active ones), by slug.
pub async fn list<'e, E: Executor<'e, Database = Sqlite>>(
    e: E,
    only_active: bool,
) -> Result<Vec<Product>, sqlx::Error> {
    let filter = if only_active { "WHERE active = 1" } else { "" };
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM products {filter} ORDER BY slug")).fetch_all(e).await
}
