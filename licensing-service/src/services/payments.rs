//! What a payment provider tells Keysat: BTCPay's webhook. Nothing is
//! trusted before the signature matches; an event that would settle is only
//! a hint — the invoice is read back from BTCPay, and its store and amount
//! checked, before anything is issued. The caller answers 2xx only once this
//! returns, i.e. once the effect is committed.

use axum::http::HeaderMap;
use uuid::Uuid;

use super::fulfillment::{self, Delivery, Outcome};
use super::{Core, ServiceError};
use crate::db;
use crate::domain::invoice::Observed;
use crate::domain::now_unix;
use crate::payment::btcpay::NAME as BTCPAY;
use crate::payment::WebhookError;

/// Applies one BTCPay webhook delivery (each delivery id once).
#[tracing::instrument(skip_all, fields(delivery = tracing::field::Empty))]
pub async fn btcpay_webhook(s: &Core, headers: &HeaderMap, body: &[u8]) -> Result<Outcome, ServiceError> {
    let provider = s.payments.current().filter(|p| p.name() == BTCPAY).ok_or_else(|| ServiceError::Unavailable {
        code: "not_connected",
        message: "no BTCPay store is connected".into(),
        retry_after: None,
    })?;
    let event = provider.parse_webhook(headers, body).map_err(|e| match e {
        WebhookError::BadSignature => {
            tracing::warn!("BTCPay webhook with a missing or wrong BTCPay-Sig refused");
            ServiceError::Unauthorized { code: "bad_signature", message: "missing or wrong BTCPay-Sig".into() }
        }
        WebhookError::Malformed(m) => ServiceError::bad_input("malformed_webhook", m),
        WebhookError::Unsupported => ServiceError::NotFound("this provider sends no webhooks".into()),
    })?;
    tracing::Span::current().record("delivery", tracing::field::display(&event.delivery_id));
    db::payments::webhook_received(&s.db.write, now_unix()).await?;
    let invoice_id = match &event.provider_invoice_id {
        Some(pid) => find_invoice(s, pid, event.order_id.as_deref()).await?,
        None => None,
    };
    // A webhook found through its orderId settles nothing BTCPay calls
    // invalid, and an invoice for another amount settles nothing.
    let (observed, charged) = match (&event.provider_invoice_id, invoice_id, event.observed) {
        (Some(pid), Some(_), Some(Observed::Settled)) => {
            let pi = provider.invoice(pid).await.map_err(|e| {
                tracing::warn!(error = %e, delivery = %event.delivery_id, "reading back a settled BTCPay invoice failed");
                ServiceError::Unavailable {
                    code: "provider_unreachable",
                    message: "cannot read the invoice back yet".into(),
                    retry_after: None,
                }
            })?;
            (Some(pi.state), pi.charged)
        }
        _ => (event.observed, None),
    };
    let delivery = Delivery { provider: BTCPAY, delivery_id: &event.delivery_id, event_type: &event.event_type };
    let outcome = fulfillment::apply_invoice_news(s, invoice_id, observed, charged.as_ref(), Some(delivery), "btcpay")
        .await
        .map_err(|e| anyhow::anyhow!("applying BTCPay event {}: {e}", event.delivery_id))?;
    if matches!(outcome, Outcome::NotOurs) && event.provider_invoice_id.is_some() {
        tracing::info!(
            delivery = %event.delivery_id,
            invoice = ?event.provider_invoice_id,
            "BTCPay event for an invoice that is not ours; acknowledged"
        );
    }
    Ok(outcome)
}

/// Our invoice for a BTCPay invoice: by its id, or by the order id we gave
/// when a crash kept us from recording the BTCPay id.
async fn find_invoice(s: &Core, provider_id: &str, order_id: Option<&str>) -> Result<Option<Uuid>, ServiceError> {
    if let Some(inv) = db::invoices::by_provider_id(&s.db.read, BTCPAY, provider_id).await? {
        return Ok(Some(inv.id));
    }
    let Some(ours) = order_id.and_then(|o| Uuid::parse_str(o).ok()) else {
        return Ok(None);
    };
    let Some(inv) = db::invoices::by_id(&s.db.read, ours).await? else {
        return Ok(None);
    };
    if inv.provider != BTCPAY || inv.provider_invoice_id.as_deref().is_some_and(|p| p != provider_id) {
        return Ok(None);
    }
    if inv.provider_invoice_id.is_none() {
        let mut tx = s.db.begin().await?;
        db::invoices::set_provider_id(&mut tx, inv.id, provider_id, now_unix()).await?;
        tx.commit().await?;
    }
    Ok(Some(inv.id))
}
