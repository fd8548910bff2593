//! Changing an issued license's terms: every renewal, upgrade, tier change
//! and adjustment ends here. The license keeps its id (so its old key still
//! names it online, and its seats and machines stay); a fresh key carrying
//! the new terms is signed; the change is told as `license.updated` and, to
//! a buyer with an npub, by DM. The caller commits through
//! `Licensing::commit_change`, so the hot path sees the new terms at once.

use ed25519_dalek::SigningKey;
use serde_json::json;

use super::fulfillment::{sign_key, FulfillError};
use crate::db::licenses::License;
use crate::db::{self, Tx};
use crate::delivery::buyer_notices::{enqueue_key_change, KeyChange};
use crate::delivery::events::license_event;
use crate::delivery::EventType;
use crate::domain::catalog::Policy;
use crate::domain::license::Terms;
use crate::domain::npub::Npub;

/// The terms a license is moved to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTerms {
    pub policy_id: uuid::Uuid,
    /// 0 = perpetual.
    pub expires_at: i64,
    pub grace_seconds: i64,
    pub max_machines: i64,
    pub entitlements: Vec<String>,
    pub is_trial: bool,
}

impl NewTerms {
    /// The license's own terms, as they are.
    pub fn of(l: &License) -> NewTerms {
        NewTerms {
            policy_id: l.policy_id,
            expires_at: l.expires_at,
            grace_seconds: l.grace_seconds,
            max_machines: l.max_machines,
            entitlements: l.entitlements.clone(),
            is_trial: l.is_trial,
        }
    }

    /// What tier `p` grants, ending at `expires_at`.
    pub fn of_policy(p: &Policy, expires_at: i64) -> NewTerms {
        NewTerms {
            policy_id: p.id,
            expires_at,
            grace_seconds: p.grace_seconds,
            max_machines: p.max_machines,
            entitlements: p.entitlements.iter().map(|e| e.to_string()).collect(),
            is_trial: p.is_trial,
        }
    }
}

/// Signs a key for `new` and writes it with the terms; the license as it now is.
pub async fn rewrite(
    tx: &mut Tx,
    signer: &SigningKey,
    l: &License,
    new: NewTerms,
    now: i64,
) -> Result<License, FulfillError> {
    let mut entitlements = new.entitlements;
    entitlements.sort();
    entitlements.dedup();
    let terms = Terms {
        issued_at: l.issued_at,
        expires_at: new.expires_at,
        grace_seconds: new.grace_seconds,
        max_machines: new.max_machines,
        entitlements,
        is_trial: new.is_trial,
    };
    let key = sign_key(signer, l.product_id, l.id, &terms, l.fingerprint.as_deref())?;
    let changed = License {
        policy_id: new.policy_id,
        license_key: key,
        expires_at: terms.expires_at,
        grace_seconds: terms.grace_seconds,
        max_machines: terms.max_machines,
        entitlements: terms.entitlements,
        is_trial: terms.is_trial,
        updated_at: now,
        ..l.clone()
    };
    db::licenses::set_terms(tx, &changed, now).await?;
    Ok(changed)
}

/// `license.updated` (with the new key and what changed) and, when asked
/// and the buyer has an npub, the new key by DM.
pub async fn announce(
    tx: &mut Tx,
    now: i64,
    before: &License,
    after: &License,
    change: KeyChange,
    dm: bool,
) -> Result<(), sqlx::Error> {
    let policy_slug = db::policies::by_id(&mut **tx, after.policy_id).await?.map(|p| p.slug.to_string());
    let extra = json!({
        "license_key": after.license_key,
        "policy_slug": policy_slug,
        "change": change.as_str(),
        "previous": {
            "policy_id": before.policy_id,
            "expires_at": crate::domain::time::ts_or_null(before.expires_at),
            "max_machines": before.max_machines,
            "entitlements": before.entitlements,
        },
    });
    license_event(tx, now, EventType::LicenseUpdated, after, extra).await?;
    if dm {
        if let Some(npub) = after.buyer_npub.as_deref().and_then(|h| Npub::parse(h).ok()) {
            enqueue_key_change(tx, now, after.id, &npub, change).await?;
        }
        if let Some(to) = &after.buyer_email {
            crate::delivery::email::enqueue_key(tx, now, after.id, to, Some(change)).await?;
        }
    }
    Ok(())
}
