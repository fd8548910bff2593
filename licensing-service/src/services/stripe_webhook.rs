//! Stripe's webhook: nothing is trusted before `Stripe-Signature` matches the
//! raw body; then each event id is applied once. Session events move our
//! invoice through the same fulfillment path as BTCPay's (the session in a
//! signed event is Stripe's own word: its amount and currency are checked
//! from it); refund and dispute events go to `refunds`. The caller answers
//! 2xx only once this returns, i.e. once the effect is committed.

use axum::http::HeaderMap;
use uuid::Uuid;

use super::fulfillment::{self, Delivery, Outcome};
use super::{refunds, Core, ServiceError};
use crate::db::{self, invoices::Invoice};
use crate::domain::invoice::Observed;
use crate::domain::now_unix;
use crate::payment::stripe::client::Session;
use crate::payment::stripe::events::{Event, News};
use crate::payment::stripe::{self as stripe_provider, Stripe, NAME as STRIPE};
use crate::payment::WebhookError;

/// Applies one Stripe event (each event id once); answers what it did.
#[tracing::instrument(skip_all, fields(event = tracing::field::Empty))]
pub async fn stripe_webhook(s: &Core, headers: &HeaderMap, body: &[u8]) -> Result<&'static str, ServiceError> {
    let provider = s.payments.stripe().ok_or_else(|| ServiceError::Unavailable {
        code: "not_connected",
        message: "Stripe is not connected".into(),
        retry_after: None,
    })?;
    let event = provider.verify_event(headers, body, now_unix()).map_err(|e| match e {
        WebhookError::BadSignature => ServiceError::Unauthorized {
            code: "bad_signature",
            message: "missing, wrong or stale Stripe-Signature".into(),
        },
        WebhookError::Malformed(m) => ServiceError::bad_input("malformed_webhook", m),
        WebhookError::Unsupported => ServiceError::NotFound("unsupported".into()),
    })?;
    tracing::Span::current().record("event", tracing::field::display(&event.id));
    db::stripe::webhook_received(&s.db.write, now_unix()).await?;
    let Event { id, event_type, news, .. } = event;
    let d = Delivery { provider: STRIPE, delivery_id: &id, event_type: &event_type };
    match news {
        News::Session(session) => {
            let observed = stripe_provider::observe(&session);
            apply_session(s, &session, observed, d).await
        }
        News::SessionFailed(session) => apply_session(s, &session, Observed::Invalid, d).await,
        News::Refunded(charge) => {
            let Some(invoice) = invoice_of_payment(s, &provider, charge.payment_intent.as_deref()).await? else {
                return not_ours(s, d).await;
            };
            let amount = stripe_provider::from_minor(charge.amount_refunded, &charge.currency);
            let whole = charge.refunded && charge.amount_refunded >= charge.amount;
            refunds::provider_refunded(s, &invoice, d, Some(amount), whole).await
        }
        News::DisputeOpened(dispute) => {
            let Some(invoice) = invoice_of_payment(s, &provider, dispute.payment_intent.as_deref()).await? else {
                return not_ours(s, d).await;
            };
            refunds::dispute_opened(s, &invoice, d, &dispute.id).await
        }
        News::DisputeClosed(dispute) => {
            let Some(invoice) = invoice_of_payment(s, &provider, dispute.payment_intent.as_deref()).await? else {
                return not_ours(s, d).await;
            };
            refunds::dispute_closed(s, &invoice, d, &dispute.id, dispute.status == "lost").await
        }
        News::Other => not_ours(s, d).await,
    }
}

/// Records an event that concerns none of our invoices (once), acknowledged.
async fn not_ours(s: &Core, d: Delivery<'_>) -> Result<&'static str, ServiceError> {
    let mut tx = s.db.begin().await?;
    db::invoices::record_event(&mut tx, d.provider, d.delivery_id, d.event_type, None, now_unix()).await?;
    tx.commit().await?;
    Ok("not_ours")
}

/// A session's news through fulfillment: found by its id, or by our
/// invoice id (`client_reference_id`) when a crash kept us from recording it.
async fn apply_session(
    s: &Core,
    session: &Session,
    observed: Observed,
    d: Delivery<'_>,
) -> Result<&'static str, ServiceError> {
    let invoice = find_invoice(s, session).await?;
    let pi = stripe_provider::provider_invoice(session.clone());
    if let (Some(inv), Some(payment)) = (&invoice, &pi.payment_id) {
        db::invoices::set_payment_id(&s.db.write, inv.id, payment).await?;
    }
    let outcome =
        fulfillment::apply_invoice_news(s, invoice.map(|i| i.id), Some(observed), pi.charged.as_ref(), Some(d), STRIPE)
            .await
            .map_err(|e| anyhow::anyhow!("applying a Stripe event: {e}"))?;
    Ok(match outcome {
        Outcome::Unchanged => "unchanged",
        Outcome::NotOurs => "not_ours",
        Outcome::Processing => "processing",
        Outcome::Settled(_) => "settled",
        Outcome::Closed(_) => "closed",
        Outcome::Mismatch(_) => "mismatch",
    })
}

async fn find_invoice(s: &Core, session: &Session) -> Result<Option<Invoice>, ServiceError> {
    if let Some(inv) = db::invoices::by_provider_id(&s.db.read, STRIPE, &session.id).await? {
        return Ok(Some(inv));
    }
    let Some(ours) = session.client_reference_id.as_deref().and_then(|o| Uuid::parse_str(o).ok()) else {
        return Ok(None);
    };
    let Some(inv) = db::invoices::by_id(&s.db.read, ours).await? else {
        return Ok(None);
    };
    if inv.provider != STRIPE || inv.provider_invoice_id.as_deref().is_some_and(|p| p != session.id) {
        return Ok(None);
    }
    if inv.provider_invoice_id.is_none() {
        let mut tx = s.db.begin().await?;
        db::invoices::set_provider_id(&mut tx, inv.id, &session.id, now_unix()).await?;
        tx.commit().await?;
    }
    Ok(Some(inv))
}

/// Our invoice paid with this PaymentIntent: recorded at settlement, else
/// found through its session (asking Stripe), and then recorded.
async fn invoice_of_payment(
    s: &Core,
    provider: &Stripe,
    payment_intent: Option<&str>,
) -> Result<Option<Invoice>, ServiceError> {
    let Some(pi) = payment_intent else {
        return Ok(None);
    };
    if let Some(inv) = db::invoices::by_payment_id(&s.db.read, STRIPE, pi).await? {
        return Ok(Some(inv));
    }
    let session = provider.session_of_payment(pi).await.map_err(|e| {
        tracing::warn!(error = %e, payment_intent = pi, "finding the session of a Stripe payment failed");
        ServiceError::Unavailable {
            code: "provider_unreachable",
            message: "cannot look the payment up at Stripe yet".into(),
            retry_after: None,
        }
    })?;
    let Some(session) = session else {
        return Ok(None);
    };
    let found = find_invoice(s, &session).await?;
    if let Some(inv) = &found {
        db::invoices::set_payment_id(&s.db.write, inv.id, pi).await?;
    }
    Ok(found)
}
