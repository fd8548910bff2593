//! Reconciliation: every invoice still pending after a short delay (and
//! every one closed in the last day, for late payments) is looked up at the
//! provider and brought to the provider's state through the same
//! fulfillment path as webhooks. A missed webhook, a crash or a restore from
//! backup thus ends where the happy path would have. While the provider is
//! unreachable, passes back off.

use schemars::JsonSchema;
use serde::Serialize;

use crate::db::{self, invoices::Invoice};
use crate::domain::invoice::InvoiceStatus;
use crate::domain::now_unix;
use std::sync::Mutex;

use crate::payment::{PaymentProvider, ReconcileState};
use crate::services::fulfillment::{self, Outcome};
use crate::services::Core;

/// Invoices looked at per pass (the least recently checked first).
const BATCH: i64 = 1000;
/// Closed invoices are still watched this long for a late payment.
const LATE_PAYMENT_WINDOW: i64 = 24 * 3600;
/// An invoice whose provider invoice never appeared is closed after this.
const NEVER_CREATED_AFTER: i64 = 3600;
/// Longest wait between passes while the provider is down.
const MAX_BACKOFF: i64 = 30 * 60;

/// What one pass did.
#[derive(Debug, Default, Serialize, JsonSchema)]
pub struct Report {
    pub skipped: bool,
    pub checked: u64,
    pub settled: u64,
    pub closed: u64,
    pub error: Option<String>,
}

/// One pass over each connected rail (bitcoin, then card); `force`
/// ignores the backoff (an operator asked).
#[tracing::instrument(skip_all, fields(force))]
pub async fn run_pass(s: &Core, force: bool) -> Report {
    let _one_at_a_time = s.payments.pass.lock().await;
    let rails = [(s.payments.current(), &s.payments.reconcile), (s.payments.card(), &s.payments.card_reconcile)];
    let mut total = Report { skipped: true, ..Report::default() };
    for (provider, state) in rails {
        let Some(provider) = provider else { continue };
        let r = run_rail(s, provider.as_ref(), state, force).await;
        total.skipped &= r.skipped;
        total.checked += r.checked;
        total.settled += r.settled;
        total.closed += r.closed;
        total.error = total.error.or(r.error);
    }
    total
}

/// One pass over one provider's invoices, with its own backoff.
async fn run_rail(s: &Core, provider: &dyn PaymentProvider, state: &Mutex<ReconcileState>, force: bool) -> Report {
    let now = now_unix();
    {
        let st = state.lock().expect("reconcile lock");
        if !force && st.next_attempt_at.is_some_and(|t| now < t) {
            return Report { skipped: true, ..Report::default() };
        }
    }
    let min_age = i64::try_from(s.config.reconcile_min_age_seconds).unwrap_or(i64::MAX);
    let mut report = Report::default();
    let invoices = match db::invoices::to_reconcile(&s.db.read, now - min_age, now - LATE_PAYMENT_WINDOW, BATCH).await {
        Ok(v) => v,
        Err(e) => {
            report.error = Some(format!("reading invoices: {e}"));
            return finish(s, provider.name(), state, report, false).await;
        }
    };
    let mut outage = false;
    for inv in invoices.into_iter().filter(|i| i.provider == provider.name()) {
        if check_one(s, provider, &inv, now, &mut report).await == Step::Outage {
            outage = true;
            break;
        }
    }
    finish(s, provider.name(), state, report, outage).await
}

/// What the pass does after one invoice.
#[derive(PartialEq, Eq)]
enum Step {
    Next,
    /// The provider is unreachable: stop and back off.
    Outage,
}

/// Looks one invoice up at the provider and applies what it says.
#[tracing::instrument(skip_all, fields(invoice = %inv.id))]
async fn check_one(s: &Core, provider: &dyn PaymentProvider, inv: &Invoice, now: i64, report: &mut Report) -> Step {
    let found = match &inv.provider_invoice_id {
        Some(pid) => provider.invoice(pid).await.map(Some),
        None => provider.find_by_order(inv.id).await,
    };
    let pi = match found {
        Ok(Some(pi)) => pi,
        Ok(None) => {
            // The provider never created it (we crashed first): nobody can pay it.
            if inv.status == InvoiceStatus::Pending && now - inv.created_at > NEVER_CREATED_AFTER {
                let r = fulfillment::apply_invoice_news(
                    s,
                    Some(inv.id),
                    Some(crate::domain::invoice::Observed::Invalid),
                    None,
                    None,
                    "reconcile",
                )
                .await;
                match r {
                    Ok(_) => report.closed += 1,
                    Err(e) => tracing::error!(invoice = %inv.id, error = %e, "closing a never-created invoice"),
                }
            }
            mark_checked(s, inv.id, now).await;
            return Step::Next;
        }
        Err(e) if e.is_outage() => {
            report.error = Some(e.to_string());
            return Step::Outage;
        }
        Err(e) => {
            tracing::warn!(invoice = %inv.id, error = %e, "reconciliation could not look up an invoice");
            report.error = Some(e.to_string());
            mark_checked(s, inv.id, now).await;
            return Step::Next;
        }
    };
    report.checked += 1;
    if let Some(payment) = &pi.payment_id {
        if let Err(e) = db::invoices::set_payment_id(&s.db.write, inv.id, payment).await {
            tracing::error!(invoice = %inv.id, error = %e, "recording the provider's payment id");
        }
    }
    if inv.provider_invoice_id.is_none() {
        if let Err(e) = record_provider_id(s, inv.id, &pi.provider_invoice_id, now).await {
            tracing::error!(invoice = %inv.id, error = %e, "recording the provider's invoice id");
        }
    }
    match fulfillment::apply_invoice_news(s, Some(inv.id), Some(pi.state), pi.charged.as_ref(), None, "reconcile").await
    {
        Ok(Outcome::Settled(license)) => {
            tracing::info!(invoice = %inv.id, license = %license.id, "reconciliation fulfilled a paid invoice");
            report.settled += 1;
        }
        Ok(Outcome::Closed(status)) => {
            tracing::info!(invoice = %inv.id, ?status, "reconciliation closed an unpaid invoice");
            report.closed += 1;
        }
        Ok(Outcome::Mismatch(why)) => {
            tracing::warn!(invoice = %inv.id, reason = %why, "reconciliation found a provider invoice that is not ours");
        }
        Ok(_) => {}
        Err(e) => {
            tracing::error!(invoice = %inv.id, error = %e, "reconciliation could not apply an invoice's state");
            report.error = Some(e.to_string());
        }
    }
    mark_checked(s, inv.id, now).await;
    Step::Next
}

/// Notes that an invoice was looked at (it waits its turn again); a failure
/// only means it is looked at again sooner, so it is logged, not fatal.
async fn mark_checked(s: &Core, invoice: uuid::Uuid, now: i64) {
    if let Err(e) = db::invoices::mark_checked(&s.db.write, invoice, now).await {
        tracing::error!(%invoice, error = %e, "marking an invoice checked");
    }
}

async fn record_provider_id(s: &Core, invoice: uuid::Uuid, provider_id: &str, now: i64) -> Result<(), sqlx::Error> {
    let mut tx = s.db.begin().await?;
    db::invoices::set_provider_id(&mut tx, invoice, provider_id, now).await?;
    tx.commit().await
}

async fn finish(s: &Core, provider: &str, state: &Mutex<ReconcileState>, report: Report, outage: bool) -> Report {
    let now = now_unix();
    let connection_lost = {
        let mut st = state.lock().expect("reconcile lock");
        let was_reachable = st.consecutive_failures == 0;
        st.last_run_at = Some(now);
        st.last_error = report.error.clone();
        st.last_checked = report.checked;
        if outage {
            st.consecutive_failures = st.consecutive_failures.saturating_add(1);
            let interval = i64::try_from(s.config.reconcile_interval_seconds).unwrap_or(60);
            let wait = interval.saturating_mul(1 << st.consecutive_failures.min(10)).min(MAX_BACKOFF);
            st.next_attempt_at = Some(now + wait);
        } else {
            st.consecutive_failures = 0;
            st.next_attempt_at = None;
        }
        outage && was_reachable
    };
    let stripe = provider == crate::payment::stripe::NAME;
    // The operator's notice names BTCPay; Stripe's outages show in its status.
    if connection_lost && !stripe {
        let detail = report.error.as_deref().unwrap_or("no answer");
        let text = crate::delivery::operator::btcpay_connection_lost_text(detail);
        if let Err(e) =
            crate::delivery::notify_operator(&s.db, crate::delivery::NoticeKind::BtcpayConnectionLost, &text).await
        {
            tracing::warn!(error = %e, "queueing the operator's notice");
        }
    }
    let recorded = if stripe {
        db::stripe::set_error(&s.db.write, report.error.as_deref(), now).await
    } else {
        db::payments::set_error(&s.db.write, report.error.as_deref(), now).await
    };
    if let Err(e) = recorded {
        tracing::error!(error = %e, "recording the reconciliation result");
    }
    if let Some(e) = &report.error {
        tracing::warn!(error = %e, provider, "reconciliation pass");
    }
    report
}
