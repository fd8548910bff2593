//! Subscriptions: a license of a recurring tier, renewed in bitcoin by a
//! payment the buyer makes when reminded (there is no card on file).
//!
//! A renewal is bought like a purchase (`orders::checkout`: codes,
//! idempotency keys, the caps on open invoices) and settles through the same
//! fulfillment path (`fulfillment::apply_invoice_news`), which calls
//! [`apply_renewal_invoice`]. Any provider that collects a renewal by itself
//! (a card subscription) applies it with [`apply_paid_renewal`]. The
//! scheduler's steps (notice, past due, lapsed) are in `subscription_steps`.

use ed25519_dalek::SigningKey;
use hmac::{Hmac, Mac};
use keysat_client::{PurchaseAnswer, PurchaseIssued};
use schemars::JsonSchema;
use serde::Serialize;
use serde_json::json;
use sha2::Sha256;
use subtle::ConstantTimeEq;
use uuid::Uuid;

use super::fulfillment::{self, FulfillError};
use super::idempotency::{self, IdempotencyKey, Reply};
use super::licenses::Names;
use super::orders::{self, Caller, Order};
use super::terms::{self, NewTerms};
use super::views::{CatalogNames, TierRef};
use super::{audit, products, Core, ServiceError};
use crate::db::licenses::License;
use crate::db::subscriptions::{NewChange, Subscription};
use crate::db::{self, Tx};
use crate::delivery::buyer_notices::KeyChange;
use crate::delivery::events::{code_redeemed, subscription_event};
use crate::delivery::EventType;
use crate::domain::catalog::Policy;
use crate::domain::invoice::InvoiceStatus;
use crate::domain::license::LicenseStatus;
use crate::domain::npub::Npub;
use crate::domain::proration::Money;
use crate::domain::subscription::{renewal_start, Period, Purpose, State};
use crate::domain::time::{ts, Timestamp};
use crate::domain::validation::Reason;
use crate::domain::{now_unix, optional_text, DomainError, Slug};

/// A subscription as the operator (and the buyer who cancels) sees it.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct SubscriptionView {
    pub subscription_id: Uuid,
    pub license_id: Uuid,
    /// The product and the tier it renews at.
    #[serde(flatten)]
    pub of: TierRef,
    /// A downgrade taking effect at the next renewal.
    pub next_policy_slug: Option<Slug>,
    pub state: State,
    pub period_seconds: i64,
    pub current_period_end: Timestamp,
    pub renewal_notice_at: Timestamp,
    pub grace_until: Timestamp,
    pub renewals: i64,
    pub canceled_at: Option<Timestamp>,
    pub canceled_by: Option<String>,
    pub cancel_reason: Option<String>,
    /// The renew page for this license (no key needed).
    pub renew_url: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl SubscriptionView {
    pub fn new(s: &Core, sub: &Subscription, names: &impl CatalogNames) -> SubscriptionView {
        SubscriptionView {
            subscription_id: sub.id,
            license_id: sub.license_id,
            of: TierRef::new(sub.product_id, sub.policy_id, names),
            next_policy_slug: sub.next_policy_id.and_then(|p| names.policy(p)).map(|p| p.0.clone()),
            state: sub.state,
            period_seconds: sub.period_seconds,
            current_period_end: Timestamp(sub.current_period_end),
            renewal_notice_at: Timestamp(sub.notice_at),
            grace_until: Timestamp(sub.grace_until),
            renewals: sub.renewals,
            canceled_at: sub.canceled_at.map(Timestamp),
            canceled_by: sub.canceled_by.clone(),
            cancel_reason: sub.cancel_reason.clone(),
            renew_url: renew_url(s, sub.license_id),
            created_at: Timestamp(sub.created_at),
            updated_at: Timestamp(sub.updated_at),
        }
    }
}

// ---- who asks ----

/// Who asks about a license: the holder of its key, or of the renew link a
/// reminder carried.
#[derive(Debug, Clone, Copy)]
pub enum Holder<'a> {
    Key(&'a str),
    Link { license_id: &'a str, token: &'a str },
}

/// The license a holder proves to hold: a key this server signed (its
/// expiry does not matter), or a renew link's id and token.
pub async fn holder_license(s: &Core, holder: Holder<'_>) -> Result<License, ServiceError> {
    let unknown = || ServiceError::NotFound("no license with this key exists here".into());
    let id = match holder {
        Holder::Key(key) => {
            if key.trim().is_empty() {
                return Err(DomainError::invalid("key", "is required: paste your license key").into());
            }
            let (license_id, product_id) = s.licensing.key_names(key).map_err(|r| ServiceError::Invalid {
                code: if r == Reason::BadSignature { "bad_signature" } else { "bad_format" },
                message: format!("key: {}", r.message()),
            })?;
            let l = db::licenses::by_id(&s.db.read, license_id).await?.ok_or_else(unknown)?;
            return if l.product_id == product_id { Ok(l) } else { Err(unknown()) };
        }
        Holder::Link { license_id, token } => {
            let bad = || ServiceError::NotFound("this renew link is not valid here; paste your license key".into());
            let id = Uuid::parse_str(license_id.trim()).map_err(|_| bad())?;
            if !bool::from(link_token(&s.signer, id).as_bytes().ct_eq(token.trim().as_bytes())) {
                return Err(bad());
            }
            id
        }
    };
    db::licenses::by_id(&s.db.read, id).await?.ok_or_else(unknown)
}

/// A token proving a renew link names this license: an HMAC of its id under
/// a key derived from the signing key (nothing to store, nothing to guess).
fn link_token(signer: &SigningKey, license_id: Uuid) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(&signer.to_bytes()).expect("HMAC takes any key length");
    mac.update(b"keysat renew link v1\0");
    mac.update(license_id.as_bytes());
    hex::encode(&mac.finalize().into_bytes()[..16])
}

/// The renew page for a license, as reminders and events give it.
pub fn renew_url(s: &Core, license_id: Uuid) -> String {
    format!("{}/renew?license={license_id}&t={}", s.public_url, link_token(&s.signer, license_id))
}

/// A tier's price as a buyer reads it.
pub fn price_text(p: &Policy) -> String {
    match &p.fiat_price {
        Some(f) => format!("{} {}", f.amount, f.currency),
        None => format!("{} sats", crate::delivery::operator::group_thousands(p.price_sats)),
    }
}

// ---- starting and renewing ----

/// Starts the subscription of a license just issued on a recurring tier
/// (called by `fulfillment::issue_in`, inside its transaction).
pub async fn start_in(tx: &mut Tx, l: &License, policy: &Policy, actor: &str, now: i64) -> Result<(), sqlx::Error> {
    let period = Period::new(now.min(l.expires_at), l.expires_at, policy.renewal_notice_seconds, l.grace_seconds);
    let sub = Subscription {
        rowid: 0,
        id: Uuid::new_v4(),
        license_id: l.id,
        product_id: l.product_id,
        policy_id: policy.id,
        next_policy_id: None,
        state: State::Active,
        period_seconds: policy.duration_seconds,
        current_period_end: period.end,
        notice_at: period.notice_at,
        grace_until: period.grace_until,
        renewals: 0,
        canceled_at: None,
        canceled_by: None,
        cancel_reason: None,
        created_at: now,
        updated_at: now,
    };
    db::subscriptions::insert(tx, &sub).await?;
    let details = json!({ "license_id": l.id, "policy": policy.slug, "period_end": ts(period.end) });
    audit(tx, now, actor, "subscription.start", ("subscription", sub.id), details).await
}

/// A renewal period paid for, by any provider.
pub struct PaidRenewal<'a> {
    pub license_id: Uuid,
    /// The tier paid for; `None`: the subscription's scheduled tier, else its own.
    pub policy_id: Option<Uuid>,
    /// Applied once: our invoice id, or the provider's id of the payment.
    pub reference: &'a str,
    /// Our invoice, when the payment came through one.
    pub invoice_id: Option<Uuid>,
    pub paid: Money,
    pub actor: &'a str,
}

/// What applying a paid renewal did.
pub struct Renewed {
    pub license: License,
    /// False when the reference had been applied before (nothing changed).
    pub applied: bool,
}

/// Applies a paid renewal period to a license inside the caller's
/// transaction, once per `reference`: the expiry moves one period past the
/// current period's end (or past now, when the subscription had lapsed), a
/// key carrying it is signed, the subscription is active again, and the
/// renewal is audited and told (`subscription.renewed`, `license.updated`,
/// the new key by DM). The caller commits with
/// `s.licensing.commit_change(tx, license_id)` so validation sees it at once.
pub async fn apply_paid_renewal(
    tx: &mut Tx,
    signer: &SigningKey,
    r: PaidRenewal<'_>,
    now: i64,
) -> Result<Renewed, FulfillError> {
    let fail = |why: String| FulfillError::Change(r.invoice_id.unwrap_or(r.license_id), why);
    let l = db::licenses::by_id(&mut **tx, r.license_id).await?.ok_or_else(|| fail("the license is gone".into()))?;
    if db::subscriptions::applied(&mut **tx, r.reference).await? {
        return Ok(Renewed { license: l, applied: false });
    }
    let sub = match db::subscriptions::by_license(&mut **tx, l.id).await? {
        Some(sub) => sub,
        None => {
            let current = db::policies::by_id(&mut **tx, l.policy_id).await?;
            start_in(tx, &l, current.as_ref().ok_or_else(|| fail("the tier is gone".into()))?, r.actor, now).await?;
            db::subscriptions::by_license(&mut **tx, l.id).await?.ok_or_else(|| fail("no subscription".into()))?
        }
    };
    let policy_id = r.policy_id.or(sub.next_policy_id).unwrap_or(sub.policy_id);
    let policy = db::policies::by_id(&mut **tx, policy_id).await?.ok_or_else(|| fail("the tier is gone".into()))?;
    if policy.duration_seconds <= 0 {
        return Err(fail(format!("tier '{}' has no period to renew for", policy.slug)));
    }
    let start = renewal_start(l.expires_at, l.grace_seconds, now);
    let end = start + policy.duration_seconds;
    // The same tier keeps the operator's adjustments; another one brings its own terms.
    let new = if policy.id == l.policy_id {
        NewTerms { expires_at: end, ..NewTerms::of(&l) }
    } else {
        NewTerms::of_policy(&policy, end)
    };
    let renewed = terms::rewrite(tx, signer, &l, new, now).await?;
    let change = NewChange {
        license_id: l.id,
        kind: "renewal",
        reference: Some(r.reference),
        invoice_id: r.invoice_id,
        from_policy_id: l.policy_id,
        to_policy_id: policy.id,
        period: Some((start, end)),
        paid: Some(&r.paid),
        old_expires_at: l.expires_at,
        new_expires_at: end,
        actor: r.actor,
    };
    if !db::subscriptions::record_change(tx, &change, now).await? {
        return Err(fail("applied concurrently".into()));
    }
    let period = Period::new(start, end, policy.renewal_notice_seconds, renewed.grace_seconds);
    db::subscriptions::start_period(tx, sub.id, policy.id, policy.duration_seconds, period, true, now).await?;
    let sub = db::subscriptions::by_id(&mut **tx, sub.id).await?.ok_or_else(|| fail("no subscription".into()))?;
    let details = json!({ "subscription_id": sub.id, "reference": r.reference, "invoice_id": r.invoice_id,
        "policy": policy.slug, "from": ts(l.expires_at), "to": ts(end), "paid": r.paid.to_string() });
    audit(tx, now, r.actor, "subscription.renew", ("license", l.id), details).await?;
    let extra = json!({ "license_key": renewed.license_key, "previous_period_end": ts(l.expires_at),
        "invoice_id": r.invoice_id });
    subscription_event(tx, now, EventType::SubscriptionRenewed, &sub, &renewed, extra).await?;
    terms::announce(tx, now, &l, &renewed, KeyChange::Renewed, true).await?;
    Ok(Renewed { license: renewed, applied: true })
}

/// The renewal an invoice paid for (`fulfillment::settle`).
pub async fn apply_renewal_invoice(
    tx: &mut Tx,
    signer: &SigningKey,
    invoice: &db::invoices::Invoice,
    actor: &str,
    now: i64,
) -> Result<License, FulfillError> {
    let license_id = invoice.target_license_id.ok_or(FulfillError::Dangling(invoice.id))?;
    let paid = match (&invoice.price_amount, &invoice.price_currency) {
        (Some(amount), Some(currency)) => Money::Fiat { amount: amount.clone(), currency: currency.clone() },
        _ => Money::Sats(invoice.amount_sats),
    };
    let reference = invoice.id.to_string();
    let r = PaidRenewal {
        license_id,
        policy_id: Some(invoice.policy_id),
        reference: &reference,
        invoice_id: Some(invoice.id),
        paid,
        actor,
    };
    let renewed = apply_paid_renewal(tx, signer, r, now).await?;
    if !renewed.applied {
        tracing::info!(invoice = %invoice.id, license = %license_id, "renewal already applied; nothing changed");
    }
    Ok(renewed.license)
}

// ---- the buyer renews ----

/// What a holder would pay to renew now (the renew page shows it first).
pub struct Renewal {
    pub order: Order,
    pub license: License,
    pub subscription: Subscription,
}

/// The renewal of the holder's subscription, priced with `code`: at the tier
/// it renews at (a scheduled downgrade's, if any), whether or not that tier
/// is still on sale — a subscriber keeps renewing what they bought.
pub async fn renewal(s: &Core, holder: Holder<'_>, code: Option<&str>) -> Result<Renewal, ServiceError> {
    let l = holder_license(s, holder).await?;
    if l.status == LicenseStatus::Revoked {
        return Err(DomainError::conflict("license_revoked", "this license is revoked and cannot be renewed").into());
    }
    let sub = db::subscriptions::by_license(&s.db.read, l.id).await?.ok_or_else(|| {
        DomainError::conflict("not_a_subscription", "this license does not renew: it is not a subscription")
    })?;
    let policy_id = sub.next_policy_id.unwrap_or(sub.policy_id);
    let policy = db::policies::by_id(&s.db.read, policy_id)
        .await?
        .ok_or_else(|| ServiceError::NotFound("the tier this subscription renews at is gone".into()))?;
    let product = db::products::by_id(&s.db.read, l.product_id)
        .await?
        .ok_or_else(|| ServiceError::NotFound("the product is gone".into()))?;
    let code = orders::code_of(s, &product, code).await?;
    let quote = Order::priced(&policy, code.as_ref())?;
    let order = Order {
        product,
        policy,
        code,
        quote,
        buyer_email: l.buyer_email.clone(),
        buyer_npub: l.buyer_npub.as_deref().and_then(|h| Npub::parse(h).ok()),
        buyer_note: None,
        purpose: Purpose::Renewal,
        license_id: Some(l.id),
    };
    Ok(Renewal { order, license: l, subscription: sub })
}

/// `POST /v1/renew` and the renew page: a fresh invoice for the next period,
/// answered like a purchase (the new key at once when a code makes it free).
pub async fn renew(
    s: &Core,
    holder: Holder<'_>,
    code: Option<&str>,
    redirect_url: Option<&str>,
    caller: &Caller,
) -> Result<Reply<PurchaseAnswer>, ServiceError> {
    s.limits.global.purchase.admit()?;
    let redirect = orders::checkout_redirect(s, redirect_url)?;
    let r = renewal(s, holder, code).await?;
    if r.order.quote.is_free() {
        return renew_free(s, &r.order, caller.idem.as_ref()).await;
    }
    orders::checkout(s, &r.order, redirect, caller, None).await
}

/// A renewal a code makes free: the settled zero invoice, the new period and
/// the code's use in one transaction (with the `Idempotency-Key`'s answer).
async fn renew_free(
    s: &Core,
    order: &Order,
    idem: Option<&IdempotencyKey>,
) -> Result<Reply<PurchaseAnswer>, ServiceError> {
    let now = now_unix();
    let mut tx = s.db.begin().await?;
    if let Some(key) = idem {
        if let Some(replayed) = idempotency::claim(&mut tx, key, now).await? {
            return Ok(replayed);
        }
    }
    let invoice = order.invoice("none", InvoiceStatus::Settled, None, now);
    db::invoices::insert(&mut tx, &invoice).await?;
    let license_id = order.license_id.ok_or_else(|| anyhow::anyhow!("a renewal names its license"))?;
    let reference = invoice.id.to_string();
    let paid = PaidRenewal {
        license_id,
        policy_id: Some(order.policy.id),
        reference: &reference,
        invoice_id: Some(invoice.id),
        paid: Money::Sats(0),
        actor: "buyer",
    };
    let renewed = apply_paid_renewal(&mut tx, &s.signer, paid, now).await.map_err(|e| anyhow::anyhow!(e))?;
    let mut redemption_id = None;
    if let Some(code) = &order.code {
        let buyer = order.buyer_key();
        let slug = order.policy.slug.as_str();
        let hold = s.config.code_hold_seconds;
        let claimed = fulfillment::claim_code(
            &mut tx,
            code,
            slug,
            buyer.as_deref(),
            Some(&reference),
            Some(license_id),
            0,
            hold,
            now,
        )
        .await?;
        let use_id = claimed.map_err(ServiceError::Refused)?;
        redemption_id = Some(use_id);
        code_redeemed(&mut tx, now, code.id, &invoice, license_id, Some(use_id)).await?;
    }
    let answer = PurchaseAnswer::Issued(PurchaseIssued {
        invoice_id: invoice.id,
        btcpay_invoice_id: None,
        checkout_url: orders::thank_you_url(s, invoice.id),
        amount_sats: 0,
        base_price_sats: order.quote.base_price_sats,
        discount_applied_sats: order.quote.discount_sats,
        poll_url: orders::poll_url(s, invoice.id),
        license_id,
        license_key: renewed.license.license_key.clone(),
        redemption_id,
    });
    if let Some(key) = idem {
        idempotency::remember(&mut tx, key, axum::http::StatusCode::OK, &answer, now).await?;
    }
    s.licensing.commit_change(tx, license_id).await?;
    Ok(Reply::ok(answer))
}

// ---- cancel, list, show ----

/// Who cancels: the buyer (holding the key) or the operator (by id).
pub enum Canceler<'a> {
    Buyer(Holder<'a>),
    Admin(&'a str),
}

/// Cancels: no more reminders; the license runs to the end of the paid period.
pub async fn cancel(s: &Core, who: Canceler<'_>, reason: Option<String>) -> Result<SubscriptionView, ServiceError> {
    let reason = optional_text("reason", reason, 500)?;
    let (sub, actor) = match who {
        Canceler::Buyer(holder) => {
            let l = holder_license(s, holder).await?;
            let sub = db::subscriptions::by_license(&s.db.read, l.id).await?;
            (
                sub.ok_or_else(|| DomainError::conflict("not_a_subscription", "this license is not a subscription"))?,
                "buyer",
            )
        }
        Canceler::Admin(id) => (find(s, id).await?, "admin"),
    };
    let now = now_unix();
    let mut tx = s.db.begin().await?;
    if !db::subscriptions::cancel(&mut tx, sub.id, actor, reason.as_deref(), now).await? {
        return Err(DomainError::conflict("already_canceled", "the subscription is already canceled").into());
    }
    let l = db::licenses::by_id(&mut *tx, sub.license_id).await?.ok_or_else(|| anyhow::anyhow!("license gone"))?;
    let canceled = db::subscriptions::by_id(&mut *tx, sub.id).await?.ok_or_else(|| anyhow::anyhow!("gone"))?;
    let details = json!({ "license_id": l.id, "from": sub.state, "reason": reason, "runs_until": ts(l.expires_at) });
    audit(&mut tx, now, actor, "subscription.cancel", ("subscription", sub.id), details).await?;
    let extra = json!({ "canceled_by": actor, "reason": reason, "runs_until": ts(l.expires_at) });
    subscription_event(&mut tx, now, EventType::SubscriptionCanceled, &canceled, &l, extra).await?;
    tx.commit().await?;
    Ok(SubscriptionView::new(s, &canceled, &Names::load(s).await?))
}

async fn find(s: &Core, id: &str) -> Result<Subscription, ServiceError> {
    let missing = || ServiceError::NotFound(format!("no subscription '{}'", crate::domain::clip(id, 64)));
    let id = Uuid::parse_str(id.trim()).map_err(|_| missing())?;
    db::subscriptions::by_id(&s.db.read, id).await?.ok_or_else(missing)
}

pub async fn get(s: &Core, id: &str) -> Result<SubscriptionView, ServiceError> {
    let sub = find(s, id).await?;
    Ok(SubscriptionView::new(s, &sub, &Names::load(s).await?))
}

/// The license's subscription, if it has one (its admin details show it).
pub async fn of_license(s: &Core, license_id: Uuid) -> Result<Option<SubscriptionView>, ServiceError> {
    let Some(sub) = db::subscriptions::by_license(&s.db.read, license_id).await? else {
        return Ok(None);
    };
    Ok(Some(SubscriptionView::new(s, &sub, &Names::load(s).await?)))
}

/// Which subscriptions to list; `product` is a slug.
pub struct ListInput {
    pub state: Option<String>,
    pub product: Option<String>,
    pub license_id: Option<String>,
    pub before_rowid: Option<i64>,
    pub limit: i64,
}

pub struct Page {
    pub subscriptions: Vec<SubscriptionView>,
    pub next_cursor: Option<String>,
}

pub async fn list(s: &Core, q: ListInput) -> Result<Page, ServiceError> {
    let license_id = q
        .license_id
        .as_deref()
        .map(|l| Uuid::parse_str(l.trim()))
        .transpose()
        .map_err(|_| ServiceError::bad_input("invalid_request", "license_id: not a license id"))?;
    let filter = db::subscriptions::ListFilter {
        state: q.state.as_deref().map(State::parse).transpose()?,
        product_id: match &q.product {
            Some(slug) => Some(products::find(s, slug).await?.id),
            None => None,
        },
        license_id,
        before_rowid: q.before_rowid,
        limit: q.limit,
    };
    let rows = db::subscriptions::list(&s.db.read, &filter).await?;
    let next_cursor = (rows.len() as i64 == q.limit).then(|| rows.last().map(|r| r.rowid.to_string())).flatten();
    let names = Names::load(s).await?;
    Ok(Page { subscriptions: rows.iter().map(|r| SubscriptionView::new(s, r, &names)).collect(), next_cursor })
}
