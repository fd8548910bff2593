//! What licensed apps and buyers do with seats beyond activate and
//! heartbeat: offline leases, air-gapped activation, a buyer listing and
//! freeing their own machines, and one trial per machine at the till.
//! The key proves the holder everywhere; the policy's machine rules
//! (`domain::machine_rules`) set the limits.

use std::net::IpAddr;

use keysat_client::{sign_activation, ActivationChallenge, ActivationGrant, Lease, SignedLease};
use serde_json::json;
use uuid::Uuid;

use super::{catalog, Core, ServiceError};
use crate::db::{self, audit::NewAudit, machines::Machine};
use crate::domain::machine_rules::{lease_end, reset_allowed, MachineRules, RESET_WINDOW_SECONDS};
use crate::domain::now_unix;
use crate::domain::time::unix;
use crate::domain::validation::{Expiry, LicenseSnapshot, Reason};
use crate::licensing::{fingerprint_prefix, Granted, Refusal};

/// A seat and the signed permission to use it offline until `expires_at`.
pub struct Leased {
    pub granted: Granted,
    /// `LEASE1-…` for [`lease`], `ACTR1-…` for [`activate_offline`].
    pub code: String,
    pub expires_at: i64,
}

/// Until when a granted license may run: its expiry (or the end of its
/// grace period while in grace); 0 = perpetual.
fn usable_until(g: &Granted) -> i64 {
    match g.expiry {
        Expiry::InGrace { grace_until } => grace_until,
        _ => g.license.expires_at,
    }
}

fn internal(e: keysat_client::Error) -> Refusal {
    Refusal::Internal(sqlx::Error::Protocol(format!("signing: {e}")))
}

/// The window a lease or grant issued now may cover, or `expired` when the
/// license has nothing left.
async fn window(s: &Core, g: &Granted, now: i64) -> Result<(MachineRules, i64), Refusal> {
    let rules = s.licensing.rules_of(g.license.terms.policy_id).await?;
    let end = lease_end(now, rules.lease_seconds, usable_until(g))
        .ok_or(Refusal::Reason { reason: Reason::Expired, license: Some(g.license.clone()) })?;
    Ok((rules, end))
}

/// `POST /v1/machines/lease`: the seat is held or taken exactly as by
/// activate, then a `LEASE1` lease is signed for this fingerprint, running
/// `lease_seconds` but never past the license's own end.
pub async fn lease(
    s: &Core,
    key: &str,
    fingerprint: &str,
    hostname: Option<&str>,
    platform: Option<&str>,
    ip: IpAddr,
) -> Result<Leased, Refusal> {
    let granted = s.licensing.activate(key, fingerprint, hostname, platform, ip).await?;
    let now = now_unix();
    let (_, end) = window(s, &granted, now).await?;
    let l = &granted.license;
    let lease = Lease {
        product_id: l.terms.product_id,
        license_id: l.license_id,
        issued_at: unix(now),
        expires_at: unix(end),
        fingerprint_hash: keysat_client::fingerprint_hash(fingerprint),
        entitlements: l.terms.entitlements.clone(),
    };
    let code = SignedLease::sign(&lease, &s.signer).map_err(internal)?.to_lease_string();
    Ok(Leased { granted, code, expires_at: end })
}

/// Reads a typed or scanned `ACT1` challenge.
pub fn parse_challenge(text: &str) -> Result<ActivationChallenge, Reason> {
    ActivationChallenge::parse(text).map_err(|e| match e {
        keysat_client::Error::BadChecksum => Reason::ChallengeChecksum,
        _ => Reason::BadChallenge,
    })
}

/// `POST /v1/machines/offline-activate` and the `/activate` page: the key
/// proves the license, the challenge's machine gets a seat, and the answer
/// is an `ACTR1` response granting that challenge alone the license's
/// entitlements for `lease_seconds` (never past the license's end). Each
/// challenge is answered once.
pub async fn activate_offline(
    s: &Core,
    key: &str,
    challenge: &ActivationChallenge,
    hostname: Option<&str>,
    ip: IpAddr,
) -> Result<Leased, Refusal> {
    let granted = s.licensing.activate_offline(key, challenge, hostname, ip).await?;
    let now = now_unix();
    let (_, end) = window(s, &granted, now).await?;
    let grant = ActivationGrant {
        issued_at: unix(now),
        expires_at: unix(end),
        entitlements: granted.license.terms.entitlements.clone(),
    };
    let code = sign_activation(challenge, &grant, &s.signer).map_err(internal)?;
    let machine_id = granted.machine_id.unwrap_or_default();
    let mut tx = s.db.begin().await?;
    let used = db::seat_rules::UsedChallenge {
        license_id: challenge.license_id,
        nonce: &challenge.nonce,
        fingerprint_prefix: &challenge.fingerprint_prefix,
        machine_id,
        used_at: now,
        expires_at: end,
    };
    // Two answers raced for one challenge: only the first one counts.
    if !db::seat_rules::use_challenge(&mut tx, &used).await? {
        return Err(Refusal::Reason { reason: Reason::ChallengeUsed, license: Some(granted.license) });
    }
    tx.commit().await?;
    Ok(Leased { granted, code, expires_at: end })
}

/// A license's machines as its holder sees them, and what they may still free.
pub struct SeatList {
    pub license: LicenseSnapshot,
    pub machines: Vec<Machine>,
    pub rules: MachineRules,
    /// Self-service frees left in the current 30 days.
    pub resets_left: i64,
    /// When the next free becomes possible, if none is left now (`None`
    /// when the tier allows none at all).
    pub next_reset_at: Option<i64>,
}

/// `POST /v1/machines/list` and the `/seats` page: the key's active machines.
pub async fn list(s: &Core, key: &str) -> Result<SeatList, Refusal> {
    let (_, license) = s.licensing.resolve(key).await?;
    let rules = s.licensing.rules_of(license.terms.policy_id).await?;
    let now = now_unix();
    let machines: Vec<Machine> =
        db::machines::for_license(&s.db.read, license.license_id).await?.into_iter().filter(|m| m.active).collect();
    let (used, oldest) =
        db::seat_rules::resets_since(&s.db.read, license.license_id, now - RESET_WINDOW_SECONDS).await?;
    let next_reset_at = reset_allowed(rules.self_reset_limit, used, oldest, now).err().flatten();
    Ok(SeatList { license, machines, rules, resets_left: (rules.self_reset_limit - used).max(0), next_reset_at })
}

/// Which seats a buyer frees.
#[derive(Debug, Clone, Copy)]
pub enum FreeTarget {
    Machine(Uuid),
    All,
}

/// What a buyer's free did.
pub enum BuyerFree {
    Freed {
        license: LicenseSnapshot,
        machines: Vec<Uuid>,
        resets_left: i64,
    },
    /// Past `self_reset_limit`: nothing changed; the next free is possible
    /// at `next_reset_at` (`None` when the tier allows none).
    LimitReached {
        license: LicenseSnapshot,
        next_reset_at: Option<i64>,
    },
}

/// `POST /v1/machines/deactivate` with `machine_id` or `all`, and the
/// `/seats` page: frees one machine or all of them, each with its audit
/// record and `machine.deactivated` event, counting one self-service free
/// against the tier's `self_reset_limit` per 30 days (freeing nothing counts
/// nothing). The license's status does not matter: a buyer may always tidy
/// up. The operator's frees (admin API) are never limited.
pub async fn free_by_buyer(s: &Core, key: &str, target: FreeTarget) -> Result<BuyerFree, Refusal> {
    let (_, license) = s.licensing.resolve(key).await?;
    let rules = s.licensing.rules_of(license.terms.policy_id).await?;
    let id = license.license_id;
    let now = now_unix();
    let mut tx = s.db.begin().await?;
    let (used, oldest) = db::seat_rules::resets_since(&mut *tx, id, now - RESET_WINDOW_SECONDS).await?;
    if let Err(next_reset_at) = reset_allowed(rules.self_reset_limit, used, oldest, now) {
        return Ok(BuyerFree::LimitReached { license, next_reset_at });
    }
    let active = db::machines::for_license(&mut *tx, id).await?.into_iter().filter(|m| m.active);
    let chosen: Vec<Machine> = match target {
        FreeTarget::All => active.collect(),
        FreeTarget::Machine(m) => active.filter(|a| a.id == m).collect(),
    };
    if chosen.is_empty() {
        return match target {
            FreeTarget::All => {
                Ok(BuyerFree::Freed { license, machines: vec![], resets_left: rules.self_reset_limit - used })
            }
            FreeTarget::Machine(_) => Err(Refusal::Reason { reason: Reason::NotActivated, license: Some(license) }),
        };
    }
    let reason = "freed by the license holder";
    for m in &chosen {
        let audit = NewAudit {
            actor: "buyer",
            action: "machine.deactivate",
            target_type: "machine",
            target_id: m.id.to_string(),
            details: json!({ "license_id": id, "hostname": m.hostname, "reason": reason, "self_service": true }),
        };
        s.licensing.free_in(&mut tx, m.id, id, reason, audit, now).await?;
    }
    db::seat_rules::record_reset(&mut tx, id, now, chosen.len() as i64).await?;
    let license = s.licensing.commit_change(tx, id).await?.unwrap_or(license);
    let machines = chosen.iter().map(|m| m.id).collect();
    Ok(BuyerFree::Freed { license, machines, resets_left: rules.self_reset_limit - used - 1 })
}

/// One trial per machine, at the till: a trial purchase or free code for a
/// tier with `one_trial_per_machine` is refused up front when the buyer
/// names a machine that already held a trial of the product.
pub async fn check_trial_fingerprint(
    s: &Core,
    product: &str,
    policy_slug: Option<&str>,
    fingerprint: Option<&str>,
) -> Result<(), ServiceError> {
    let Some(fp) = fingerprint.filter(|f| !f.is_empty()) else { return Ok(()) };
    let fp = crate::domain::license::parse_fingerprint(fp)?;
    let (product, policy) = catalog::buyable(&s.db, product, policy_slug).await?;
    if !(policy.is_trial && policy.machine_rules.one_trial_per_machine) {
        return Ok(());
    }
    let prefix = fingerprint_prefix(&fp);
    if db::seat_rules::trial_holder(&s.db.read, product.id, &prefix).await?.is_some() {
        return Err(ServiceError::Invalid {
            code: "trial_already_used",
            message: format!("this machine has already had a trial of {}", product.name),
        });
    }
    Ok(())
}
