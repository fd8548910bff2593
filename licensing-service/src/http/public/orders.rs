//! What purchases and redemptions share: reading the buyer's order (product,
//! tier, code, buyer details) into checked values, and issuing a license at
//! once when nothing is left to pay.

use std::net::IpAddr;

use axum::http::StatusCode;
use serde_json::Value;
use uuid::Uuid;

use crate::app::AppState;
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
use crate::domain::now_unix;
use crate::domain::npub::Npub;
use crate::domain::optional_text;
use crate::fulfillment::{self, IssueRequest, Source};
use crate::http::error::ApiError;
use crate::http::idempotency::{self, Answer, IdempotencyKey};
use crate::http::public::codes::refused;
use crate::services::catalog;

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
    pub async fn load(s: &AppState, input: OrderInput<'_>) -> Result<Order, ApiError> {
        let buyer_email = optional_text("buyer_email", input.buyer_email, 254)?.map(|e| parse_email(&e)).transpose()?;
        let buyer_npub = optional_text("buyer_npub", input.buyer_npub, 128)?.map(|n| Npub::parse(&n)).transpose()?;
        let buyer_note = optional_text("buyer_note", input.buyer_note, 1000)?;
        let (product, policy) = catalog::buyable(&s.db, input.product, input.policy_slug).await?;
        let code = match input.code.map(str::trim).filter(|c| !c.is_empty()) {
            None => None,
            Some(raw) => {
                let code = Code::parse(raw).map_err(|_| refused(Refusal::UnknownCode))?;
                let found = db::codes::by_code(&s.db.read, &code).await?.filter(|c| c.product_id == product.id);
                Some(found.ok_or_else(|| refused(Refusal::UnknownCode))?)
            }
        };
        let quote = Quote::for_policy(&policy, code.as_ref().map(|c| c.kind)).map_err(refused)?;
        Ok(Order { product, policy, code, quote, buyer_email, buyer_npub, buyer_note })
    }

    pub fn buyer_key(&self) -> Option<String> {
        fulfillment::buyer_key(self.buyer_email.as_deref(), self.buyer_npub.as_ref())
    }

    /// Our invoice row for this order.
    pub fn invoice(&self, provider: &str, status: InvoiceStatus, redirect_url: Option<String>, now: i64) -> Invoice {
        Invoice {
            id: Uuid::new_v4(),
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
        }
    }
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
/// `Idempotency-Key` the answer is stored in the same transaction.
pub async fn issue_free(
    s: &AppState,
    order: &Order,
    idem: Option<&IdempotencyKey>,
    answer: impl FnOnce(&FreeIssued) -> Value,
) -> Result<Answer, ApiError> {
    let now = now_unix();
    let mut tx = s.db.begin().await?;
    if let Some(key) = idem {
        if let Some(replayed) = idempotency::claim(&mut tx, key, now).await? {
            return Ok(replayed);
        }
    }
    let invoice = order.invoice("none", InvoiceStatus::Settled, None, now);
    db::invoices::insert(&mut tx, &invoice).await?;
    let source = if order.code.is_some() { Source::Redeem } else { Source::Purchase };
    let issued = fulfillment::issue_in(
        &mut tx,
        &s.signer,
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
    .map_err(|e| anyhow::anyhow!("issuing a free license: {e}"))?;
    let mut redemption_id = None;
    if let Some(code) = &order.code {
        let buyer = order.buyer_key();
        let claimed = fulfillment::claim_code(
            &mut tx,
            code,
            order.policy.slug.as_str(),
            buyer.as_deref(),
            Some(&invoice.id.to_string()),
            Some(issued.license.id),
            0,
            s.config.code_hold_seconds,
            now,
        )
        .await?;
        // Dropping the transaction undoes the invoice and the license.
        let use_id = claimed.map_err(refused)?;
        redemption_id = Some(use_id);
        code_redeemed(&mut tx, now, code.id, &invoice, issued.license.id, Some(use_id)).await?;
        let notice = operator::free_redemption_text(&order.product.name, &order.policy.name, code.code.as_str());
        operator::notify_in(&mut tx, now, NoticeKind::FreeRedemption, &notice).await?;
    }
    let done = FreeIssued { invoice, license: issued.license, redemption_id };
    let body = answer(&done);
    if let Some(key) = idem {
        idempotency::remember(&mut tx, key, StatusCode::OK, &body, now).await?;
    }
    tx.commit().await?;
    if let Some(id) = done.redemption_id {
        tracing::info!(license = %done.license.id, redemption = %id, "free license issued");
    }
    Ok(Answer::ok(body))
}
