//! Who bought: the buyer identities of licenses, for grouping into customers.

use sqlx::SqlitePool;
use uuid::Uuid;

use super::Hyphenated;

/// A license's buyer: a lower-case e-mail address and / or an npub (hex).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Holder {
    #[sqlx(try_from = "Hyphenated")]
    pub license_id: Uuid,
    pub email: Option<String>,
    pub npub: Option<String>,
    pub created_at: i64,
}

/// Every license with a buyer, newest first.
pub async fn holders(pool: &SqlitePool) -> Result<Vec<Holder>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id AS license_id, lower(buyer_email) AS email, buyer_npub AS npub, created_at FROM licenses \
         WHERE buyer_email IS NOT NULL OR buyer_npub IS NOT NULL ORDER BY rowid DESC",
    )
    .fetch_all(pool)
    .await
}
