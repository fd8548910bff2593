//! SQLite access: plain SQL, one module per table family, no business rules.
//!
//! Writes go through a single-connection pool, so they are serialised in the
//! process and never meet `SQLITE_BUSY`; reads use a separate pool and, in
//! WAL mode, never wait for the writer.

pub mod api_keys;
pub mod audit;
pub mod codes;
pub mod customers;
pub mod email;
pub mod events;
pub mod export;
pub mod imports;
pub mod invoices;
pub mod licenses;
pub mod machines;
pub mod metrics;
pub mod nostr;
pub mod outbox;
pub mod payments;
pub mod pcache;
pub mod policies;
pub mod products;
pub mod prune;
pub mod refunds;
pub mod sales;
pub mod search;
pub mod seat_rules;
pub mod settings;
pub mod sqlmem;
pub mod stripe;
pub mod subscriptions;
#[cfg(test)]
mod tests;
pub mod walfile;
pub mod webhooks;

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use anyhow::Context;
use sqlx::pool::PoolConnection;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Sqlite, SqlitePool, Transaction};
pub use uuid::fmt::Hyphenated;
use uuid::Uuid;

/// Embedded migrations (append-only).
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Largest the WAL file is left at when it starts over: above the most it
/// holds by then ([`WAL_RESTART_BYTES`] of pages and a 24-byte header a
/// frame, under a sixteenth more even at 512-byte pages), so it is not cut
/// back only for the next writes to grow it again (136 MiB). (The 30-second
/// `TRUNCATE` checkpoint, `jobs`, empties it whenever it can.)
pub const WAL_SIZE_LIMIT_BYTES: i64 = WAL_RESTART_BYTES + WAL_RESTART_BYTES / 16;

/// Bytes of pages in the WAL past which the checkpointer makes the writer
/// wait for a full checkpoint, so that the WAL starts over (65,536 frames of
/// [`PAGE_SIZE`] pages, 32,768 on a database made with 4 KiB pages). Each
/// such checkpoint holds the writer, and every seat take behind it, for two
/// `fsync`s (the WAL's, the database's): 25–40 ms in a first-sight walk.
/// Measured (bench/scale's cold walk at 100,000 licenses, three alternated
/// pairs of five rounds, the sum of each run's rates): 115.3k, 106.5k and
/// 114.0k seats a second against 102.8k, 100.0k and 103.8k with 32 MiB
/// (+9%), 10 restarts a run against 35.
const WAL_RESTART_BYTES: i64 = 128 * 1024 * 1024;

/// The page size of a database Keysat creates (SQLite's default is 4096).
/// A seat taken writes a page at a random place in an index (`machines_seat`,
/// and the log's index when its tally is written), and each such page is
/// written whole, to the WAL and again by the checkpoint: pages half the
/// size halve those bytes, their copies and their checksums, for a b-tree
/// one level deeper at most. Measured (bench/scale's cold walk at 100,000
/// licenses, three alternated pairs of four rounds, the same database
/// vacuumed to each size): 5.7% more seats taken a second than at 4096;
/// 1024 was 5% fewer. A database made before keeps its page size (SQLite
/// changes it only by a `VACUUM` outside WAL mode); both work alike.
pub const PAGE_SIZE: u32 = 2048;
/// How often the checkpointer copies the WAL into the database.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(200);

/// The database: a pool for reads, a single connection for writes, and one
/// that checkpoints the WAL beside the writer (see [`checkpointer`]).
#[derive(Clone, Debug)]
pub struct Db {
    pub read: SqlitePool,
    pub write: SqlitePool,
    checkpoints: SqlitePool,
    /// What the webhook endpoints subscribe to (see [`outbox::Subscriptions`]).
    pub subscriptions: std::sync::Arc<outbox::Subscriptions>,
    /// Whether an operator npub may be set (see [`nostr::OperatorWatch`]).
    pub operator: std::sync::Arc<nostr::OperatorWatch>,
}

/// A write transaction.
pub type Tx = Transaction<'static, Sqlite>;

/// A connection, inside a transaction or not: what statements that a
/// [`Tx`] and a [`GroupTx`] both run take (a `&mut Tx` is one by deref).
pub type Conn = sqlx::SqliteConnection;

/// A write transaction on the writer's connection whose `BEGIN` and
/// `COMMIT` are sent with the group's own statements (`BEGIN IMMEDIATE;
/// SELECT …` and `INSERT …; COMMIT`): each statement sqlx sends is a round
/// trip to SQLite's worker thread, and a [`Tx`] spends two on `BEGIN` and
/// `COMMIT` alone. Whoever sends the statement that begins it calls
/// [`GroupTx::begun`] first; one that sends `COMMIT` calls
/// [`GroupTx::ended`] after it succeeded. A `GroupTx` dropped while its
/// transaction may be open closes the connection (a new one replaces it), so
/// no transaction is ever left open on the writer.
pub struct GroupTx {
    conn: Option<PoolConnection<Sqlite>>,
    open: bool,
}

impl GroupTx {
    /// The writer's connection, no transaction begun yet.
    pub async fn acquire(db: &Db) -> Result<GroupTx, sqlx::Error> {
        Ok(GroupTx::on(db.write.acquire().await?))
    }

    /// On a checkout of the writer's connection already held (see [`GroupTx::release`]).
    pub fn on(conn: PoolConnection<Sqlite>) -> GroupTx {
        GroupTx { conn: Some(conn), open: false }
    }

    pub fn conn(&mut self) -> &mut Conn {
        self.conn.as_mut().expect("a GroupTx holds its connection until dropped or released")
    }

    /// The next statement sent begins the transaction.
    pub fn begun(&mut self) -> &mut Conn {
        self.open = true;
        self.conn()
    }

    /// The statement that ended the transaction succeeded.
    pub fn ended(&mut self) {
        self.open = false;
    }

    /// Rolls back whatever was done (nothing, if no transaction is open).
    pub async fn rollback(mut self) {
        if self.open && sqlx::query("ROLLBACK").execute(self.conn()).await.is_ok() {
            self.open = false;
        }
    }

    /// The connection back, to begin the next group on without returning it
    /// to the pool (which costs sqlx a round trip, a ping, before anyone may
    /// have it again); `None` while a transaction may be open.
    pub fn release(mut self) -> Option<PoolConnection<Sqlite>> {
        if self.open {
            return None;
        }
        self.conn.take()
    }
}

impl Drop for GroupTx {
    fn drop(&mut self) {
        if let (true, Some(conn)) = (self.open, self.conn.as_mut()) {
            conn.close_on_drop();
        }
    }
}

impl Db {
    /// Opens (creating if needed) `<data_dir>/keysat.db` in WAL mode and runs migrations.
    pub async fn open(data_dir: &Path) -> anyhow::Result<Db> {
        std::fs::create_dir_all(data_dir)
            .with_context(|| format!("KEYSAT_DATA_DIR: cannot create {}", data_dir.display()))?;
        let path = data_dir.join("keysat.db");
        // All three are in place from `main` on (here again for test processes).
        if !(sqlmem::install() & pcache::install() & walfile::install()) {
            tracing::warn!(
                "SQLite's allocator, page cache layer or WAL writer could not be installed; SQLite runs without"
            );
        }
        let base = SqliteConnectOptions::from_str("sqlite:")?
            .filename(&path)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true)
            .pragma("journal_size_limit", WAL_SIZE_LIMIT_BYTES.to_string())
            .pragma("temp_store", "memory")
            .statement_cache_capacity(256);
        // No `test_before_acquire`: sqlx would ping the connection (a round trip
        // to its worker thread) on every checkout, and a file cannot hang up.
        // The page cache stays SQLite's default (2 MB). A larger one made
        // every commit that split an index slower (see `pcache`, which now
        // removes that cost), and with that gone, 16 or 64 MB for the writer
        // still measured the same per seat taken (bench/scale's walk): its
        // misses are served from the operating system's cache, and a larger
        // cache would count in the daemon's RSS.
        let write = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .test_before_acquire(false)
            .acquire_timeout(Duration::from_secs(30))
            // The writer never checkpoints: the checkpointer does, beside it.
            // The page size is set before anything is written (sqlx sends it before
            // `journal_mode`); on an existing database it changes nothing.
            .connect_with(base.clone().create_if_missing(true).page_size(PAGE_SIZE).pragma("wal_autocheckpoint", "0"))
            .await
            .with_context(|| format!("KEYSAT_DATA_DIR: cannot open {}", path.display()))?;
        MIGRATOR.run(&write).await.context("running database migrations")?;
        licenses::backfill_key_hashes(&write).await.context("hashing license keys")?;
        let read = SqlitePoolOptions::new()
            .max_connections(4)
            .min_connections(1)
            .test_before_acquire(false)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(base.clone().read_only(true))
            .await
            .context("opening read connections")?;
        let checkpoints = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .test_before_acquire(false)
            .connect_with(base)
            .await
            .context("opening the checkpoint connection")?;
        // The database's own page size: one made before [`PAGE_SIZE`] keeps 4 KiB.
        let page_size: i64 = sqlx::query_scalar("PRAGMA page_size").fetch_one(&write).await?;
        let restart_frames = WAL_RESTART_BYTES / page_size;
        tokio::spawn(checkpointer(checkpoints.clone(), write.clone(), restart_frames, CHECKPOINT_EVERY));
        let subscriptions = std::sync::Arc::new(outbox::Subscriptions::load(&read).await?);
        let operator = std::sync::Arc::new(nostr::OperatorWatch::load(&read).await?);
        Ok(Db { read, write, checkpoints, subscriptions, operator })
    }

    /// Starts a write transaction (`BEGIN IMMEDIATE` semantics by construction:
    /// the single write connection is held until commit).
    pub async fn begin(&self) -> Result<Tx, sqlx::Error> {
        self.write.begin().await
    }

    /// Copies the WAL into the database and truncates it.
    pub async fn checkpoint(&self) -> Result<(), sqlx::Error> {
        sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)").execute(&self.write).await.map(|_| ())
    }

    /// Flushes and closes the pools.
    pub async fn close(&self) {
        self.checkpoints.close().await;
        let _ = self.checkpoint().await;
        self.read.close().await;
        self.write.close().await;
    }
}

/// Copies the WAL into the database on its own connection, so the writer
/// never does: SQLite's automatic checkpoint runs inside the commit that
/// crosses its threshold and makes that commit (and every seat take waiting
/// behind it) wait for two `fsync`s and the copy. A passive checkpoint runs
/// beside the writer and readers; SQLite starts the WAL over at the next
/// write once everything in it is copied. Under writes that never pause it
/// would never be, so past `restart_frames` ([`WAL_RESTART_BYTES`]) a `RESTART` checkpoint
/// runs on the writer's connection between two of its transactions, copies
/// the little left and makes the next write start the WAL over. Ends when
/// the pool closes.
async fn checkpointer(pool: SqlitePool, write: SqlitePool, restart_frames: i64, every: Duration) {
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        if pool.is_closed() {
            break;
        }
        let passive: Result<(i64, i64, i64), _> =
            sqlx::query_as("PRAGMA wal_checkpoint(PASSIVE)").fetch_one(&pool).await;
        let restart = match passive {
            Ok((_, frames, _)) => frames >= restart_frames,
            Err(sqlx::Error::PoolClosed) => break,
            Err(e) => {
                tracing::warn!(error = %e, "WAL checkpoint failed");
                false
            }
        };
        if restart {
            // On the writer's own connection, between two of its transactions: from
            // another connection it would hold the write lock, and a transaction that
            // read before writing gets SQLITE_BUSY at once instead of waiting.
            if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(RESTART)").execute(&write).await {
                tracing::warn!(error = %e, "WAL checkpoint (restart) failed");
            }
        }
    }
}

/// What SQLite plans for `sql` (its parameters unbound), one line a step:
/// for the tests that hold a statement to its indexes.
#[cfg(test)]
pub async fn query_plan(pool: &SqlitePool, sql: &str) -> Vec<String> {
    let rows: Vec<(i64, i64, i64, String)> =
        sqlx::query_as(&format!("EXPLAIN QUERY PLAN {sql}")).fetch_all(pool).await.expect("a plan");
    rows.into_iter().map(|r| r.3).collect()
}

/// Parses a UUID column; the database only ever holds ones we wrote.
pub fn uuid_col(s: &str) -> Result<Uuid, sqlx::Error> {
    Uuid::parse_str(s).map_err(|e| sqlx::Error::Decode(Box::new(e)))
}

/// A nullable UUID column. Every UUID here is stored as hyphenated TEXT, which
/// sqlx reads as [`Hyphenated`] (its plain `Uuid` is a 16-byte BLOB on
/// SQLite); a field reads one with `#[sqlx(try_from = "Hyphenated")]`, or
/// with `#[sqlx(try_from = "NullableUuid")]` when it may be NULL.
#[derive(Debug, sqlx::Type)]
#[sqlx(transparent)]
pub struct NullableUuid(Option<Hyphenated>);

impl From<NullableUuid> for Option<Uuid> {
    fn from(v: NullableUuid) -> Option<Uuid> {
        v.0.map(Uuid::from)
    }
}

/// Is this a unique-constraint violation?
pub fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.is_unique_violation())
}
