//! JSON shapes shared by handlers. Timestamps are RFC 3339 UTC strings.

use serde_json::{json, Value};

use crate::db::licenses::License;
use crate::db::machines::Machine;
use crate::db::nostr::Message;
use crate::domain::catalog::{Policy, Product};
use crate::domain::npub::Npub;
pub use crate::domain::time::{ts, ts_or_null};

/// RFC 3339 (or unix seconds) query value → unix seconds.
/// An admin timestamp: RFC 3339 or unix seconds, between the years 2000
/// and 9999 (a number beyond would be stored, then shown as another date).
pub fn parse_time(field: &'static str, v: &str) -> Result<i64, super::error::ApiError> {
    const EARLIEST: i64 = 946_684_800; // 2000-01-01T00:00:00Z
    const LATEST: i64 = 253_402_300_799; // 9999-12-31T23:59:59Z
    let bad = |why: &str| super::error::ApiError::bad_request("invalid_request", format!("{field}: '{v}' {why}"));
    let t = match v.trim().parse::<i64>() {
        Ok(n) => n,
        Err(_) => chrono::DateTime::parse_from_rfc3339(v.trim())
            .map(|d| d.timestamp())
            .map_err(|_| bad("is not an RFC 3339 time"))?,
    };
    if !(EARLIEST..=LATEST).contains(&t) {
        return Err(bad("is outside the years 2000 to 9999"));
    }
    Ok(t)
}

pub fn product(p: &Product) -> Value {
    json!({
        "id": p.id,
        "slug": p.slug,
        "name": p.name,
        "description": p.description,
        "price_sats": p.price_sats,
        "active": p.active,
        "entitlements_catalog": p.entitlements_catalog,
        "created_at": ts(p.created_at),
        "updated_at": ts(p.updated_at),
    })
}

/// A policy as the operator sees it (every field).
pub fn policy_admin(p: &Policy, product_slug: &str) -> Value {
    json!({
        "id": p.id,
        "product_id": p.product_id,
        "product_slug": product_slug,
        "slug": p.slug,
        "name": p.name,
        "description": p.description,
        "price_sats": p.price_sats,
        "price_amount": p.fiat_price.as_ref().map(|f| &f.amount),
        "price_currency": p.fiat_price.as_ref().map(|f| &f.currency),
        "duration_seconds": p.duration_seconds,
        "grace_seconds": p.grace_seconds,
        "max_machines": p.max_machines,
        "entitlements": p.entitlements,
        "is_trial": p.is_trial,
        "public": p.public,
        "highlighted": p.highlighted,
        "tier_rank": p.tier_rank,
        "archived": p.archived,
        "is_recurring": p.is_recurring,
        "renewal_period_days": p.renewal_period_days,
        "created_at": ts(p.created_at),
        "updated_at": ts(p.updated_at),
    })
}

/// A policy as buyers see it (PROTOCOL.md: no ids or internal fields).
pub fn policy_public(p: &Policy) -> Value {
    let mut v = json!({
        "slug": p.slug,
        "name": p.name,
        "description": p.description,
        "price_sats": p.price_sats,
        "duration_seconds": p.duration_seconds,
        "max_machines": p.max_machines,
        "is_trial": p.is_trial,
        "entitlements": p.entitlements,
        "highlighted": p.highlighted,
        "is_recurring": p.is_recurring,
        "renewal_period_days": p.renewal_period_days,
        "trial_days": p.trial_days(),
    });
    if let Some(f) = &p.fiat_price {
        v["price_amount"] = json!(f.amount);
        v["price_currency"] = json!(f.currency);
    }
    v
}

pub fn license(l: &License) -> Value {
    json!({
        "id": l.id,
        "license_id": l.id,
        "license_key": l.license_key,
        "product_id": l.product_id,
        "policy_id": l.policy_id,
        "status": l.status,
        "issued_at": ts(l.issued_at),
        "expires_at": ts_or_null(l.expires_at),
        "grace_seconds": l.grace_seconds,
        "max_machines": l.max_machines,
        "entitlements": l.entitlements,
        "is_trial": l.is_trial,
        "fingerprint": l.fingerprint,
        "buyer_email": l.buyer_email,
        "buyer_npub": l.buyer_npub.as_deref().and_then(|h| Npub::parse(h).ok()).map(|n| n.to_bech32()),
        "note": l.note,
        "source": l.source,
        "invoice_id": l.invoice_id,
        "revoked_reason": l.revoked_reason,
        "created_at": ts(l.created_at),
        "updated_at": ts(l.updated_at),
    })
}

pub fn machine(m: &Machine) -> Value {
    json!({
        "id": m.id,
        "license_id": m.license_id,
        "fingerprint": m.fingerprint,
        "hostname": m.hostname,
        "platform": m.platform,
        "active": m.active,
        "activated_at": ts(m.activated_at),
        "last_seen_at": ts(m.last_seen_at),
        "deactivated_at": m.deactivated_at.map(ts),
        "deactivation_reason": m.deactivation_reason,
    })
}

/// How the DM delivering a license stands (admin license details).
pub fn nostr_delivery(m: &Message) -> Value {
    let acked: Vec<String> = serde_json::from_str(&m.acked_by).unwrap_or_default();
    json!({
        "state": m.state,
        "recipient_npub": Npub::parse(&m.recipient).map(|n| n.to_bech32()).unwrap_or_else(|_| m.recipient.clone()),
        "attempts": m.attempts,
        "next_attempt_at": (m.state == "pending").then(|| ts(m.next_attempt_at)),
        "last_error": m.last_error,
        "event_id": m.event_id,
        "relays_accepted": acked,
        "queued_at": ts(m.created_at),
        "delivered_at": m.delivered_at.map(ts),
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn timestamps() {
        assert_eq!(super::ts(1_700_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(super::ts_or_null(0), serde_json::Value::Null);
        assert_eq!(super::parse_time("t", "2023-11-14T22:13:20Z").unwrap(), 1_700_000_000);
        assert!(super::parse_time("t", "yesterday").is_err());
    }
}
