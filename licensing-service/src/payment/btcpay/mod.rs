//! BTCPay Server as a [`PaymentProvider`]: invoices through Greenfield,
//! webhooks signed with `BTCPay-Sig: sha256=<hex HMAC-SHA256(secret, body)>`.

pub mod client;
pub mod connect;

use axum::http::HeaderMap;
use hmac::{Hmac, Mac};
use serde::Deserialize;
use serde_json::{json, Value};
use sha2::Sha256;
use subtle::ConstantTimeEq;
use uuid::Uuid;

use self::client::{CheckoutOptions, Client, InvoiceCreate, InvoiceData, RefundCreate, INVOICE_CALL};
use super::{
    Amount, Checkout, CheckoutRequest, Health, PaymentProvider, ProviderError, ProviderInvoice, RefundRequest,
    Refunded, WebhookError, WebhookEvent,
};
use crate::domain::invoice::{Charged, Observed};

pub const NAME: &str = "btcpay";

/// A connected BTCPay store.
pub struct Btcpay {
    client: Client,
    store_id: String,
    webhook_secret: String,
}

impl Btcpay {
    pub fn new(client: Client, store_id: String, webhook_secret: String) -> Btcpay {
        Btcpay { client, store_id, webhook_secret }
    }
}

/// BTCPay's invoice status (and, for `Expired`/`Invalid`, whether it was
/// paid late or marked) as our observation.
pub fn observe(status: &str, additional: Option<&str>) -> Option<Observed> {
    Some(match status {
        "New" => Observed::New,
        "Processing" => Observed::Processing,
        "Settled" => Observed::Settled,
        // A late payment keeps BTCPay's status `Expired`; the money arrived,
        // so it counts as paid only once BTCPay settles it.
        "Expired" if additional == Some("PaidLate") => Observed::Processing,
        "Expired" => Observed::Expired,
        "Invalid" => Observed::Invalid,
        _ => return None,
    })
}

fn provider_invoice(d: InvoiceData) -> Result<ProviderInvoice, ProviderError> {
    let state = observe(&d.status, d.additional_status.as_deref()).ok_or_else(|| ProviderError::Malformed {
        call: INVOICE_CALL,
        message: format!("unknown invoice status '{}'", d.status),
    })?;
    let charged = match (&d.amount, &d.currency) {
        (Some(amount), Some(currency)) => {
            Some(Charged { store_id: d.store_id.clone(), amount: amount.clone(), currency: currency.clone() })
        }
        _ => None,
    };
    Ok(ProviderInvoice { order_id: d.order_id(), provider_invoice_id: d.id, state, charged, payment_id: None })
}

/// Checks `BTCPay-Sig` against the raw body in constant time.
pub fn verify_signature(secret: &str, headers: &HeaderMap, body: &[u8]) -> bool {
    let Some(sig) = headers.get("btcpay-sig").and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let Some(hex_sig) = sig.trim().strip_prefix("sha256=") else {
        return false;
    };
    let Ok(given) = hex::decode(hex_sig) else {
        return false;
    };
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(body);
    let expected = mac.finalize().into_bytes();
    given.len() == expected.len() && bool::from(expected.as_slice().ct_eq(&given))
}

/// The webhook body fields Keysat reads (`WebhookInvoiceEvent`).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WebhookBody {
    delivery_id: String,
    #[serde(rename = "type")]
    event_type: String,
    #[serde(default)]
    invoice_id: Option<String>,
    #[serde(default)]
    metadata: Option<Value>,
    #[serde(default)]
    after_expiration: Option<bool>,
}

/// What an invoice event type says about the invoice.
fn observe_event(event_type: &str) -> Option<Observed> {
    Some(match event_type {
        "InvoiceSettled" => Observed::Settled,
        "InvoiceProcessing" => Observed::Processing,
        "InvoiceExpired" => Observed::Expired,
        "InvoiceInvalid" => Observed::Invalid,
        // A payment arrived (perhaps only part of it) or confirmed: the
        // status is unchanged until BTCPay says Processing or Settled.
        "InvoiceReceivedPayment" | "InvoicePaymentSettled" | "InvoiceCreated" => Observed::New,
        _ => return None,
    })
}

/// Parses a delivery whose signature was already checked.
pub fn parse_event(body: &[u8]) -> Result<WebhookEvent, WebhookError> {
    let b: WebhookBody = serde_json::from_slice(body).map_err(|e| WebhookError::Malformed(e.to_string()))?;
    if b.delivery_id.is_empty() {
        return Err(WebhookError::Malformed("empty deliveryId".into()));
    }
    let order_id = b.metadata.as_ref().and_then(|m| m.get("orderId")).and_then(Value::as_str).map(str::to_string);
    let mut observed = observe_event(&b.event_type);
    // A payment received after expiry: money is there, confirmation pending.
    if b.event_type == "InvoiceReceivedPayment" && b.after_expiration == Some(true) {
        observed = Some(Observed::Processing);
    }
    Ok(WebhookEvent {
        delivery_id: b.delivery_id,
        event_type: b.event_type,
        provider_invoice_id: b.invoice_id,
        order_id,
        observed,
    })
}

#[async_trait::async_trait]
impl PaymentProvider for Btcpay {
    fn name(&self) -> &'static str {
        NAME
    }

    async fn create_checkout(&self, req: &CheckoutRequest) -> Result<Checkout, ProviderError> {
        let (amount, currency) = match &req.amount {
            Amount::Sats(s) => (s.to_string(), "SATS".to_string()),
            Amount::Fiat { amount, currency } => (amount.clone(), currency.clone()),
        };
        let mut metadata = json!({ "orderId": req.invoice_id.to_string(), "itemDesc": req.description });
        if let Some(email) = &req.buyer_email {
            metadata["buyerEmail"] = json!(email);
        }
        let body = InvoiceCreate {
            amount,
            currency,
            metadata,
            checkout: CheckoutOptions { redirect_url: req.redirect_url.clone(), redirect_automatically: true },
        };
        let created = self.client.create_invoice(&self.store_id, &body).await?;
        let checkout_url = created.checkout_link.clone().filter(|l| !l.is_empty()).ok_or(ProviderError::Malformed {
            call: "POST /api/v1/stores/{storeId}/invoices",
            message: "the invoice has no checkoutLink".into(),
        })?;
        Ok(Checkout { provider_invoice_id: created.id, checkout_url })
    }

    async fn invoice(&self, provider_invoice_id: &str) -> Result<ProviderInvoice, ProviderError> {
        provider_invoice(self.client.invoice(&self.store_id, provider_invoice_id).await?)
    }

    async fn find_by_order(&self, invoice_id: Uuid) -> Result<Option<ProviderInvoice>, ProviderError> {
        let order = invoice_id.to_string();
        let found = self.client.invoices_by_order(&self.store_id, &order).await?;
        found.into_iter().find(|d| d.order_id().as_deref() == Some(order.as_str())).map(provider_invoice).transpose()
    }

    fn parse_webhook(&self, headers: &HeaderMap, body: &[u8]) -> Result<WebhookEvent, WebhookError> {
        if !verify_signature(&self.webhook_secret, headers, body) {
            return Err(WebhookError::BadSignature);
        }
        parse_event(body)
    }

    async fn health(&self) -> Health {
        match self.client.store(&self.store_id).await {
            Ok(store) => Health { ok: true, detail: format!("store '{}' reachable", store.name) },
            Err(e) => Health { ok: false, detail: e.to_string() },
        }
    }

    /// BTCPay's invoice refund: a pull payment of the bitcoin paid (at the
    /// rate it was paid at), which the buyer claims on its page.
    async fn refund(&self, req: &RefundRequest<'_>) -> Result<Refunded, ProviderError> {
        let body = RefundCreate {
            name: format!("Refund of order {}", req.invoice_id),
            description: req.reason.chars().take(500).collect(),
            refund_variant: "RateThen",
        };
        let pp = self.client.refund_invoice(&self.store_id, req.provider_invoice_id, &body).await?;
        Ok(Refunded { refund_id: pp.id, amount: pp.amount, currency: pp.currency, claim_url: pp.view_link })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sig(secret: &str, body: &[u8]) -> HeaderMap {
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(body);
        let mut h = HeaderMap::new();
        h.insert("BTCPay-Sig", format!("sha256={}", hex::encode(mac.finalize().into_bytes())).parse().unwrap());
        h
    }

    #[test]
    fn signature_must_match_the_raw_body() {
        let body = br#"{"deliveryId":"d1","type":"InvoiceSettled","invoiceId":"i1"}"#;
        assert!(verify_signature("s3cret", &sig("s3cret", body), body));
        assert!(!verify_signature("other", &sig("s3cret", body), body));
        assert!(!verify_signature("s3cret", &sig("s3cret", body), b"{}"));
        assert!(!verify_signature("s3cret", &HeaderMap::new(), body));
        let mut h = HeaderMap::new();
        h.insert("BTCPay-Sig", "sha256=zz".parse().unwrap());
        assert!(!verify_signature("s3cret", &h, body));
    }

    #[test]
    fn events_map_to_observations() {
        let e =
            parse_event(br#"{"deliveryId":"d","type":"InvoiceSettled","invoiceId":"i","metadata":{"orderId":"o"}}"#)
                .unwrap();
        assert_eq!(e.observed, Some(Observed::Settled));
        assert_eq!(e.order_id.as_deref(), Some("o"));
        let e = parse_event(br#"{"deliveryId":"d","type":"PayoutCreated"}"#).unwrap();
        assert_eq!(e.observed, None);
        assert!(parse_event(b"not json").is_err());
        assert_eq!(observe("Expired", Some("PaidLate")), Some(Observed::Processing));
        assert_eq!(observe("Weird", None), None);
    }
}
