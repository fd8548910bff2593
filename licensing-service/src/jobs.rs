//! Scheduled work, each job a task on its own interval: reconcile pending
//! invoices, prune the validation log, checkpoint the WAL, forget idle
//! rate-limit entries; send queued Nostr messages and webhooks, write
//! `license.expired` events, step subscriptions (renewal notices, past due,
//! lapsed), keep relay connections up, prune what only history needs, free
//! lapsed floating seats, take the daily backup. A run never overlaps the
//! previous one of its job (a slow run delays the next instead).

use std::future::Future;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio::time::{interval_at, Instant, MissedTickBehavior};

use crate::db;
use crate::domain::now_unix;
use crate::services::Core;

/// How long stopping waits for runs in progress before it cancels them.
const STOP_GRACE: Duration = Duration::from_secs(5);

pub struct Jobs {
    stop: watch::Sender<bool>,
    tasks: JoinSet<()>,
}

impl Jobs {
    pub async fn start(state: Core) -> anyhow::Result<Jobs> {
        let (stop, _) = watch::channel(false);
        let mut jobs = Jobs { stop, tasks: JoinSet::new() };

        // Reconciliation: once at start-up, then on its interval.
        let s = state.clone();
        tokio::spawn(async move {
            crate::services::reconcile::run_pass(&s, true).await;
        });
        let reconcile_every = Duration::from_secs(state.config.reconcile_interval_seconds.max(1));
        jobs.every(reconcile_every, &state, |s| async move {
            crate::services::reconcile::run_pass(&s, false).await;
        });
        jobs.every(Duration::from_secs(60), &state, |s| async move { prune_validation_log(&s).await });
        jobs.every(Duration::from_secs(30), &state, |s| async move {
            if let Err(e) = s.db.checkpoint().await {
                tracing::warn!(error = %e, "WAL checkpoint failed");
            }
        });
        jobs.every(Duration::from_secs(60), &state, |s| async move { s.limits.prune() });

        // Delivery.
        jobs.every(Duration::from_secs(1), &state, |s| async move {
            crate::delivery::webhooks::send_due(&s.delivery).await
        });
        jobs.every(Duration::from_secs(1), &state, |s| async move {
            crate::delivery::messages::send_due(&s.delivery).await
        });
        jobs.every(
            Duration::from_secs(1),
            &state,
            |s| async move { crate::delivery::email::send_due(&s.delivery).await },
        );
        jobs.every(Duration::from_secs(1), &state, |s| async move { scan_expiries(&s).await });
        jobs.every(Duration::from_secs(1), &state, |s| async move { free_lapsed_seats(&s).await });
        jobs.every(Duration::from_secs(1), &state, |s| async move { fold_fingerprint_tails(&s).await });
        // The daily backup, when due (checked each minute; survives restarts).
        jobs.every(Duration::from_secs(60), &state, |s| async move { crate::services::backups::tick(&s).await });
        jobs.every(Duration::from_secs(1), &state, |s| async move { step_subscriptions(&s).await });
        // Keysat's Nostr profile: soon after start, and after any change to it.
        jobs.every(
            Duration::from_secs(2),
            &state,
            |s| async move { crate::delivery::profile::sync(&s.delivery).await },
        );
        jobs.every(Duration::from_secs(60), &state, |s| async move { s.delivery.nostr.keep_alive().await });
        let prune_every = Duration::from_secs(state.config.retention.interval_seconds.max(1));
        jobs.every(prune_every, &state, |s| async move { prune_history(&s).await });
        Ok(jobs)
    }

    /// Runs `run` every `period`, the first time one period after start.
    fn every<F, Fut>(&mut self, period: Duration, state: &Core, run: F)
    where
        F: Fn(Core) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let s = state.clone();
        let mut stop = self.stop.subscribe();
        self.tasks.spawn(async move {
            let mut ticks = interval_at(Instant::now() + period, period);
            ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
            loop {
                // The flag only ever turns true: any change is the stop.
                let stopped = tokio::select! {
                    _ = ticks.tick() => false,
                    _ = stop.changed() => true,
                };
                if stopped {
                    break;
                }
                run(s.clone()).await;
            }
        });
    }

    /// Stops every job: runs in progress may finish (for a few seconds).
    pub async fn stop(&mut self) {
        let _ = self.stop.send(true);
        let all = async { while self.tasks.join_next().await.is_some() {} };
        if tokio::time::timeout(STOP_GRACE, all).await.is_err() {
            tracing::warn!("scheduled jobs still running at shutdown; cancelling them");
            self.tasks.shutdown().await;
        }
    }
}

/// Files the machines added since the last second for the search by fingerprint.
pub async fn fold_fingerprint_tails(s: &Core) {
    if let Err(e) = db::machines::fold_tails(&s.db).await {
        tracing::warn!(error = %e, "filing machines' fingerprints failed; retrying");
    }
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
        freed_seats: now - r.history_seconds.max(i64::from(s.config.validation_log_days) * 86_400),
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
