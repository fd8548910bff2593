//! Licenses.

use std::sync::LazyLock;

use sqlx::{Executor, FromRow, QueryBuilder, Row as _, Sqlite, SqliteConnection};
use uuid::Uuid;

use super::machines::FreedSeats;
use super::policies::RulesColumns;
use super::{Conn, Hyphenated, Tx};
use crate::domain::license::LicenseStatus;
use crate::domain::machine_rules::MachineRules;
use crate::domain::validation::{fp_hash, key_digest, KeyDigest, LicenseSnapshot, LicenseTerms, Seats};

/// A license as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct License {
    pub rowid: i64,
    #[sqlx(try_from = "Hyphenated")]
    pub id: Uuid,
    #[sqlx(try_from = "Hyphenated")]
    pub product_id: Uuid,
    #[sqlx(try_from = "Hyphenated")]
    pub policy_id: Uuid,
    pub license_key: String,
    #[sqlx(try_from = "String")]
    pub status: LicenseStatus,
    pub issued_at: i64,
    pub expires_at: i64,
    pub grace_seconds: i64,
    pub max_machines: i64,
    #[sqlx(json)]
    pub entitlements: Vec<String>,
    pub is_trial: bool,
    pub fingerprint: Option<String>,
    pub buyer_email: Option<String>,
    pub buyer_npub: Option<String>,
    pub note: Option<String>,
    pub source: String,
    pub invoice_id: Option<String>,
    pub revoked_reason: Option<String>,
    pub version: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

const COLUMNS: &str = "rowid, id, product_id, policy_id, license_key, status, issued_at, expires_at, \
    grace_seconds, max_machines, entitlements, is_trial, fingerprint, buyer_email, buyer_npub, note, source, \
    invoice_id, revoked_reason, version, created_at, updated_at";

/// What the key's uniqueness is checked on: the first 16 bytes of the
/// SHA-256 of its text (unique index `licenses_key_hash`).
pub fn key_hash(key: &str) -> Vec<u8> {
    key_digest(key).to_vec()
}

/// Stores a new license and answers its rowid; `None` (nothing written)
/// when its invoice already has one (one license per invoice, checked by
/// the insert itself rather than a read before it).
pub async fn insert(tx: &mut Tx, l: &License) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO licenses (id, product_id, policy_id, license_key, status, issued_at, expires_at, \
         grace_seconds, max_machines, entitlements, is_trial, fingerprint, buyer_email, buyer_npub, note, \
         source, invoice_id, revoked_reason, version, created_at, updated_at, key_hash) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) \
         ON CONFLICT (invoice_id) DO NOTHING RETURNING rowid",
    )
    .bind(l.id.to_string())
    .bind(l.product_id.to_string())
    .bind(l.policy_id.to_string())
    .bind(&l.license_key)
    .bind(l.status.as_str())
    .bind(l.issued_at)
    .bind(l.expires_at)
    .bind(l.grace_seconds)
    .bind(l.max_machines)
    .bind(serde_json::to_string(&l.entitlements).expect("strings serialise"))
    .bind(l.is_trial)
    .bind(&l.fingerprint)
    .bind(&l.buyer_email)
    .bind(&l.buyer_npub)
    .bind(&l.note)
    .bind(&l.source)
    .bind(&l.invoice_id)
    .bind(&l.revoked_reason)
    .bind(l.version)
    .bind(l.created_at)
    .bind(l.updated_at)
    .bind(key_hash(&l.license_key))
    .fetch_optional(&mut **tx)
    .await
}

/// Fills `key_hash` of licenses written before it existed, in rowid order
/// from where the last run stopped, then clears the marker the migration
/// set (so a normal start costs one settings read); returns how many.
pub async fn backfill_key_hashes(pool: &sqlx::SqlitePool) -> Result<u64, sqlx::Error> {
    const MARKER: &str = "license_key_hash_backfill";
    let Some(mut from) = super::settings::get(pool, MARKER).await?.and_then(|v| v.parse::<i64>().ok()) else {
        return Ok(0);
    };
    let mut done = 0;
    loop {
        let rows: Vec<(i64, String)> =
            sqlx::query_as("SELECT rowid, license_key FROM licenses WHERE rowid > ? ORDER BY rowid LIMIT 1000")
                .bind(from)
                .fetch_all(pool)
                .await?;
        let mut tx = pool.begin().await?;
        let Some(&(last, _)) = rows.last() else {
            sqlx::query("DELETE FROM settings WHERE key = ?").bind(MARKER).execute(&mut *tx).await?;
            tx.commit().await?;
            return Ok(done);
        };
        for (rowid, key) in &rows {
            sqlx::query("UPDATE licenses SET key_hash = ? WHERE rowid = ? AND key_hash IS NULL")
                .bind(key_hash(key))
                .bind(rowid)
                .execute(&mut *tx)
                .await?;
        }
        super::settings::set(&mut *tx, MARKER, &last.to_string()).await?;
        tx.commit().await?;
        done += rows.len() as u64;
        from = last;
    }
}

pub async fn by_id<'e, E: Executor<'e, Database = Sqlite>>(e: E, id: Uuid) -> Result<Option<License>, sqlx::Error> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM licenses WHERE id = ?")).bind(id.to_string()).fetch_optional(e).await
}

pub async fn by_invoice<'e, E: Executor<'e, Database = Sqlite>>(
    e: E,
    invoice_id: &str,
) -> Result<Option<License>, sqlx::Error> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM licenses WHERE invoice_id = ?"))
        .bind(invoice_id)
        .fetch_optional(e)
        .await
}

/// New terms and the key signed for them (renewal, upgrade, adjustment);
/// the caller bumps the version when it commits (`Licensing::commit_change`).
pub async fn set_terms(tx: &mut Tx, l: &License, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE licenses SET policy_id = ?, expires_at = ?, grace_seconds = ?, max_machines = ?, entitlements = ?, \
         is_trial = ?, license_key = ?, key_hash = ?, updated_at = ? WHERE id = ?",
    )
    .bind(l.policy_id.to_string())
    .bind(l.expires_at)
    .bind(l.grace_seconds)
    .bind(l.max_machines)
    .bind(serde_json::to_string(&l.entitlements).expect("strings serialise"))
    .bind(l.is_trial)
    .bind(&l.license_key)
    .bind(key_hash(&l.license_key))
    .bind(now)
    .bind(l.id.to_string())
    .execute(&mut **tx)
    .await
    .map(|_| ())
}

/// The license an invoice paid for: the one it created (a purchase), or
/// the one it renewed or upgraded.
pub async fn of_invoice<'e, E: Executor<'e, Database = Sqlite>>(
    e: E,
    invoice: &super::invoices::Invoice,
) -> Result<Option<License>, sqlx::Error> {
    match invoice.target_license_id {
        Some(id) => by_id(e, id).await,
        None => by_invoice(e, &invoice.id.to_string()).await,
    }
}

/// Changes the status and bumps the version.
pub async fn set_status(
    tx: &mut Tx,
    id: Uuid,
    status: LicenseStatus,
    revoked_reason: Option<&str>,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE licenses SET status = ?, revoked_reason = COALESCE(?, revoked_reason), \
         version = version + 1, updated_at = ? WHERE id = ?",
    )
    .bind(status.as_str())
    .bind(revoked_reason)
    .bind(now)
    .bind(id.to_string())
    .execute(&mut **tx)
    .await
    .map(|_| ())
}

/// Marks a change to the license's machines.
pub async fn bump_version(tx: &mut Tx, id: Uuid) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("UPDATE licenses SET version = version + 1 WHERE id = ? RETURNING version")
        .bind(id.to_string())
        .fetch_one(&mut **tx)
        .await
}

/// Filters for the admin list; newest first, paged by `before_rowid`.
#[derive(Debug, Default)]
pub struct ListFilter {
    pub product_id: Option<Uuid>,
    pub status: Option<LicenseStatus>,
    pub created_from: Option<i64>,
    pub created_to: Option<i64>,
    pub before_rowid: Option<i64>,
    pub limit: i64,
}

pub async fn list(pool: &sqlx::SqlitePool, f: &ListFilter) -> Result<Vec<License>, sqlx::Error> {
    let mut q: QueryBuilder<Sqlite> = QueryBuilder::new(format!("SELECT {COLUMNS} FROM licenses WHERE 1 = 1"));
    if let Some(p) = f.product_id {
        q.push(" AND product_id = ").push_bind(p.to_string());
    }
    if let Some(s) = f.status {
        q.push(" AND status = ").push_bind(s.as_str());
    }
    if let Some(t) = f.created_from {
        q.push(" AND created_at >= ").push_bind(t);
    }
    if let Some(t) = f.created_to {
        q.push(" AND created_at < ").push_bind(t);
    }
    if let Some(r) = f.before_rowid {
        q.push(" AND rowid < ").push_bind(r);
    }
    q.push(" ORDER BY rowid DESC LIMIT ").push_bind(f.limit);
    q.build_query_as().fetch_all(pool).await
}

/// The license's columns of a snapshot (its seats are read apart).
#[derive(sqlx::FromRow)]
struct SnapshotRow {
    #[sqlx(try_from = "Hyphenated")]
    id: Uuid,
    #[sqlx(try_from = "Hyphenated")]
    policy_id: Uuid,
    version: i64,
    #[sqlx(try_from = "Hyphenated")]
    product_id: Uuid,
    product_slug: String,
    #[sqlx(try_from = "String")]
    status: LicenseStatus,
    issued_at: i64,
    expires_at: i64,
    grace_seconds: i64,
    max_machines: i64,
    is_trial: bool,
    #[sqlx(json)]
    entitlements: Vec<String>,
    key_hash: Option<Vec<u8>>,
}

/// A page of snapshots for warming the cache after a start: the licenses
/// below `before_rowid` (newest first).
pub async fn snapshots_page(
    pool: &sqlx::SqlitePool,
    before_rowid: i64,
    limit: i64,
) -> Result<Vec<(i64, LicenseSnapshot)>, sqlx::Error> {
    #[derive(sqlx::FromRow)]
    struct Row {
        rowid: i64,
        #[sqlx(flatten)]
        seated: SeatedRow,
    }
    let rows: Vec<Row> = sqlx::query_as(&format!(
        "SELECT l.rowid, {SNAPSHOT_COLUMNS} {SNAPSHOT_FROM} WHERE l.rowid < ? ORDER BY l.rowid DESC LIMIT ?"
    ))
    .bind(before_rowid)
    .bind(limit)
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(|r| (r.rowid, r.seated.snap.into_snapshot(r.seated.seats))).collect())
}

/// The columns of a snapshot, its seats as one JSON array (`[[fingerprint, machine id], …]`, in the
/// order they were taken: by time, then by row, since ids made in one millisecond are not ordered;
/// [`Seats::of_rows`] hashes it): one statement, so a snapshot is never torn
/// between two reads.
const SNAPSHOT_COLUMNS: &str = concat!(
    "l.id, l.policy_id, l.version, l.product_id, p.slug AS product_slug, l.status, \
     l.issued_at, l.expires_at, l.grace_seconds, l.max_machines, l.is_trial, l.entitlements, l.key_hash, \
     (SELECT json_group_array(json_array(m.fingerprint, m.id) ORDER BY m.activated_at, m.rowid) \
     FROM machines m WHERE ",
    super::machines::held_seats_of!("m", "l.id"),
    ") AS seats"
);
const SNAPSHOT_FROM: &str = "FROM licenses l JOIN products p ON p.id = l.product_id";

#[derive(sqlx::FromRow)]
struct SeatedRow {
    #[sqlx(flatten)]
    snap: SnapshotRow,
    #[sqlx(json)]
    seats: Vec<(String, Uuid)>,
}

pub async fn snapshot(conn: &mut SqliteConnection, license_id: Uuid) -> Result<Option<LicenseSnapshot>, sqlx::Error> {
    let row: Option<SeatedRow> = sqlx::query_as(&format!("SELECT {SNAPSHOT_COLUMNS} {SNAPSHOT_FROM} WHERE l.id = ?"))
        .bind(license_id.to_string())
        .fetch_optional(&mut *conn)
        .await?;
    Ok(row.map(|r| r.snap.into_snapshot(r.seats)))
}

/// The snapshot of the license whose stored key is `key`, whole: found by
/// its fixed-size hash (the unique index), then compared in full. A key
/// found so is one this server signed and stored.
pub async fn snapshot_by_key(conn: &mut SqliteConnection, key: &str) -> Result<Option<LicenseSnapshot>, sqlx::Error> {
    static SQL: LazyLock<String> = LazyLock::new(|| {
        format!("SELECT {SNAPSHOT_COLUMNS} {SNAPSHOT_FROM} WHERE l.key_hash = ? AND l.license_key = ?")
    });
    let row: Option<SeatedRow> = sqlx::query_as(&SQL).bind(key_hash(key)).bind(key).fetch_optional(&mut *conn).await?;
    Ok(row.map(|r| r.snap.into_snapshot(r.seats)))
}

/// A license as a group of seat takes reads it (see
/// [`crate::licensing::seats`]): its snapshot and its policy's machine
/// rules as saved now, for many licenses in one statement.
pub struct SeatView {
    pub snap: LicenseSnapshot,
    pub rules: MachineRules,
}

/// What a group of seat takes reads, in one round trip to SQLite's worker
/// thread (two statements, each row saying which it is): the [`SeatView`] of
/// each license named that exists, and the freed seats these licenses once
/// gave these fingerprints (the newest of each pair). With `begin` the
/// statement that opens the group's transaction is sent with them.
pub async fn seat_group(
    conn: &mut Conn,
    begin: bool,
    ids: impl IntoIterator<Item = Uuid>,
    pairs: &[(Uuid, &str)],
) -> Result<(Vec<SeatView>, FreedSeats), sqlx::Error> {
    #[derive(sqlx::FromRow)]
    struct Row {
        #[sqlx(flatten)]
        seated: SeatedRow,
        #[sqlx(flatten)]
        rules: RulesColumns,
    }
    static SQL: LazyLock<String> = LazyLock::new(|| {
        format!(
            "SELECT 'view' AS part, {SNAPSHOT_COLUMNS}, pol.lease_seconds, pol.self_reset_limit, \
             pol.seat_timeout_seconds, pol.one_trial_per_machine {SNAPSHOT_FROM} \
             JOIN policies pol ON pol.id = l.policy_id WHERE l.id IN (SELECT value FROM json_each(?1)); \
             SELECT 'freed' AS part, m.license_id AS freed_license, m.fingerprint AS freed_fingerprint, \
             m.id AS freed_id, m.deactivated_at AS freed_at FROM json_each(?2) j \
             JOIN machines m ON m.license_id = j.value ->> 0 AND m.fingerprint = j.value ->> 1 \
             WHERE m.active = 0 ORDER BY m.deactivated_at"
        )
    });
    static BEGIN_SQL: LazyLock<String> = LazyLock::new(|| format!("BEGIN IMMEDIATE; {}", *SQL));
    let ids: Vec<String> = ids.into_iter().map(|id| id.to_string()).collect();
    let pairs: Vec<(String, &str)> = pairs.iter().map(|(l, fp)| (l.to_string(), *fp)).collect();
    let rows = sqlx::query(if begin { &BEGIN_SQL } else { &SQL })
        .bind(serde_json::to_string(&ids).expect("ids serialise"))
        .bind(serde_json::to_string(&pairs).expect("pairs serialise"))
        .fetch_all(&mut *conn)
        .await?;
    let (mut views, mut freed) = (Vec::new(), FreedSeats::new());
    for row in &rows {
        if row.try_get::<&str, _>("part")? == "view" {
            let r = Row::from_row(row)?;
            views.push(SeatView { snap: r.seated.snap.into_snapshot(r.seated.seats), rules: r.rules.into() });
        } else {
            // Ascending by when freed, so the newest freed row of a pair is the one left.
            let license: Hyphenated = row.try_get("freed_license")?;
            let id: Hyphenated = row.try_get("freed_id")?;
            let at: Option<i64> = row.try_get("freed_at")?;
            freed.insert((license.into(), fp_hash(row.try_get("freed_fingerprint")?)), (id.into(), at.unwrap_or(0)));
        }
    }
    Ok((views, freed))
}

impl SnapshotRow {
    fn into_snapshot(self, seats: Vec<(String, Uuid)>) -> LicenseSnapshot {
        // Not yet backfilled (the start does it): a digest no key has.
        let key: KeyDigest = self.key_hash.as_deref().and_then(|h| h.try_into().ok()).unwrap_or_default();
        let terms = LicenseTerms {
            product_id: self.product_id,
            product_slug: self.product_slug,
            policy_id: self.policy_id,
            status: self.status,
            grace_seconds: self.grace_seconds,
            max_machines: self.max_machines,
            is_trial: self.is_trial,
            entitlements: self.entitlements,
        };
        LicenseSnapshot {
            license_id: self.id,
            key,
            version: self.version,
            issued_at: self.issued_at,
            expires_at: self.expires_at,
            terms: terms.shared(),
            seats: Seats::of_rows(&seats),
        }
    }
}
