//! WAL frames written to the file in one system call each, not two.
//!
//! Why (read in SQLite 3.46.0's amalgamation, the one libsqlite3-sys 0.30
//! bundles: `walWriteOneFrame`): SQLite writes each frame of the WAL as two
//! writes, its 24-byte header and then, right after it, the page. The kernel
//! takes each write through the file system's whole buffered-write path
//! (ext4: a `write_begin`/`write_end` on every page of the file it lands
//! in), so a header cost nearly what its page did, and the writer's commits
//! are most of what a seat take costs (`bench/scale`'s cold walk: about two
//! frames a seat).
//!
//! This VFS is the platform's default one (`unix`) with one change: a WAL
//! file's 24-byte write that continues a run of writes (a new frame's
//! header, right after the WAL's header or the frame before) is held back
//! until the next call on that file. If that call is the write that
//! continues it (the frame's page), both go to the file as one write; any
//! other call (a read, a write elsewhere, a sync, its size, a lock, closing
//! it) first writes what is held. So nothing is held when a commit returns:
//! each new frame's page follows its header within the commit, and the one
//! place SQLite writes a header alone, rewriting the checksums of frames a
//! large transaction wrote twice (`walRewriteChecksums`, the commit's last
//! write), comes after a read, so it is written at once (a crash right after
//! such a commit would otherwise have lost it: a test holds that it does
//! not). Readers take a frame's page, never its header, and only once the
//! commit is in the WAL index. Every other file is the default VFS's own,
//! untouched.

use std::ffi::{c_char, c_int, c_void};
use std::ptr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

use libsqlite3_sys as ffi;

/// A WAL frame's header (`WAL_FRAME_HDRSIZE`).
const HEADER: usize = 24;

/// The default VFS as it was before ours took its place.
struct Real(*mut ffi::sqlite3_vfs);
// SAFETY: SQLite's VFS objects are never freed and are safe to call from any thread.
unsafe impl Send for Real {}
unsafe impl Sync for Real {}

static REAL: OnceLock<Real> = OnceLock::new();
/// Frames written in one system call (header and page together).
static JOINED: AtomicU64 = AtomicU64::new(0);

/// An open WAL file: ours in front, the default VFS's behind it, at [`REAL_AT`].
#[repr(C)]
struct WalFile {
    base: ffi::sqlite3_file,
    real: *mut ffi::sqlite3_file,
    /// Where the held header goes; negative when none is held.
    held_at: i64,
    /// Where the last call, a write, ended; negative after any other call.
    next_at: i64,
    held: [u8; HEADER],
    /// A header and its page, joined.
    joined: Vec<u8>,
}

/// Where the default VFS's file object starts inside ours (8-byte aligned).
const REAL_AT: usize = std::mem::size_of::<WalFile>().next_multiple_of(8);

static METHODS: ffi::sqlite3_io_methods = ffi::sqlite3_io_methods {
    // Version 1: a WAL file is never mapped in memory and its locks are the
    // database file's (SQLite asks those of the database file only).
    iVersion: 1,
    xClose: Some(x_close),
    xRead: Some(x_read),
    xWrite: Some(x_write),
    xTruncate: Some(x_truncate),
    xSync: Some(x_sync),
    xFileSize: Some(x_file_size),
    xLock: Some(x_lock),
    xUnlock: Some(x_unlock),
    xCheckReservedLock: Some(x_check_reserved_lock),
    xFileControl: Some(x_file_control),
    xSectorSize: Some(x_sector_size),
    xDeviceCharacteristics: Some(x_device_characteristics),
    xShmMap: None,
    xShmLock: None,
    xShmBarrier: None,
    xShmUnmap: None,
    xFetch: None,
    xUnfetch: None,
};

/// # Safety
/// `f` is a file [`x_open`] opened as a WAL file and not yet closed; SQLite
/// calls a file's methods from one connection at a time.
unsafe fn wal<'a>(f: *mut ffi::sqlite3_file) -> &'a mut WalFile {
    unsafe { &mut *f.cast::<WalFile>() }
}

impl WalFile {
    /// The default VFS's methods for this file.
    fn methods(&self) -> &ffi::sqlite3_io_methods {
        // SAFETY: set by the default VFS's successful open, never changed.
        unsafe { &*(*self.real).pMethods }
    }

    fn write(&self, data: *const c_void, amount: usize, at: i64) -> c_int {
        match self.methods().xWrite {
            // SAFETY: `data` holds `amount` bytes (SQLite's buffer or ours).
            Some(write) => unsafe { write(self.real, data, amount as c_int, at) },
            None => ffi::SQLITE_IOERR_WRITE,
        }
    }

    /// Writes what is held, if anything; the next write is not taken to continue a run.
    fn flush(&mut self) -> c_int {
        self.next_at = -1;
        if self.held_at < 0 {
            return ffi::SQLITE_OK;
        }
        let at = std::mem::replace(&mut self.held_at, -1);
        self.write(self.held.as_ptr().cast(), HEADER, at)
    }

    /// Writes `amount` bytes at `at`, remembering where a run of writes got to.
    fn write_on(&mut self, data: *const c_void, amount: usize, at: i64) -> c_int {
        let rc = self.write(data, amount, at);
        self.next_at = if rc == ffi::SQLITE_OK { at + amount as i64 } else { -1 };
        rc
    }
}

unsafe extern "C" fn x_open(
    _: *mut ffi::sqlite3_vfs,
    name: *const c_char,
    file: *mut ffi::sqlite3_file,
    flags: c_int,
    out_flags: *mut c_int,
) -> c_int {
    let Some(real) = REAL.get().map(|r| r.0) else { return ffi::SQLITE_ERROR };
    // SAFETY: the default VFS, registered and never freed.
    let Some(open) = (unsafe { (*real).xOpen }) else { return ffi::SQLITE_ERROR };
    if flags & ffi::SQLITE_OPEN_WAL == 0 {
        // Any other file is the default VFS's alone (ours is as large or larger).
        return unsafe { open(real, name, file, flags, out_flags) };
    }
    // SAFETY: SQLite gave `szOsFile` bytes, which leave room for the default
    // VFS's file object at `REAL_AT`.
    let inner = unsafe { file.cast::<u8>().add(REAL_AT).cast::<ffi::sqlite3_file>() };
    let rc = unsafe { open(real, name, inner, flags, out_flags) };
    if rc != ffi::SQLITE_OK {
        // The default VFS leaves its object closed (no methods) when it fails.
        unsafe { (*file).pMethods = ptr::null() };
        return rc;
    }
    let ours = WalFile {
        base: ffi::sqlite3_file { pMethods: &METHODS },
        real: inner,
        held_at: -1,
        next_at: -1,
        held: [0; HEADER],
        joined: Vec::new(),
    };
    // SAFETY: the bytes before `REAL_AT` are ours, uninitialised as far as Rust is concerned.
    unsafe { ptr::write(file.cast::<WalFile>(), ours) };
    ffi::SQLITE_OK
}

unsafe extern "C" fn x_close(f: *mut ffi::sqlite3_file) -> c_int {
    let w = unsafe { wal(f) };
    let flushed = w.flush();
    let closed = match w.methods().xClose {
        Some(close) => unsafe { close(w.real) },
        None => ffi::SQLITE_OK,
    };
    // SAFETY: written by `x_open`; SQLite frees the memory after this returns.
    unsafe { ptr::drop_in_place(&mut w.joined) };
    if flushed != ffi::SQLITE_OK {
        flushed
    } else {
        closed
    }
}

unsafe extern "C" fn x_write(f: *mut ffi::sqlite3_file, data: *const c_void, amount: c_int, at: i64) -> c_int {
    let w = unsafe { wal(f) };
    let len = usize::try_from(amount).unwrap_or(0);
    if w.held_at >= 0 {
        if at == w.held_at + HEADER as i64 {
            let start = std::mem::replace(&mut w.held_at, -1);
            // SAFETY: SQLite's buffer holds `amount` bytes.
            let page = unsafe { std::slice::from_raw_parts(data.cast::<u8>(), len) };
            w.joined.clear();
            w.joined.extend_from_slice(&w.held);
            w.joined.extend_from_slice(page);
            JOINED.fetch_add(1, Ordering::Relaxed);
            let (data, len) = (w.joined.as_ptr().cast(), w.joined.len());
            return w.write_on(data, len, start);
        }
        let rc = w.flush();
        if rc != ffi::SQLITE_OK {
            return rc;
        }
    }
    // Only a header that continues a run of writes, as a new frame's does (the
    // WAL's header or the frame before it just written). One written after a
    // read (SQLite rewriting the checksums of a commit's frames, ending with a
    // header alone) goes at once: nothing may be held when a commit returns.
    if len == HEADER && at == w.next_at {
        // SAFETY: SQLite's buffer holds the header's 24 bytes.
        w.held.copy_from_slice(unsafe { std::slice::from_raw_parts(data.cast::<u8>(), HEADER) });
        w.held_at = at;
        return ffi::SQLITE_OK;
    }
    w.write_on(data, len, at)
}

/// The rest: what is held is written first, then the default VFS answers.
macro_rules! after_flush {
    ($name:ident, $method:ident ( $($arg:ident : $ty:ty),* )) => {
        unsafe extern "C" fn $name(f: *mut ffi::sqlite3_file $(, $arg: $ty)*) -> c_int {
            let w = unsafe { wal(f) };
            let rc = w.flush();
            if rc != ffi::SQLITE_OK {
                return rc;
            }
            match w.methods().$method {
                Some(m) => unsafe { m(w.real $(, $arg)*) },
                None => ffi::SQLITE_NOTFOUND,
            }
        }
    };
}

after_flush!(x_read, xRead(data: *mut c_void, amount: c_int, at: i64));
after_flush!(x_truncate, xTruncate(size: i64));
after_flush!(x_sync, xSync(flags: c_int));
after_flush!(x_file_size, xFileSize(size: *mut i64));
after_flush!(x_lock, xLock(level: c_int));
after_flush!(x_unlock, xUnlock(level: c_int));
after_flush!(x_check_reserved_lock, xCheckReservedLock(out: *mut c_int));
after_flush!(x_file_control, xFileControl(op: c_int, arg: *mut c_void));

/// A property of the file, not of its contents: nothing to write first.
macro_rules! property {
    ($name:ident, $method:ident, $default:expr) => {
        unsafe extern "C" fn $name(f: *mut ffi::sqlite3_file) -> c_int {
            let w = unsafe { wal(f) };
            match w.methods().$method {
                Some(m) => unsafe { m(w.real) },
                None => $default,
            }
        }
    };
}

property!(x_sector_size, xSectorSize, 4096);
property!(x_device_characteristics, xDeviceCharacteristics, 0);

/// Makes this VFS SQLite's default, once per process; true when it is (else
/// frames are written as two writes each, which `Db::open` warns of).
/// Connections opened before keep the VFS they opened with.
pub fn install() -> bool {
    static INSTALLED: OnceLock<bool> = OnceLock::new();
    *INSTALLED.get_or_init(|| {
        // SAFETY: `sqlite3_vfs_find` initialises SQLite if needed and returns
        // a registered VFS, which lives as long as the process.
        let real = unsafe { ffi::sqlite3_vfs_find(ptr::null()) };
        if real.is_null() || REAL.set(Real(real)).is_err() {
            return false;
        }
        // The default VFS's own methods, but opening through ours (those
        // that remain take `pAppData`, copied with them, not the VFS's address).
        let mut vfs = unsafe { *real };
        vfs.szOsFile = (REAL_AT + usize::try_from(vfs.szOsFile).unwrap_or(0)) as c_int;
        vfs.pNext = ptr::null_mut();
        vfs.zName = c"keysat-unix".as_ptr();
        vfs.xOpen = Some(x_open);
        // SAFETY: SQLite links the object into its list, so it is never freed.
        (unsafe { ffi::sqlite3_vfs_register(Box::leak(Box::new(vfs)), 1) }) == ffi::SQLITE_OK
    })
}

/// Frames written so far in one system call, in this process.
pub fn joined() -> u64 {
    JOINED.load(Ordering::Relaxed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
    use sqlx::{ConnectOptions, Connection};
    use std::ffi::CString;

    /// A WAL file opened through the default VFS (ours once installed), with its path.
    struct Opened {
        mem: Vec<u64>,
        path: std::path::PathBuf,
        _dir: tempfile::TempDir,
    }

    impl Opened {
        fn new() -> Opened {
            assert!(install(), "the VFS is SQLite's default");
            let dir = tempfile::tempdir().unwrap();
            // The default VFS gives a WAL file its database file's permissions.
            std::fs::write(dir.path().join("t.db"), b"").unwrap();
            let path = dir.path().join("t.db-wal");
            let vfs = unsafe { ffi::sqlite3_vfs_find(ptr::null()) };
            let size = usize::try_from(unsafe { (*vfs).szOsFile }).unwrap();
            let mut f = Opened { mem: vec![0; size.div_ceil(8)], path, _dir: dir };
            let name = CString::new(f.path.to_str().unwrap()).unwrap();
            let flags = ffi::SQLITE_OPEN_WAL | ffi::SQLITE_OPEN_READWRITE | ffi::SQLITE_OPEN_CREATE;
            let mut out = 0;
            // SQLite keeps the name for as long as the file is open: leaked here.
            let rc = unsafe { (*vfs).xOpen.unwrap()(vfs, name.into_raw(), f.file(), flags, &mut out) };
            assert_eq!(rc, ffi::SQLITE_OK);
            assert!(ptr::eq(unsafe { (*f.file()).pMethods }, &METHODS), "a WAL file is ours");
            f
        }

        fn file(&mut self) -> *mut ffi::sqlite3_file {
            self.mem.as_mut_ptr().cast()
        }

        fn methods(&mut self) -> &'static ffi::sqlite3_io_methods {
            unsafe { &*(*self.file()).pMethods }
        }

        fn write(&mut self, data: &[u8], at: i64) {
            let rc =
                unsafe { self.methods().xWrite.unwrap()(self.file(), data.as_ptr().cast(), data.len() as c_int, at) };
            assert_eq!(rc, ffi::SQLITE_OK);
        }

        fn read(&mut self, len: usize, at: i64) -> Vec<u8> {
            let mut buf = vec![0u8; len];
            let rc = unsafe { self.methods().xRead.unwrap()(self.file(), buf.as_mut_ptr().cast(), len as c_int, at) };
            assert_eq!(rc, ffi::SQLITE_OK);
            buf
        }

        fn size(&mut self) -> i64 {
            let mut size = 0;
            assert_eq!(unsafe { self.methods().xFileSize.unwrap()(self.file(), &mut size) }, ffi::SQLITE_OK);
            size
        }

        fn close(mut self) -> Vec<u8> {
            assert_eq!(unsafe { self.methods().xClose.unwrap()(self.file()) }, ffi::SQLITE_OK);
            std::fs::read(&self.path).unwrap()
        }
    }

    /// A header that continues a run of writes (a new frame's) is held until
    /// its page comes, and the two go as one write; it reaches the file first
    /// if anything else comes instead (here a read, a size, closing). A header
    /// written after a read (a checksum rewritten at a commit's end) is never held.
    #[test]
    fn a_held_header_is_written_before_anything_that_could_miss_it() {
        let mut f = Opened::new();
        let on_disk = |path: &std::path::Path, at: usize, len: usize| {
            std::fs::read(path).unwrap().get(at..at + len).map(<[u8]>::to_vec)
        };
        f.write(&[1; 32], 0);
        f.write(&[2; HEADER], 32);
        assert_eq!(on_disk(&f.path, 32, HEADER), None, "held after the WAL's header");
        assert_eq!(f.read(HEADER, 32), [2; HEADER], "read back before its page came");
        f.write(&[3; HEADER], 100);
        assert_eq!(on_disk(&f.path, 100, HEADER), Some(vec![3; HEADER]), "after a read: written at once");
        f.write(&[4; 4096], 124);
        let before = joined();
        f.write(&[5; HEADER], 4220);
        f.write(&[6; 4096], 4244);
        assert!(joined() > before, "a header and its page go as one write");
        assert_eq!(on_disk(&f.path, 4220, HEADER + 4096), Some([[5; HEADER].as_slice(), &[6; 4096]].concat()));
        f.write(&[7; HEADER], 8340);
        assert_eq!(f.size(), 8364, "its size counts the held header");
        assert_eq!(f.read(HEADER + 4096, 4220)[..HEADER], [5; HEADER]);
        f.write(&[8; HEADER], 4220);
        assert_eq!(on_disk(&f.path, 4220, HEADER), Some(vec![8; HEADER]), "a rewritten checksum: at once");
        f.write(&[9; 4096], 8364);
        f.write(&[10; HEADER], 12460);
        let bytes = f.close();
        assert_eq!(bytes.len(), 12484, "closing wrote the last header");
        assert!(bytes[..32].iter().all(|b| *b == 1) && bytes[32..56].iter().all(|b| *b == 2));
        assert!(bytes[8340..8364].iter().all(|b| *b == 7) && bytes[12460..].iter().all(|b| *b == 10));
    }

    /// The WAL on disk holds every committed frame whole: a copy of the
    /// database and its WAL taken while the writer is still open (as a crash
    /// would leave them, nothing checkpointed) recovers every commit, one
    /// whose checksums were rewritten at its end included.
    #[tokio::test]
    async fn a_crash_copy_of_the_wal_recovers_every_commit() {
        assert!(install());
        let dir = tempfile::tempdir().unwrap();
        let opts = |path: &std::path::Path| {
            SqliteConnectOptions::new()
                .filename(path)
                .create_if_missing(true)
                .page_size(crate::db::PAGE_SIZE)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .pragma("wal_autocheckpoint", "0")
        };
        let path = dir.path().join("keysat.db");
        let mut conn = opts(&path).connect().await.unwrap();
        sqlx::query("CREATE TABLE t (k BLOB NOT NULL, v TEXT NOT NULL)").execute(&mut conn).await.unwrap();
        sqlx::query("CREATE INDEX t_k ON t (k)").execute(&mut conn).await.unwrap();
        let before = joined();
        for i in 0..100 {
            let mut tx = conn.begin().await.unwrap();
            sqlx::query(
                "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 40) \
                 INSERT INTO t (k, v) SELECT randomblob(16), printf('%d-%.*c', ?1, 30, 'x') FROM n",
            )
            .bind(i)
            .execute(&mut *tx)
            .await
            .unwrap();
            tx.commit().await.unwrap();
        }
        assert!(joined() >= before + 100, "every commit's frames went as one write each");
        // A transaction larger than the page cache writes frames before its
        // commit and writes some of them again in place; its commit then
        // rewrites their headers' checksums, ending with a header alone.
        sqlx::query("PRAGMA cache_size = 10").execute(&mut conn).await.unwrap();
        sqlx::query(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3000) \
             INSERT INTO t (k, v) SELECT randomblob(16), printf('100-%.*c', 30, 'x') FROM n",
        )
        .execute(&mut conn)
        .await
        .unwrap();
        let copy = tempfile::tempdir().unwrap();
        for name in ["keysat.db", "keysat.db-wal"] {
            std::fs::copy(dir.path().join(name), copy.path().join(name)).unwrap();
        }
        let wal = std::fs::metadata(copy.path().join("keysat.db-wal")).unwrap().len();
        assert_eq!((wal - 32) % (24 + u64::from(crate::db::PAGE_SIZE)), 0, "whole frames after the WAL's header");
        let mut recovered = opts(&copy.path().join("keysat.db")).connect().await.unwrap();
        let ok: String = sqlx::query_scalar("PRAGMA integrity_check").fetch_one(&mut recovered).await.unwrap();
        assert_eq!(ok, "ok");
        let (rows, last): (i64, i64) =
            sqlx::query_as("SELECT count(*), max(CAST(v AS INTEGER)) FROM t").fetch_one(&mut recovered).await.unwrap();
        assert_eq!((rows, last), (100 * 40 + 3000, 100), "every commit recovered from the WAL");
        conn.close().await.unwrap();
    }
}
