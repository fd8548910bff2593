//! Who bought: the buyer identities of licenses, for grouping into customers.

use sqlx::SqlitePool;
use uuid::Uuid;

/// A license's buyer: a lower-case e-mail address and / or an npub (hex).
#[derive(Debug, Clone)]
pub struct Holder {
    pub license_id: Uuid,
    pub email: Option<String>,
    pub npub: Option<String>,
    pub created_at: i64,
}

/// Every license with a buyer, newest first. Read as one JSON array built
/// by SQLite: a row at a time through the driver costs more than the
/// grouping itself at 100,000 licenses.
pub async fn holders(pool: &SqlitePool) -> Result<Vec<Holder>, sqlx::Error> {
    let json: String = sqlx::query_scalar(
        "SELECT coalesce(json_group_array(json_array(id, lower(buyer_email), buyer_npub, created_at)), '[]') \
         FROM (SELECT id, buyer_email, buyer_npub, created_at FROM licenses \
         WHERE buyer_email IS NOT NULL OR buyer_npub IS NOT NULL ORDER BY rowid DESC)",
    )
    .fetch_one(pool)
    .await?;
    let rows: Vec<(String, Option<String>, Option<String>, i64)> =
        serde_json::from_str(&json).map_err(|e| sqlx::Error::Decode(Box::new(e)))?;
    rows.into_iter()
        .map(|(id, email, npub, created_at)| {
            let license_id = Uuid::parse_str(&id).map_err(|e| sqlx::Error::Decode(Box::new(e)))?;
            Ok(Holder { license_id, email, npub, created_at })
        })
        .collect()
}
