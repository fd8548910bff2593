//! Everyday support, one call each: free every seat of a license, send its
//! key again, show it with everything around it.

use serde_json::json;
use uuid::Uuid;

use super::views::{LicenseSupport, MachineView, Resent, SeatsReset};
use super::{audit, licenses, sales, Core, ServiceError};
use crate::db::{self, audit::NewAudit};
use crate::delivery::enqueue_license_delivery;
use crate::domain::npub::Npub;
use crate::domain::time::Timestamp;
use crate::domain::{now_unix, optional_text, DomainError};

fn license_id(id: &str) -> Result<Uuid, ServiceError> {
    Uuid::parse_str(id.trim()).map_err(|_| ServiceError::NotFound(format!("no license '{id}'")))
}

async fn license(s: &Core, id: &str) -> Result<db::licenses::License, ServiceError> {
    let id = license_id(id)?;
    db::licenses::by_id(&s.db.read, id).await?.ok_or_else(|| ServiceError::NotFound(format!("no license '{id}'")))
}

/// Frees every seat the license holds, each with its audit record.
pub async fn reset_seats(s: &Core, id: &str, reason: Option<String>) -> Result<SeatsReset, ServiceError> {
    let reason = optional_text("reason", reason, 500)?.unwrap_or_else(|| "all seats reset by the operator".into());
    let l = license(s, id).await?;
    let mut freed = Vec::new();
    for m in db::machines::for_license(&s.db.read, l.id).await?.into_iter().filter(|m| m.active) {
        let audit = NewAudit {
            actor: "admin",
            action: "machine.deactivate",
            target_type: "machine",
            target_id: m.id.to_string(),
            details: json!({ "license_id": l.id, "fingerprint": m.fingerprint, "reason": reason, "reset": true }),
        };
        if s.licensing.free_seat(m.id, l.id, &reason, Some(audit)).await?.is_some() {
            if let Some(m) = db::machines::by_id(&s.db.write, m.id).await? {
                freed.push(MachineView::from(&m));
            }
        }
    }
    Ok(SeatsReset { license_id: l.id, freed: freed.len(), machines: freed })
}

/// Queues the key's DM to its buyer's npub again.
pub async fn resend(s: &Core, id: &str) -> Result<Resent, ServiceError> {
    let l = license(s, id).await?;
    let npub = l
        .buyer_npub
        .as_deref()
        .and_then(|h| Npub::parse(h).ok())
        .ok_or_else(|| DomainError::conflict("no_channel", "the license has no buyer npub to send it to"))?;
    let now = now_unix();
    let mut tx = s.db.begin().await?;
    enqueue_license_delivery(&mut tx, now, l.id, &npub).await?;
    audit(
        &mut tx,
        now,
        "admin",
        "license.resend",
        ("license", l.id),
        json!({ "channel": "nostr", "to": npub.to_bech32() }),
    )
    .await?;
    tx.commit().await?;
    Ok(Resent { license_id: l.id, channel: "nostr", recipient_npub: npub.to_bech32(), queued_at: Timestamp(now) })
}

/// The license with its machines, invoice, deliveries and audit trail.
pub async fn show(s: &Core, id: &str) -> Result<LicenseSupport, ServiceError> {
    let details = licenses::details(s, id).await?;
    let invoice = match details.license.invoice_id.as_deref() {
        Some(i) => Some(sales::details(s, i).await?),
        None => None,
    };
    let deliveries = db::nostr::all_for_license(&s.db.read, details.license.license_id).await?;
    Ok(LicenseSupport { invoice, deliveries: deliveries.iter().map(Into::into).collect(), details })
}
