//! SQLite's memory from mimalloc, the daemon's own allocator, instead of the
//! C library's `malloc` (SQLite's default, `mem1.c`).
//!
//! The Rust heap is mimalloc's (`main.rs`), but SQLite, compiled C, called
//! `malloc`: glibc's in a build for this machine, musl's in the static
//! binary that ships (mimalloc does not replace `malloc` there). musl's
//! allocator is the slow one under threads that `main.rs` avoids for Rust,
//! and SQLite allocates on every statement (values bound and read, the
//! statement journal, pages its page cache holds). Through this, SQLite's
//! allocations are mimalloc's like the rest, on either C library.
//!
//! SQLite asks for 8-byte alignment (mimalloc gives 16) and for the size of
//! an allocation (`mi_usable_size`, at least what was asked). Installed once
//! per process before SQLite starts, like the page cache layer (`pcache.rs`).

use std::ffi::{c_int, c_void};
use std::sync::OnceLock;

use libmimalloc_sys::{mi_free, mi_malloc, mi_realloc, mi_usable_size};
use libsqlite3_sys as ffi;

unsafe extern "C" fn x_malloc(n: c_int) -> *mut c_void {
    // SAFETY: SQLite asks for a positive size (`sqlite3Malloc` answers a
    // request of 0 or past its limit itself); null tells it of a failure.
    unsafe { mi_malloc(usize::try_from(n).unwrap_or(0)) }
}

unsafe extern "C" fn x_free(p: *mut c_void) {
    // SAFETY: `p` came from `x_malloc` or `x_realloc` (or is null).
    unsafe { mi_free(p) }
}

unsafe extern "C" fn x_realloc(p: *mut c_void, n: c_int) -> *mut c_void {
    // SAFETY: as `x_malloc` and `x_free`; on failure `p` stays SQLite's.
    unsafe { mi_realloc(p, usize::try_from(n).unwrap_or(0)) }
}

unsafe extern "C" fn x_size(p: *mut c_void) -> c_int {
    // SAFETY: `p` is one of ours or null (0); SQLite's allocations stay far
    // below 2 GiB (its own limit), so the size fits.
    c_int::try_from(unsafe { mi_usable_size(p) }).unwrap_or(c_int::MAX)
}

extern "C" fn x_roundup(n: c_int) -> c_int {
    // What SQLite's own `mem1.c` answers: the size rounded up to 8.
    n.saturating_add(7) & !7
}

extern "C" fn x_init(_: *mut c_void) -> c_int {
    ffi::SQLITE_OK
}

extern "C" fn x_shutdown(_: *mut c_void) {}

/// Gives SQLite mimalloc's allocator, once per process and before SQLite
/// starts (its configuration is fixed from the first connection on); true
/// when it is in place. Later calls answer what the first did.
pub fn install() -> bool {
    static INSTALLED: OnceLock<bool> = OnceLock::new();
    *INSTALLED.get_or_init(|| {
        let methods = ffi::sqlite3_mem_methods {
            xMalloc: Some(x_malloc),
            xFree: Some(x_free),
            xRealloc: Some(x_realloc),
            xSize: Some(x_size),
            xRoundup: Some(x_roundup),
            xInit: Some(x_init),
            xShutdown: Some(x_shutdown),
            pAppData: std::ptr::null_mut(),
        };
        // SAFETY: before any connection (the first caller is `main`, or
        // `Db::open` in a test process); SQLite copies the struct.
        let done =
            unsafe { ffi::sqlite3_config(ffi::SQLITE_CONFIG_MALLOC, &methods as *const ffi::sqlite3_mem_methods) };
        done == ffi::SQLITE_OK
    })
}

#[cfg(test)]
mod tests {
    use libmimalloc_sys::mi_is_in_heap_region;
    use libsqlite3_sys as ffi;

    /// Once a database is open, what SQLite allocates is mimalloc's (and
    /// the check tells: the C library's `malloc` is not).
    #[tokio::test]
    async fn sqlite_allocates_from_mimalloc() {
        let (_dir, _db) = crate::db::tests::open().await;
        assert!(super::install());
        // SAFETY: SQLite's allocator is set up (a database is open); each
        // pointer is freed by the allocator it came from.
        unsafe {
            let ours = ffi::sqlite3_malloc(100);
            assert!(!ours.is_null());
            assert!(mi_is_in_heap_region(ours), "SQLite's allocation is mimalloc's");
            assert!(ffi::sqlite3_msize(ours) >= 100);
            let ours = ffi::sqlite3_realloc(ours, 10_000);
            assert!(mi_is_in_heap_region(ours) && ffi::sqlite3_msize(ours) >= 10_000);
            ffi::sqlite3_free(ours);
            let theirs = libc::malloc(100);
            assert!(!mi_is_in_heap_region(theirs), "the check tells the C library's allocations apart");
            libc::free(theirs);
        }
    }
}
