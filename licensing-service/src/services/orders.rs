//! Orders: purchases, free redemptions and key recovery — reading the
//! buyer's order into checked values, the caps and limits every sale passes,
//! the provider checkout, and issuing at once when nothing is left to pay.
//! The JSON API and the buyer pages call these same functions.

use std::net::IpAddr;
use std::sync::Arc;

use axum::http::StatusCode;
use keysat_client::{PurchaseAnswer, PurchaseCheckout, PurchaseIssued, RedeemAnswer};
use serde::de::DeserializeOwned;
use serde::Serialize;
use uuid::Uuid;

use super::idempotency::{self, address_bucket, IdempotencyKey, Reply};
use super::{catalog, ServiceError};
use crate::config::origin_of;
use crate::db;
use crate::db::codes::DiscountCode;
use crate::db::invoices::Invoice;
use crate::db::licenses::License;
use crate::delivery::events::code_redeemed;
use crate::delivery::{operator, NoticeKind};
use crate::domain::catalog::{Policy, Product};
use crate::domain::discount::{Code, Quote, Refusal};
use crate::domain::invoice::InvoiceStatus;
use crate::domain::license::parse_email;
use crate::domain::npub::Npub;
use crate::domain::subscription::Purpose;
use crate::domain::time::unix_or_never;
use crate::domain::{now_unix, optional_text, DomainError};
use crate::payment::{Amount, Checkout, CheckoutRequest, PaymentProvider};
use crate::services::fulfillment::{self, IssueRequest, Source};
use crate::services::Core;

/// Who sent an order: the client's address (for the caps on open invoices)
/// and the `Idempotency-Key` they sent, if any.
pub struct Caller {
    pub ip: IpAddr,
    pub idem: Option<IdempotencyKey>,
}

/// A checked order.
pub struct Order {
    pub product: Product,
    pub policy: Policy,
    pub code: Option<DiscountCode>,
    pub quote: Quote,
    pub buyer_email: Option<String>,
    pub buyer_npub: Option<Npub>,
    pub buyer_note: Option<String>,
    /// A new license, or a renewal or upgrade of `license_id`.
    pub purpose: Purpose,
    pub license_id: Option<Uuid>,
}

/// The buyer's raw order fields.
pub struct OrderInput<'a> {
    pub product: &'a str,
    pub policy_slug: Option<&'a str>,
    pub code: Option<&'a str>,
    pub buyer_email: Option<String>,
    pub buyer_npub: Option<String>,
    pub buyer_note: Option<String>,
}

impl Order {
    /// Checks every field; an unknown code and another product's code look the same.
    pub async fn load(s: &Core, input: OrderInput<'_>) -> Result<Order, ServiceError> {
        let buyer_email = optional_text("buyer_email", input.buyer_email, 254)?.map(|e| parse_email(&e)).transpose()?;
        let buyer_npub = optional_text("buyer_npub", input.buyer_npub, 128)?.map(|n| Npub::parse(&n)).transpose()?;
        let buyer_note = optional_text("buyer_note", input.buyer_note, 1000)?;
        let (product, policy) = catalog::buyable(&s.db, input.product, input.policy_slug).await?;
        let code = code_of(s, &product, input.code).await?;
        let quote = Quote::for_policy(&policy, code.as_ref().map(|c| c.kind)).map_err(ServiceError::Refused)?;
        Ok(Order {
            product,
            policy,
            code,
            quote,
            buyer_email,
            buyer_npub,
            buyer_note,
            purpose: Purpose::Purchase,
            license_id: None,
        })
    }

    /// The quote for `policy` with `code` (and the code, for the order).
    pub fn priced(policy: &Policy, code: Option<&DiscountCode>) -> Result<Quote, ServiceError> {
        Quote::for_policy(policy, code.map(|c| c.kind)).map_err(ServiceError::Refused)
    }

    pub fn buyer_key(&self) -> Option<String> {
        fulfillment::buyer_key(self.buyer_email.as_deref(), self.buyer_npub.as_ref())
    }

    /// Our invoice row for this order.
    pub fn invoice(&self, provider: &str, status: InvoiceStatus, redirect_url: Option<String>, now: i64) -> Invoice {
        Invoice {
            id: crate::domain::new_id(),
            product_id: self.product.id,
            policy_id: self.policy.id,
            status,
            processing: false,
            provider: provider.to_string(),
            provider_invoice_id: None,
            checkout_url: None,
            amount_sats: self.quote.final_price_sats.max(0),
            base_price_sats: self.quote.base_price_sats,
            discount_sats: self.quote.discount_sats,
            price_amount: self.quote.fiat.as_ref().map(|f| f.1.clone()),
            price_currency: self.quote.fiat.as_ref().map(|f| f.2.clone()),
            code_id: self.code.as_ref().map(|c| c.id),
            buyer_email: self.buyer_email.clone(),
            buyer_npub: self.buyer_npub.as_ref().map(Npub::to_hex),
            buyer_note: self.buyer_note.clone(),
            redirect_url,
            created_at: now,
            updated_at: now,
            settled_at: (status == InvoiceStatus::Settled).then_some(now),
            closed_at: None,
            purpose: self.purpose,
            target_license_id: self.license_id,
        }
    }
}

/// The code `raw` names for `product` (none when blank); an unknown code
/// and another product's code look the same.
pub async fn code_of(s: &Core, product: &Product, raw: Option<&str>) -> Result<Option<DiscountCode>, ServiceError> {
    let Some(raw) = raw.map(str::trim).filter(|c| !c.is_empty()) else {
        return Ok(None);
    };
    let code = Code::parse(raw).map_err(|_| ServiceError::Refused(Refusal::UnknownCode))?;
    let found = db::codes::by_code(&s.db.read, &code).await?.filter(|c| c.product_id == product.id);
    Ok(Some(found.ok_or(ServiceError::Refused(Refusal::UnknownCode))?))
}

/// A license issued without payment.
pub struct FreeIssued {
    pub invoice: Invoice,
    pub license: License,
    pub redemption_id: Option<Uuid>,
}

/// Issues the license of a free order in one transaction: a settled
/// zero-amount invoice, the license with its audit record, and the code use
/// consumed — the single writer checks the code's limits, so a 10-use code
/// yields exactly 10 licenses however many buyers race for it. With an
/// `Idempotency-Key` the answer is stored in the same transaction. The
/// transaction is a job of the group-committing writer (`services::writer`):
/// a refused code undoes this order alone.
pub async fn issue_free<T: Serialize + DeserializeOwned + Send + Sync + 'static>(
    s: &Core,
    order: Order,
    idem: Option<&IdempotencyKey>,
    answer: impl Fn(&Order, &FreeIssued) -> T + Send + Sync + 'static,
) -> Result<Reply<T>, ServiceError> {
    let (signer, idem, hold) = (s.signer.clone(), idem.cloned(), s.config.code_hold_seconds);
    let (watch, order, answer) = (s.db.operator.clone(), Arc::new(order), Arc::new(answer));
    let reply = s
        .writer
        .run(move |tx| {
            let (signer, watch, order, idem, answer) =
                (signer.clone(), watch.clone(), order.clone(), idem.clone(), answer.clone());
            Box::pin(async move { free_order(tx, &signer, &watch, &order, idem.as_ref(), hold, &*answer).await })
        })
        .await?;
    if let Some((license, redemption)) = reply.1 {
        tracing::info!(%license, %redemption, "free license issued");
    }
    Ok(reply.0)
}

/// [`issue_free`]'s transaction; answers the reply and, for a code, the
/// license and the code use taken.
async fn free_order<T: Serialize + DeserializeOwned>(
    tx: &mut db::Tx,
    signer: &ed25519_dalek::SigningKey,
    watch: &db::nostr::OperatorWatch,
    order: &Order,
    idem: Option<&IdempotencyKey>,
    code_hold_seconds: i64,
    answer: impl FnOnce(&Order, &FreeIssued) -> T,
) -> Result<(Reply<T>, Option<(Uuid, Uuid)>), ServiceError> {
    let now = now_unix();
    if let Some(key) = idem {
        if let Some(replayed) = idempotency::claim(tx, key, now).await? {
            return Ok((replayed, None));
        }
    }
    let invoice = order.invoice("none", InvoiceStatus::Settled, None, now);
    db::invoices::insert(tx, &invoice).await?;
    let source = if order.code.is_some() { Source::Redeem } else { Source::Purchase };
    let issued = fulfillment::issue_in(
        tx,
        signer,
        IssueRequest {
            product: &order.product,
            policy: &order.policy,
            buyer_email: order.buyer_email.clone(),
            buyer_npub: order.buyer_npub,
            note: order.buyer_note.clone(),
            fingerprint: None,
            source,
            invoice_id: Some(invoice.id.to_string()),
            actor: "buyer",
        },
        now,
    )
    .await
    .map_err(|e| ServiceError::Internal(anyhow::anyhow!("issuing a free license: {e}")))?;
    let mut redemption_id = None;
    if let Some(code) = &order.code {
        let buyer = order.buyer_key();
        let claimed = fulfillment::claim_code(
            tx,
            code,
            order.policy.slug.as_str(),
            buyer.as_deref(),
            Some(&invoice.id.to_string()),
            Some(issued.license.id),
            0,
            code_hold_seconds,
            now,
        )
        .await?;
        // An error undoes the invoice and the license (the writer leaves nothing of a failed job).
        let use_id = claimed.map_err(ServiceError::Refused)?;
        redemption_id = Some(use_id);
        code_redeemed(tx, now, code.id, &invoice, issued.license.id, Some(use_id)).await?;
        let notice = operator::free_redemption_text(&order.product.name, &order.policy.name, code.code.as_str());
        operator::notify_in(tx, watch, now, NoticeKind::FreeRedemption, &notice).await?;
    }
    let done = FreeIssued { invoice, license: issued.license, redemption_id };
    let body = answer(order, &done);
    if let Some(key) = idem {
        idempotency::remember(tx, key, StatusCode::OK, &body, now).await?;
    }
    Ok((Reply::ok(body), done.redemption_id.map(|r| (done.license.id, r))))
}

/// The whole purchase, from the API or the buy page's form: a checkout at
/// the provider, or the license at once when nothing is left to pay.
/// `redirect_url` is where the provider sends the buyer back (this server's
/// thank-you page when `None`).
pub async fn create_purchase(
    s: &Core,
    input: OrderInput<'_>,
    redirect_url: Option<&str>,
    caller: &Caller,
) -> Result<Reply<PurchaseAnswer>, ServiceError> {
    create_purchase_on(s, input, redirect_url, caller, None).await
}

/// How the buyer pays: bitcoin (BTCPay, or the demo's simulated provider) or card (Stripe).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rail {
    Bitcoin,
    Card,
}

impl Rail {
    /// `"btcpay"` or `"stripe"`, as `POST /v1/purchase` takes them.
    pub fn parse(provider: &str) -> Result<Rail, ServiceError> {
        match provider.trim() {
            "btcpay" => Ok(Rail::Bitcoin),
            "stripe" => Ok(Rail::Card),
            other => Err(DomainError::invalid("provider", format!("'{other}' is not one of btcpay, stripe")).into()),
        }
    }
}

/// [`create_purchase`] on a chosen rail (`None`: bitcoin when available).
pub async fn create_purchase_on(
    s: &Core,
    input: OrderInput<'_>,
    redirect_url: Option<&str>,
    caller: &Caller,
    rail: Option<Rail>,
) -> Result<Reply<PurchaseAnswer>, ServiceError> {
    let idem = caller.idem.as_ref();
    // The caller has checked the address's own limit; this one is everyone's.
    s.limits.global.purchase.admit()?;
    let redirect = checkout_redirect(s, redirect_url)?;
    let order = Order::load(s, input).await?;
    if order.quote.is_free() {
        let s2 = s.clone();
        return issue_free(s, order, idem, move |order, done| free_answer(&s2, order, done)).await;
    }
    checkout(s, &order, redirect, caller, rail).await
}

/// The provider's checkout for an order that leaves something to pay — a
/// purchase, a renewal or an upgrade alike, on the rail asked for (`None`:
/// bitcoin when available): our invoice first (with its code use reserved,
/// in the transaction claiming the `Idempotency-Key`), then the provider's.
pub async fn checkout(
    s: &Core,
    order: &Order,
    redirect: Option<String>,
    caller: &Caller,
    rail: Option<Rail>,
) -> Result<Reply<PurchaseAnswer>, ServiceError> {
    let idem = caller.idem.as_ref();
    let provider = choose_provider(s, order, rail)?;

    // 1. Our invoice (and the code's reserved use) first.
    let now = now_unix();
    let mut invoice = order.invoice(provider.name(), InvoiceStatus::Pending, None, now);
    let redirect_url = redirect.unwrap_or_else(|| thank_you_url(s, invoice.id));
    invoice.redirect_url = Some(redirect_url.clone());
    if let Some(replayed) = open_invoice(s, order, &invoice, caller, now).await? {
        return Ok(replayed);
    }

    // 2. Then the provider's.
    let checkout = provider_checkout(s, provider.as_ref(), order, &invoice, redirect_url, idem).await?;
    let checkout = PurchaseCheckout {
        invoice_id: invoice.id,
        btcpay_invoice_id: checkout.provider_invoice_id,
        checkout_url: checkout.checkout_url,
        amount_sats: invoice.amount_sats,
        base_price_sats: order.quote.base_price_sats,
        discount_applied_sats: order.quote.discount_sats,
        price_amount: invoice.price_amount,
        price_currency: invoice.price_currency,
        poll_url: poll_url(s, invoice.id),
    };
    let now = now_unix();
    let mut tx = s.db.begin().await?;
    db::invoices::set_checkout(&mut tx, invoice.id, &checkout.btcpay_invoice_id, &checkout.checkout_url, now).await?;
    let answer = PurchaseAnswer::Checkout(checkout);
    if let Some(key) = idem {
        idempotency::remember(&mut tx, key, StatusCode::OK, &answer, now).await?;
    }
    tx.commit().await?;
    Ok(Reply::ok(answer))
}

/// The provider a paid order goes to: the rail asked for, else bitcoin when
/// connected, else card when the tier has a fiat price.
fn choose_provider(s: &Core, order: &Order, rail: Option<Rail>) -> Result<Arc<dyn PaymentProvider>, ServiceError> {
    let unavailable = |message: &str| ServiceError::Unavailable {
        code: "payments_unavailable",
        message: message.into(),
        retry_after: None,
    };
    let bitcoin_only = || ServiceError::Invalid {
        code: "bitcoin_only",
        message: format!("the tier '{}' has no card price: it can be paid in bitcoin only", order.policy.name),
    };
    let fiat = order.quote.fiat.is_some();
    match rail {
        Some(Rail::Bitcoin) => s.payments.current().ok_or_else(|| unavailable("bitcoin payments are not set up")),
        Some(Rail::Card) if !fiat => Err(bitcoin_only()),
        Some(Rail::Card) => s.payments.card().ok_or_else(|| unavailable("card payments are not set up")),
        None => match (s.payments.current(), s.payments.card()) {
            (Some(bitcoin), _) => Ok(bitcoin),
            (None, Some(card)) if fiat => Ok(card),
            (None, Some(_)) => Err(bitcoin_only()),
            (None, None) => {
                Err(unavailable("payments are not set up yet: the seller has not connected a payment provider"))
            }
        },
    }
}

/// Adds our pending invoice and reserves the code's use, within the caps on
/// open invoices, in one transaction that also claims the `Idempotency-Key`
/// (or finds the first request's answer to give again).
async fn open_invoice(
    s: &Core,
    order: &Order,
    invoice: &Invoice,
    caller: &Caller,
    now: i64,
) -> Result<Option<Reply<PurchaseAnswer>>, ServiceError> {
    let mut tx = s.db.begin().await?;
    if let Some(key) = &caller.idem {
        if let Some(replayed) = idempotency::claim(&mut tx, key, now).await? {
            return Ok(Some(replayed));
        }
    }
    let addr = address_bucket(caller.ip);
    check_open_invoices(s, &mut tx, &addr, now).await?;
    db::invoices::insert(&mut tx, invoice).await?;
    db::invoices::set_client_addr(&mut tx, invoice.id, &addr).await?;
    if let Some(code) = &order.code {
        let buyer = order.buyer_key();
        let id = invoice.id.to_string();
        let slug = order.policy.slug.as_str();
        let sats = order.quote.final_price_sats;
        fulfillment::claim_code(
            &mut tx,
            code,
            slug,
            buyer.as_deref(),
            Some(&id),
            None,
            sats,
            s.config.code_hold_seconds,
            now,
        )
        .await?
        .map_err(ServiceError::Refused)?;
    }
    tx.commit().await?;
    Ok(None)
}

/// The provider's checkout for our invoice. If the provider fails, nothing
/// is left to pay: our invoice is closed, the code use given back and the
/// `Idempotency-Key` freed.
async fn provider_checkout(
    s: &Core,
    provider: &dyn PaymentProvider,
    order: &Order,
    invoice: &Invoice,
    redirect_url: String,
    idem: Option<&IdempotencyKey>,
) -> Result<Checkout, ServiceError> {
    let amount = match &order.quote.fiat {
        Some((_, after, currency)) => Amount::Fiat { amount: after.clone(), currency: currency.clone() },
        None => Amount::Sats(order.quote.final_price_sats),
    };
    let request = CheckoutRequest {
        invoice_id: invoice.id,
        amount,
        description: match order.purpose {
            Purpose::Purchase => format!("{} — {}", order.product.name, order.policy.name),
            Purpose::Renewal => format!("{} — {} (renewal)", order.product.name, order.policy.name),
            Purpose::Upgrade => format!("{} — upgrade to {}", order.product.name, order.policy.name),
        },
        buyer_email: order.buyer_email.clone(),
        redirect_url,
    };
    let e = match provider.create_checkout(&request).await {
        Ok(c) => return Ok(c),
        Err(e) => e,
    };
    let now = now_unix();
    let mut tx = s.db.begin().await?;
    db::invoices::mark_closed(&mut tx, invoice.id, InvoiceStatus::Invalid, now).await?;
    db::codes::release_for_invoice(&mut tx, &invoice.id.to_string(), now).await?;
    if let Some(key) = idem {
        idempotency::forget(&mut tx, key).await?;
    }
    tx.commit().await?;
    // The detail (addresses, store ids, OS errors) is the operator's, in the log.
    tracing::error!(error = %e, invoice = %invoice.id, "creating the checkout failed");
    Err(ServiceError::Unavailable {
        code: "payments_unavailable",
        message: "payments are temporarily unavailable; please try again in a few minutes".into(),
        retry_after: None,
    })
}

fn free_answer(s: &Core, order: &Order, done: &FreeIssued) -> PurchaseAnswer {
    PurchaseAnswer::Issued(PurchaseIssued {
        invoice_id: done.invoice.id,
        btcpay_invoice_id: None,
        checkout_url: thank_you_url(s, done.invoice.id),
        amount_sats: 0,
        base_price_sats: order.quote.base_price_sats,
        discount_applied_sats: order.quote.discount_sats,
        poll_url: poll_url(s, done.invoice.id),
        license_id: done.license.id,
        license_key: done.license.license_key.clone(),
        redemption_id: done.redemption_id,
    })
}

pub fn thank_you_url(s: &Core, invoice_id: Uuid) -> String {
    format!("{}/thank-you?invoice={invoice_id}", s.public_url)
}

pub fn poll_url(s: &Core, invoice_id: Uuid) -> String {
    format!("{}/v1/purchase/{invoice_id}", s.public_url)
}

/// How long an unpaid invoice counts as open for the caps below: longer than
/// a provider checkout stays payable by default (BTCPay: 15 minutes).
const OPEN_INVOICE_SECONDS: i64 = 3600;

/// Unpaid invoices are capped per address and overall, so spam cannot grow
/// the database or the provider's invoice list without bound. Checked by the
/// single writer, in the transaction that adds the invoice.
async fn check_open_invoices(s: &Core, tx: &mut db::Tx, addr: &str, now: i64) -> Result<(), ServiceError> {
    let since = now - OPEN_INVOICE_SECONDS;
    if db::invoices::count_open(&mut **tx, Some(addr), since).await? >= s.config.max_pending_per_address {
        return Err(ServiceError::TooMany {
            code: "too_many_open_invoices",
            message: "this address has several unpaid checkouts open: pay or let one expire, then try again".into(),
            retry_after: 600,
        });
    }
    if db::invoices::count_open(&mut **tx, None, since).await? >= s.config.max_pending_invoices {
        tracing::warn!("the cap on open unpaid invoices is reached (KEYSAT_MAX_PENDING_INVOICES)");
        return Err(ServiceError::Unavailable {
            code: "too_many_open_invoices",
            message: "the shop has too many unpaid checkouts open; please try again in a few minutes".into(),
            retry_after: Some(300),
        });
    }
    Ok(())
}

/// `redirect_url` is honoured only for our own origin or an allowed one, and
/// kept as the URL parser writes it (no raw control characters survive).
pub fn checkout_redirect(s: &Core, wanted: Option<&str>) -> Result<Option<String>, ServiceError> {
    let Some(url) = wanted.map(str::trim).filter(|u| !u.is_empty()) else {
        return Ok(None);
    };
    let invalid = || DomainError::invalid("redirect_url", "must be an http(s) URL");
    if url.len() > 2000 || url.chars().any(char::is_control) {
        return Err(invalid().into());
    }
    let normalised = url::Url::parse(url).map_err(|_| invalid())?;
    let origin = origin_of(normalised.as_str()).ok_or_else(invalid)?;
    let ours = origin_of(&s.public_url);
    if ours.as_deref() == Some(origin.as_str()) || s.config.redirect_allowlist.contains(&origin) {
        Ok(Some(normalised.to_string()))
    } else {
        Err(ServiceError::Invalid {
            code: "redirect_not_allowed",
            message: format!("redirect_url: {origin} is neither this server nor in KEYSAT_REDIRECT_ALLOWLIST"),
        })
    }
}

/// The whole redemption of `input.code`, from the API or the redeem page.
pub async fn redeem_code(
    s: &Core,
    input: OrderInput<'_>,
    idem: Option<&IdempotencyKey>,
) -> Result<Reply<RedeemAnswer>, ServiceError> {
    // The caller has checked the address's own limit; this one is everyone's.
    s.limits.global.redeem.admit()?;
    let order = Order::load(s, input).await?;
    if !order.quote.is_free() {
        return Err(ServiceError::Invalid {
            code: "not_free",
            message: "this code gives a discount, not a free license: use it when buying".into(),
        });
    }
    issue_free(s, order, idem, |order, done| RedeemAnswer {
        license_id: done.license.id,
        license_key: done.license.license_key.clone(),
        invoice_id: done.invoice.id,
        redemption_id: done.redemption_id,
        product_id: order.product.id,
        expires_at: unix_or_never(done.license.expires_at),
        max_machines: done.license.max_machines,
    })
    .await
}

/// Queues the recovery DM for `npub` (also used by the recover page): a bad
/// npub is a clear error; otherwise the caller answers [`ANSWER`] whatever
/// was found.
pub async fn request_recovery(s: &Core, ip: IpAddr, npub: &str) -> Result<(), ServiceError> {
    s.limits.recover.check(ip).map_err(ServiceError::rate_limited)?;
    s.limits.global.recover.admit()?;
    let npub = Npub::parse(npub).map_err(|_| {
        DomainError::invalid("npub", format!("'{}' is not an npub or a 64-character hex public key", npub.trim()))
    })?;
    let hex = npub.to_hex();
    let now = now_unix();
    let mut tx = s.db.begin().await?;
    let recent = db::nostr::recoveries_since(&mut tx, &hex, now - 3600).await?;
    if recent < i64::from(s.config.recover_per_npub_per_hour)
        && !db::nostr::keys_of_npub(&mut *tx, &hex, 1).await?.is_empty()
    {
        db::nostr::enqueue(
            &mut tx,
            now,
            db::nostr::NewMessage {
                kind: db::nostr::MessageKind::Recovery,
                recipient_hex: &hex,
                license_id: None,
                notice: None,
                text: None,
            },
        )
        .await?;
    }
    tx.commit().await?;
    Ok(())
}
