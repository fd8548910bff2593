//! The `data` of outbox events about licenses, machines, invoices and codes,
//! written by the transaction of the change they describe.

use serde_json::{json, Value};
use uuid::Uuid;

use crate::db::invoices::Invoice;
use crate::db::licenses::License;
use crate::db::machines::Machine;
use crate::db::{self, Conn, Tx};
use crate::domain::npub::Npub;
use crate::domain::outbox::EventType;
use crate::domain::time::{ts, ts_or_null};

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

/// Enqueues a license event, `extra` fields merged into the license's data
/// (its product's slug read only when an endpoint may want the event).
pub async fn license_event(
    tx: &mut Tx,
    now: i64,
    event: EventType,
    license: &License,
    extra: Value,
) -> Result<(), sqlx::Error> {
    if !db::outbox::may_be_wanted(event) {
        return Ok(());
    }
    let slug =
        db::products::by_id(&mut **tx, license.product_id).await?.map(|p| p.slug.to_string()).unwrap_or_default();
    license_event_of(tx, now, event, license, &slug, extra).await
}

/// [`license_event`] when the caller knows the product's slug.
pub async fn license_event_of(
    tx: &mut Tx,
    now: i64,
    event: EventType,
    license: &License,
    product_slug: &str,
    extra: Value,
) -> Result<(), sqlx::Error> {
    db::outbox::enqueue(tx, now, event, with_extra(license_data(license, product_slug), extra)).await.map(|_| ())
}

/// `data` with the fields of `extra` merged in.
fn with_extra(mut data: Value, extra: Value) -> Value {
    if let (Some(d), Value::Object(e)) = (data.as_object_mut(), extra) {
        d.extend(e);
    }
    data
}

/// `machine.activated` for each seat a group of seat changes took anew.
pub async fn activation_events(tx: &mut Conn, now: i64, machines: &[&Machine]) -> Result<(), sqlx::Error> {
    let data = machines.iter().map(|m| machine_data(m, json!({}))).collect();
    db::outbox::enqueue_many(tx, now, EventType::MachineActivated, data).await
}

/// A freed seat is told at `deliver_at`, a little later, so a seat freed and
/// taken again at once (an app restarting, a script looping) tells nobody.
pub async fn deactivation_event(
    tx: &mut Tx,
    now: i64,
    deliver_at: i64,
    m: &Machine,
    extra: Value,
) -> Result<String, sqlx::Error> {
    db::outbox::enqueue_at(tx, now, deliver_at, EventType::MachineDeactivated, machine_data(m, extra)).await
}

fn machine_data(m: &Machine, extra: Value) -> Value {
    let data = json!({
        "machine_id": m.id,
        "license_id": m.license_id,
        "fingerprint": m.fingerprint,
        "hostname": m.hostname,
        "platform": m.platform,
        "activated_at": ts(m.activated_at),
    });
    with_extra(data, extra)
}

/// An invoice as events describe it.
fn invoice_data(i: &Invoice, product_slug: &str, policy_slug: &str) -> Value {
    json!({
        "invoice_id": i.id,
        "status": i.status.as_str(),
        "provider": i.provider,
        "provider_invoice_id": i.provider_invoice_id,
        "product_id": i.product_id,
        "product_slug": product_slug,
        "policy_slug": policy_slug,
        "amount_sats": i.amount_sats,
        "base_price_sats": i.base_price_sats,
        "discount_sats": i.discount_sats,
        "price_amount": i.price_amount,
        "price_currency": i.price_currency,
        "buyer_email": i.buyer_email,
        "buyer_npub": i.buyer_npub.as_deref().and_then(|h| Npub::parse(h).ok()).map(|n| n.to_bech32()),
        "created_at": ts(i.created_at),
    })
}

/// Enqueues `invoice.settled` or `invoice.expired`, `extra` merged in.
pub async fn invoice_event(
    tx: &mut Tx,
    now: i64,
    event: EventType,
    invoice: &Invoice,
    extra: Value,
) -> Result<(), sqlx::Error> {
    if !db::outbox::may_be_wanted(event) {
        return Ok(());
    }
    let (product, policy): (Option<String>, Option<String>) =
        sqlx::query_as("SELECT (SELECT slug FROM products WHERE id = ?), (SELECT slug FROM policies WHERE id = ?)")
            .bind(invoice.product_id.to_string())
            .bind(invoice.policy_id.to_string())
            .fetch_one(&mut **tx)
            .await?;
    let data = invoice_data(invoice, &product.unwrap_or_default(), &policy.unwrap_or_default());
    db::outbox::enqueue(tx, now, event, with_extra(data, extra)).await.map(|_| ())
}

/// Enqueues `code.redeemed`: a code's use was consumed by a license (a free
/// redemption, or a paid purchase with a discount code settling).
pub async fn code_redeemed(
    tx: &mut Tx,
    now: i64,
    code_id: Uuid,
    invoice: &Invoice,
    license_id: Uuid,
    redemption_id: Option<Uuid>,
) -> Result<(), sqlx::Error> {
    if !db::outbox::may_be_wanted(EventType::CodeRedeemed) {
        return Ok(());
    }
    let (code, kind): (String, String) = sqlx::query_as("SELECT code, kind FROM discount_codes WHERE id = ?")
        .bind(code_id.to_string())
        .fetch_one(&mut **tx)
        .await?;
    let data = json!({
        "code": code,
        "kind": kind,
        "redemption_id": redemption_id,
        "invoice_id": invoice.id,
        "license_id": license_id,
        "product_id": invoice.product_id,
        "amount_sats": invoice.amount_sats,
        "discount_sats": invoice.discount_sats,
        "free": invoice.amount_sats == 0,
    });
    db::outbox::enqueue(tx, now, EventType::CodeRedeemed, data).await.map(|_| ())
}

/// Enqueues a `subscription.*` event: the subscription, its license's
/// buyer, `extra` merged in.
pub async fn subscription_event(
    tx: &mut Tx,
    now: i64,
    event: EventType,
    sub: &crate::db::subscriptions::Subscription,
    license: &License,
    extra: Value,
) -> Result<(), sqlx::Error> {
    if !db::outbox::may_be_wanted(event) {
        return Ok(());
    }
    let (product, policy, next): (Option<String>, Option<String>, Option<String>) = sqlx::query_as(
        "SELECT (SELECT slug FROM products WHERE id = ?), (SELECT slug FROM policies WHERE id = ?), \
         (SELECT slug FROM policies WHERE id = ?)",
    )
    .bind(sub.product_id.to_string())
    .bind(sub.policy_id.to_string())
    .bind(sub.next_policy_id.map(|p| p.to_string()))
    .fetch_one(&mut **tx)
    .await?;
    let data = json!({
        "subscription_id": sub.id,
        "license_id": sub.license_id,
        "product_id": sub.product_id,
        "product_slug": product,
        "policy_slug": policy,
        "next_policy_slug": next,
        "state": sub.state,
        "current_period_end": ts(sub.current_period_end),
        "grace_until": ts(sub.grace_until),
        "renewals": sub.renewals,
        "buyer_email": license.buyer_email,
        "buyer_npub": license.buyer_npub.as_deref().and_then(|h| Npub::parse(h).ok()).map(|n| n.to_bech32()),
    });
    db::outbox::enqueue(tx, now, event, with_extra(data, extra)).await.map(|_| ())
}
