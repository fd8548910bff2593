//! `/metrics`: the daemon's state in the Prometheus text format (0.0.4).

use std::fmt::Write;
use std::sync::atomic::Ordering;

use super::{Core, ServiceError};
use crate::db::metrics as m;
use crate::domain::now_unix;

/// Metrics text, one family after another.
#[derive(Default)]
struct Text(String);

impl Text {
    fn family(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.0, "# HELP {name} {help}\n# TYPE {name} {kind}");
    }

    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: impl std::fmt::Display) {
        let labels: Vec<String> = labels.iter().map(|(k, v)| format!("{k}=\"{}\"", escape(v))).collect();
        match labels.is_empty() {
            true => writeln!(self.0, "{name} {value}"),
            false => writeln!(self.0, "{name}{{{}}} {value}", labels.join(",")),
        }
        .expect("writing to a String");
    }

    fn one(&mut self, name: &str, kind: &str, help: &str, value: impl std::fmt::Display) {
        self.family(name, kind, help);
        self.sample(name, &[], value);
    }

    /// One family labelled by `label`, a sample per known value (0 when absent).
    fn by(&mut self, name: &str, help: &str, label: &str, known: &[&str], counts: &m::Counts) {
        self.family(name, "gauge", help);
        let mut seen: Vec<&str> = known.to_vec();
        seen.extend(counts.iter().map(|(k, _)| k.as_str()).filter(|k| !known.contains(k)));
        for k in seen {
            let v = counts.iter().find(|(c, _)| c == k).map_or(0, |(_, v)| *v);
            self.sample(name, &[(label, k)], v);
        }
    }
}

/// A label value: backslash, double quote and line feed escaped.
fn escape(v: &str) -> String {
    v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

pub async fn render(s: &Core) -> Result<String, ServiceError> {
    let db = &s.db.read;
    let mut t = Text::default();
    t.family("keysat_build_info", "gauge", "The running build.");
    t.sample("keysat_build_info", &[("version", env!("CARGO_PKG_VERSION"))], 1);
    let h = "Validations in the retained log, by result.";
    t.by("keysat_validations", h, "result", &["valid"], &m::validations_by_result(db).await?);
    let q = &s.licensing.events;
    let h = "Validation log writes dropped because the queue was full.";
    t.one("keysat_validation_events_dropped_total", "counter", h, q.dropped.load(Ordering::Relaxed));
    let h = "Seats held: active machines.";
    t.one("keysat_seats_active", "gauge", h, m::active_seats(db).await?);
    let h = "Licenses by status.";
    t.by("keysat_licenses", h, "status", &["active", "suspended", "revoked"], &m::licenses_by_status(db).await?);
    let invoices = m::invoices_by_status(db).await?;
    let h = "Invoices by status.";
    t.by("keysat_invoices", h, "status", &["pending", "settled", "expired", "invalid"], &invoices);
    let settled = invoices.iter().find(|(k, _)| k == "settled").map_or(0, |(_, v)| *v);
    t.one("keysat_sales_total", "counter", "Sales: settled invoices.", settled);
    let h = "Sats settled on sat-priced tiers.";
    t.one("keysat_sats_settled_total", "counter", h, m::sats_settled(db).await?);
    reconcile(s, &mut t);
    let h = "Webhook deliveries not delivered, by state (pending: backlog; dead: dead letters).";
    t.by("keysat_webhook_deliveries", h, "state", &["pending", "dead"], &m::webhook_deliveries_by_state(db).await?);
    let h = "Nostr DMs not delivered, by state (pending: backlog; failed: dead letters).";
    t.by("keysat_nostr_messages", h, "state", &["pending", "failed"], &m::nostr_messages_by_state(db).await?);
    let h = "E-mails not delivered, by state (pending: backlog; failed: dead letters).";
    t.by("keysat_email_messages", h, "state", &["pending", "failed"], &m::email_messages_by_state(db).await?);
    if let Some(at) = super::backups::last_at(s).await? {
        let h = "When the last backup was taken (unix seconds).";
        t.one("keysat_backup_last_timestamp_seconds", "gauge", h, at);
        t.one("keysat_backup_age_seconds", "gauge", "Seconds since the last backup.", (now_unix() - at).max(0));
    }
    Ok(t.0)
}

fn reconcile(s: &Core, t: &mut Text) {
    let r = s.payments.reconcile_state();
    let h = "Seconds since the last reconciliation pass (-1: none yet).";
    t.one("keysat_reconcile_lag_seconds", "gauge", h, r.last_run_at.map_or(-1, |at| now_unix() - at));
    let h = "Reconciliation passes failed in a row.";
    t.one("keysat_reconcile_consecutive_failures", "gauge", h, r.consecutive_failures);
    let h = "1 when the last reconciliation pass ended in an error.";
    t.one("keysat_reconcile_error", "gauge", h, i64::from(r.last_error.is_some()));
}
