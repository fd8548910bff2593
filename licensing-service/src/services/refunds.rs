//! Refunds and chargebacks, on both rails. The operator refunds a paid
//! invoice (Stripe: a Refund of its payment; BTCPay: its invoice refund, a
//! pull payment the buyer claims); Stripe's own `charge.refunded` and
//! dispute events act the same way. Either way, once: the refund or dispute
//! row, the license revoked or suspended (with its audit record and event),
//! `invoice.refunded`, the invoice's audit record and the buyer's notice are
//! written in one transaction.

use schemars::JsonSchema;
use serde::Serialize;
use serde_json::json;
use uuid::Uuid;

use super::fulfillment::Delivery;
use super::{audit, Core, ServiceError};
use crate::db::invoices::Invoice;
use crate::db::licenses::License;
use crate::db::refunds::{Dispute, Refund};
use crate::db::{self, Tx};
use crate::delivery::events::{invoice_event, license_event};
use crate::delivery::refunds::{buyer_notice_text, enqueue_buyer_notice, BuyerNotice, Purchase};
use crate::delivery::EventType;
use crate::domain::invoice::InvoiceStatus;
use crate::domain::license::LicenseStatus;
use crate::domain::npub::Npub;
use crate::domain::time::Timestamp;
use crate::domain::{now_unix, optional_text, DomainError};
use crate::payment::{ProviderError, RefundRequest};

/// The operator's refund.
pub struct RefundInput {
    pub reason: Option<String>,
    /// Revoke the license too (the default).
    pub revoke: Option<bool>,
}

/// A refund as the operator sees it.
#[derive(Debug, Serialize, JsonSchema)]
pub struct RefundView {
    pub invoice_id: String,
    /// `requested` (the provider is being asked) or `done`.
    pub state: String,
    pub provider: String,
    pub provider_refund_id: Option<String>,
    pub amount: Option<String>,
    pub currency: Option<String>,
    /// Where the buyer claims a bitcoin refund.
    pub claim_url: Option<String>,
    pub reason: String,
    pub revoke: bool,
    pub source: String,
    pub refunded_at: Option<Timestamp>,
    pub license_id: Option<Uuid>,
    pub license_status: Option<LicenseStatus>,
}

fn conflict(code: &'static str, message: impl Into<String>) -> ServiceError {
    DomainError::conflict(code, message).into()
}

/// `POST /v1/admin/invoices/{id}/refund`.
pub async fn refund(s: &Core, id: &str, input: RefundInput) -> Result<RefundView, ServiceError> {
    let no_invoice = || ServiceError::NotFound(format!("no invoice '{id}'"));
    let invoice_id = Uuid::parse_str(id.trim()).map_err(|_| no_invoice())?;
    let reason = optional_text("reason", input.reason, 500)?
        .ok_or_else(|| DomainError::invalid("reason", "is required: say why the sale is refunded"))?;
    let revoke = input.revoke.unwrap_or(true);
    let invoice = db::invoices::by_id(&s.db.read, invoice_id).await?.ok_or_else(no_invoice)?;
    if invoice.status != InvoiceStatus::Settled {
        let status = invoice.status.as_str();
        return Err(conflict("not_settled", format!("only a paid invoice can be refunded; this one is {status}")));
    }
    if invoice.provider == "none" {
        return Err(conflict("nothing_paid", "this license was free: there is nothing to refund (revoke it instead)"));
    }
    let provider = s.payments.for_invoice(&invoice.provider).ok_or_else(|| ServiceError::Unavailable {
        code: "provider_not_connected",
        message: format!(
            "this sale was paid through {}, which is not connected now; reconnect it to refund",
            invoice.provider
        ),
        retry_after: None,
    })?;
    let pid = invoice
        .provider_invoice_id
        .clone()
        .ok_or_else(|| conflict("no_provider_invoice", "the provider never created this invoice"))?;
    request_once(s, &invoice, &reason, revoke).await?;
    let payment_id = db::invoices::payment_id(&s.db.read, invoice_id).await?;
    let req =
        RefundRequest { invoice_id, provider_invoice_id: &pid, payment_id: payment_id.as_deref(), reason: &reason };
    let got = match provider.refund(&req).await {
        Ok(r) => r,
        Err(e) => {
            db::refunds::forget_request(&s.db.write, invoice_id).await?;
            return Err(refused(&invoice.provider, e));
        }
    };
    let now = now_unix();
    let row = Refund {
        state: "done".into(),
        provider_refund_id: Some(got.refund_id),
        amount: got.amount,
        currency: got.currency,
        claim_url: got.claim_url,
        refunded_at: Some(now),
        ..new_row(&invoice, &reason, revoke, "admin", now)
    };
    let tx = s.db.begin().await?;
    apply_refund(s, tx, &invoice, row, "admin", false).await?;
    view(s, invoice_id).await
}

/// The refund row, `requested`, written once before the provider is asked
/// (a request that did not finish is asked again: the provider's
/// idempotency key makes it the same refund).
async fn request_once(s: &Core, invoice: &Invoice, reason: &str, revoke: bool) -> Result<(), ServiceError> {
    let now = now_unix();
    let mut tx = s.db.begin().await?;
    match db::refunds::for_invoice(&mut *tx, invoice.id).await? {
        Some(r) if r.is_done() => {
            let when = r.refunded_at.map(crate::domain::time::ts).unwrap_or_default();
            Err(conflict("already_refunded", format!("this sale was refunded already ({when})")))
        }
        Some(_) => Ok(()),
        None => {
            db::refunds::insert(&mut tx, &new_row(invoice, reason, revoke, "admin", now)).await?;
            tx.commit().await?;
            Ok(())
        }
    }
}

/// A provider's refusal, as the operator can act on it.
fn refused(provider: &str, e: ProviderError) -> ServiceError {
    tracing::warn!(error = %e, provider, "the refund was refused");
    match &e {
        ProviderError::Status { status: 403, .. } if provider == crate::payment::btcpay::NAME => {
            ServiceError::Invalid {
                code: "reconnect_btcpay",
                message: format!(
                    "BTCPay refused the refund: the connected key may not create pull payments \
                 (btcpay.store.cancreatepullpayments). Reconnect BTCPay to grant it. ({e})"
                ),
            }
        }
        _ => ServiceError::Provider(e),
    }
}

/// A new refund row of `invoice`, `requested`.
fn new_row(invoice: &Invoice, reason: &str, revoke: bool, source: &str, now: i64) -> Refund {
    Refund {
        invoice_id: invoice.id.to_string(),
        state: "requested".into(),
        provider: invoice.provider.clone(),
        provider_refund_id: None,
        amount: invoice.price_amount.clone().or_else(|| Some(invoice.amount_sats.to_string())),
        currency: invoice.price_currency.clone().or_else(|| Some("SATS".into())),
        // Sats revenue counts sat-priced invoices only.
        amount_sats: if invoice.price_amount.is_none() { invoice.amount_sats } else { 0 },
        claim_url: None,
        reason: reason.into(),
        revoke,
        source: source.into(),
        actor: source.into(),
        requested_at: now,
        refunded_at: None,
    }
}

/// Marks the invoice refunded, once, and commits: the row done, the license
/// revoked if asked, `invoice.refunded`, the audit record, the buyer's
/// notice. False when it was refunded already (the transaction is still
/// committed: a provider event recorded in it stays recorded).
async fn apply_refund(
    s: &Core,
    mut tx: Tx,
    invoice: &Invoice,
    got: Refund,
    actor: &str,
    dispute_lost: bool,
) -> Result<bool, ServiceError> {
    let now = got.refunded_at.unwrap_or_else(now_unix);
    let applied = match db::refunds::for_invoice(&mut *tx, invoice.id).await? {
        Some(r) if r.is_done() => {
            db::refunds::fill(&mut tx, &got).await?;
            false
        }
        Some(_) => db::refunds::complete(&mut tx, &got, now).await?,
        None => db::refunds::insert(&mut tx, &Refund { state: "done".into(), refunded_at: Some(now), ..got }).await?,
    };
    let row = db::refunds::for_invoice(&mut *tx, invoice.id).await?.filter(|_| applied);
    let Some(row) = row else {
        tx.commit().await?;
        return Ok(false);
    };
    let license = db::licenses::by_invoice(&mut *tx, &invoice.id.to_string()).await?;
    let revoked = match &license {
        Some(l) if row.revoke && l.status != LicenseStatus::Revoked => {
            let why = format!("refunded: {}", row.reason);
            change_license(&mut tx, l, LicenseStatus::Revoked, Some(&why), actor, now).await?;
            Some(l.id)
        }
        _ => None,
    };
    let extra = json!({
        "refund": {"provider_refund_id": row.provider_refund_id, "amount": row.amount, "currency": row.currency,
            "claim_url": row.claim_url, "reason": row.reason, "source": row.source},
        "license_id": license.as_ref().map(|l| l.id),
        "license_revoked": revoked.is_some(),
    });
    invoice_event(&mut tx, now, EventType::InvoiceRefunded, invoice, extra.clone()).await?;
    audit(&mut tx, now, actor, "invoice.refund", ("invoice", invoice.id), extra).await?;
    let notice = if dispute_lost {
        BuyerNotice::DisputeLost
    } else {
        let amount = row.amount.as_ref().zip(row.currency.as_ref()).map(|(a, c)| format!("{a} {c}"));
        BuyerNotice::Refunded { amount, claim_url: row.claim_url.clone(), revoked: revoked.is_some() }
    };
    tell_buyer(s, &mut tx, invoice, &notice, now).await?;
    finish(s, tx, revoked).await?;
    Ok(true)
}

/// Changes a license's status with its audit record and event.
async fn change_license(
    tx: &mut Tx,
    l: &License,
    next: LicenseStatus,
    reason: Option<&str>,
    actor: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    let revoked_reason = (next == LicenseStatus::Revoked).then_some(reason).flatten();
    db::licenses::set_status(tx, l.id, next, revoked_reason, now).await?;
    let changed = License { status: next, revoked_reason: revoked_reason.map(str::to_owned), ..l.clone() };
    let (event, action) = match next {
        LicenseStatus::Revoked => (EventType::LicenseRevoked, "license.revoke"),
        LicenseStatus::Suspended => (EventType::LicenseSuspended, "license.suspend"),
        LicenseStatus::Active => (EventType::LicenseUnsuspended, "license.unsuspend"),
    };
    license_event(tx, now, event, &changed, json!({ "previous_status": l.status, "reason": reason })).await?;
    let details = json!({ "from": l.status, "to": next, "reason": reason, "invoice_id": l.invoice_id });
    audit(tx, now, actor, action, ("license", l.id), details).await
}

/// Commits; a changed license goes through the licensing cache's commit.
async fn finish(s: &Core, tx: Tx, changed: Option<Uuid>) -> Result<(), ServiceError> {
    match changed {
        Some(l) => {
            s.licensing.commit_change(tx, l).await?;
        }
        None => tx.commit().await?,
    }
    Ok(())
}

/// Queues the buyer's notice when they gave an npub (DM) or an e-mail address.
async fn tell_buyer(
    s: &Core,
    tx: &mut Tx,
    invoice: &Invoice,
    what: &BuyerNotice,
    now: i64,
) -> Result<(), ServiceError> {
    let npub = invoice.buyer_npub.as_deref().and_then(|h| Npub::parse(h).ok());
    if npub.is_none() && invoice.buyer_email.is_none() {
        return Ok(());
    }
    let product = db::products::by_id(&mut **tx, invoice.product_id).await?.map(|p| p.name).unwrap_or_default();
    let tier = db::policies::by_id(&mut **tx, invoice.policy_id).await?.map(|p| p.name).unwrap_or_default();
    let sender = s.delivery.sender();
    let order = invoice.id.to_string();
    let page = super::orders::thank_you_url(s, invoice.id);
    let purchase = Purchase { sender: &sender, product: &product, tier: &tier, order: &order, thank_you_url: &page };
    let text = buyer_notice_text(&purchase, what);
    if let Some(npub) = &npub {
        enqueue_buyer_notice(tx, now, npub, &text).await?;
    }
    if let Some(to) = &invoice.buyer_email {
        let license = db::licenses::of_invoice(&mut **tx, invoice).await?.map(|l| l.id);
        crate::delivery::email::enqueue_refund(tx, now, license, to, &text).await?;
    }
    Ok(())
}

/// The refund of an invoice, with its license's state.
pub async fn view(s: &Core, invoice_id: Uuid) -> Result<RefundView, ServiceError> {
    let r = db::refunds::for_invoice(&s.db.write, invoice_id)
        .await?
        .ok_or_else(|| ServiceError::NotFound(format!("invoice {invoice_id} has no refund")))?;
    let license = db::licenses::by_invoice(&s.db.write, &invoice_id.to_string()).await?;
    Ok(RefundView {
        invoice_id: r.invoice_id,
        state: r.state,
        provider: r.provider,
        provider_refund_id: r.provider_refund_id,
        amount: r.amount,
        currency: r.currency,
        claim_url: r.claim_url,
        reason: r.reason,
        revoke: r.revoke,
        source: r.source,
        refunded_at: r.refunded_at.map(Timestamp),
        license_id: license.as_ref().map(|l| l.id),
        license_status: license.map(|l| l.status),
    })
}

/// A provider event opens a transaction that records it once; `None` when seen before.
async fn once(s: &Core, d: &Delivery<'_>, invoice: &Invoice) -> Result<Option<Tx>, ServiceError> {
    let mut tx = s.db.begin().await?;
    let first =
        db::invoices::record_event(&mut tx, d.provider, d.delivery_id, d.event_type, Some(invoice.id), now_unix())
            .await?;
    Ok(first.then_some(tx))
}

/// The provider refunded a payment itself (Stripe's `charge.refunded`): a
/// whole refund revokes, as the operator's would; a partial one is recorded
/// in the audit log only.
pub async fn provider_refunded(
    s: &Core,
    invoice: &Invoice,
    d: Delivery<'_>,
    amount: Option<String>,
    whole: bool,
) -> Result<&'static str, ServiceError> {
    let Some(mut tx) = once(s, &d, invoice).await? else {
        return Ok("unchanged");
    };
    let now = now_unix();
    if !whole || invoice.status != InvoiceStatus::Settled {
        let details = json!({ "event": d.delivery_id, "amount_refunded": amount, "whole": whole });
        audit(&mut tx, now, d.provider, "invoice.partial_refund", ("invoice", invoice.id), details).await?;
        tx.commit().await?;
        return Ok("partial_refund");
    }
    // An operator's request in flight keeps its own choice of revoking.
    let row = Refund {
        state: "done".into(),
        refunded_at: Some(now),
        ..new_row(invoice, "refunded at the payment provider", true, d.provider, now)
    };
    let applied = apply_refund(s, tx, invoice, row, d.provider, false).await?;
    Ok(if applied { "refunded" } else { "unchanged" })
}

/// A chargeback opened: the license is suspended while it lasts.
pub async fn dispute_opened(
    s: &Core,
    invoice: &Invoice,
    d: Delivery<'_>,
    dispute_id: &str,
) -> Result<&'static str, ServiceError> {
    let Some(mut tx) = once(s, &d, invoice).await? else {
        return Ok("unchanged");
    };
    let now = now_unix();
    if db::refunds::dispute(&mut *tx, d.provider, dispute_id).await?.is_some() {
        tx.commit().await?;
        return Ok("unchanged");
    }
    let license = db::licenses::by_invoice(&mut *tx, &invoice.id.to_string()).await?;
    let suspend = license.as_ref().filter(|l| l.status == LicenseStatus::Active);
    let row = Dispute {
        provider: d.provider.into(),
        dispute_id: dispute_id.into(),
        invoice_id: invoice.id.to_string(),
        status: "open".into(),
        suspended: suspend.is_some(),
        opened_at: now,
        closed_at: None,
    };
    db::refunds::open_dispute(&mut tx, &row).await?;
    if let Some(l) = suspend {
        change_license(&mut tx, l, LicenseStatus::Suspended, Some("payment disputed"), d.provider, now).await?;
    }
    let details = json!({ "dispute_id": dispute_id, "license_suspended": suspend.is_some() });
    audit(&mut tx, now, d.provider, "invoice.dispute_open", ("invoice", invoice.id), details).await?;
    tell_buyer(s, &mut tx, invoice, &BuyerNotice::DisputeOpened, now).await?;
    finish(s, tx, suspend.map(|l| l.id)).await?;
    Ok("dispute_opened")
}

/// A chargeback closed: won (or only an inquiry), the license is restored if
/// the dispute had suspended it; lost, it is revoked and the sale counted refunded.
pub async fn dispute_closed(
    s: &Core,
    invoice: &Invoice,
    d: Delivery<'_>,
    dispute_id: &str,
    lost: bool,
) -> Result<&'static str, ServiceError> {
    let Some(mut tx) = once(s, &d, invoice).await? else {
        return Ok("unchanged");
    };
    let now = now_unix();
    let known = db::refunds::dispute(&mut *tx, d.provider, dispute_id).await?;
    let suspended = known.as_ref().is_some_and(|k| k.suspended);
    if known.is_none() {
        let row = Dispute {
            provider: d.provider.into(),
            dispute_id: dispute_id.into(),
            invoice_id: invoice.id.to_string(),
            status: "open".into(),
            suspended: false,
            opened_at: now,
            closed_at: None,
        };
        db::refunds::open_dispute(&mut tx, &row).await?;
    }
    let status = if lost { "lost" } else { "won" };
    if !db::refunds::close_dispute(&mut tx, d.provider, dispute_id, status, now).await? {
        tx.commit().await?;
        return Ok("unchanged");
    }
    let details = json!({ "dispute_id": dispute_id, "status": status });
    audit(&mut tx, now, d.provider, "invoice.dispute_close", ("invoice", invoice.id), details).await?;
    if lost {
        let row = Refund {
            state: "done".into(),
            refunded_at: Some(now),
            ..new_row(invoice, "chargeback lost", true, "dispute", now)
        };
        apply_refund(s, tx, invoice, row, d.provider, true).await?;
        return Ok("dispute_lost");
    }
    let license = db::licenses::by_invoice(&mut *tx, &invoice.id.to_string()).await?;
    let restore = license.as_ref().filter(|l| suspended && l.status == LicenseStatus::Suspended);
    if let Some(l) = restore {
        change_license(&mut tx, l, LicenseStatus::Active, Some("dispute won"), d.provider, now).await?;
        tell_buyer(s, &mut tx, invoice, &BuyerNotice::DisputeWon, now).await?;
    }
    finish(s, tx, restore.map(|l| l.id)).await?;
    Ok("dispute_won")
}

/// Whether an invoice was refunded (for the buyer's page and the poll answer).
pub async fn refunded(s: &Core, invoice_id: Uuid) -> Result<Option<Refund>, sqlx::Error> {
    Ok(db::refunds::for_invoice(&s.db.read, invoice_id).await?.filter(Refund::is_done))
}
