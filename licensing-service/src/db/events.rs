//! Validation events, written in batches off the hot path.

use std::net::IpAddr;

use uuid::Uuid;

use super::Tx;

/// What identifies a row of the validation log within one batch.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EventKey {
    pub license_id: Option<Uuid>,
    /// The seat the request used, when it holds one.
    pub machine_id: Option<Uuid>,
    /// The caller's fingerprint when no seat names it: a call that holds a
    /// seat is written with its machine's id, whose fingerprint the log's
    /// reader finds (so neither a tally in memory nor the writer copies it).
    pub fingerprint: Option<Box<str>>,
    pub result: &'static str,
}

/// The folded events of one key: how many, from how many addresses, the last one.
#[derive(Debug, Clone)]
pub struct EventTally {
    pub count: i64,
    pub ip_count: i64,
    pub last_ip: IpAddr,
}

pub async fn insert_batch(tx: &mut Tx, at: i64, events: &[(EventKey, EventTally)]) -> Result<(), sqlx::Error> {
    for chunk in events.chunks(100) {
        let mut q = sqlx::QueryBuilder::new(
            "INSERT INTO validation_events (at, license_id, machine_id, fingerprint, client_ip, result, count, ip_count) ",
        );
        q.push_values(chunk, |mut b, (k, t)| {
            b.push_bind(at)
                .push_bind(k.license_id.map(|u| u.to_string()))
                .push_bind(k.machine_id.map(|u| u.to_string()))
                .push_bind(k.fingerprint.as_deref().map(str::to_owned))
                .push_bind(t.last_ip.to_string())
                .push_bind(k.result)
                .push_bind(t.count)
                .push_bind(t.ip_count);
        });
        q.build().execute(&mut **tx).await?;
    }
    Ok(())
}

/// A row of the validation log.
#[derive(Debug, sqlx::FromRow)]
pub struct LoggedEvent {
    pub at: i64,
    pub fingerprint: Option<String>,
    pub client_ip: Option<String>,
    pub result: String,
    pub count: i64,
    pub ip_count: i64,
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

/// A license's newest events; a seat's calls name its machine (see
/// [`EventKey`]), whose row stays while they do. Found through the log's
/// index on the license id's last 8 characters (migration
/// `20261210100000_log_index_by_license_tail`), the whole id compared under a
/// unary `+`, which keeps it out of the seek; newest first by row id, the
/// order rows are written in (each batch at its own second, in time order).
const FOR_LICENSE: &str = "SELECT e.at, coalesce(e.fingerprint, m.fingerprint) AS fingerprint, e.client_ip, \
     e.result, e.count, e.ip_count FROM validation_events e LEFT JOIN machines m ON m.id = e.machine_id \
     WHERE substr(e.license_id, -8) = substr(?1, -8) AND +e.license_id = ?1 ORDER BY e.id DESC LIMIT ?2";

/// Events of one license, newest first.
pub async fn for_license(
    pool: &sqlx::SqlitePool,
    license_id: Uuid,
    limit: i64,
) -> Result<Vec<LoggedEvent>, sqlx::Error> {
    sqlx::query_as(FOR_LICENSE).bind(license_id.to_string()).bind(limit).fetch_all(pool).await
}

/// (licenses, active machines, validation log rows), without counting rows:
/// the first two are kept by triggers (migration `counters`); the log's ids
/// grow by one per row and pruning deletes only its oldest rows, so its
/// length is the span of its ids — two index look-ups.
pub async fn table_counts(pool: &sqlx::SqlitePool) -> Result<(i64, i64, i64), sqlx::Error> {
    sqlx::query_as(
        "SELECT (SELECT value FROM counters WHERE name = 'licenses'), \
         (SELECT value FROM counters WHERE name = 'active_machines'), \
         coalesce((SELECT max(id) FROM validation_events) - (SELECT min(id) FROM validation_events) + 1, 0)",
    )
    .fetch_one(pool)
    .await
}

#[cfg(test)]
mod tests {
    /// The log's reader seeks the license's rows in their index, in order,
    /// and each row's machine by its id: it reads 50 rows, not the log.
    #[tokio::test]
    async fn a_licenses_events_are_read_through_indexes() {
        let (_dir, db) = crate::db::tests::open().await;
        let text = crate::db::query_plan(&db.read, super::FOR_LICENSE).await;
        assert!(
            text.iter().any(|d| d.starts_with("SEARCH e USING INDEX validation_events_license_tail (<expr>=?)")),
            "{text:?}"
        );
        assert!(text.iter().any(|d| d.contains("SEARCH m USING INDEX sqlite_autoindex_machines_1 (id=?)")), "{text:?}");
        assert!(!text.iter().any(|d| d.starts_with("SCAN") || d.contains("TEMP B-TREE")), "{text:?}");
    }
}
