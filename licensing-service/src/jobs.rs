//! Scheduled work (tokio-cron-scheduler): reconcile pending invoices, prune
//! the validation log, checkpoint the WAL, forget idle rate-limit entries;
//! send queued Nostr messages and webhooks, write `license.expired` events,
//! step subscriptions (renewal notices, past due, lapsed), keep relay
//! connections up, prune what only history needs, free lapsed floating
//! seats, take the daily backup.

use std::future::Future;
use std::time::Duration;

use tokio_cron_scheduler::{Job, JobScheduler};

use crate::db;
use crate::domain::now_unix;
use crate::services::Core;

pub struct Jobs {
    scheduler: JobScheduler,
}

impl Jobs {
    pub async fn start(state: Core) -> anyhow::Result<Jobs> {
        let scheduler = JobScheduler::new().await?;

        // Reconciliation: once at start-up, then on its interval.
        let s = state.clone();
        tokio::spawn(async move {
            crate::services::reconcile::run_pass(&s, true).await;
        });
        let s = state.clone();
        scheduler
            .add(Job::new_repeated_async(Duration::from_secs(state.config.reconcile_interval_seconds), move |_, _| {
                let s = s.clone();
                Box::pin(async move {
                    crate::services::reconcile::run_pass(&s, false).await;
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

        let s = state.clone();
        scheduler
            .add(Job::new_async("15 * * * * *", move |_, _| {
                let s = s.clone();
                Box::pin(async move { s.limits.prune() })
            })?)
            .await?;

        // Delivery: each run skips while the previous one is still going.
        every(&scheduler, Duration::from_secs(1), &state, |s| async move {
            crate::delivery::webhooks::send_due(&s.delivery).await
        })
        .await?;
        every(&scheduler, Duration::from_secs(1), &state, |s| async move {
            crate::delivery::messages::send_due(&s.delivery).await
        })
        .await?;
        every(&scheduler, Duration::from_secs(1), &state, |s| async move {
            crate::delivery::email::send_due(&s.delivery).await
        })
        .await?;
        every(&scheduler, Duration::from_secs(1), &state, |s| async move { scan_expiries(&s).await }).await?;
        every(&scheduler, Duration::from_secs(1), &state, |s| async move { free_lapsed_seats(&s).await }).await?;
        // The daily backup, when due (checked each minute; survives restarts).
        every(&scheduler, Duration::from_secs(60), &state, |s| async move { crate::services::backups::tick(&s).await })
            .await?;
        every(&scheduler, Duration::from_secs(1), &state, |s| async move { step_subscriptions(&s).await }).await?;
        // Keysat's Nostr profile: soon after start, and after any change to it.
        every(&scheduler, Duration::from_secs(2), &state, |s| async move {
            crate::delivery::profile::sync(&s.delivery).await
        })
        .await?;
        every(&scheduler, Duration::from_secs(60), &state, |s| async move { s.delivery.nostr.keep_alive().await })
            .await?;
        let prune_every = Duration::from_secs(state.config.retention.interval_seconds);
        every(&scheduler, prune_every, &state, |s| async move { prune_history(&s).await }).await?;

        scheduler.start().await?;
        Ok(Jobs { scheduler })
    }

    pub async fn stop(&mut self) {
        if let Err(e) = self.scheduler.shutdown().await {
            tracing::warn!(error = %e, "stopping the job scheduler");
        }
    }
}

/// Adds a job running `run` every `period`.
async fn every<F, Fut>(scheduler: &JobScheduler, period: Duration, state: &Core, run: F) -> anyhow::Result<()>
where
    F: Fn(Core) -> Fut + Send + Sync + Clone + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let s = state.clone();
    scheduler
        .add(Job::new_repeated_async(period, move |_, _| {
            let s = s.clone();
            let run = run.clone();
            Box::pin(async move { run(s).await })
        })?)
        .await?;
    Ok(())
}

/// Writes `license.expired` for licenses that reached their expiry.
pub async fn scan_expiries(s: &Core) {
    match crate::delivery::expiry::scan(&s.db, now_unix()).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(licenses = n, "license.expired events written"),
        Err(e) => tracing::warn!(error = %e, "scanning for expired licenses failed"),
    }
}

/// Frees floating seats not heard from for their policy's timeout.
pub async fn free_lapsed_seats(s: &Core) {
    match s.licensing.free_lapsed(now_unix()).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(seats = n, "lapsed floating seats freed"),
        Err(e) => tracing::warn!(error = %e, "freeing lapsed floating seats failed"),
    }
}

/// Moves subscriptions whose notice, period end or grace has come.
pub async fn step_subscriptions(s: &Core) {
    match crate::services::subscription_steps::advance(s, now_unix()).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(subscriptions = n, "subscriptions stepped"),
        Err(e) => tracing::warn!(error = %e, "stepping subscriptions failed"),
    }
}

/// Forgets what only history needs, past the configured retention: finished
/// deliveries and notices, spent idempotency answers, never-paid invoices,
/// released code holds, freed seats, old attempt logs.
pub async fn prune_history(s: &Core) {
    let now = now_unix();
    let r = s.config.retention;
    let history = now - r.history_seconds;
    if let Err(e) = db::outbox::prune(&s.db.write, history).await {
        tracing::warn!(error = %e, "pruning webhook events failed");
    }
    if let Err(e) = db::nostr::prune(&s.db.write, history).await {
        tracing::warn!(error = %e, "pruning Nostr messages failed");
    }
    if let Err(e) = db::email::prune(&s.db.write, history).await {
        tracing::warn!(error = %e, "pruning e-mails failed");
    }
    let cutoffs = db::prune::Cutoffs {
        // The replay window, or the unpaid retention when that is shorter.
        idempotency: now - crate::domain::IDEMPOTENCY_WINDOW_SECONDS.min(r.unpaid_seconds),
        unpaid: now - r.unpaid_seconds,
        history,
        now,
    };
    match db::prune::run(&s.db.write, cutoffs).await {
        Ok(p) if p.total() > 0 => tracing::info!(?p, "pruned history"),
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "pruning history failed"),
    }
}

/// Drops validation events past the retention period or the row cap.
pub async fn prune_validation_log(s: &Core) {
    let cutoff = now_unix() - i64::from(s.config.validation_log_days) * 86_400;
    let keep = i64::try_from(s.config.validation_log_max_rows).unwrap_or(i64::MAX);
    match db::events::prune(&s.db.write, cutoff, keep).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(rows = n, "pruned validation events"),
        Err(e) => tracing::warn!(error = %e, "pruning validation events failed"),
    }
}
