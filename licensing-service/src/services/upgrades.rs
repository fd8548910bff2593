//! The tier ladder. Tiers with a `tier_rank` form a product's ladder
//! (higher rank, higher tier). Moving up happens now and is paid like a
//! purchase, less a credit for the unused part of what the current period
//! cost (`domain::proration`); moving down takes effect at the next renewal;
//! a trial converts to any tier on sale, with no credit for trial time. The
//! license keeps its id, seats and machines; a new key carries the new
//! entitlements. The operator can change a tier too, at once (a comp) or by
//! handing the buyer a checkout.

use schemars::JsonSchema;
use std::net::{IpAddr, Ipv4Addr};

use ed25519_dalek::SigningKey;
use keysat_client::{PurchaseAnswer, PurchaseIssued};
use serde::Serialize;
use serde_json::json;
use uuid::Uuid;

use super::fulfillment::FulfillError;
use super::idempotency::Reply;
use super::orders::{self, Caller, Order};
use super::subscriptions::{self, holder_license, Holder};
use super::terms::{self, NewTerms};
use super::views::LicenseView;
use super::{audit, Core, ServiceError};
use crate::db::licenses::License;
use crate::db::subscriptions::NewChange;
use crate::db::{self, Tx};
use crate::delivery::buyer_notices::KeyChange;
use crate::delivery::events::subscription_event;
use crate::delivery::EventType;
use crate::domain::catalog::{Policy, Product};
use crate::domain::discount::Quote;
use crate::domain::invoice::InvoiceStatus;
use crate::domain::license::LicenseStatus;
use crate::domain::npub::Npub;
use crate::domain::proration::{self, Money, PaidPeriod, QuoteError, UpgradeQuote};
use crate::domain::subscription::{Period, Purpose};
use crate::domain::time::{ts, ts_or_null, Timestamp};
use crate::domain::{now_unix, optional_text, DomainError, Slug};

/// Which way a tier change goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    Upgrade,
    /// A trial becoming a paid tier.
    Conversion,
    /// Takes effect at the next renewal.
    Downgrade,
}

/// `POST /v1/upgrade-quote`'s answer: what moving to a tier costs now.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct UpgradeQuoteView {
    pub license_id: Uuid,
    pub from_policy_slug: Option<Slug>,
    pub to_policy_slug: Slug,
    pub direction: Direction,
    /// Sats (0 for a fiat-priced tier, quoted in its currency below).
    pub price_sats: i64,
    pub credit_sats: i64,
    pub amount_sats: i64,
    pub price_amount: Option<String>,
    pub credit_amount: Option<String>,
    pub amount: Option<String>,
    pub currency: Option<String>,
    /// When the license would expire after the change (null: never).
    pub expires_at: Option<Timestamp>,
    /// When the change takes effect: on payment, or at the next renewal.
    pub effective_at: Timestamp,
}

/// A planned tier change.
pub struct Plan {
    pub license: License,
    pub product: Product,
    pub from: Option<Policy>,
    pub to: Policy,
    pub direction: Direction,
    /// Up and conversions: the price, the credit, what is left to pay.
    pub quote: Option<UpgradeQuote>,
    pub new_expires_at: i64,
    pub effective_at: i64,
}

impl Plan {
    pub fn view(&self) -> UpgradeQuoteView {
        let (mut v, q) = (self.blank_view(), self.quote.as_ref());
        match q.map(|q| (&q.price, &q.credit, &q.amount)) {
            Some((Money::Sats(p), Money::Sats(c), Money::Sats(a))) => {
                (v.price_sats, v.credit_sats, v.amount_sats) = (*p, *c, *a);
            }
            Some((Money::Fiat { amount: p, currency }, credit, amount)) => {
                let fiat = |m: &Money| match m {
                    Money::Fiat { amount, .. } => Some(amount.clone()),
                    Money::Sats(_) => None,
                };
                (v.price_amount, v.credit_amount, v.amount) = (Some(p.clone()), fiat(credit), fiat(amount));
                v.currency = Some(currency.clone());
            }
            _ => {}
        }
        v
    }

    fn blank_view(&self) -> UpgradeQuoteView {
        UpgradeQuoteView {
            license_id: self.license.id,
            from_policy_slug: self.from.as_ref().map(|p| p.slug.clone()),
            to_policy_slug: self.to.slug.clone(),
            direction: self.direction,
            price_sats: 0,
            credit_sats: 0,
            amount_sats: 0,
            price_amount: None,
            credit_amount: None,
            amount: None,
            currency: None,
            expires_at: Timestamp::or_never(self.new_expires_at),
            effective_at: Timestamp(self.effective_at),
        }
    }

    /// The order an upgrade's invoice is made from.
    fn order(&self) -> Order {
        let q = self.quote.as_ref();
        let sats = |m: Option<&Money>| match m {
            Some(Money::Sats(n)) => *n,
            _ => 0,
        };
        let fiat = match q.map(|q| (&q.price, &q.amount)) {
            Some((Money::Fiat { amount: p, currency }, Money::Fiat { amount: a, .. })) => {
                Some((p.clone(), a.clone(), currency.clone()))
            }
            _ => None,
        };
        let quote = Quote {
            base_price_sats: sats(q.map(|q| &q.price)),
            discount_sats: sats(q.map(|q| &q.credit)),
            final_price_sats: sats(q.map(|q| &q.amount)),
            fiat,
        };
        let l = &self.license;
        Order {
            product: self.product.clone(),
            policy: self.to.clone(),
            code: None,
            quote,
            buyer_email: l.buyer_email.clone(),
            buyer_npub: l.buyer_npub.as_deref().and_then(|h| Npub::parse(h).ok()),
            buyer_note: None,
            purpose: Purpose::Upgrade,
            license_id: Some(l.id),
        }
    }
}

/// Who asks for a tier change: a buyer sees the tiers on sale; the operator
/// any tier that is not archived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Asker {
    Buyer,
    Operator,
}

/// The change of `l` to tier `to_slug` at `now`, priced.
async fn plan(s: &Core, l: License, to_slug: &str, asker: Asker, now: i64) -> Result<Plan, ServiceError> {
    if l.status == LicenseStatus::Revoked {
        return Err(DomainError::conflict("license_revoked", "this license is revoked and cannot change tier").into());
    }
    let to_slug = to_slug.trim();
    if to_slug.is_empty() {
        return Err(DomainError::invalid("to_policy_slug", "is required").into());
    }
    let product = db::products::by_id(&s.db.read, l.product_id)
        .await?
        .ok_or_else(|| ServiceError::NotFound("the license's product is gone".into()))?;
    let from = db::policies::by_id(&s.db.read, l.policy_id).await?;
    let no_tier = || {
        ServiceError::NotFound(format!("product '{}' has no tier '{}'", product.slug, crate::domain::clip(to_slug, 64)))
    };
    let to = db::policies::by_slug(&s.db.read, product.id, to_slug).await?.ok_or_else(no_tier)?;
    let offered = match asker {
        Asker::Buyer => to.on_sale(),
        Asker::Operator => !to.archived,
    };
    if !offered {
        return Err(no_tier());
    }
    if to.id == l.policy_id {
        return Err(DomainError::conflict("same_tier", format!("the license is already on tier '{}'", to.slug)).into());
    }
    if to.is_trial {
        return Err(DomainError::conflict("trial_tier", "a license cannot move to a trial tier").into());
    }
    let direction = direction(&l, from.as_ref(), &to, asker)?;
    let new_expires_at = if to.duration_seconds == 0 { 0 } else { now + to.duration_seconds };
    if direction == Direction::Downgrade {
        if db::subscriptions::by_license(&s.db.read, l.id).await?.is_none() || l.expires_at == 0 {
            return Err(DomainError::conflict(
                "downgrade_at_renewal",
                "a move to a lower tier takes effect at the next renewal, and this license does not renew",
            )
            .into());
        }
        let effective_at = l.expires_at;
        let new_expires_at = if to.duration_seconds == 0 { 0 } else { l.expires_at + to.duration_seconds };
        return Ok(Plan { license: l, product, from, to, direction, quote: None, new_expires_at, effective_at });
    }
    let periods = if l.is_trial { Vec::new() } else { paid_periods(&mut *s.db.read.acquire().await?, &l).await? };
    let quote =
        proration::quote(&price_of(&to), &periods, now).map_err(|QuoteError::CurrencyMismatch { paid, price }| {
            DomainError::conflict(
                "currency_mismatch",
                format!(
                    "the current period was paid in {paid} and tier '{}' is priced in {price}: no credit can be \
                     worked out; ask the seller to change the tier",
                    to.slug
                ),
            )
        })?;
    Ok(Plan { license: l, product, from, to, direction, quote: Some(quote), new_expires_at, effective_at: now })
}

/// Up or down the ladder (both tiers ranked), or a trial converting.
fn direction(l: &License, from: Option<&Policy>, to: &Policy, asker: Asker) -> Result<Direction, ServiceError> {
    if l.is_trial || from.is_some_and(|f| f.is_trial) {
        return Ok(Direction::Conversion);
    }
    match (from.and_then(|f| f.tier_rank), to.tier_rank) {
        (Some(a), Some(b)) if b > a => Ok(Direction::Upgrade),
        (Some(a), Some(b)) if b < a => Ok(Direction::Downgrade),
        // The operator may move a license sideways; it is priced like an upgrade.
        _ if asker == Asker::Operator => Ok(Direction::Upgrade),
        _ => Err(DomainError::conflict(
            "not_on_ladder",
            format!("tier '{}' is not above or below this license's tier on the product's ladder", to.slug),
        )
        .into()),
    }
}

/// A tier's price as charged.
fn price_of(p: &Policy) -> Money {
    match &p.fiat_price {
        Some(f) => Money::Fiat { amount: f.amount.clone(), currency: f.currency.clone() },
        None => Money::Sats(p.price_sats),
    }
}

/// What was paid for the periods the license holds: since its last tier
/// change, or since its sale (the sale's invoice, renewals after it).
pub async fn paid_periods(conn: &mut sqlx::SqliteConnection, l: &License) -> Result<Vec<PaidPeriod>, sqlx::Error> {
    let changes = db::subscriptions::changes(&mut *conn, l.id).await?;
    let reset = changes.iter().rposition(|c| c.kind == "upgrade" || c.kind == "change_tier");
    let mut periods = Vec::new();
    let since = match reset {
        Some(i) => i,
        None => {
            let end = changes.first().map_or(l.expires_at, |c| c.old_expires_at);
            let invoice = match l.invoice_id.as_deref().and_then(|i| Uuid::parse_str(i).ok()) {
                Some(id) => db::invoices::by_id(&mut *conn, id).await?,
                None => None,
            };
            let paid = match invoice {
                Some(i) => match (i.price_amount, i.price_currency) {
                    (Some(amount), Some(currency)) => Money::Fiat { amount, currency },
                    _ => Money::Sats(i.amount_sats),
                },
                None => Money::Sats(0),
            };
            periods.push(PaidPeriod { start: l.issued_at, end, paid });
            0
        }
    };
    for c in &changes[since..] {
        if let (Some(start), Some(end)) = (c.period_start, c.period_end) {
            periods.push(PaidPeriod { start, end, paid: c.paid() });
        }
    }
    Ok(periods)
}

// ---- the buyer ----

/// `POST /v1/upgrade-quote`.
pub async fn quote(s: &Core, holder: Holder<'_>, to_slug: &str) -> Result<UpgradeQuoteView, ServiceError> {
    let l = holder_license(s, holder).await?;
    Ok(plan(s, l, to_slug, Asker::Buyer, now_unix()).await?.view())
}

/// A downgrade waiting for the next renewal.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Scheduled {
    pub license_id: Uuid,
    pub to_policy_slug: Slug,
    pub direction: Direction,
    pub effective_at: Timestamp,
}

/// What asking for a tier change did.
pub enum Outcome {
    /// An invoice to pay (or, when nothing was left to pay, the new key).
    Checkout(Reply<PurchaseAnswer>),
    Scheduled(Scheduled),
    /// Done at once (the operator's comp change).
    Applied(Box<LicenseView>),
}

/// `POST /v1/upgrade` and the upgrade page.
pub async fn upgrade(
    s: &Core,
    holder: Holder<'_>,
    to_slug: &str,
    redirect_url: Option<&str>,
    caller: &Caller,
) -> Result<Outcome, ServiceError> {
    s.limits.global.purchase.admit()?;
    let redirect = orders::checkout_redirect(s, redirect_url)?;
    let l = holder_license(s, holder).await?;
    let plan = plan(s, l, to_slug, Asker::Buyer, now_unix()).await?;
    carry_out(s, plan, redirect, caller, "buyer").await
}

async fn carry_out(
    s: &Core,
    plan: Plan,
    redirect: Option<String>,
    caller: &Caller,
    actor: &str,
) -> Result<Outcome, ServiceError> {
    if plan.direction == Direction::Downgrade {
        return schedule_downgrade(s, &plan, actor).await.map(Outcome::Scheduled);
    }
    let order = plan.order();
    if order.quote.is_free() {
        return upgrade_free(s, &order, actor).await.map(Outcome::Checkout);
    }
    orders::checkout(s, &order, redirect, caller, None).await.map(Outcome::Checkout)
}

/// A downgrade is remembered on the subscription; its next renewal is
/// priced at, and moves the license to, the lower tier.
async fn schedule_downgrade(s: &Core, plan: &Plan, actor: &str) -> Result<Scheduled, ServiceError> {
    let now = now_unix();
    let mut tx = s.db.begin().await?;
    let sub = db::subscriptions::by_license(&mut *tx, plan.license.id).await?.ok_or_else(|| anyhow::anyhow!("gone"))?;
    db::subscriptions::set_next_policy(&mut tx, sub.id, Some(plan.to.id), now).await?;
    let details = json!({ "license_id": plan.license.id, "to": plan.to.slug, "effective_at": ts(plan.effective_at) });
    audit(&mut tx, now, actor, "subscription.downgrade", ("subscription", sub.id), details).await?;
    tx.commit().await?;
    Ok(Scheduled {
        license_id: plan.license.id,
        to_policy_slug: plan.to.slug.clone(),
        direction: Direction::Downgrade,
        effective_at: Timestamp(plan.effective_at),
    })
}

/// An upgrade the credit pays for entirely: applied at once.
async fn upgrade_free(s: &Core, order: &Order, actor: &str) -> Result<Reply<PurchaseAnswer>, ServiceError> {
    let now = now_unix();
    let mut tx = s.db.begin().await?;
    let invoice = order.invoice("none", InvoiceStatus::Settled, None, now);
    db::invoices::insert(&mut tx, &invoice).await?;
    let moved =
        apply_upgrade_invoice(&mut tx, &s.signer, &invoice, actor, now).await.map_err(|e| anyhow::anyhow!(e))?;
    let answer = PurchaseAnswer::Issued(PurchaseIssued {
        invoice_id: invoice.id,
        btcpay_invoice_id: None,
        checkout_url: orders::thank_you_url(s, invoice.id),
        amount_sats: 0,
        base_price_sats: order.quote.base_price_sats,
        discount_applied_sats: order.quote.discount_sats,
        poll_url: orders::poll_url(s, invoice.id),
        license_id: moved.id,
        license_key: moved.license_key.clone(),
        redemption_id: None,
    });
    s.licensing.commit_change(tx, moved.id).await?;
    Ok(Reply::ok(answer))
}

// ---- applying ----

/// The upgrade an invoice paid for (`fulfillment::settle`), once per invoice.
pub async fn apply_upgrade_invoice(
    tx: &mut Tx,
    signer: &SigningKey,
    invoice: &db::invoices::Invoice,
    actor: &str,
    now: i64,
) -> Result<License, FulfillError> {
    let dangling = || FulfillError::Dangling(invoice.id);
    let l =
        db::licenses::by_id(&mut **tx, invoice.target_license_id.ok_or_else(dangling)?).await?.ok_or_else(dangling)?;
    let reference = invoice.id.to_string();
    if db::subscriptions::applied(&mut **tx, &reference).await? {
        return Ok(l);
    }
    let to = db::policies::by_id(&mut **tx, invoice.policy_id).await?.ok_or_else(dangling)?;
    // The period's worth is the tier's whole price: what was paid plus the credit carried over.
    let paid = match (&to.fiat_price, &invoice.price_currency) {
        (Some(f), Some(_)) => Money::Fiat { amount: f.amount.clone(), currency: f.currency.clone() },
        _ => Money::Sats(invoice.base_price_sats),
    };
    let change = TierChange {
        kind: "upgrade",
        reference: Some(&reference),
        invoice_id: Some(invoice.id),
        paid,
        actor,
        reason: None,
    };
    move_to_tier(tx, signer, &l, &to, change, now).await
}

/// What moved a license to another tier.
struct TierChange<'a> {
    /// `upgrade` or `change_tier`.
    kind: &'a str,
    reference: Option<&'a str>,
    invoice_id: Option<Uuid>,
    paid: Money,
    actor: &'a str,
    /// Why the operator changed it.
    reason: Option<String>,
}

/// Moves the license to tier `to` now: its terms, a period from now, its
/// subscription (started, restarted or ended as `to` renews or not), the
/// record, the audit, `license.updated` and the new key by DM.
async fn move_to_tier(
    tx: &mut Tx,
    signer: &SigningKey,
    l: &License,
    to: &Policy,
    c: TierChange<'_>,
    now: i64,
) -> Result<License, FulfillError> {
    let end = if to.duration_seconds == 0 { 0 } else { now + to.duration_seconds };
    let moved = terms::rewrite(tx, signer, l, NewTerms::of_policy(to, end), now).await?;
    let record = NewChange {
        license_id: l.id,
        kind: c.kind,
        reference: c.reference,
        invoice_id: c.invoice_id,
        from_policy_id: l.policy_id,
        to_policy_id: to.id,
        period: Some((now, end)),
        paid: Some(&c.paid),
        old_expires_at: l.expires_at,
        new_expires_at: end,
        actor: c.actor,
    };
    if !db::subscriptions::record_change(tx, &record, now).await? {
        return Err(FulfillError::Change(l.id, "applied concurrently".into()));
    }
    follow_subscription(tx, &moved, to, c.actor, now).await?;
    let details = json!({ "from_policy_id": l.policy_id, "to": to.slug, "invoice_id": c.invoice_id,
        "paid": c.paid.to_string(), "expires_at": ts_or_null(end), "reason": c.reason });
    audit(tx, now, c.actor, &format!("license.{}", c.kind), ("license", l.id), details).await?;
    terms::announce(tx, now, l, &moved, KeyChange::Upgraded, true).await?;
    Ok(moved)
}

/// The subscription follows the license's new tier: a recurring tier
/// (re)starts it with a period from now; a tier that does not renew ends it.
async fn follow_subscription(tx: &mut Tx, l: &License, to: &Policy, actor: &str, now: i64) -> Result<(), sqlx::Error> {
    let renews = to.is_recurring && l.expires_at > 0;
    match (db::subscriptions::by_license(&mut **tx, l.id).await?, renews) {
        (Some(sub), true) => {
            let period = Period::new(now, l.expires_at, to.renewal_notice_seconds, l.grace_seconds);
            db::subscriptions::start_period(tx, sub.id, to.id, to.duration_seconds, period, false, now).await
        }
        (None, true) => subscriptions::start_in(tx, l, to, actor, now).await,
        (Some(sub), false) => {
            let reason = format!("moved to tier '{}', which does not renew", to.slug);
            if db::subscriptions::cancel(tx, sub.id, actor, Some(&reason), now).await? {
                let canceled = db::subscriptions::by_id(&mut **tx, sub.id).await?.unwrap_or(sub);
                let extra = json!({ "canceled_by": actor, "reason": reason, "runs_until": ts_or_null(l.expires_at) });
                subscription_event(tx, now, EventType::SubscriptionCanceled, &canceled, l, extra).await?;
            }
            Ok(())
        }
        (None, false) => Ok(()),
    }
}

// ---- the operator ----

/// `POST /v1/admin/licenses/{id}/change-tier`.
pub struct ChangeTierInput {
    pub to_policy_slug: String,
    /// A comp change: applied at once, nothing to pay.
    pub skip_payment: bool,
    pub reason: Option<String>,
}

/// A comp change applies at once (up or down); otherwise an upgrade is
/// priced as for the buyer and its checkout answered (to forward to them),
/// and a downgrade is scheduled for the next renewal.
pub async fn change_tier(s: &Core, id: &str, input: ChangeTierInput) -> Result<Outcome, ServiceError> {
    let reason = optional_text("reason", input.reason, 500)?;
    let missing = || ServiceError::NotFound(format!("no license '{}'", crate::domain::clip(id, 64)));
    let license_id = Uuid::parse_str(id.trim()).map_err(|_| missing())?;
    let l = db::licenses::by_id(&s.db.read, license_id).await?.ok_or_else(missing)?;
    let now = now_unix();
    let plan = plan(s, l, &input.to_policy_slug, Asker::Operator, now).await?;
    if !input.skip_payment {
        let caller = Caller { ip: IpAddr::V4(Ipv4Addr::LOCALHOST), idem: None };
        return carry_out(s, plan, None, &caller, "admin").await;
    }
    let mut tx = s.db.begin().await?;
    let l = db::licenses::by_id(&mut *tx, license_id).await?.ok_or_else(missing)?;
    let change = TierChange {
        kind: "change_tier",
        reference: None,
        invoice_id: None,
        paid: Money::Sats(0),
        actor: "admin",
        reason,
    };
    move_to_tier(&mut tx, &s.signer, &l, &plan.to, change, now).await.map_err(|e| anyhow::anyhow!(e))?;
    s.licensing.commit_change(tx, license_id).await?;
    let l = db::licenses::by_id(&s.db.write, license_id).await?.ok_or_else(missing)?;
    Ok(Outcome::Applied(Box::new(super::licenses::view(s, &l).await?)))
}
