//! The scheduler's side of subscriptions: as a period's times pass, each
//! subscription moves `active` → `notice` → `past_due` → `lapsed`, one
//! transaction per subscription holding the state change, its audit record,
//! its event and (at notice time) the buyer's reminder. The state guards
//! every step, so a restart, a second pass or a clock jump tells each step
//! once; a jump over several steps tells them all, in order, and reminds
//! the buyer once.

use serde_json::json;
use uuid::Uuid;

use super::subscriptions::{price_text, renew_url};
use super::{audit, Core};
use crate::db::licenses::License;
use crate::db::subscriptions::Subscription;
use crate::db::{self, Tx};
use crate::delivery::buyer_notices::{enqueue_renewal_due, renewal_due_text, RenewalDue};
use crate::delivery::events::subscription_event;
use crate::delivery::EventType;
use crate::domain::license::LicenseStatus;
use crate::domain::npub::Npub;
use crate::domain::subscription::State;
use crate::domain::time::ts;

/// Subscriptions stepped per run.
const BATCH: i64 = 200;

/// Moves every subscription whose time has come; returns how many moved.
pub async fn advance(s: &Core, now: i64) -> Result<usize, sqlx::Error> {
    // Most runs find nothing: look without taking the writer.
    let due = db::subscriptions::due(&s.db.read, now, BATCH).await?;
    let mut moved = 0;
    for id in due {
        if step_one(s, id, now).await? {
            moved += 1;
        }
    }
    Ok(moved)
}

async fn step_one(s: &Core, id: Uuid, now: i64) -> Result<bool, sqlx::Error> {
    let mut tx = s.db.begin().await?;
    let Some(sub) = db::subscriptions::by_id(&mut *tx, id).await? else { return Ok(false) };
    let steps = sub.period().steps(sub.state, now);
    let Some(&last) = steps.last() else { return Ok(false) };
    let Some(l) = db::licenses::by_id(&mut *tx, sub.license_id).await? else { return Ok(false) };
    if l.status == LicenseStatus::Revoked {
        end_with_license(&mut tx, &sub, &l, now).await?;
        tx.commit().await?;
        return Ok(true);
    }
    let mut from = sub.state;
    for &to in &steps {
        if !db::subscriptions::step(&mut tx, id, from, to, now).await? {
            return Ok(false);
        }
        let details = json!({ "license_id": l.id, "from": from, "period_end": ts(sub.current_period_end) });
        audit(&mut tx, now, "scheduler", action(to), ("subscription", id), details).await?;
        let at = Subscription { state: to, updated_at: now, ..sub.clone() };
        let extra = json!({ "renew_url": renew_url(s, l.id) });
        subscription_event(&mut tx, now, event(to), &at, &l, extra).await?;
        from = to;
    }
    if steps.contains(&State::Notice) && last != State::Lapsed && l.status == LicenseStatus::Active {
        remind(s, &mut tx, &sub, &l, last == State::PastDue, now).await?;
    }
    tx.commit().await?;
    Ok(true)
}

fn action(to: State) -> &'static str {
    match to {
        State::Notice => "subscription.renewal_due",
        State::PastDue => "subscription.past_due",
        _ => "subscription.lapsed",
    }
}

fn event(to: State) -> EventType {
    match to {
        State::Notice => EventType::SubscriptionRenewalDue,
        State::PastDue => EventType::SubscriptionPastDue,
        _ => EventType::SubscriptionLapsed,
    }
}

/// A revoked license renews no more: its subscription is canceled.
async fn end_with_license(tx: &mut Tx, sub: &Subscription, l: &License, now: i64) -> Result<(), sqlx::Error> {
    let reason = "the license was revoked";
    if db::subscriptions::cancel(tx, sub.id, "scheduler", Some(reason), now).await? {
        let details = json!({ "license_id": l.id, "from": sub.state, "reason": reason });
        audit(tx, now, "scheduler", "subscription.cancel", ("subscription", sub.id), details).await?;
        let canceled = Subscription { state: State::Canceled, updated_at: now, ..sub.clone() };
        let extra = json!({ "canceled_by": "scheduler", "reason": reason, "runs_until": ts(l.expires_at) });
        subscription_event(tx, now, EventType::SubscriptionCanceled, &canceled, l, extra).await?;
    }
    Ok(())
}

/// The buyer's reminder, by DM to the npub and by e-mail to the address they bought with.
async fn remind(
    s: &Core,
    tx: &mut Tx,
    sub: &Subscription,
    l: &License,
    ended: bool,
    now: i64,
) -> Result<(), sqlx::Error> {
    let npub = l.buyer_npub.as_deref().and_then(|h| Npub::parse(h).ok());
    if npub.is_none() && l.buyer_email.is_none() {
        return Ok(());
    }
    let tier = db::policies::by_id(&mut **tx, sub.next_policy_id.unwrap_or(sub.policy_id)).await?;
    let product = db::products::by_id(&mut **tx, sub.product_id).await?;
    let (Some(tier), Some(product)) = (tier, product) else { return Ok(()) };
    let sender = s.delivery.sender();
    let url = renew_url(s, l.id);
    let order = l.invoice_id.clone();
    let text = renewal_due_text(&RenewalDue {
        sender: &sender,
        order: order.as_deref(),
        product: &product.name,
        tier: &tier.name,
        period_end: sub.current_period_end,
        grace_until: sub.grace_until,
        ended,
        price: &price_text(&tier),
        renew_url: &url,
    });
    if let Some(npub) = &npub {
        enqueue_renewal_due(tx, now, l.id, npub, &text).await?;
    }
    if let Some(to) = &l.buyer_email {
        crate::delivery::email::enqueue_renewal_due(tx, now, l.id, to, &text).await?;
    }
    Ok(())
}
