//! Validation events, written in batches off the hot path.

use std::net::IpAddr;

use uuid::Uuid;

use super::Tx;

/// One row of the validation log; `count` identical events folded together.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EventKey {
    pub license_id: Option<Uuid>,
    pub fingerprint: Option<String>,
    pub client_ip: IpAddr,
    pub result: &'static str,
}

pub async fn insert_batch(tx: &mut Tx, at: i64, events: &[(EventKey, i64)]) -> Result<(), sqlx::Error> {
    for chunk in events.chunks(150) {
        let mut q = sqlx::QueryBuilder::new(
            "INSERT INTO validation_events (at, license_id, fingerprint, client_ip, result, count) ",
        );
        q.push_values(chunk, |mut b, (k, count)| {
            b.push_bind(at)
                .push_bind(k.license_id.map(|u| u.to_string()))
                .push_bind(k.fingerprint.clone())
                .push_bind(k.client_ip.to_string())
                .push_bind(k.result)
                .push_bind(*count);
        });
        q.build().execute(&mut **tx).await?;
    }
    Ok(())
}

/// Deletes events older than `before` and all but the newest `keep_rows`.
pub async fn prune(pool: &sqlx::SqlitePool, before: i64, keep_rows: i64) -> Result<u64, sqlx::Error> {
    let by_count = sqlx::query("DELETE FROM validation_events WHERE id <= (SELECT max(id) FROM validation_events) - ?")
        .bind(keep_rows)
        .execute(pool)
        .await?
        .rows_affected();
    // Ids grow with time, so the oldest rows are a prefix of the id order.
    let by_age = sqlx::query(
        "DELETE FROM validation_events WHERE id < coalesce( \
           (SELECT id FROM validation_events WHERE at >= ? ORDER BY id LIMIT 1), \
           (SELECT max(id) + 1 FROM validation_events))",
    )
    .bind(before)
    .execute(pool)
    .await?
    .rows_affected();
    Ok(by_count + by_age)
}

/// Events of one license, newest first.
pub async fn for_license(
    pool: &sqlx::SqlitePool,
    license_id: Uuid,
    limit: i64,
) -> Result<Vec<(i64, Option<String>, Option<String>, String, i64)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT at, fingerprint, client_ip, result, count FROM validation_events \
         WHERE license_id = ? ORDER BY at DESC, id DESC LIMIT ?",
    )
    .bind(license_id.to_string())
    .bind(limit)
    .fetch_all(pool)
    .await
}

/// (licenses, active machines, validation log rows).
pub async fn table_counts(pool: &sqlx::SqlitePool) -> Result<(i64, i64, i64), sqlx::Error> {
    sqlx::query_as(
        "SELECT (SELECT count(*) FROM licenses), (SELECT count(*) FROM machines WHERE active = 1), \
         (SELECT count(*) FROM validation_events)",
    )
    .fetch_one(pool)
    .await
}
