//! `keysat snapshot`: a consistent copy of the database, taken with
//! `VACUUM INTO` inside one read transaction, so it is safe while the daemon
//! runs (WAL: the copy sees the last committed state and never blocks the
//! writer). Backups (the StartOS package's pre-backup step) copy this file
//! instead of the live `keysat.db` and its WAL.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use anyhow::{bail, Context};
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, Connection};

/// What a snapshot produced.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub path: PathBuf,
    pub bytes: u64,
}

/// Writes a consistent copy of `<data_dir>/keysat.db` to `dest`.
///
/// The copy is written to `<dest>.partial`, checked with `PRAGMA integrity_check`,
/// flushed and only then renamed over `dest`, so `dest` is either the previous
/// snapshot or a complete new one, never half of one.
pub async fn write_snapshot(data_dir: &Path, dest: &Path) -> anyhow::Result<Snapshot> {
    let source = data_dir.join("keysat.db");
    if !source.is_file() {
        bail!("no database at {} (is KEYSAT_DATA_DIR right?)", source.display());
    }
    let dest = absolute(dest)?;
    if dest == absolute(&source)? {
        bail!("the snapshot must not overwrite the live database {}", source.display());
    }
    let parent = dest.parent().context("the snapshot path has no directory")?;
    std::fs::create_dir_all(parent).with_context(|| format!("cannot create {}", parent.display()))?;
    let partial = PathBuf::from(format!("{}.partial", dest.display()));
    remove_if_present(&partial)?;

    let result = copy_into(&source, &partial).await;
    if let Err(e) = result {
        let _ = std::fs::remove_file(&partial);
        return Err(e);
    }
    std::fs::File::open(&partial)
        .and_then(|f| f.sync_all())
        .with_context(|| format!("cannot flush {}", partial.display()))?;
    std::fs::rename(&partial, &dest)
        .with_context(|| format!("cannot move {} to {}", partial.display(), dest.display()))?;
    // The rename is durable once the directory entry is on disk.
    if let Ok(dir) = std::fs::File::open(parent) {
        let _ = dir.sync_all();
    }
    let bytes = std::fs::metadata(&dest)?.len();
    Ok(Snapshot { path: dest, bytes })
}

/// `VACUUM INTO` from a read-only connection, then checks the copy.
async fn copy_into(source: &Path, target: &Path) -> anyhow::Result<()> {
    let mut conn = SqliteConnectOptions::from_str("sqlite:")?
        .filename(source)
        .read_only(true)
        .busy_timeout(Duration::from_secs(30))
        .pragma("temp_store", "memory")
        .connect()
        .await
        .with_context(|| format!("cannot open {}", source.display()))?;
    let target_text = target.to_str().context("the snapshot path is not valid UTF-8")?;
    sqlx::query("VACUUM INTO ?")
        .bind(target_text)
        .execute(&mut conn)
        .await
        .with_context(|| format!("VACUUM INTO {} failed", target.display()))?;
    conn.close().await?;

    let mut copy = SqliteConnectOptions::from_str("sqlite:")?.filename(target).read_only(true).connect().await?;
    let verdict: Vec<String> = sqlx::query_scalar("PRAGMA integrity_check").fetch_all(&mut copy).await?;
    copy.close().await?;
    if verdict != ["ok"] {
        bail!("the snapshot failed its integrity check: {}", verdict.join("; "));
    }
    Ok(())
}

fn absolute(p: &Path) -> anyhow::Result<PathBuf> {
    Ok(if p.is_absolute() { p.to_path_buf() } else { std::env::current_dir()?.join(p) })
}

fn remove_if_present(p: &Path) -> anyhow::Result<()> {
    match std::fs::remove_file(p) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e).with_context(|| format!("cannot remove the stale {}", p.display())),
    }
}
