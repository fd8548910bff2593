//! Pages for exports that no other module reads: machines, newest first.

use sqlx::{FromRow, Row, SqlitePool};

use super::machines::Machine;

/// Machines before `before_rowid`, newest first, with their rowids.
pub async fn machines(pool: &SqlitePool, before_rowid: i64, limit: i64) -> Result<Vec<(i64, Machine)>, sqlx::Error> {
    let rows = sqlx::query("SELECT rowid AS page_rowid, * FROM machines WHERE rowid < ? ORDER BY rowid DESC LIMIT ?")
        .bind(before_rowid)
        .bind(limit)
        .fetch_all(pool)
        .await?;
    rows.iter().map(|r| Ok((r.try_get("page_rowid")?, Machine::from_row(r)?))).collect()
}
