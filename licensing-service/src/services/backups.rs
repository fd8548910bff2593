//! Scheduled backups into `<data dir>/backups/` (the rules are in
//! `crate::backup`): taken daily at the configured hour (UTC), on demand
//! (`POST /v1/admin/backups`), pruned by the retention rule; the last one
//! and the last failure are kept in settings for `/v1/admin/status`, the
//! metrics and the operator's notice.

use schemars::JsonSchema;
use serde::Serialize;

use super::{audit, Core, ServiceError};
use crate::backup::{self, BackupFile};
use crate::db::{self, settings};
use crate::delivery::operator;
use crate::domain::now_unix;
use crate::domain::outbox::NoticeKind;
use crate::domain::time::Timestamp;

const LAST_AT: &str = "backup_last_at";
const LAST_NAME: &str = "backup_last_name";
const LAST_BYTES: &str = "backup_last_bytes";
const ERROR_AT: &str = "backup_error_at";
const ERROR: &str = "backup_error";
/// After a failure, the schedule tries again at most this often.
const RETRY_SECONDS: i64 = 3600;

/// One backup at a time in this process (the schedule and the button).
static RUNNING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

#[derive(Debug, Serialize, JsonSchema)]
pub struct LastBackup {
    pub at: Timestamp,
    pub name: String,
    pub bytes: u64,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct BackupFailure {
    pub at: Timestamp,
    pub message: String,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct BackupStatus {
    /// Whether the daily backup is on (`KEYSAT_BACKUP_HOUR`).
    pub scheduled: bool,
    /// The hour (UTC) it is taken.
    pub hour_utc: Option<u8>,
    /// The retention rule, e.g. `7d,4w,6m`.
    pub keep: String,
    pub directory: String,
    pub last: Option<LastBackup>,
    /// The latest failure, when it came after the last success.
    pub failing: Option<BackupFailure>,
    pub next_at: Option<Timestamp>,
    pub files: Vec<BackupFile>,
}

/// Takes a backup now, prunes by the rule, and records the result.
pub async fn run_now(s: &Core, actor: &str) -> Result<BackupFile, ServiceError> {
    let _one = RUNNING.lock().await;
    take(s, actor).await
}

/// The scheduler's tick: a backup when one is due (never while one runs,
/// and after a failure at most hourly).
pub async fn tick(s: &Core) {
    let Some(hour) = s.config.backup_hour else { return };
    let Ok(_one) = RUNNING.try_lock() else { return };
    let now = now_unix();
    let read = |k| settings::get(&s.db.read, k);
    let (Ok(last), Ok(error_at)) = (read(LAST_AT).await, read(ERROR_AT).await) else { return };
    let last = last.and_then(|v| v.parse::<i64>().ok());
    let error_at = error_at.and_then(|v| v.parse::<i64>().ok());
    if !backup::due(now, hour, last) || error_at.is_some_and(|e| now - e < RETRY_SECONDS && now >= e) {
        return;
    }
    if let Err(e) = take(s, "scheduler").await {
        tracing::warn!(error = %e, "scheduled backup failed");
    }
}

async fn take(s: &Core, actor: &str) -> Result<BackupFile, ServiceError> {
    let now = now_unix();
    let data_dir = &s.config.data_dir;
    let name = backup::file_name(now);
    let path = backup::dir(data_dir).join(&name);
    let result = async {
        let snap = crate::snapshot::write_snapshot(data_dir, &path).await?;
        let pruned = backup::prune(data_dir, s.config.backup_keep)?;
        anyhow::Ok((snap.bytes, pruned))
    }
    .await;
    match result {
        Ok((bytes, pruned)) => {
            let mut tx = s.db.begin().await?;
            settings::set(&mut *tx, LAST_AT, &now.to_string()).await?;
            settings::set(&mut *tx, LAST_NAME, &name).await?;
            settings::set(&mut *tx, LAST_BYTES, &bytes.to_string()).await?;
            settings::delete(&mut *tx, ERROR_AT).await?;
            settings::delete(&mut *tx, ERROR).await?;
            let details = serde_json::json!({ "file": name, "bytes": bytes, "pruned": pruned });
            audit(&mut tx, now, actor, "backup.create", ("backup", &name), details).await?;
            tx.commit().await?;
            Ok(BackupFile { name, path, at: now, bytes })
        }
        Err(e) => {
            let message = format!("{e:#}");
            let mut tx = s.db.begin().await?;
            let was_failing = settings::get(&mut *tx, ERROR_AT).await?.is_some();
            settings::set(&mut *tx, ERROR_AT, &now.to_string()).await?;
            settings::set(&mut *tx, ERROR, &message).await?;
            if !was_failing {
                let text = format!("Backup failed: {message}. Keysat tries again within the hour.");
                operator::notify_in(&mut tx, &s.db.operator, now, NoticeKind::BackupFailed, &text).await?;
            }
            tx.commit().await?;
            Err(ServiceError::Unavailable { code: "backup_failed", message, retry_after: None })
        }
    }
}

/// The last backup's time, for the metrics.
pub async fn last_at(s: &Core) -> Result<Option<i64>, sqlx::Error> {
    Ok(settings::get(&s.db.read, LAST_AT).await?.and_then(|v| v.parse().ok()))
}

pub async fn status(s: &Core) -> Result<BackupStatus, ServiceError> {
    let read = |k| settings::get(&s.db.read, k);
    let num = |v: Option<String>| v.and_then(|v| v.parse::<i64>().ok());
    let last_at = num(read(LAST_AT).await?);
    let last = match (last_at, read(LAST_NAME).await?) {
        (Some(at), Some(name)) => {
            let bytes = num(read(LAST_BYTES).await?).unwrap_or(0) as u64;
            Some(LastBackup { at: Timestamp(at), name, bytes })
        }
        _ => None,
    };
    let failing = match (num(read(ERROR_AT).await?), read(ERROR).await?) {
        (Some(at), Some(message)) => Some(BackupFailure { at: Timestamp(at), message }),
        _ => None,
    };
    let keep = s.config.backup_keep;
    let data_dir = s.config.data_dir.clone();
    // An unreadable directory is a failure the next backup reports; the
    // status still answers.
    let files = tokio::task::spawn_blocking(move || backup::list(&data_dir))
        .await
        .map_err(|e| anyhow::anyhow!(e))?
        .unwrap_or_else(|e| {
            tracing::warn!(error = %format_args!("{e:#}"), "listing backups");
            Vec::new()
        });
    Ok(BackupStatus {
        scheduled: s.config.backup_hour.is_some(),
        hour_utc: s.config.backup_hour,
        keep: format!("{}d,{}w,{}m", keep.daily, keep.weekly, keep.monthly),
        directory: backup::dir(&s.config.data_dir).display().to_string(),
        last,
        failing,
        next_at: s.config.backup_hour.map(|h| Timestamp(next_at(now_unix(), h, last_at))),
        files,
    })
}

/// When the schedule takes the next backup.
fn next_at(now: i64, hour: u8, last: Option<i64>) -> i64 {
    if backup::due(now, hour, last) {
        return now;
    }
    let today_at = now.div_euclid(86_400) * 86_400 + i64::from(hour) * 3600;
    if now < today_at {
        today_at
    } else {
        today_at + 86_400
    }
}

/// What `/v1/admin/status` says about the whole service.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ServiceStatus {
    pub version: &'static str,
    /// The database file and its write-ahead log.
    pub database_bytes: u64,
    pub licenses: i64,
    pub active_machines: i64,
    pub pending_invoices: i64,
    pub payment_provider: Option<&'static str>,
    pub backups: BackupStatus,
}

pub async fn service_status(s: &Core) -> Result<ServiceStatus, ServiceError> {
    let db_file = s.config.data_dir.join("keysat.db");
    let database_bytes = ["", "-wal"]
        .iter()
        .filter_map(|suffix| std::fs::metadata(format!("{}{suffix}", db_file.display())).ok())
        .map(|m| m.len())
        .sum();
    let (licenses, active_machines, _) = db::events::table_counts(&s.db.read).await?;
    let invoices = db::metrics::invoices_by_status(&s.db.read).await?;
    Ok(ServiceStatus {
        version: env!("CARGO_PKG_VERSION"),
        database_bytes,
        licenses,
        active_machines,
        pending_invoices: invoices.iter().find(|(k, _)| k == "pending").map_or(0, |(_, v)| *v),
        payment_provider: s.payments.current().map(|p| p.name()),
        backups: status(s).await?,
    })
}
