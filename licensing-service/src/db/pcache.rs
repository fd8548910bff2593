//! SQLite's own page cache (`pcache1`), behind a thin layer that skips the
//! truncations that have nothing to drop.
//!
//! Why (read in SQLite 3.46.0's amalgamation, the one libsqlite3-sys 0.30
//! bundles): at the end of every write transaction the pager asks the cache
//! to drop the pages past the database's end (`xTruncate`). `pcache1` keeps
//! the largest page number it has held since the last truncation, and when
//! that lies far past the end it walks its whole hash table, every page
//! header a cache miss. A b-tree balance that puts sibling pages in order
//! swaps two pages' numbers through the lock-byte page's number
//! (`PENDING_BYTE / page_size + 1`, a page SQLite never stores), so after
//! nearly every commit that split a randomly written index, the next
//! truncation walked the whole cache: the larger the cache, the slower every
//! such commit (stop 39 measured a quarter fewer seat groups a second with a
//! 128 MB cache), which is why the writer kept the 2 MB default and read the
//! seat index and the licenses from the operating system's cache instead.
//!
//! This layer keeps its own bound on the page numbers the cache may hold: the
//! largest a page was created at or renamed to, except that lock-byte number,
//! which a balance holds a page at only between two renamings, never across a
//! truncation. A truncation below that bound goes to `pcache1` as before;
//! above it, no page can be dropped and nothing is asked. Everything else is
//! passed to `pcache1` unchanged.

use std::ffi::{c_int, c_uint, c_void};
use std::ptr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

use libsqlite3_sys as ffi;

/// SQLite's `PENDING_BYTE`: its default, moved only through `sqlite3_test_control`, which nothing here calls.
const PENDING_BYTE: c_uint = 0x4000_0000;

/// `pcache1`'s methods, as SQLite answered before ours were installed.
struct Inner(ffi::sqlite3_pcache_methods2);
// SAFETY: function pointers and `pcache1`'s argument (null), read-only once set.
unsafe impl Send for Inner {}
unsafe impl Sync for Inner {}

static INNER: OnceLock<Inner> = OnceLock::new();
/// Truncations passed to `pcache1`; and those skipped right after a page was
/// parked, where `pcache1` would have walked its whole table.
static PASSED: AtomicU64 = AtomicU64::new(0);
static WALKS_SAVED: AtomicU64 = AtomicU64::new(0);

/// One cache: `pcache1`'s, and the bound on the page numbers it may hold.
struct Cache {
    inner: *mut ffi::sqlite3_pcache,
    /// No page in the cache has a larger number.
    max_key: c_uint,
    /// The lock-byte page's number for this page size.
    parked: c_uint,
    /// A page was parked at it since the last truncation.
    was_parked: bool,
}

fn inner() -> &'static ffi::sqlite3_pcache_methods2 {
    // SAFETY: SQLite calls our methods only once `install` set them, after `INNER`.
    unsafe { &INNER.get().unwrap_unchecked().0 }
}

/// One of `pcache1`'s methods that `install` found present (so it took its
/// place), called inside an `unsafe` block whose safety this is part of.
macro_rules! method {
    ($name:ident) => {
        inner().$name.unwrap_unchecked()
    };
}

/// # Safety
/// `p` is a cache [`x_create`] made and [`x_destroy`] has not freed; SQLite
/// calls a cache's methods from one connection at a time.
unsafe fn cache<'a>(p: *mut ffi::sqlite3_pcache) -> &'a mut Cache {
    unsafe { &mut *p.cast::<Cache>() }
}

unsafe extern "C" fn x_init(_: *mut c_void) -> c_int {
    match inner().xInit {
        Some(f) => unsafe { f(inner().pArg) },
        None => ffi::SQLITE_OK,
    }
}

unsafe extern "C" fn x_shutdown(_: *mut c_void) {
    if let Some(f) = inner().xShutdown {
        unsafe { f(inner().pArg) }
    }
}

unsafe extern "C" fn x_create(sz_page: c_int, sz_extra: c_int, purgeable: c_int) -> *mut ffi::sqlite3_pcache {
    let made = unsafe { method!(xCreate)(sz_page, sz_extra, purgeable) };
    if made.is_null() {
        return ptr::null_mut();
    }
    let parked = PENDING_BYTE / c_uint::try_from(sz_page.max(1)).unwrap_or(1) + 1;
    Box::into_raw(Box::new(Cache { inner: made, max_key: 0, parked, was_parked: false })).cast()
}

unsafe extern "C" fn x_cachesize(p: *mut ffi::sqlite3_pcache, n: c_int) {
    unsafe { method!(xCachesize)(cache(p).inner, n) }
}

unsafe extern "C" fn x_pagecount(p: *mut ffi::sqlite3_pcache) -> c_int {
    unsafe { method!(xPagecount)(cache(p).inner) }
}

unsafe extern "C" fn x_fetch(p: *mut ffi::sqlite3_pcache, key: c_uint, create: c_int) -> *mut ffi::sqlite3_pcache_page {
    let c = unsafe { cache(p) };
    let page = unsafe { method!(xFetch)(c.inner, key, create) };
    // Only a fetch that may create can add a page (counting one it found is harmless).
    if create != 0 && !page.is_null() && key > c.max_key {
        c.max_key = key;
    }
    page
}

unsafe extern "C" fn x_unpin(p: *mut ffi::sqlite3_pcache, page: *mut ffi::sqlite3_pcache_page, discard: c_int) {
    unsafe { method!(xUnpin)(cache(p).inner, page, discard) }
}

unsafe extern "C" fn x_rekey(
    p: *mut ffi::sqlite3_pcache,
    page: *mut ffi::sqlite3_pcache_page,
    old: c_uint,
    new: c_uint,
) {
    let c = unsafe { cache(p) };
    unsafe { method!(xRekey)(c.inner, page, old, new) };
    if new == c.parked {
        c.was_parked = true;
    } else if new > c.max_key {
        c.max_key = new;
    }
}

unsafe extern "C" fn x_truncate(p: *mut ffi::sqlite3_pcache, limit: c_uint) {
    let c = unsafe { cache(p) };
    if limit <= c.max_key {
        PASSED.fetch_add(1, Ordering::Relaxed);
        unsafe { method!(xTruncate)(c.inner, limit) };
        c.max_key = limit.saturating_sub(1);
    } else if c.was_parked {
        WALKS_SAVED.fetch_add(1, Ordering::Relaxed);
    }
    c.was_parked = false;
}

unsafe extern "C" fn x_destroy(p: *mut ffi::sqlite3_pcache) {
    let c = unsafe { Box::from_raw(p.cast::<Cache>()) };
    unsafe { method!(xDestroy)(c.inner) }
}

unsafe extern "C" fn x_shrink(p: *mut ffi::sqlite3_pcache) {
    if let Some(f) = inner().xShrink {
        unsafe { f(cache(p).inner) }
    }
}

/// Puts the layer in front of `pcache1`, once per process and before SQLite
/// starts (its configuration is fixed from the first connection on); true
/// when it is in place (false when SQLite had started: `pcache1` then runs
/// alone, which `Db::open` warns of). Later calls answer what the first did.
pub fn install() -> bool {
    static INSTALLED: OnceLock<bool> = OnceLock::new();
    *INSTALLED.get_or_init(|| {
        let mut methods = std::mem::MaybeUninit::<ffi::sqlite3_pcache_methods2>::zeroed();
        // SAFETY: before any connection (the first caller of `install` is
        // `main`, or `Db::open` in a test process); SQLite copies the struct.
        let got = unsafe { ffi::sqlite3_config(ffi::SQLITE_CONFIG_GETPCACHE2, methods.as_mut_ptr()) };
        let methods = unsafe { methods.assume_init() };
        // Every method the layer calls unchecked (`method!`) is there.
        let m = &methods;
        let present = [
            m.xCreate.is_some(),
            m.xCachesize.is_some(),
            m.xPagecount.is_some(),
            m.xFetch.is_some(),
            m.xUnpin.is_some(),
            m.xRekey.is_some(),
            m.xTruncate.is_some(),
            m.xDestroy.is_some(),
        ];
        let ok = got == ffi::SQLITE_OK
            && present.iter().all(|p| *p)
            && INNER.set(Inner(methods)).is_ok()
            && unsafe {
                ffi::sqlite3_config(ffi::SQLITE_CONFIG_PCACHE2, &ours() as *const ffi::sqlite3_pcache_methods2)
            } == ffi::SQLITE_OK;
        ok
    })
}

fn ours() -> ffi::sqlite3_pcache_methods2 {
    ffi::sqlite3_pcache_methods2 {
        iVersion: inner().iVersion,
        pArg: ptr::null_mut(),
        xInit: Some(x_init),
        xShutdown: Some(x_shutdown),
        xCreate: Some(x_create),
        xCachesize: Some(x_cachesize),
        xPagecount: Some(x_pagecount),
        xFetch: Some(x_fetch),
        xUnpin: Some(x_unpin),
        xRekey: Some(x_rekey),
        xTruncate: Some(x_truncate),
        xDestroy: Some(x_destroy),
        xShrink: Some(x_shrink),
    }
}

/// In this process so far: the truncations passed to `pcache1`, and those
/// skipped where `pcache1` would have walked its whole table.
pub fn truncations() -> (u64, u64) {
    (PASSED.load(Ordering::Relaxed), WALKS_SAVED.load(Ordering::Relaxed))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::Db;

    async fn table(db: &Db) {
        sqlx::query("CREATE TABLE t (k BLOB NOT NULL, v TEXT NOT NULL)").execute(&db.write).await.unwrap();
        sqlx::query("CREATE INDEX t_k ON t (k)").execute(&db.write).await.unwrap();
    }

    /// `rows` rows in one transaction, each keyed at random (so the index
    /// splits pages out of order) with `size` bytes of text; rolled back
    /// unless `commit`.
    async fn insert(db: &Db, rows: i64, size: i64, commit: bool) {
        let mut tx = db.begin().await.unwrap();
        sqlx::query(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?1) \
             INSERT INTO t (k, v) SELECT randomblob(16), printf('%.*c', ?2, 'x') FROM n",
        )
        .bind(rows)
        .bind(size)
        .execute(&mut *tx)
        .await
        .unwrap();
        if commit {
            tx.commit().await.unwrap();
        } else {
            tx.rollback().await.unwrap();
        }
    }

    async fn check(db: &Db, rows: i64, bytes: i64) {
        let ok: String = sqlx::query_scalar("PRAGMA integrity_check").fetch_one(&db.write).await.unwrap();
        assert_eq!(ok, "ok");
        let (n, total): (i64, i64) =
            sqlx::query_as("SELECT count(*), coalesce(sum(length(v)), 0) FROM t").fetch_one(&db.read).await.unwrap();
        assert_eq!((n, total), (rows, bytes));
    }

    /// Commits that split a randomly written index park pages at the
    /// lock-byte page's number; the truncation after each asks `pcache1` for
    /// nothing (it would have walked its whole table), and the data is whole.
    #[tokio::test]
    async fn commits_that_split_a_random_index_do_not_walk_the_cache() {
        let (_dir, db) = crate::db::tests::open().await;
        assert!(install(), "the layer is in place before the first connection");
        table(&db).await;
        let (_, saved) = truncations();
        for _ in 0..200 {
            insert(&db, 50, 20, true).await;
        }
        assert!(truncations().1 > saved, "some commits parked a page and skipped the walk");
        check(&db, 200 * 50, 200 * 50 * 20).await;
    }

    /// A rolled-back transaction that grew the file leaves pages past the
    /// database's end in the cache: those are dropped (the truncation goes to
    /// `pcache1`), so the next growth writes fresh pages, not stale ones.
    #[tokio::test]
    async fn a_rolled_back_growth_is_dropped_from_the_cache() {
        let (_dir, db) = crate::db::tests::open().await;
        table(&db).await;
        insert(&db, 100, 10, true).await;
        let (passed, _) = truncations();
        insert(&db, 3000, 300, false).await;
        assert!(truncations().0 > passed, "the rollback's truncation reached pcache1");
        check(&db, 100, 1000).await;
        insert(&db, 3000, 200, true).await;
        check(&db, 3100, 1000 + 3000 * 200).await;
    }

    /// A database that shrinks (`VACUUM` after a delete) has the pages past
    /// its new end dropped from the cache, so what grows it again is fresh.
    #[tokio::test]
    async fn a_database_that_shrinks_drops_its_tail_from_the_cache() {
        let (_dir, db) = crate::db::tests::open().await;
        table(&db).await;
        insert(&db, 3000, 300, true).await;
        sqlx::query("DELETE FROM t").execute(&db.write).await.unwrap();
        let (passed, _) = truncations();
        sqlx::query("VACUUM").execute(&db.write).await.unwrap();
        assert!(truncations().0 > passed, "the shrink's truncation reached pcache1");
        check(&db, 0, 0).await;
        insert(&db, 2000, 100, true).await;
        check(&db, 2000, 2000 * 100).await;
    }
}
