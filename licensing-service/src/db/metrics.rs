//! Counts for `/metrics`: one query per family, each over an index or a
//! small table (the validation log is the one scan, bounded by its retention).

use sqlx::SqlitePool;

/// (label, value) pairs.
pub type Counts = Vec<(String, i64)>;

pub async fn licenses_by_status(pool: &SqlitePool) -> Result<Counts, sqlx::Error> {
    sqlx::query_as("SELECT status, count(*) FROM licenses GROUP BY status ORDER BY status").fetch_all(pool).await
}

pub async fn validations_by_result(pool: &SqlitePool) -> Result<Counts, sqlx::Error> {
    sqlx::query_as("SELECT result, sum(count) FROM validation_events GROUP BY result ORDER BY result")
        .fetch_all(pool)
        .await
}

pub async fn active_seats(pool: &SqlitePool) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT count(*) FROM machines WHERE active = 1").fetch_one(pool).await
}

pub async fn invoices_by_status(pool: &SqlitePool) -> Result<Counts, sqlx::Error> {
    sqlx::query_as("SELECT status, count(*) FROM invoices GROUP BY status ORDER BY status").fetch_all(pool).await
}

/// Sats settled on sat-priced tiers.
pub async fn sats_settled(pool: &SqlitePool) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT coalesce(sum(amount_sats), 0) FROM invoices WHERE status = 'settled' AND price_currency IS NULL",
    )
    .fetch_one(pool)
    .await
}

pub async fn webhook_deliveries_by_state(pool: &SqlitePool) -> Result<Counts, sqlx::Error> {
    sqlx::query_as("SELECT state, count(*) FROM webhook_deliveries WHERE state <> 'delivered' GROUP BY state")
        .fetch_all(pool)
        .await
}

pub async fn email_messages_by_state(pool: &SqlitePool) -> Result<Counts, sqlx::Error> {
    sqlx::query_as("SELECT state, count(*) FROM email_messages WHERE state <> 'delivered' GROUP BY state")
        .fetch_all(pool)
        .await
}

pub async fn nostr_messages_by_state(pool: &SqlitePool) -> Result<Counts, sqlx::Error> {
    sqlx::query_as("SELECT state, count(*) FROM nostr_messages WHERE state <> 'delivered' GROUP BY state")
        .fetch_all(pool)
        .await
}
