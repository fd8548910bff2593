//! `POST /v1/purchase` and `GET /v1/purchase/{invoice_id}` (PROTOCOL.md).
//! Our invoice row is written first, then the provider invoice is created:
//! a crash between the two leaves a row reconciliation can explain.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::app::AppState;
use crate::config::origin_of;
use crate::db;
use crate::domain::invoice::InvoiceStatus;
use crate::domain::now_unix;
use crate::fulfillment;
use crate::http::client_ip::ClientIp;
use crate::http::error::ApiError;
use crate::http::extract::{parse_json, require_json, RawBody};
use crate::http::idempotency::{self, address_bucket, Answer, NO_STORE};
use crate::http::public::codes::{refused, too_many};
use crate::http::public::orders::{issue_free, Caller, FreeIssued, Order, OrderInput};
use crate::http::views;
use crate::payment::{Amount, CheckoutRequest};

const SCOPE: &str = "purchase";

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PurchaseBody {
    pub product: String,
    pub policy_slug: Option<String>,
    pub buyer_email: Option<String>,
    pub buyer_npub: Option<String>,
    pub buyer_note: Option<String>,
    pub redirect_url: Option<String>,
    pub code: Option<String>,
}

pub async fn create(
    State(s): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> Result<Response, ApiError> {
    require_json(&headers)?;
    s.purchase_limiter.check(ip).map_err(too_many)?;
    let idem = idempotency::key(&headers, SCOPE, ip, "POST /v1/purchase", &body)?;
    let b: PurchaseBody = parse_json(&body)?;
    Ok(create_purchase(&s, b, &Caller { ip, idem }).await?.into_response())
}

/// The whole purchase: also used by the buy page's form.
pub async fn create_purchase(s: &AppState, b: PurchaseBody, caller: &Caller) -> Result<Answer, ApiError> {
    let idem = caller.idem.as_ref();
    // The caller has checked the address's own limit; this one is everyone's.
    s.global_limits.purchase.admit()?;
    let redirect = checkout_redirect(s, b.redirect_url.as_deref())?;
    let order = Order::load(
        s,
        OrderInput {
            product: &b.product,
            policy_slug: b.policy_slug.as_deref(),
            code: b.code.as_deref(),
            buyer_email: b.buyer_email,
            buyer_npub: b.buyer_npub,
            buyer_note: b.buyer_note,
        },
    )
    .await?;
    if order.quote.is_free() {
        return issue_free(s, &order, idem, |done| free_answer(s, &order, done)).await;
    }
    let provider = s.payments.current().ok_or_else(|| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "payments_unavailable",
            "payments are not set up yet: the seller has not connected a payment provider",
        )
    })?;

    // 1. Our invoice (and the code's reserved use) first.
    let now = now_unix();
    let mut invoice = order.invoice(provider.name(), InvoiceStatus::Pending, None, now);
    let redirect_url = redirect.unwrap_or_else(|| thank_you_url(s, invoice.id));
    invoice.redirect_url = Some(redirect_url.clone());
    let mut tx = s.db.begin().await?;
    if let Some(key) = idem {
        if let Some(replayed) = idempotency::claim(&mut tx, key, now).await? {
            return Ok(replayed);
        }
    }
    let addr = address_bucket(caller.ip);
    check_open_invoices(s, &mut tx, &addr, now).await?;
    db::invoices::insert(&mut tx, &invoice).await?;
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
        .map_err(refused)?;
    }
    tx.commit().await?;

    // 2. Then the provider's.
    let amount = match &order.quote.fiat {
        Some((_, after, currency)) => Amount::Fiat { amount: after.clone(), currency: currency.clone() },
        None => Amount::Sats(order.quote.final_price_sats),
    };
    let request = CheckoutRequest {
        invoice_id: invoice.id,
        amount,
        description: format!("{} — {}", order.product.name, order.policy.name),
        buyer_email: order.buyer_email.clone(),
        redirect_url,
    };
    let checkout = match provider.create_checkout(&request).await {
        Ok(c) => c,
        Err(e) => {
            // Nothing to pay: close our invoice, give the code use back, free the key.
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
            return Err(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "payments_unavailable",
                "payments are temporarily unavailable; please try again in a few minutes",
            ));
        }
    };
    let body = json!({
        "invoice_id": invoice.id,
        "btcpay_invoice_id": checkout.provider_invoice_id,
        "checkout_url": checkout.checkout_url,
        "amount_sats": invoice.amount_sats,
        "base_price_sats": order.quote.base_price_sats,
        "discount_applied_sats": order.quote.discount_sats,
        "price_amount": invoice.price_amount,
        "price_currency": invoice.price_currency,
        "poll_url": poll_url(s, invoice.id),
        "status": "pending",
    });
    let now = now_unix();
    let mut tx = s.db.begin().await?;
    db::invoices::set_checkout(&mut tx, invoice.id, &checkout.provider_invoice_id, &checkout.checkout_url, now).await?;
    if let Some(key) = idem {
        idempotency::remember(&mut tx, key, StatusCode::OK, &body, now).await?;
    }
    tx.commit().await?;
    Ok(Answer::ok(body))
}

fn free_answer(s: &AppState, order: &Order, done: &FreeIssued) -> Value {
    json!({
        "invoice_id": done.invoice.id,
        "btcpay_invoice_id": null,
        "checkout_url": thank_you_url(s, done.invoice.id),
        "amount_sats": 0,
        "base_price_sats": order.quote.base_price_sats,
        "discount_applied_sats": order.quote.discount_sats,
        "poll_url": poll_url(s, done.invoice.id),
        "status": "settled",
        "license_id": done.license.id,
        "license_key": done.license.license_key,
        "redemption_id": done.redemption_id,
    })
}

pub fn thank_you_url(s: &AppState, invoice_id: Uuid) -> String {
    format!("{}/thank-you?invoice={invoice_id}", s.public_url)
}

fn poll_url(s: &AppState, invoice_id: Uuid) -> String {
    format!("{}/v1/purchase/{invoice_id}", s.public_url)
}

/// How long an unpaid invoice counts as open for the caps below: longer than
/// a provider checkout stays payable by default (BTCPay: 15 minutes).
const OPEN_INVOICE_SECONDS: i64 = 3600;

/// Unpaid invoices are capped per address and overall, so spam cannot grow
/// the database or the provider's invoice list without bound. Checked by the
/// single writer, in the transaction that adds the invoice.
async fn check_open_invoices(s: &AppState, tx: &mut db::Tx, addr: &str, now: i64) -> Result<(), ApiError> {
    let since = now - OPEN_INVOICE_SECONDS;
    if db::invoices::count_open(&mut **tx, Some(addr), since).await? >= s.config.max_pending_per_address {
        return Err(ApiError {
            retry_after: Some(600),
            ..ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_open_invoices",
                "this address has several unpaid checkouts open: pay or let one expire, then try again",
            )
        });
    }
    if db::invoices::count_open(&mut **tx, None, since).await? >= s.config.max_pending_invoices {
        tracing::warn!("the cap on open unpaid invoices is reached (KEYSAT_MAX_PENDING_INVOICES)");
        return Err(ApiError {
            retry_after: Some(300),
            ..ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "too_many_open_invoices",
                "the shop has too many unpaid checkouts open; please try again in a few minutes",
            )
        });
    }
    Ok(())
}

/// `redirect_url` is honoured only for our own origin or an allowed one, and
/// kept as the URL parser writes it (no raw control characters survive).
fn checkout_redirect(s: &AppState, wanted: Option<&str>) -> Result<Option<String>, ApiError> {
    let Some(url) = wanted.map(str::trim).filter(|u| !u.is_empty()) else {
        return Ok(None);
    };
    let invalid =
        || ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_field", "redirect_url: must be an http(s) URL");
    if url.len() > 2000 || url.chars().any(char::is_control) {
        return Err(invalid());
    }
    let normalised = url::Url::parse(url).map_err(|_| invalid())?;
    let origin = origin_of(normalised.as_str()).ok_or_else(invalid)?;
    let ours = origin_of(&s.public_url);
    if ours.as_deref() == Some(origin.as_str()) || s.config.redirect_allowlist.contains(&origin) {
        Ok(Some(normalised.to_string()))
    } else {
        Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "redirect_not_allowed",
            format!("redirect_url: {origin} is neither this server nor in KEYSAT_REDIRECT_ALLOWLIST"),
        ))
    }
}

/// Where a purchase stands, for polling. The answer may carry the key: no
/// cache may keep it.
pub async fn get(State(s): State<AppState>, Path(id): Path<String>) -> Result<Response, ApiError> {
    let id = Uuid::parse_str(id.trim()).map_err(|_| ApiError::not_found("no such invoice"))?;
    let invoice = db::invoices::by_id(&s.db.read, id).await?.ok_or_else(|| ApiError::not_found("no such invoice"))?;
    let license = match invoice.status {
        InvoiceStatus::Settled => db::licenses::by_invoice(&s.db.read, &id.to_string()).await?,
        _ => None,
    };
    Ok(([NO_STORE], Json(purchase_view(&invoice, license.as_ref()))).into_response())
}

/// The poll answer: PROTOCOL.md's fields plus the payment stage.
pub fn purchase_view(invoice: &db::invoices::Invoice, license: Option<&db::licenses::License>) -> Value {
    let stage = match (invoice.status, invoice.processing) {
        (InvoiceStatus::Pending, false) => "waiting_for_payment",
        (InvoiceStatus::Pending, true) => "confirming",
        (InvoiceStatus::Settled, _) => "paid",
        (InvoiceStatus::Expired, _) => "expired",
        (InvoiceStatus::Invalid, _) => "invalid",
    };
    json!({
        "invoice_id": invoice.id,
        "status": invoice.status.as_str(),
        "stage": stage,
        "product_id": invoice.product_id,
        "amount_sats": invoice.amount_sats,
        "license_key": license.map(|l| &l.license_key),
        "license_id": license.map(|l| l.id),
        "expires_at": license.map(|l| views::ts_or_null(l.expires_at)),
        "max_machines": license.map(|l| l.max_machines),
        "checkout_url": invoice.checkout_url.as_ref().filter(|_| invoice.status == InvoiceStatus::Pending),
    })
}
