//! Payment providers behind one trait. A provider turns our invoice into a
//! checkout, reports an invoice's state, and verifies and parses its own
//! webhooks, and refunds a payment; it never touches the database. Callers
//! hold an `Arc<dyn PaymentProvider>` from [`Payments`], which keeps the
//! bitcoin rail (BTCPay, or the simulated provider in demo mode) and the card
//! rail (Stripe) side by side; each invoice names the provider it was made with.

pub mod btcpay;
pub mod simulated;
pub mod stripe;

use std::sync::{Arc, Mutex, RwLock};

use axum::http::HeaderMap;
use uuid::Uuid;

use crate::domain::invoice::{Charged, Observed};

/// What the buyer is asked to pay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Amount {
    Sats(i64),
    /// A decimal string in `currency`; the provider converts at its rate.
    Fiat {
        amount: String,
        currency: String,
    },
}

/// One of our invoices, to be paid at the provider.
#[derive(Debug, Clone)]
pub struct CheckoutRequest {
    pub invoice_id: Uuid,
    pub amount: Amount,
    /// What is bought, shown on the checkout ("Product — Tier").
    pub description: String,
    pub buyer_email: Option<String>,
    /// Where the checkout sends the buyer once paid.
    pub redirect_url: String,
}

/// The provider's invoice for one of ours.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkout {
    pub provider_invoice_id: String,
    pub checkout_url: String,
}

/// An invoice as the provider sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderInvoice {
    pub provider_invoice_id: String,
    /// Our invoice id, as we gave it at creation.
    pub order_id: Option<String>,
    pub state: Observed,
    /// What it charges and in which store, checked before it settles ours.
    pub charged: Option<Charged>,
    /// The payment behind it, once paid, when the provider names one apart
    /// from the invoice (Stripe: the PaymentIntent, which refunds and disputes name).
    pub payment_id: Option<String>,
}

/// The whole payment of one settled invoice, to be given back.
#[derive(Debug, Clone)]
pub struct RefundRequest<'a> {
    pub invoice_id: Uuid,
    pub provider_invoice_id: &'a str,
    pub payment_id: Option<&'a str>,
    /// The operator's reason, shown at the provider where it has a place.
    pub reason: &'a str,
}

/// A refund the provider made (or, for BTCPay, offers the buyer to claim).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refunded {
    /// The provider's id of the refund (Stripe `re_…`, BTCPay's pull payment).
    pub refund_id: String,
    /// A decimal string in `currency`, when the provider says.
    pub amount: Option<String>,
    pub currency: Option<String>,
    /// Where the buyer claims the money (a BTCPay pull payment), when they must.
    pub claim_url: Option<String>,
}

/// A verified webhook delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookEvent {
    /// Unique per delivery (a redelivery of the same event has its own id).
    pub delivery_id: String,
    pub event_type: String,
    pub provider_invoice_id: Option<String>,
    pub order_id: Option<String>,
    /// What the event says about the invoice; `None` for events we ignore.
    pub observed: Option<Observed>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum WebhookError {
    #[error("missing or wrong signature")]
    BadSignature,
    #[error("malformed webhook body: {0}")]
    Malformed(String),
    #[error("this provider does not send webhooks")]
    Unsupported,
}

/// A failed call to the provider, naming the call.
#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    #[error("{call}: cannot reach the payment provider: {message}")]
    Unreachable { call: &'static str, message: String },
    #[error("{call}: the payment provider answered HTTP {status}: {message}")]
    Status { call: &'static str, status: u16, message: String },
    #[error("{call}: unexpected answer from the payment provider: {message}")]
    Malformed { call: &'static str, message: String },
    #[error("{0}")]
    Config(String),
    /// The provider cannot do this (a refund in demo mode, a card checkout for a sats price).
    #[error("{0}")]
    Unsupported(String),
}

impl ProviderError {
    /// The provider could not be reached or failed on its side: back off.
    pub fn is_outage(&self) -> bool {
        match self {
            ProviderError::Unreachable { .. } => true,
            ProviderError::Status { status, .. } => *status >= 500 || *status == 401 || *status == 403,
            _ => false,
        }
    }
}

/// Connection health, for the status endpoint.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Health {
    pub ok: bool,
    pub detail: String,
}

#[async_trait::async_trait]
pub trait PaymentProvider: Send + Sync {
    /// Stored with each invoice (`btcpay`, `simulated`, …).
    fn name(&self) -> &'static str;
    /// Creates the provider invoice for one of ours.
    async fn create_checkout(&self, req: &CheckoutRequest) -> Result<Checkout, ProviderError>;
    /// The provider's current view of an invoice.
    async fn invoice(&self, provider_invoice_id: &str) -> Result<ProviderInvoice, ProviderError>;
    /// Finds the provider invoice created for our invoice id, if any (a crash
    /// may have come between creating it and recording its id).
    async fn find_by_order(&self, invoice_id: Uuid) -> Result<Option<ProviderInvoice>, ProviderError>;
    /// Verifies a webhook's signature over the raw body, then parses it.
    fn parse_webhook(&self, headers: &HeaderMap, body: &[u8]) -> Result<WebhookEvent, WebhookError>;
    async fn health(&self) -> Health;
    /// Gives back the whole payment of a settled invoice.
    async fn refund(&self, req: &RefundRequest<'_>) -> Result<Refunded, ProviderError> {
        let _ = req;
        Err(ProviderError::Unsupported(format!("{} cannot refund", self.name())))
    }
}

/// Reconciliation progress, shown by the status endpoint.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct ReconcileState {
    pub last_run_at: Option<i64>,
    pub last_error: Option<String>,
    pub last_checked: u64,
    pub consecutive_failures: u32,
    /// While the provider is unreachable, runs are skipped until then.
    pub next_attempt_at: Option<i64>,
}

/// The providers in use (none until connected): the bitcoin rail and the
/// card rail, each with its own reconciliation state.
#[derive(Default)]
pub struct Payments {
    /// BTCPay, or the simulated provider in demo mode.
    current: RwLock<Option<Arc<dyn PaymentProvider>>>,
    /// Stripe.
    card: RwLock<Option<Arc<stripe::Stripe>>>,
    /// The bitcoin rail's reconciliation.
    pub reconcile: Mutex<ReconcileState>,
    /// The card rail's reconciliation.
    pub card_reconcile: Mutex<ReconcileState>,
    /// One reconciliation pass at a time.
    pub pass: tokio::sync::Mutex<()>,
}

impl Payments {
    /// The bitcoin rail (BTCPay or simulated).
    pub fn current(&self) -> Option<Arc<dyn PaymentProvider>> {
        self.current.read().expect("payments lock").clone()
    }

    pub fn set(&self, provider: Option<Arc<dyn PaymentProvider>>) {
        *self.current.write().expect("payments lock") = provider;
    }

    /// The card rail, typed (its webhook carries refunds and disputes too).
    pub fn stripe(&self) -> Option<Arc<stripe::Stripe>> {
        self.card.read().expect("payments lock").clone()
    }

    pub fn set_stripe(&self, provider: Option<Arc<stripe::Stripe>>) {
        *self.card.write().expect("payments lock") = provider;
    }

    /// The card rail as a provider.
    pub fn card(&self) -> Option<Arc<dyn PaymentProvider>> {
        self.stripe().map(|p| p as Arc<dyn PaymentProvider>)
    }

    /// The provider an invoice was made with, if it is connected now.
    pub fn for_invoice(&self, provider_name: &str) -> Option<Arc<dyn PaymentProvider>> {
        [self.current(), self.card()].into_iter().flatten().find(|p| p.name() == provider_name)
    }

    /// The bitcoin rail's reconciliation state.
    pub fn reconcile_state(&self) -> ReconcileState {
        self.reconcile.lock().expect("reconcile lock").clone()
    }

    /// The card rail's reconciliation state.
    pub fn card_reconcile_state(&self) -> ReconcileState {
        self.card_reconcile.lock().expect("reconcile lock").clone()
    }
}
