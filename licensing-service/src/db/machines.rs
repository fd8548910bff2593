//! Machines: the seats of a license. An active row holds a seat; freed seats
//! stay as history.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::LazyLock;

use serde::Serialize;
use sqlx::{Executor, Sqlite};
use uuid::Uuid;

use super::{Conn, Hyphenated, Tx};

/// A machine as stored.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Machine {
    #[sqlx(try_from = "Hyphenated")]
    pub id: Uuid,
    #[sqlx(try_from = "Hyphenated")]
    pub license_id: Uuid,
    pub fingerprint: String,
    pub hostname: Option<String>,
    pub platform: Option<String>,
    pub active: bool,
    pub activated_at: i64,
    pub last_seen_at: i64,
    pub deactivated_at: Option<i64>,
    pub deactivation_reason: Option<String>,
}

/// The terms that find a license's held seats through `machines_seat`, which
/// holds only the last 8 characters of each seat's license id and
/// fingerprint (migration `20261208100000_compact_seat_index`): the id's tail
/// to seek, then the whole id (under a unary `+`, which keeps it out of the
/// seek: SQLite 3.40, Debian 12's, would otherwise scan the index). `$m`
/// names the machines table in the query, `$license` is the license id's
/// expression; string literals, for `concat!`.
macro_rules! held_seats_of {
    ($m:literal, $license:literal) => {
        concat!(
            "substr(",
            $m,
            ".license_id, -8) = substr(",
            $license,
            ", -8) AND +",
            $m,
            ".license_id = ",
            $license,
            " AND ",
            $m,
            ".active = 1"
        )
    };
}
pub(crate) use held_seats_of;

pub(super) const COLUMNS: &str =
    "id, license_id, fingerprint, hostname, platform, active, activated_at, last_seen_at, \
    deactivated_at, deactivation_reason";

/// Every machine of a license (active first, newest first).
pub async fn for_license<'e, E: Executor<'e, Database = Sqlite>>(
    e: E,
    license_id: Uuid,
) -> Result<Vec<Machine>, sqlx::Error> {
    // One branch per partial index (held seats, freed ones); the row number
    // orders machines of one second (ids made in one millisecond are not ordered).
    sqlx::query_as(&format!(
        "SELECT {COLUMNS}, rowid AS n FROM machines WHERE {} UNION ALL \
         SELECT {COLUMNS}, rowid AS n FROM machines WHERE license_id = ?1 AND active = 0 \
         ORDER BY active DESC, activated_at DESC, n DESC",
        held_seats_of!("machines", "?1")
    ))
    .bind(license_id.to_string())
    .fetch_all(e)
    .await
}

/// Recently active machines across all licenses.
pub async fn recent<'e, E: Executor<'e, Database = Sqlite>>(e: E, limit: i64) -> Result<Vec<Machine>, sqlx::Error> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM machines WHERE active = 1 ORDER BY last_seen_at DESC LIMIT ?"))
        .bind(limit)
        .fetch_all(e)
        .await
}

pub async fn by_id<'e, E: Executor<'e, Database = Sqlite>>(e: E, id: Uuid) -> Result<Option<Machine>, sqlx::Error> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM machines WHERE id = ?")).bind(id.to_string()).fetch_optional(e).await
}

/// The newest freed seat of each (license, fingerprint), with when it was
/// freed: taking the seat again reuses its row, so churn adds no rows.
pub type FreedSeats = std::collections::HashMap<(Uuid, crate::domain::validation::FpHash), (Uuid, i64)>;

/// Inserts many new active seats, each with its lapse timeout, in one
/// statement; with `commit`, the `COMMIT` of a [`super::GroupTx`] is sent
/// with it (and alone when there is nothing to insert).
pub async fn insert_many(tx: &mut Conn, seats: &[(Machine, i64)], commit: bool) -> Result<(), sqlx::Error> {
    const INSERT: &str = "INSERT INTO machines (id, license_id, fingerprint, hostname, platform, active, \
         activated_at, last_seen_at, lapse_after) \
         SELECT j.value ->> 0, j.value ->> 1, j.value ->> 2, j.value ->> 3, j.value ->> 4, 1, j.value ->> 5, \
         j.value ->> 5, j.value ->> 6 FROM json_each(?) j";
    static INSERT_COMMIT: LazyLock<String> = LazyLock::new(|| format!("{INSERT}; COMMIT"));
    if seats.is_empty() {
        if commit {
            sqlx::query("COMMIT").execute(&mut *tx).await?;
        }
        return Ok(());
    }
    let rows: Vec<serde_json::Value> = seats
        .iter()
        .map(|(m, lapse)| {
            serde_json::json!([m.id, m.license_id, m.fingerprint, m.hostname, m.platform, m.activated_at, lapse])
        })
        .collect();
    let sql = if commit { INSERT_COMMIT.as_str() } else { INSERT };
    sqlx::query(sql).bind(serde_json::Value::Array(rows).to_string()).execute(&mut *tx).await.map(|_| ())
}

/// A seat take tried without reading the license first (the seat writer's
/// first try, see [`crate::licensing::seats`]).
pub struct Unread<'a> {
    /// The new row's id.
    pub id: Uuid,
    pub license_id: Uuid,
    /// The license's version the caller decided on.
    pub version: i64,
    /// The active seats the caller saw (its snapshot's).
    pub held: usize,
    pub fingerprint: &'a str,
    pub hostname: Option<&'a str>,
    pub platform: Option<&'a str>,
    pub now: i64,
}

/// What [`take_unread`] wrote for one take: the row's id and its lapse timeout.
pub type UnreadSeat = (Uuid, i64);

/// Takes these seats, at most one per license, in one statement that is its
/// own transaction (one round trip to SQLite's worker thread, nothing read
/// before). Outside an explicit transaction, SQLite keeps no statement
/// journal for it: inside one, a statement that may abort (the seat
/// triggers' `RAISE`, the foreign key) first copies every page it is about
/// to change, so it could be undone alone. Failed, it leaves nothing
/// written and no transaction open. A take is written only where the database
/// agrees with what its caller decided on: the license is still at
/// `version` (anything that changes a license but a take bumps it) and not
/// a trial (one trial per machine is checked the long way), it holds
/// exactly the `held` active seats its caller saw (counted in the
/// statement) and has a seat left (so the machine holds none of them: its
/// caller saw none; the triggers of `machines_seat` would refuse it too,
/// failing the group), and the license holds no freed seat of this fingerprint
/// (which is taken again, not added). Since at one version seats are only
/// ever added, the same count is the same seats: the license's seats after
/// the take are the caller's and this one, so none is read back. What is
/// not written is not in the answer: the caller takes it the long way, on a
/// fresh read. With one take per license, each count is the one its insert follows.
pub async fn take_unread(conn: &mut Conn, takes: &[Unread<'_>]) -> Result<Vec<UnreadSeat>, sqlx::Error> {
    let mut written = Vec::with_capacity(takes.len());
    for chunk in takes.chunks(TAKE_ROWS_MAX) {
        let rows = chunk.len().next_power_of_two();
        let mut q = sqlx::query_as::<_, (Hyphenated, i64)>(take_unread_sql(rows));
        for t in chunk {
            q = q.bind(t.id.hyphenated()).bind(t.license_id.hyphenated()).bind(t.fingerprint);
            q = q.bind(t.hostname).bind(t.platform).bind(t.now).bind(t.version).bind(t.held as i64);
        }
        // The rows past the takes: NULL, which joins no license.
        for _ in chunk.len()..rows {
            q = q.bind(None::<&str>).bind(None::<&str>).bind(None::<&str>).bind(None::<&str>);
            q = q.bind(None::<&str>).bind(None::<i64>).bind(None::<i64>).bind(None::<i64>);
        }
        let taken = q.fetch_all(&mut *conn).await?;
        written.extend(taken.into_iter().map(|(id, lapse_after)| (id.into_uuid(), lapse_after)));
    }
    Ok(written)
}

/// Most takes one [`take_unread`] statement binds (a group's are at most
/// `licensing::seats`' group size, 256: one statement).
const TAKE_ROWS_MAX: usize = 256;

/// [`take_unread`]'s statement for `rows` takes (a power of two up to
/// [`TAKE_ROWS_MAX`], so the writer's statement cache holds at most nine),
/// each bound as 8 values: a row of `VALUES`, not a JSON array, which SQLite
/// would parse again for every field it reads (a fifth of the statement's
/// time, measured on SQLite 3.46).
fn take_unread_sql(rows: usize) -> &'static str {
    const SIZES: usize = TAKE_ROWS_MAX.trailing_zeros() as usize + 1;
    static SQL: [std::sync::OnceLock<String>; SIZES] = [const { std::sync::OnceLock::new() }; SIZES];
    debug_assert!(rows.is_power_of_two() && rows <= TAKE_ROWS_MAX);
    SQL[rows.trailing_zeros() as usize].get_or_init(|| {
        let values = vec!["(?, ?, ?, ?, ?, ?, ?, ?)"; rows].join(", ");
        format!(
            "WITH t (id, license_id, fingerprint, hostname, platform, now, version, held) AS (VALUES {values}) \
             INSERT OR IGNORE INTO machines (id, license_id, fingerprint, hostname, platform, active, \
             activated_at, last_seen_at, lapse_after) \
             SELECT t.id, l.id, t.fingerprint, t.hostname, t.platform, 1, t.now, t.now, pol.seat_timeout_seconds \
             FROM t JOIN licenses l ON l.id = t.license_id JOIN policies pol ON pol.id = l.policy_id \
             WHERE l.version = t.version AND l.is_trial = 0 AND (l.max_machines <= 0 OR t.held < l.max_machines) \
             AND (SELECT count(*) FROM machines m WHERE {held}) = t.held \
             AND NOT EXISTS (SELECT 1 FROM machines m WHERE m.license_id = l.id \
                  AND m.fingerprint = t.fingerprint AND m.active = 0) \
             RETURNING id, lapse_after",
            held = held_seats_of!("m", "l.id"),
        )
    })
}

/// Takes a freed seat's row again.
pub async fn reactivate(tx: &mut Conn, m: &Machine) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE machines SET active = 1, hostname = ?, platform = ?, activated_at = ?, last_seen_at = ?, \
         deactivated_at = NULL, deactivation_reason = NULL WHERE id = ? AND active = 0",
    )
    .bind(&m.hostname)
    .bind(&m.platform)
    .bind(m.activated_at)
    .bind(m.last_seen_at)
    .bind(m.id.to_string())
    .execute(&mut *tx)
    .await
    .map(|_| ())
}

/// Frees a seat; false when it was not active.
pub async fn deactivate(tx: &mut Tx, id: Uuid, reason: &str, now: i64) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE machines SET active = 0, deactivated_at = ?, deactivation_reason = ? WHERE id = ? AND active = 1",
    )
    .bind(now)
    .bind(reason)
    .bind(id.to_string())
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// A seat that never lapses (`lapse_after = 0`): its machine and last-seen time.
pub type Steady = (Uuid, i64);

/// Records the last-seen times of many machines, each heard from at its
/// own second, in one `UPDATE`, then answers, of all of them (written now or
/// not due), those whose seats never lapse with their last-seen times: one
/// value, a JSON array read once, not a row each (at a first sight of
/// 100,000 machines, each row streamed from sqlx's worker thread was a
/// wake-up of the reading task). Each machine once in `seen`.
///
/// On the pool, not in a transaction: inside `BEGIN`, SQLite keeps a
/// statement journal for a statement that changes many rows and may fail
/// halfway (a STRICT table's type checks may), in memory here
/// (`temp_store`), a copy of every page the `UPDATE` changes: 16 MB of the
/// daemon's heap at its peak in a walk (heaptrack). On its own it is its own
/// transaction, which needs none; the times it writes are independent of
/// anything else written with them.
pub async fn touch_many(pool: &sqlx::SqlitePool, seen: &[(Uuid, i64)], lag: i64) -> Result<Vec<Steady>, sqlx::Error> {
    if seen.is_empty() {
        return Ok(Vec::new());
    }
    let seen = serde_json::to_string(seen).expect("last-seen times serialise");
    // A floating seat lapses on its last-seen time: always; any other
    // only once it lags by `lag` (its row is not rewritten each second).
    sqlx::query(
        "UPDATE machines SET last_seen_at = max(last_seen_at, j.value ->> 1) FROM json_each(?1) j \
         WHERE machines.id = j.value ->> 0 \
         AND (machines.lapse_after > 0 OR machines.last_seen_at <= (j.value ->> 1) - ?2)",
    )
    .bind(&seen)
    .bind(lag)
    .execute(pool)
    .await?;
    let steady: String = sqlx::query_scalar(
        "SELECT json_group_array(json_array(m.id, m.last_seen_at)) FROM json_each(?1) j \
         JOIN machines m ON m.id = j.value ->> 0 WHERE m.lapse_after = 0",
    )
    .bind(&seen)
    .fetch_one(pool)
    .await?;
    serde_json::from_str(&steady).map_err(|e| sqlx::Error::Decode(Box::new(e)))
}

/// Counts the changes that may give a seat another lapse timeout (so one
/// may turn floating): whoever remembers which seats are not floating (the
/// activity writer's [`crate::licensing::events`]) forgets it when this moves.
static LAPSE_CHANGES: AtomicU64 = AtomicU64::new(0);

/// See [`LAPSE_CHANGES`]; read before deciding, bumped before the change is made.
pub fn lapse_changes() -> u64 {
    LAPSE_CHANGES.load(Ordering::Acquire)
}

pub(crate) fn lapse_changing() {
    LAPSE_CHANGES.fetch_add(1, Ordering::AcqRel);
}

/// Sets how long the seat may go unseen before it lapses (0 = never).
pub async fn set_lapse_after(tx: &mut Conn, id: Uuid, seconds: i64) -> Result<(), sqlx::Error> {
    lapse_changing();
    sqlx::query("UPDATE machines SET lapse_after = ? WHERE id = ?")
        .bind(seconds)
        .bind(id.to_string())
        .execute(&mut *tx)
        .await
        .map(|_| ())
}

/// A changed floating-seat timeout applies to the seats its policy's
/// licenses hold now.
pub async fn set_policy_lapse_after(tx: &mut Tx, policy_id: Uuid, seconds: i64) -> Result<u64, sqlx::Error> {
    lapse_changing();
    let done = sqlx::query(
        "UPDATE machines SET lapse_after = ? WHERE active = 1 \
         AND license_id IN (SELECT id FROM licenses WHERE policy_id = ?)",
    )
    .bind(seconds)
    .bind(policy_id.to_string())
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected())
}

/// The condition a lapsed seat meets, written as the partial index
/// `machines_lapse` is, so that SQLite seeks in it.
const LAPSED: &str = "active = 1 AND lapse_after > 0 AND last_seen_at + lapse_after <= ?";

/// Seats whose last sign of life is older than their timeout at `now`,
/// oldest first: (machine id, license id, seconds unseen).
pub async fn lapsed<'e, E: Executor<'e, Database = Sqlite>>(
    e: E,
    now: i64,
    limit: i64,
) -> Result<Vec<(Uuid, Uuid, i64)>, sqlx::Error> {
    let rows: Vec<(Hyphenated, Hyphenated, i64)> = sqlx::query_as(&format!(
        "SELECT id, license_id, ? - last_seen_at FROM machines WHERE {LAPSED} \
         ORDER BY last_seen_at + lapse_after LIMIT ?"
    ))
    .bind(now)
    .bind(now)
    .bind(limit)
    .fetch_all(e)
    .await?;
    Ok(rows.into_iter().map(|(m, l, unseen)| (m.into(), l.into(), unseen)).collect())
}

/// Whether this seat is still lapsed (a sign of life may have come since it was found).
pub async fn still_lapsed(tx: &mut Tx, id: Uuid, now: i64) -> Result<bool, sqlx::Error> {
    let found: Option<i64> = sqlx::query_scalar(&format!("SELECT 1 FROM machines WHERE id = ? AND {LAPSED}"))
        .bind(id.to_string())
        .bind(now)
        .fetch_optional(&mut **tx)
        .await?;
    Ok(found.is_some())
}

/// The seat's lapse timeout (0 = never), for answers.
pub async fn lapse_after<'e, E: Executor<'e, Database = Sqlite>>(e: E, id: Uuid) -> Result<i64, sqlx::Error> {
    let v: Option<i64> = sqlx::query_scalar("SELECT lapse_after FROM machines WHERE id = ?")
        .bind(id.to_string())
        .fetch_optional(e)
        .await?;
    Ok(v.unwrap_or(0))
}

/// Most queued machines one fold files.
const TAIL_FOLD: i64 = 20_000;

/// Files the machines queued since the last fold (`machine_tails_new`, which
/// every insert into `machines` appends to) under their fingerprints' last 8
/// characters in `machine_tails`, in sorted order, so a batch writes each
/// page of it once where takes would each have written one at random
/// (migration `20261208200000_fingerprint_tails_off_the_take`). Answers how
/// many it took off the queue (at most [`TAIL_FOLD`]; machines deleted
/// meanwhile are dropped). Nothing queued costs one read.
///
/// Each statement is its own transaction: inside `BEGIN`, SQLite kept a
/// statement journal for the insert (a copy, in memory, of every page of
/// `machine_tails` it changed: a batch of 20,000 reaches most of its leaves,
/// about 7,000 pages of 2 KiB at 860,000 machines; the most pages SQLite
/// touched anew in a cold walk, by a profile of page faults), which it needs
/// only where a statement may fail halfway inside a larger transaction. The
/// insert is idempotent (`OR IGNORE`, the queue read up to a fixed row), so
/// if the queue's rows are not taken off after it they are filed again to
/// the same effect; rows queued meanwhile come after that row.
pub async fn fold_tails(db: &super::Db) -> Result<u64, sqlx::Error> {
    let queued: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM machine_tails_new)").fetch_one(&db.read).await?;
    if !queued {
        return Ok(0);
    }
    let upto: Option<i64> =
        sqlx::query_scalar("SELECT max(rowid) FROM (SELECT rowid FROM machine_tails_new ORDER BY rowid LIMIT ?)")
            .bind(TAIL_FOLD)
            .fetch_one(&db.write)
            .await?;
    let Some(upto) = upto else { return Ok(0) };
    sqlx::query(
        "INSERT OR IGNORE INTO machine_tails (tail, machine) \
         SELECT substr(m.fingerprint, -8), m.rowid FROM machine_tails_new n JOIN machines m ON m.rowid = n.machine \
         WHERE n.rowid <= ? ORDER BY 1, 2",
    )
    .bind(upto)
    .execute(&db.write)
    .await?;
    let folded = sqlx::query("DELETE FROM machine_tails_new WHERE rowid <= ?")
        .bind(upto)
        .execute(&db.write)
        .await?
        .rows_affected();
    Ok(folded)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 19's lesson for every per-second scan: the floating-seat probe
    /// is a seek in its partial index, never a walk over the machines.
    #[tokio::test]
    async fn the_lapse_scan_seeks_in_its_index() {
        let (_dir, db) = crate::db::tests::open().await;
        let sql = format!(
            "SELECT id, license_id, ? - last_seen_at FROM machines WHERE {LAPSED} \
             ORDER BY last_seen_at + lapse_after LIMIT ?"
        );
        let text = crate::db::query_plan(&db.read, &sql).await;
        assert!(text.iter().any(|d| d.contains("USING INDEX machines_lapse")), "{text:?}");
        assert!(!text.iter().any(|d| d.contains("TEMP B-TREE") || d.as_str() == "SCAN machines"), "{text:?}");
        assert!(lapsed(&db.read, 0, 10).await.unwrap().is_empty());
    }

    /// A take without a read seeks the license by its id, its held seats and
    /// its freed seat of the fingerprint in their partial indexes: nothing
    /// in it grows with the licenses or the machines.
    #[tokio::test]
    async fn a_take_without_a_read_seeks_every_row_it_reads() {
        let (_dir, db) = crate::db::tests::open().await;
        for rows in [1, 16] {
            let text = crate::db::query_plan(&db.read, take_unread_sql(rows)).await;
            for seek in [
                "SEARCH l USING INDEX sqlite_autoindex_licenses_1 (id=?)",
                "SEARCH pol USING INDEX sqlite_autoindex_policies_1 (id=?)",
                "SEARCH m USING INDEX machines_seat (",
                "INDEX machines_freed_seat (license_id=? AND fingerprint=?)",
            ] {
                assert!(text.iter().any(|d| d.contains(seek)), "{seek}: {text:?}");
            }
            assert!(!text.iter().any(|d| d.starts_with("SCAN l") || d.starts_with("SCAN m")), "{text:?}");
        }
    }

    /// A license's machines and its freed seats are found through the two
    /// partial indexes (held, freed): there is no index over every row by
    /// license, which a seat take would have to write. The operator's search
    /// seeks a fingerprint by its last 8 characters (`db::search`), in an
    /// index a fifth the size of one over whole fingerprints, which is gone.
    #[tokio::test]
    async fn machines_by_license_seek_in_the_partial_indexes() {
        let (_dir, db) = crate::db::tests::open().await;
        let plan = crate::db::query_plan;
        let list = plan(
            &db.read,
            &format!(
                "SELECT {COLUMNS} FROM machines WHERE {} UNION ALL \
             SELECT {COLUMNS} FROM machines WHERE license_id = 'l' AND active = 0 ORDER BY active DESC",
                held_seats_of!("machines", "'l'")
            ),
        )
        .await;
        assert!(list.iter().any(|d| d.contains("SEARCH machines USING INDEX machines_seat")), "{list:?}");
        assert!(list.iter().any(|d| d.contains("USING INDEX machines_freed_seat")), "{list:?}");
        let freed = plan(
            &db.read,
            "SELECT m.id FROM json_each('[]') j JOIN machines m ON m.license_id = j.value ->> 0 \
             AND m.fingerprint = j.value ->> 1 WHERE m.active = 0",
        )
        .await;
        assert!(freed.iter().any(|d| d.contains("machines_freed_seat (license_id=? AND fingerprint=?)")), "{freed:?}");
        let tail = plan(
            &db.read,
            "SELECT m.rowid FROM machine_tails t JOIN machines m ON m.rowid = t.machine \
             WHERE t.tail = substr('x', -8) AND m.fingerprint = 'x'",
        )
        .await;
        assert!(tail.iter().any(|d| d.contains("SEARCH t USING PRIMARY KEY (tail=?)")), "{tail:?}");
        let indexes: Vec<String> =
            sqlx::query_scalar("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'machines'")
                .fetch_all(&db.read)
                .await
                .unwrap();
        let gone =
            ["machines_license", "machines_fingerprint", "machines_one_active_seat", "machines_fingerprint_tail"];
        assert!(!indexes.iter().any(|n| gone.contains(&n.as_str())), "{indexes:?}");
    }
}
