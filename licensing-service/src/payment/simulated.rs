//! The demo provider (`keysat serve --demo` only): invoices live in memory
//! and are paid or expired from a built-in checkout page, so a whole sale can
//! be clicked through on one machine without a BTCPay Server.

use std::collections::HashMap;
use std::sync::Mutex;

use axum::http::HeaderMap;
use uuid::Uuid;

use super::Amount;
use super::{
    Checkout, CheckoutRequest, Health, PaymentProvider, ProviderError, ProviderInvoice, RefundRequest, Refunded,
    WebhookError, WebhookEvent,
};
use crate::domain::invoice::{Charged, Observed};

pub const NAME: &str = "simulated";

/// One simulated invoice.
#[derive(Debug, Clone)]
pub struct SimInvoice {
    pub order_id: Uuid,
    pub state: Observed,
    pub description: String,
    pub amount: super::Amount,
    pub redirect_url: String,
}

pub struct Simulated {
    public_url: String,
    invoices: Mutex<HashMap<String, SimInvoice>>,
}

impl Simulated {
    pub fn new(public_url: &str) -> Simulated {
        Simulated { public_url: public_url.trim_end_matches('/').to_string(), invoices: Mutex::default() }
    }

    pub fn get(&self, id: &str) -> Option<SimInvoice> {
        self.invoices.lock().expect("sim lock").get(id).cloned()
    }

    /// The demo checkout's buttons: a pending invoice becomes settled or expired.
    pub fn resolve(&self, id: &str, to: Observed) -> Option<SimInvoice> {
        let mut map = self.invoices.lock().expect("sim lock");
        let inv = map.get_mut(id)?;
        if inv.state == Observed::New {
            inv.state = to;
        }
        Some(inv.clone())
    }
}

#[async_trait::async_trait]
impl PaymentProvider for Simulated {
    fn name(&self) -> &'static str {
        NAME
    }

    async fn create_checkout(&self, req: &CheckoutRequest) -> Result<Checkout, ProviderError> {
        let id = format!("sim_{}", Uuid::new_v4().simple());
        let inv = SimInvoice {
            order_id: req.invoice_id,
            state: Observed::New,
            description: req.description.clone(),
            amount: req.amount.clone(),
            redirect_url: req.redirect_url.clone(),
        };
        self.invoices.lock().expect("sim lock").insert(id.clone(), inv);
        Ok(Checkout { checkout_url: format!("{}/demo/checkout/{id}", self.public_url), provider_invoice_id: id })
    }

    async fn invoice(&self, provider_invoice_id: &str) -> Result<ProviderInvoice, ProviderError> {
        let inv = self.get(provider_invoice_id).ok_or_else(|| ProviderError::Status {
            call: "simulated invoice",
            status: 404,
            message: "unknown invoice (demo invoices are forgotten on restart)".into(),
        })?;
        Ok(ProviderInvoice {
            provider_invoice_id: provider_invoice_id.to_string(),
            order_id: Some(inv.order_id.to_string()),
            state: inv.state,
            charged: Some(charged(&inv.amount)),
            payment_id: None,
        })
    }

    async fn find_by_order(&self, invoice_id: Uuid) -> Result<Option<ProviderInvoice>, ProviderError> {
        let map = self.invoices.lock().expect("sim lock");
        Ok(map.iter().find(|(_, i)| i.order_id == invoice_id).map(|(id, i)| ProviderInvoice {
            provider_invoice_id: id.clone(),
            order_id: Some(i.order_id.to_string()),
            state: i.state,
            charged: Some(charged(&i.amount)),
            payment_id: None,
        }))
    }

    fn parse_webhook(&self, _: &HeaderMap, _: &[u8]) -> Result<WebhookEvent, WebhookError> {
        Err(WebhookError::Unsupported)
    }

    async fn health(&self) -> Health {
        Health { ok: true, detail: "demo mode: simulated payments, no money moves".into() }
    }

    /// A demo refund: nothing moves, the sale is simply marked refunded.
    async fn refund(&self, req: &RefundRequest<'_>) -> Result<Refunded, ProviderError> {
        let inv = self.get(req.provider_invoice_id);
        let (amount, currency) = match inv.map(|i| i.amount) {
            Some(Amount::Sats(n)) => (Some(n.to_string()), Some("SATS".to_string())),
            Some(Amount::Fiat { amount, currency }) => (Some(amount), Some(currency)),
            None => (None, None),
        };
        Ok(Refunded { refund_id: format!("simrefund_{}", req.invoice_id.simple()), amount, currency, claim_url: None })
    }
}

/// The simulated checkout charges exactly what it was asked (it has no store).
fn charged(amount: &Amount) -> Charged {
    let (amount, currency) = match amount {
        Amount::Sats(n) => (n.to_string(), "SATS".to_string()),
        Amount::Fiat { amount, currency } => (amount.clone(), currency.clone()),
    };
    Charged { store_id: None, amount, currency }
}
