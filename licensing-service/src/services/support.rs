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

/// How a key is sent again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Channel {
    Nostr,
    Email,
}

/// Queues the key to its buyer again: by DM to their npub or by e-mail to
/// their address; with no channel named, the npub when there is one.
pub async fn resend(s: &Core, id: &str, channel: Option<Channel>) -> Result<Resent, ServiceError> {
    let l = license(s, id).await?;
    let npub = l.buyer_npub.as_deref().and_then(|h| Npub::parse(h).ok());
    let channel =
        channel.unwrap_or(if npub.is_some() || l.buyer_email.is_none() { Channel::Nostr } else { Channel::Email });
    let now = now_unix();
    let mut tx = s.db.begin().await?;
    let (name, recipient, recipient_npub) = match channel {
        Channel::Nostr => {
            let npub =
                npub.ok_or_else(|| DomainError::conflict("no_channel", "the license has no buyer npub to send it to"))?;
            enqueue_license_delivery(&mut tx, now, l.id, &npub).await?;
            ("nostr", npub.to_bech32(), Some(npub.to_bech32()))
        }
        Channel::Email => {
            let to = l
                .buyer_email
                .clone()
                .ok_or_else(|| DomainError::conflict("no_channel", "the license has no buyer e-mail to send it to"))?;
            if !crate::delivery::email::enqueue_key(&mut tx, now, l.id, &to, None).await? {
                return Err(DomainError::conflict("email_off", "e-mail is off: set the SMTP server first").into());
            }
            ("email", to, None)
        }
    };
    audit(&mut tx, now, "admin", "license.resend", ("license", l.id), json!({ "channel": name, "to": recipient }))
        .await?;
    tx.commit().await?;
    Ok(Resent { license_id: l.id, channel: name, recipient, recipient_npub, queued_at: Timestamp(now) })
}

/// The license with its machines, invoice, deliveries and audit trail.
pub async fn show(s: &Core, id: &str) -> Result<LicenseSupport, ServiceError> {
    let details = licenses::details(s, id).await?;
    let invoice = match details.license.invoice_id.as_deref() {
        Some(i) => Some(sales::details(s, i).await?),
        None => None,
    };
    let deliveries = db::nostr::all_for_license(&s.db.read, details.license.license_id).await?;
    let emails = db::email::all_for_license(&s.db.read, details.license.license_id).await?;
    Ok(LicenseSupport {
        invoice,
        deliveries: deliveries.iter().map(Into::into).collect(),
        email_deliveries: emails.iter().map(Into::into).collect(),
        details,
    })
}
