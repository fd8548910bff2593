//! Backups on the machine itself: the data directory's lock (one daemon, and
//! no restore under a running one), the daily schedule and the retention
//! rule (pure, so tests run them on a compressed clock), the files in
//! `<data dir>/backups/`, and `keysat restore`.
//!
//! A backup is a `keysat snapshot` (`VACUUM INTO`, safe while serving)
//! checked with `PRAGMA integrity_check`.

use schemars::JsonSchema;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use anyhow::{bail, Context};
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, Connection};

/// Held by a running daemon: `<data dir>/keysat.lock`, locked exclusively.
#[derive(Debug)]
pub struct DataDirLock {
    _file: File,
}

impl DataDirLock {
    /// Locks the data directory, or says that another Keysat holds it.
    pub fn acquire(data_dir: &Path) -> anyhow::Result<DataDirLock> {
        std::fs::create_dir_all(data_dir).with_context(|| format!("cannot create {}", data_dir.display()))?;
        let path = data_dir.join("keysat.lock");
        let file = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .with_context(|| format!("cannot open {}", path.display()))?;
        match file.try_lock() {
            Ok(()) => Ok(DataDirLock { _file: file }),
            Err(std::fs::TryLockError::WouldBlock) => {
                bail!("another Keysat is running on {} (it holds keysat.lock); stop it first", data_dir.display())
            }
            Err(std::fs::TryLockError::Error(e)) => Err(e).with_context(|| format!("cannot lock {}", path.display())),
        }
    }
}

/// How many backups to keep: the newest of each of the last `daily` days
/// that have one, of the last `weekly` ISO weeks and `monthly` months.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Keep {
    pub daily: usize,
    pub weekly: usize,
    pub monthly: usize,
}

impl Default for Keep {
    fn default() -> Self {
        Keep { daily: 7, weekly: 4, monthly: 6 }
    }
}

impl FromStr for Keep {
    type Err = String;

    /// `7d,4w,6m` (any order; a missing part is 0).
    fn from_str(s: &str) -> Result<Keep, String> {
        let mut keep = Keep { daily: 0, weekly: 0, monthly: 0 };
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (n, unit) = part.split_at(part.len() - 1);
            let n: usize = n.parse().ok().filter(|n| *n <= 1000).ok_or_else(|| format!("'{part}' is not like 7d"))?;
            match unit {
                "d" => keep.daily = n,
                "w" => keep.weekly = n,
                "m" => keep.monthly = n,
                _ => return Err(format!("'{part}': the unit is d, w or m")),
            }
        }
        if keep.daily + keep.weekly + keep.monthly == 0 {
            return Err("keeps no backup at all; give at least one of d, w, m".into());
        }
        Ok(keep)
    }
}

const DAY: i64 = 86_400;

/// The backups (their times, unix seconds) the rule keeps; the newest is
/// always kept.
pub fn retained(times: &[i64], keep: Keep) -> Vec<i64> {
    let mut sorted = times.to_vec();
    sorted.sort_unstable_by(|a, b| b.cmp(a));
    sorted.dedup();
    let mut kept: Vec<i64> = sorted.first().copied().into_iter().collect();
    let day = |t: i64| t.div_euclid(DAY);
    // 1970-01-01 was a Thursday: +3 days makes weeks start on Monday.
    let week = |t: i64| (t.div_euclid(DAY) + 3).div_euclid(7);
    let month = |t: i64| {
        let d = chrono::DateTime::from_timestamp(t, 0).unwrap_or_default();
        chrono::Datelike::year(&d) as i64 * 12 + chrono::Datelike::month0(&d) as i64
    };
    for (n, bucket) in [(keep.daily, &day as &dyn Fn(i64) -> i64), (keep.weekly, &week), (keep.monthly, &month)] {
        let mut last = None;
        let mut taken = 0;
        for &t in &sorted {
            if taken == n {
                break;
            }
            let b = bucket(t);
            if last != Some(b) {
                last = Some(b);
                taken += 1;
                kept.push(t);
            }
        }
    }
    kept.sort_unstable_by(|a, b| b.cmp(a));
    kept.dedup();
    kept
}

/// Whether the daily backup is due at `now`: past `hour` (UTC) today and
/// none taken since then.
pub fn due(now: i64, hour: u8, last: Option<i64>) -> bool {
    let today_at = now.div_euclid(DAY) * DAY + i64::from(hour) * 3600;
    let slot = if now >= today_at { today_at } else { today_at - DAY };
    last.is_none_or(|l| l < slot)
}

pub fn dir(data_dir: &Path) -> PathBuf {
    data_dir.join("backups")
}

/// `keysat-20261202T030000Z.db`.
pub fn file_name(at: i64) -> String {
    let d = chrono::DateTime::from_timestamp(at, 0).unwrap_or_default();
    format!("keysat-{}.db", d.format("%Y%m%dT%H%M%SZ"))
}

/// The time in a backup's file name.
pub fn time_of(name: &str) -> Option<i64> {
    let stamp = name.strip_prefix("keysat-")?.strip_suffix(".db")?;
    chrono::NaiveDateTime::parse_from_str(stamp, "%Y%m%dT%H%M%SZ").ok().map(|d| d.and_utc().timestamp())
}

/// One backup file.
#[derive(Debug, Clone, serde::Serialize, JsonSchema)]
pub struct BackupFile {
    pub name: String,
    pub path: PathBuf,
    #[serde(skip)]
    pub at: i64,
    pub bytes: u64,
}

/// The backups in `<data dir>/backups/`, newest first.
pub fn list(data_dir: &Path) -> anyhow::Result<Vec<BackupFile>> {
    let dir = dir(data_dir);
    let entries = match std::fs::read_dir(&dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", dir.display())),
    };
    let mut files = Vec::new();
    for entry in entries {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if let Some(at) = time_of(&name) {
            files.push(BackupFile { name, path: entry.path(), at, bytes: entry.metadata()?.len() });
        }
    }
    files.sort_by_key(|f| std::cmp::Reverse(f.at));
    Ok(files)
}

/// Deletes the backups the rule does not keep; answers how many went.
pub fn prune(data_dir: &Path, keep: Keep) -> anyhow::Result<usize> {
    let files = list(data_dir)?;
    let kept = retained(&files.iter().map(|f| f.at).collect::<Vec<_>>(), keep);
    let mut removed = 0;
    for f in files.iter().filter(|f| !kept.contains(&f.at)) {
        std::fs::remove_file(&f.path).with_context(|| format!("cannot remove {}", f.path.display()))?;
        removed += 1;
    }
    Ok(removed)
}

/// Checks that `file` is a whole Keysat database this binary can run on:
/// `PRAGMA integrity_check` passes, it has Keysat's tables, and no
/// migration newer than this binary knows.
pub async fn check(file: &Path) -> anyhow::Result<()> {
    if !file.is_file() {
        bail!("{} is not a file", file.display());
    }
    let mut conn = SqliteConnectOptions::from_str("sqlite:")?
        .filename(file)
        .read_only(true)
        .connect()
        .await
        .with_context(|| format!("{} is not a SQLite database", file.display()))?;
    let verdict: Result<Vec<String>, _> = sqlx::query_scalar("PRAGMA integrity_check").fetch_all(&mut conn).await;
    let verdict = verdict.map_err(|e| anyhow::anyhow!("{} is damaged: {e}", file.display()))?;
    if verdict != ["ok"] {
        bail!("{} is damaged: {}", file.display(), verdict.join("; "));
    }
    let tables: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name IN ('_sqlx_migrations', 'licenses', 'settings')",
    )
    .fetch_one(&mut conn)
    .await?;
    if tables != 3 {
        bail!("{} is not a Keysat database", file.display());
    }
    let newest: Option<i64> =
        sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations").fetch_one(&mut conn).await?;
    conn.close().await?;
    let known = crate::db::MIGRATOR.iter().map(|m| m.version).max().unwrap_or(0);
    if newest.unwrap_or(0) > known {
        bail!("{} was written by a newer Keysat; upgrade this one before restoring it", file.display());
    }
    Ok(())
}

/// What a restore did.
#[derive(Debug)]
pub struct Restored {
    /// Where the database that was live went (none on an empty data dir).
    pub kept_aside: Option<PathBuf>,
}

/// `keysat restore FILE`: refuses a damaged or foreign file and a data
/// directory a daemon is running on; moves the live database (with its WAL)
/// aside into `<data dir>/before-restore-<time>/`, then puts a copy of FILE
/// in its place. The next start runs on it (migrating it if it is older).
pub async fn restore(data_dir: &Path, file: &Path, now: i64) -> anyhow::Result<Restored> {
    let _lock = DataDirLock::acquire(data_dir)?;
    check(file).await?;
    let live = data_dir.join("keysat.db");
    let mut kept_aside = None;
    if live.exists() {
        let aside = data_dir.join(format!("before-restore-{}", file_name(now).trim_end_matches(".db")));
        std::fs::create_dir_all(&aside).with_context(|| format!("cannot create {}", aside.display()))?;
        for suffix in ["", "-wal", "-shm"] {
            let from = data_dir.join(format!("keysat.db{suffix}"));
            if from.exists() {
                let to = aside.join(format!("keysat.db{suffix}"));
                std::fs::rename(&from, &to).with_context(|| format!("cannot move {} aside", from.display()))?;
            }
        }
        kept_aside = Some(aside);
    }
    let partial = data_dir.join("keysat.db.restoring");
    std::fs::copy(file, &partial).with_context(|| format!("cannot copy {}", file.display()))?;
    File::open(&partial)?.sync_all()?;
    std::fs::rename(&partial, &live)?;
    if let Ok(d) = File::open(data_dir) {
        let _ = d.sync_all();
    }
    Ok(Restored { kept_aside })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rule_parses() {
        assert_eq!("7d,4w,6m".parse::<Keep>(), Ok(Keep::default()));
        assert_eq!("3d".parse::<Keep>(), Ok(Keep { daily: 3, weekly: 0, monthly: 0 }));
        assert!("0d".parse::<Keep>().is_err());
        assert!("7x".parse::<Keep>().is_err());
        assert!("d".parse::<Keep>().is_err());
    }

    #[test]
    fn due_once_a_day_after_the_hour() {
        let midnight = 1_764_633_600; // 2025-12-02T00:00:00Z
        assert!(!due(midnight + 2 * 3600, 3, Some(midnight - DAY + 3 * 3600)), "yesterday's covers until 03:00");
        assert!(due(midnight + 3 * 3600, 3, Some(midnight - DAY + 3 * 3600)));
        assert!(!due(midnight + 5 * 3600, 3, Some(midnight + 3 * 3600 + 10)));
        assert!(due(midnight + 5, 3, None), "never taken: now");
        // A clock that jumps back does not bring a second one.
        assert!(!due(midnight + 4 * 3600, 3, Some(midnight + 20 * 3600)));
    }

    /// A year of daily backups on a compressed clock, pruned each day.
    #[test]
    fn a_year_keeps_seven_days_four_weeks_six_months() {
        let start = 1_735_700_400; // 2025-01-01T03:00:00Z
        let mut files: Vec<i64> = Vec::new();
        for d in 0..365 {
            files.push(start + d * DAY);
            files = retained(&files, Keep::default());
        }
        let newest = start + 364 * DAY;
        assert_eq!(files[0], newest);
        let days: Vec<i64> = files.iter().filter(|t| newest - **t < 7 * DAY).copied().collect();
        assert_eq!(days.len(), 7, "the last seven days");
        assert!(files.len() <= 7 + 4 + 6 && files.len() >= 12, "{} kept", files.len());
        assert!(newest - files.last().unwrap() > 150 * DAY, "months back");
        assert!(newest - files.last().unwrap() < 200 * DAY, "but not more than six months");
        // Nothing changes when the rule runs again.
        assert_eq!(retained(&files, Keep::default()), files);
    }

    #[test]
    fn names_carry_their_time() {
        assert_eq!(file_name(1_764_644_400), "keysat-20251202T030000Z.db");
        assert_eq!(time_of("keysat-20251202T030000Z.db"), Some(1_764_644_400));
        assert_eq!(time_of("keysat-2025.db"), None);
        assert_eq!(time_of("notes.txt"), None);
    }
}
