//! Scheduled work (tokio-cron-scheduler): reconcile pending invoices, prune
//! the validation log, checkpoint the WAL, forget idle rate-limit entries.

use std::time::Duration;

use tokio_cron_scheduler::{Job, JobScheduler};

use crate::app::AppState;
use crate::db;
use crate::domain::now_unix;

pub struct Jobs {
    scheduler: JobScheduler,
}

impl Jobs {
    pub async fn start(state: AppState) -> anyhow::Result<Jobs> {
        let scheduler = JobScheduler::new().await?;

        // Reconciliation: once at start-up, then on its interval.
        let s = state.clone();
        tokio::spawn(async move {
            crate::reconcile::run_pass(&s, true).await;
        });
        let s = state.clone();
        scheduler
            .add(Job::new_repeated_async(Duration::from_secs(state.config.reconcile_interval_seconds), move |_, _| {
                let s = s.clone();
                Box::pin(async move {
                    crate::reconcile::run_pass(&s, false).await;
                })
            })?)
            .await?;

        let s = state.clone();
        scheduler
            .add(Job::new_async("0 * * * * *", move |_, _| {
                let s = s.clone();
                Box::pin(async move { prune_validation_log(&s).await })
            })?)
            .await?;

        let s = state.clone();
        scheduler
            .add(Job::new_async("*/30 * * * * *", move |_, _| {
                let s = s.clone();
                Box::pin(async move {
                    if let Err(e) = s.db.checkpoint().await {
                        tracing::warn!(error = %e, "WAL checkpoint failed");
                    }
                })
            })?)
            .await?;

        let s = state;
        scheduler
            .add(Job::new_async("15 * * * * *", move |_, _| {
                let s = s.clone();
                Box::pin(async move {
                    s.validate_limiter.prune();
                    s.code_limiter.prune();
                    s.purchase_limiter.prune();
                })
            })?)
            .await?;

        scheduler.start().await?;
        Ok(Jobs { scheduler })
    }

    pub async fn stop(&mut self) {
        if let Err(e) = self.scheduler.shutdown().await {
            tracing::warn!(error = %e, "stopping the job scheduler");
        }
    }
}

/// Drops validation events past the retention period or the row cap.
pub async fn prune_validation_log(s: &AppState) {
    let cutoff = now_unix() - i64::from(s.config.validation_log_days) * 86_400;
    let keep = i64::try_from(s.config.validation_log_max_rows).unwrap_or(i64::MAX);
    match db::events::prune(&s.db.write, cutoff, keep).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(rows = n, "pruned validation events"),
        Err(e) => tracing::warn!(error = %e, "pruning validation events failed"),
    }
}
