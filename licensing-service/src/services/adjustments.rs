//! Per-license adjustments by the operator: extend or set the expiry,
//! change the seats, add or remove entitlements. Each re-signs the key
//! (through `services::terms`), is recorded and audited, emits
//! `license.updated` and, when asked, sends the new key to the buyer.

use serde_json::json;
use uuid::Uuid;

use super::terms::{self, NewTerms};
use super::views::LicenseView;
use super::{audit, Core, ServiceError};
use crate::db;
use crate::db::subscriptions::NewChange;
use crate::delivery::buyer_notices::KeyChange;
use crate::delivery::events::subscription_event;
use crate::delivery::EventType;
use crate::domain::license::LicenseStatus;
use crate::domain::subscription::Period;
use crate::domain::time::ts_or_null;
use crate::domain::{now_unix, optional_text, DomainError, Slug};

/// What to change; absent fields stay as they are.
#[derive(Debug, Default)]
pub struct AdjustInput {
    /// Moves the expiry this much later.
    pub extend_seconds: Option<i64>,
    /// Sets the expiry (`Some(0)`: never expires).
    pub expires_at: Option<i64>,
    pub max_machines: Option<i64>,
    pub add_entitlements: Vec<String>,
    pub remove_entitlements: Vec<String>,
    pub reason: Option<String>,
    /// Sends the new key to the buyer's npub.
    pub notify: bool,
}

/// Longest extension at once: 100 years.
const MAX_SECONDS: i64 = 100 * 366 * 86_400;

pub async fn adjust(s: &Core, id: &str, input: AdjustInput) -> Result<LicenseView, ServiceError> {
    let missing = || ServiceError::NotFound(format!("no license '{}'", crate::domain::clip(id, 64)));
    let license_id = Uuid::parse_str(id.trim()).map_err(|_| missing())?;
    let reason = optional_text("reason", input.reason.clone(), 500)?;
    let now = now_unix();
    let mut tx = s.db.begin().await?;
    let l = db::licenses::by_id(&mut *tx, license_id).await?.ok_or_else(missing)?;
    if l.status == LicenseStatus::Revoked {
        return Err(DomainError::conflict("license_revoked", "a revoked license cannot be adjusted").into());
    }
    let product = db::products::by_id(&mut *tx, l.product_id).await?.ok_or_else(missing)?;
    let new = adjusted(&l, &input, |e| product.has_entitlement(e))?;
    if new == NewTerms::of(&l) {
        return Err(DomainError::invalid(
            "adjust",
            "nothing to change: give extend_seconds, expires_at, \
            max_machines, add_entitlements or remove_entitlements",
        )
        .into());
    }
    let changed = terms::rewrite(&mut tx, &s.signer, &l, new, now).await.map_err(|e| anyhow::anyhow!(e))?;
    let record = NewChange {
        license_id,
        kind: "adjust",
        reference: None,
        invoice_id: None,
        from_policy_id: l.policy_id,
        to_policy_id: l.policy_id,
        period: None,
        paid: None,
        old_expires_at: l.expires_at,
        new_expires_at: changed.expires_at,
        actor: "admin",
    };
    db::subscriptions::record_change(&mut tx, &record, now).await?;
    if changed.expires_at != l.expires_at {
        follow_expiry(&mut tx, &changed, now).await?;
    }
    let details = json!({
        "reason": reason,
        "expires_at": { "from": ts_or_null(l.expires_at), "to": ts_or_null(changed.expires_at) },
        "max_machines": { "from": l.max_machines, "to": changed.max_machines },
        "entitlements": { "from": l.entitlements, "to": changed.entitlements },
        "notified": input.notify,
    });
    audit(&mut tx, now, "admin", "license.adjust", ("license", license_id), details).await?;
    terms::announce(&mut tx, now, &l, &changed, KeyChange::Updated, input.notify).await?;
    s.licensing.commit_change(tx, license_id).await?;
    let l = db::licenses::by_id(&s.db.write, license_id).await?.ok_or_else(missing)?;
    super::licenses::view(s, &l).await
}

/// The license's terms with `input` applied, checked.
fn adjusted(
    l: &db::licenses::License,
    input: &AdjustInput,
    in_catalog: impl Fn(&Slug) -> bool,
) -> Result<NewTerms, ServiceError> {
    let mut new = NewTerms::of(l);
    match (input.extend_seconds, input.expires_at) {
        (Some(_), Some(_)) => {
            return Err(DomainError::invalid("extend_seconds", "give extend_seconds or expires_at, not both").into())
        }
        (Some(secs), None) => {
            if !(1..=MAX_SECONDS).contains(&secs) {
                return Err(DomainError::invalid("extend_seconds", "must be between 1 and 100 years in seconds").into());
            }
            if l.expires_at == 0 {
                return Err(DomainError::conflict("perpetual", "the license never expires: nothing to extend").into());
            }
            new.expires_at = l.expires_at + secs;
        }
        (None, Some(at)) => {
            if at < 0 || (at != 0 && at <= l.issued_at) {
                return Err(DomainError::invalid("expires_at", "must be after the license was issued").into());
            }
            new.expires_at = at;
        }
        (None, None) => {}
    }
    if let Some(m) = input.max_machines {
        if !(0..=100_000).contains(&m) {
            return Err(DomainError::invalid("max_machines", "must be between 0 (unlimited) and 100000").into());
        }
        new.max_machines = m;
    }
    for raw in &input.add_entitlements {
        let slug =
            Slug::parse(raw).map_err(|_| DomainError::invalid("add_entitlements", format!("'{raw}' is not a slug")))?;
        if !in_catalog(&slug) {
            return Err(DomainError::invalid(
                "add_entitlements",
                format!("'{slug}' is not in the product's entitlements_catalog"),
            )
            .into());
        }
        new.entitlements.push(slug.to_string());
    }
    new.entitlements.retain(|e| !input.remove_entitlements.iter().any(|r| r.trim() == e));
    new.entitlements.sort();
    new.entitlements.dedup();
    Ok(new)
}

/// A subscription's period follows the license's new expiry; one made
/// perpetual renews no more.
async fn follow_expiry(tx: &mut db::Tx, l: &db::licenses::License, now: i64) -> Result<(), sqlx::Error> {
    let Some(sub) = db::subscriptions::by_license(&mut **tx, l.id).await? else { return Ok(()) };
    if l.expires_at == 0 {
        let reason = "made perpetual by the operator";
        if db::subscriptions::cancel(tx, sub.id, "admin", Some(reason), now).await? {
            let canceled = db::subscriptions::by_id(&mut **tx, sub.id).await?.unwrap_or(sub);
            let extra = json!({ "canceled_by": "admin", "reason": reason, "runs_until": null });
            subscription_event(tx, now, EventType::SubscriptionCanceled, &canceled, l, extra).await?;
        }
        return Ok(());
    }
    let notice = db::policies::by_id(&mut **tx, sub.policy_id).await?.map_or(0, |p| p.renewal_notice_seconds);
    let period = Period::new(now.min(l.expires_at), l.expires_at, notice, l.grace_seconds);
    db::subscriptions::set_period(tx, sub.id, period, period.state_at(now), now).await
}
