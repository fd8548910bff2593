//! Stripe as a [`PaymentProvider`], for cards: a purchase is a Checkout
//! Session (`mode=payment`, one line item with inline `price_data` at the
//! tier's fiat price, so nothing is kept in sync with Stripe's catalogue),
//! a refund is a Refund of its PaymentIntent, and events arrive signed with
//! `Stripe-Signature` ([`signature`]). API version [`client::API_VERSION`].

pub mod client;
pub mod events;
pub mod signature;

use axum::http::HeaderMap;
use uuid::Uuid;

use self::client::{Client, Form, Session};
use self::events::News;
use super::{
    Amount, Checkout, CheckoutRequest, Health, PaymentProvider, ProviderError, ProviderInvoice, RefundRequest,
    Refunded, WebhookError, WebhookEvent,
};
use crate::domain::invoice::{Charged, Observed};
use crate::domain::now_unix;

pub const NAME: &str = "stripe";

/// How long a checkout stays payable (Stripe allows 30 minutes to 24 hours);
/// as long as an unpaid invoice counts as open.
pub const CHECKOUT_SECONDS: i64 = 3600;
/// Session pages looked through for a lost session (100 each).
const FIND_PAGES: usize = 5;

/// A connected Stripe account.
pub struct Stripe {
    client: Client,
    webhook_id: String,
    webhook_secret: String,
}

impl Stripe {
    pub fn new(client: Client, webhook_id: String, webhook_secret: String) -> Stripe {
        Stripe { client, webhook_id, webhook_secret }
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Checks `Stripe-Signature` on the raw body, then reads the event.
    pub fn verify_event(&self, headers: &HeaderMap, body: &[u8], now: i64) -> Result<events::Event, WebhookError> {
        let header = headers.get("stripe-signature").and_then(|v| v.to_str().ok());
        signature::verify(&self.webhook_secret, header, body, now).map_err(|e| {
            tracing::warn!(error = %e, "Stripe webhook refused");
            WebhookError::BadSignature
        })?;
        events::parse(body)
    }

    /// The session paid with this PaymentIntent, if any.
    pub async fn session_of_payment(&self, payment_intent: &str) -> Result<Option<Session>, ProviderError> {
        Ok(self.client.sessions(&[("payment_intent", payment_intent), ("limit", "1")]).await?.data.into_iter().next())
    }
}

/// What a session's state says about our invoice.
pub fn observe(s: &Session) -> Observed {
    match (s.status.as_deref(), s.payment_status.as_str()) {
        (Some("complete"), "paid" | "no_payment_required") => Observed::Settled,
        // A delayed payment method (a bank debit): paid, waiting for the money.
        (Some("complete"), _) => Observed::Processing,
        (Some("expired"), _) => Observed::Expired,
        _ => Observed::New,
    }
}

/// The session as a provider invoice.
pub fn provider_invoice(s: Session) -> ProviderInvoice {
    let state = observe(&s);
    let charged = match (s.amount_total, &s.currency) {
        (Some(minor), Some(currency)) => Some(Charged {
            store_id: None,
            amount: from_minor(minor, currency),
            currency: currency.to_ascii_uppercase(),
        }),
        _ => None,
    };
    ProviderInvoice {
        state,
        charged,
        order_id: s.client_reference_id,
        payment_id: s.payment_intent.filter(|_| state == Observed::Settled),
        provider_invoice_id: s.id,
    }
}

/// Digits after the point in a currency's smallest unit, as Stripe counts
/// them (its zero- and three-decimal currency lists).
pub fn exponent(currency: &str) -> u32 {
    const ZERO: [&str; 16] = [
        "BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "MGA", "PYG", "RWF", "UGX", "VND", "VUV", "XAF", "XOF", "XPF",
    ];
    const THREE: [&str; 5] = ["BHD", "JOD", "KWD", "OMR", "TND"];
    let c = currency.to_ascii_uppercase();
    if ZERO.contains(&c.as_str()) {
        0
    } else if THREE.contains(&c.as_str()) {
        3
    } else {
        2
    }
}

/// A decimal string in `currency` as its smallest unit (`"49.5"` USD → 4950);
/// `None` when it has more places than the currency or is not a decimal.
pub fn to_minor(amount: &str, currency: &str) -> Option<i64> {
    let places = exponent(currency) as usize;
    let (int, frac) = amount.trim().split_once('.').unwrap_or((amount.trim(), ""));
    let digits = |t: &str| t.bytes().all(|b| b.is_ascii_digit());
    let frac = frac.trim_end_matches('0');
    if int.is_empty() || !digits(int) || !digits(frac) || frac.len() > places {
        return None;
    }
    format!("{int}{frac:0<places$}").parse().ok()
}

/// The smallest unit back as a decimal string (`4950` USD → `"49.50"`).
pub fn from_minor(minor: i64, currency: &str) -> String {
    let places = exponent(currency);
    if places == 0 {
        return minor.to_string();
    }
    let p = 10i64.pow(places);
    format!("{}.{:0width$}", minor / p, minor % p, width = places as usize)
}

/// The Checkout Session's fields (`Checkout.SessionCreateParams`).
fn session_form(req: &CheckoutRequest, amount: &str, currency: &str, now: i64) -> Result<Form, ProviderError> {
    let minor = to_minor(amount, currency)
        .filter(|m| *m > 0)
        .ok_or_else(|| ProviderError::Unsupported(format!("{amount} {currency} cannot be charged by card")))?;
    let id = req.invoice_id.to_string();
    let mut form: Form = vec![
        ("mode".into(), "payment".into()),
        ("client_reference_id".into(), id.clone()),
        ("success_url".into(), req.redirect_url.clone()),
        ("cancel_url".into(), req.redirect_url.clone()),
        ("expires_at".into(), (now + CHECKOUT_SECONDS).to_string()),
        ("line_items[0][quantity]".into(), "1".into()),
        ("line_items[0][price_data][currency]".into(), currency.to_ascii_lowercase()),
        ("line_items[0][price_data][unit_amount]".into(), minor.to_string()),
        ("line_items[0][price_data][product_data][name]".into(), req.description.clone()),
        ("metadata[keysat_invoice_id]".into(), id.clone()),
        ("payment_intent_data[metadata][keysat_invoice_id]".into(), id),
    ];
    if let Some(email) = &req.buyer_email {
        form.push(("customer_email".into(), email.clone()));
    }
    Ok(form)
}

#[async_trait::async_trait]
impl PaymentProvider for Stripe {
    fn name(&self) -> &'static str {
        NAME
    }

    async fn create_checkout(&self, req: &CheckoutRequest) -> Result<Checkout, ProviderError> {
        let Amount::Fiat { amount, currency } = &req.amount else {
            return Err(ProviderError::Unsupported("a card checkout needs a fiat price".into()));
        };
        let form = session_form(req, amount, currency, now_unix())?;
        let session = self.client.create_session(&form, &format!("keysat-checkout-{}", req.invoice_id)).await?;
        let checkout_url = session.url.clone().filter(|u| !u.is_empty()).ok_or(ProviderError::Malformed {
            call: client::CREATE_SESSION,
            message: "the session has no url".into(),
        })?;
        Ok(Checkout { provider_invoice_id: session.id, checkout_url })
    }

    async fn invoice(&self, provider_invoice_id: &str) -> Result<ProviderInvoice, ProviderError> {
        Ok(provider_invoice(self.client.session(provider_invoice_id).await?))
    }

    /// Sessions cannot be listed by `client_reference_id`: the newest pages are looked through.
    async fn find_by_order(&self, invoice_id: Uuid) -> Result<Option<ProviderInvoice>, ProviderError> {
        let ours = invoice_id.to_string();
        let mut after: Option<String> = None;
        for _ in 0..FIND_PAGES {
            let mut query = vec![("limit", "100")];
            if let Some(a) = &after {
                query.push(("starting_after", a.as_str()));
            }
            let page = self.client.sessions(&query).await?;
            if let Some(found) = page.data.iter().find(|s| s.client_reference_id.as_deref() == Some(ours.as_str())) {
                return Ok(Some(provider_invoice(found.clone())));
            }
            match page.data.last() {
                Some(last) if page.has_more => after = Some(last.id.clone()),
                _ => break,
            }
        }
        Ok(None)
    }

    fn parse_webhook(&self, headers: &HeaderMap, body: &[u8]) -> Result<WebhookEvent, WebhookError> {
        let event = self.verify_event(headers, body, now_unix())?;
        let (session, observed) = match event.news {
            News::Session(s) => {
                let o = observe(&s);
                (Some(s), Some(o))
            }
            News::SessionFailed(s) => (Some(s), Some(Observed::Invalid)),
            _ => (None, None),
        };
        Ok(WebhookEvent {
            delivery_id: event.id,
            event_type: event.event_type,
            provider_invoice_id: session.as_ref().map(|s| s.id.clone()),
            order_id: session.and_then(|s| s.client_reference_id),
            observed,
        })
    }

    async fn health(&self) -> Health {
        match self.client.webhook_endpoint(&self.webhook_id).await {
            Ok(w) if w.status.as_deref() == Some("disabled") => {
                Health { ok: false, detail: format!("Stripe disabled Keysat's webhook endpoint {}", w.id) }
            }
            Ok(w) => Health { ok: true, detail: format!("webhook endpoint {} enabled", w.id) },
            Err(e) => Health { ok: false, detail: e.to_string() },
        }
    }

    async fn refund(&self, req: &RefundRequest<'_>) -> Result<Refunded, ProviderError> {
        let payment = match req.payment_id {
            Some(p) => p.to_string(),
            None => self
                .client
                .session(req.provider_invoice_id)
                .await?
                .payment_intent
                .ok_or_else(|| ProviderError::Unsupported("the Stripe session has no payment to refund".into()))?,
        };
        let id = req.invoice_id.to_string();
        let form: Form = vec![
            ("payment_intent".into(), payment),
            ("reason".into(), "requested_by_customer".into()),
            ("metadata[keysat_invoice_id]".into(), id.clone()),
            ("metadata[keysat_reason]".into(), req.reason.chars().take(500).collect()),
        ];
        let refund = self.client.create_refund(&form, &format!("keysat-refund-{id}")).await?;
        Ok(Refunded {
            amount: Some(from_minor(refund.amount, &refund.currency)),
            currency: Some(refund.currency.to_ascii_uppercase()),
            refund_id: refund.id,
            claim_url: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_convert_to_the_smallest_unit_and_back() {
        assert_eq!(to_minor("49.00", "USD"), Some(4900));
        assert_eq!(to_minor("49.5", "eur"), Some(4950));
        assert_eq!(to_minor("49", "USD"), Some(4900));
        assert_eq!(to_minor("1500", "JPY"), Some(1500));
        assert_eq!(to_minor("15.5", "JPY"), None);
        assert_eq!(to_minor("1.234", "KWD"), Some(1234));
        assert_eq!(to_minor("1.001", "USD"), None);
        assert_eq!(to_minor("abc", "USD"), None);
        assert_eq!(from_minor(4950, "usd"), "49.50");
        assert_eq!(from_minor(1500, "JPY"), "1500");
        assert_eq!(from_minor(5, "USD"), "0.05");
    }

    fn session(status: &str, paid: &str) -> Session {
        serde_json::from_value(serde_json::json!({"id": "cs_1", "status": status, "payment_status": paid,
            "amount_total": 4900, "currency": "usd", "payment_intent": "pi_1", "client_reference_id": "o"}))
        .unwrap()
    }

    #[test]
    fn sessions_map_to_observations() {
        assert_eq!(observe(&session("complete", "paid")), Observed::Settled);
        assert_eq!(observe(&session("complete", "unpaid")), Observed::Processing);
        assert_eq!(observe(&session("expired", "unpaid")), Observed::Expired);
        assert_eq!(observe(&session("open", "unpaid")), Observed::New);
        let pi = provider_invoice(session("complete", "paid"));
        assert_eq!(pi.charged.unwrap().amount, "49.00");
        assert_eq!(pi.payment_id.as_deref(), Some("pi_1"));
        assert_eq!(provider_invoice(session("open", "unpaid")).payment_id, None);
    }
}
