//! `GET /thank-you?invoice=<id>`: where the buyer lands after the checkout.
//! It shows the purchase's stage and, once paid, the key. The script
//! refreshes the stage in place by polling `/v1/purchase/{id}`; without
//! JavaScript a meta refresh does it. `GET /thank-you/key.lic?invoice=<id>`
//! downloads the key as a text file.
//!
//! The invoice id is the buyer's receipt: like the poll endpoint, this page
//! shows the key to whoever holds it (it is 122 random bits).

use askama::Template;
use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use schemars::JsonSchema;
use serde::Deserialize;
use uuid::Uuid;

use super::{clip, date, render, seats, Caching, Chrome, PageQuery};
use crate::config::origin_of;
use crate::db;
use crate::db::invoices::Invoice;
use crate::db::licenses::License;
use crate::delivery::buyer_notices::{lic_notes, until};
use crate::domain::invoice::InvoiceStatus;
use crate::domain::license::lic_file;
use crate::domain::now_unix;
use crate::http::error::ApiError;
use crate::http::state::AppState;

#[derive(Deserialize, JsonSchema)]
pub struct InvoiceQuery {
    invoice: Option<String>,
}

#[derive(Template)]
#[template(path = "thank_you.html")]
struct ThankYou {
    chrome: Chrome,
    invoice_id: String,
    /// One of the poll answer's stages (`waiting_for_payment`, `confirming`,
    /// `paid`, `expired`, `invalid`); "paid" only once the key exists.
    stage: &'static str,
    product: String,
    product_slug: String,
    tier: String,
    amount: String,
    checkout_url: Option<String>,
    key: String,
    seats: String,
    expires: String,
    free: bool,
    /// `purchase`, `renewal` or `upgrade`: what the invoice paid for.
    purpose: &'static str,
    /// Where the buyer claims a bitcoin refund, once refunded.
    refund_claim_url: Option<String>,
    /// The refund went back to a card.
    refund_to_card: bool,
    /// How the key stands now: `active`, `suspended` (a disputed payment),
    /// `revoked` or `expired` (its term and grace are over).
    key_state: &'static str,
    /// The buyer gave an e-mail or an npub: the key can be found again.
    contact_given: bool,
    /// Where to get the application, and what to do with the key.
    download_url: Option<String>,
    homepage_url: Option<String>,
    instructions: Option<String>,
}

impl ThankYou {
    fn shows(&self, stage: &str) -> bool {
        self.stage == stage
    }

    /// Still moving: the page refreshes itself.
    fn live(&self) -> bool {
        matches!(self.stage, "waiting_for_payment" | "confirming")
    }
}

pub async fn page(State(s): State<AppState>, PageQuery(q): PageQuery<InvoiceQuery>) -> Result<Response, ApiError> {
    let (invoice, license) = find(&s, q.invoice.as_deref()).await?;
    let product = db::products::by_id(&s.db.read, invoice.product_id).await?;
    let tier = db::policies::by_id(&s.db.read, invoice.policy_id).await?;
    let refund = crate::services::refunds::refunded(&s.core, invoice.id).await?;
    let stage = match (invoice.status, &license, invoice.processing) {
        (InvoiceStatus::Settled, _, _) if refund.is_some() => "refunded",
        (InvoiceStatus::Settled, Some(_), _) => "paid",
        // Paid, the key is being issued: a moment of "confirming".
        (InvoiceStatus::Settled, None, _) | (InvoiceStatus::Pending, _, true) => "confirming",
        (InvoiceStatus::Pending, _, false) => "waiting_for_payment",
        (InvoiceStatus::Expired, _, _) => "expired",
        (InvoiceStatus::Invalid, _, _) => "invalid",
    };
    let amount = match (&invoice.price_amount, &invoice.price_currency) {
        (Some(a), Some(c)) => format!("{a} {c}"),
        _ => super::sats(invoice.amount_sats),
    };
    let page = ThankYou {
        chrome: Chrome::new(&s),
        invoice_id: invoice.id.to_string(),
        stage,
        product: product.as_ref().map(|p| p.name.clone()).unwrap_or_default(),
        product_slug: product.as_ref().map(|p| p.slug.to_string()).unwrap_or_default(),
        tier: tier.map(|t| t.name).unwrap_or_default(),
        amount,
        // Only a provider's http(s) address becomes a link.
        checkout_url: invoice
            .checkout_url
            .clone()
            .filter(|u| invoice.status == InvoiceStatus::Pending && origin_of(u).is_some()),
        key: license.as_ref().map(|l| l.license_key.clone()).unwrap_or_default(),
        seats: license.as_ref().map(|l| seats(l.max_machines)).unwrap_or_default(),
        expires: license.as_ref().map(|l| until(l.expires_at)).unwrap_or_default(),
        free: invoice.amount_sats == 0,
        purpose: invoice.purpose.as_str(),
        refund_to_card: refund.as_ref().is_some_and(|r| r.provider == crate::payment::stripe::NAME),
        refund_claim_url: refund.and_then(|r| r.claim_url).filter(|u| origin_of(u).is_some()),
        key_state: license.as_ref().map_or("", |l| key_state(l, now_unix())),
        contact_given: invoice.buyer_email.is_some() || invoice.buyer_npub.is_some(),
        download_url: product.as_ref().and_then(|p| p.download_url.clone()),
        homepage_url: product.as_ref().and_then(|p| p.homepage_url.clone()),
        instructions: product.as_ref().and_then(|p| p.key_instructions.clone()),
    };
    render(&page, StatusCode::OK, Caching::Private)
}

/// The key as a `.lic` file named after the product: the key on its first
/// line (what apps read, `keysat_client::key_in_file`), then `#` comment
/// lines with the order number, how the key stands and how to find it again.
pub async fn key_file(State(s): State<AppState>, PageQuery(q): PageQuery<InvoiceQuery>) -> Result<Response, ApiError> {
    let (invoice, license) = find(&s, q.invoice.as_deref()).await?;
    let license = license.ok_or_else(|| ApiError::not_found("this purchase has no key yet"))?;
    let product = db::products::by_id(&s.db.read, invoice.product_id).await?;
    let slug = product.as_ref().map_or_else(|| "license".to_string(), |p| p.slug.to_string());
    let refunded = crate::services::refunds::refunded(&s.core, invoice.id).await?.is_some();
    let standing = match (refunded, key_state(&license, now_unix())) {
        (true, _) => "REFUNDED: this purchase was refunded; the key no longer works.".to_string(),
        (false, "revoked") => "REVOKED: this key no longer works.".to_string(),
        (false, "suspended") => "SUSPENDED: this key does not work while its payment is disputed.".to_string(),
        (false, "expired") => format!("EXPIRED: this key's term ended on {}.", date(license.expires_at)),
        _ => format!("Valid until: {}", until(license.expires_at)),
    };
    let product_name = product.as_ref().map_or("your product", |p| p.name.as_str());
    let order = invoice.id.to_string();
    let notes = lic_notes(&s.delivery.sender(), product_name, Some(&order), standing);
    let mut res = lic_file(&license.license_key, &notes).into_response();
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
    // A slug is [a-z0-9-], safe in a header and a file name.
    let disposition = format!("attachment; filename=\"{slug}.lic\"");
    h.insert(header::CONTENT_DISPOSITION, HeaderValue::from_str(&disposition).map_err(anyhow::Error::from)?);
    Ok(res)
}

/// How a key stands for its buyer now: `active`, `suspended`, `revoked`, or
/// `expired` once its term and grace are over.
fn key_state(l: &License, now: i64) -> &'static str {
    match l.status.as_str() {
        "active" if l.expires_at > 0 && l.expires_at + l.grace_seconds.max(0) < now => "expired",
        other => other,
    }
}

/// The thank-you page of an invoice, on whatever address the buyer uses.
pub fn path(invoice_id: impl std::fmt::Display) -> String {
    format!("/thank-you?invoice={invoice_id}")
}

/// The invoice and, once issued, its license.
async fn find(s: &AppState, raw: Option<&str>) -> Result<(Invoice, Option<License>), ApiError> {
    let raw = raw.unwrap_or_default();
    if raw.trim().is_empty() {
        return Err(ApiError::not_found("this address needs the order number (?invoice=…) of a purchase"));
    }
    let missing = || ApiError::not_found(format!("there is no purchase numbered '{}'", clip(raw, 64)));
    let id = Uuid::parse_str(raw.trim()).map_err(|_| missing())?;
    let invoice = db::invoices::by_id(&s.db.read, id).await?.ok_or_else(missing)?;
    // A renewal or an upgrade shows the license's (new) key once it is paid.
    let license = match (invoice.target_license_id, invoice.status) {
        (Some(_), InvoiceStatus::Settled) | (None, _) => db::licenses::of_invoice(&s.db.read, &invoice).await?,
        (Some(_), _) => None,
    };
    Ok((invoice, license))
}
