//! The `data` of outbox events about licenses and machines, written by the
//! transaction of the change they describe.

use serde_json::{json, Value};

use crate::db::licenses::License;
use crate::db::machines::Machine;
use crate::db::{self, Tx};
use crate::domain::npub::Npub;
use crate::domain::outbox::EventType;
use crate::http::views::{ts, ts_or_null};

/// A license as events describe it.
pub fn license_data(l: &License, product_slug: &str) -> Value {
    json!({
        "license_id": l.id,
        "product_id": l.product_id,
        "product_slug": product_slug,
        "policy_id": l.policy_id,
        "status": l.status,
        "source": l.source,
        "invoice_id": l.invoice_id,
        "buyer_email": l.buyer_email,
        "buyer_npub": l.buyer_npub.as_deref().and_then(|h| Npub::parse(h).ok()).map(|n| n.to_bech32()),
        "issued_at": ts(l.issued_at),
        "expires_at": ts_or_null(l.expires_at),
        "max_machines": l.max_machines,
        "entitlements": l.entitlements,
        "is_trial": l.is_trial,
    })
}

/// Enqueues a license event, `extra` fields merged into the license's data.
pub async fn license_event(
    tx: &mut Tx,
    now: i64,
    event: EventType,
    license: &License,
    extra: Value,
) -> Result<String, sqlx::Error> {
    let slug =
        db::products::by_id(&mut **tx, license.product_id).await?.map(|p| p.slug.to_string()).unwrap_or_default();
    let mut data = license_data(license, &slug);
    if let (Some(d), Value::Object(e)) = (data.as_object_mut(), extra) {
        d.extend(e);
    }
    db::outbox::enqueue(tx, now, event, data).await
}

/// Enqueues `machine.activated` or `machine.deactivated`.
pub async fn machine_event(
    tx: &mut Tx,
    now: i64,
    event: EventType,
    m: &Machine,
    extra: Value,
) -> Result<String, sqlx::Error> {
    let mut data = json!({
        "machine_id": m.id,
        "license_id": m.license_id,
        "fingerprint": m.fingerprint,
        "hostname": m.hostname,
        "platform": m.platform,
        "activated_at": ts(m.activated_at),
    });
    if let (Some(d), Value::Object(e)) = (data.as_object_mut(), extra) {
        d.extend(e);
    }
    db::outbox::enqueue(tx, now, event, data).await
}
