//! `POST /v1/purchase` and `GET /v1/purchase/{invoice_id}` (PROTOCOL.md): the
//! JSON front end of `services::orders::create_purchase`.

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::Json;
use keysat_client::PurchaseStatus;
use schemars::JsonSchema;
use serde::Deserialize;
use uuid::Uuid;

use crate::db;
use crate::domain::invoice::InvoiceStatus;
use crate::domain::time::unix_or_never;
use crate::http::client_ip::ClientIp;
use crate::http::error::ApiError;
use crate::http::extract::RawBody;
use crate::http::idempotency::NO_STORE;
use crate::http::public::order_request;
use crate::http::state::AppState;
use crate::services::orders::{create_purchase_on, OrderInput, Rail};
use crate::services::refunds;
use crate::services::seats::check_trial_fingerprint;

const SCOPE: &str = "purchase";

/// The request of `POST /v1/purchase` (PROTOCOL.md; `buyer_npub` is this
/// server's addition). Unknown fields are refused.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PurchaseBody {
    product: String,
    policy_slug: Option<String>,
    buyer_email: Option<String>,
    buyer_npub: Option<String>,
    buyer_note: Option<String>,
    redirect_url: Option<String>,
    code: Option<String>,
    /// One trial per machine: the machine the trial is for (checked up front).
    fingerprint: Option<String>,
    /// `"btcpay"` or `"stripe"` (this server's addition); bitcoin when absent and available.
    provider: Option<String>,
}

pub async fn create(
    State(s): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> Result<Response, ApiError> {
    let (caller, b): (_, PurchaseBody) =
        order_request(&headers, ip, &body, &s.limits.purchase, SCOPE, "POST /v1/purchase")?;
    check_trial_fingerprint(&s.core, &b.product, b.policy_slug.as_deref(), b.fingerprint.as_deref()).await?;
    let order = OrderInput {
        product: &b.product,
        policy_slug: b.policy_slug.as_deref(),
        code: b.code.as_deref(),
        buyer_email: b.buyer_email,
        buyer_npub: b.buyer_npub,
        buyer_note: b.buyer_note,
    };
    let rail = b.provider.as_deref().map(Rail::parse).transpose()?;
    let reply = create_purchase_on(&s.core, order, b.redirect_url.as_deref(), &caller, rail).await?;
    Ok(reply.into_response())
}

/// Where a purchase stands, for polling. The answer may carry the key: no
/// cache may keep it.
pub async fn get(State(s): State<AppState>, Path(id): Path<String>) -> Result<Response, ApiError> {
    let id = Uuid::parse_str(id.trim()).map_err(|_| ApiError::not_found("no such invoice"))?;
    let invoice = db::invoices::by_id(&s.db.read, id).await?.ok_or_else(|| ApiError::not_found("no such invoice"))?;
    let license = match invoice.status {
        InvoiceStatus::Settled => db::licenses::of_invoice(&s.db.read, &invoice).await?,
        _ => None,
    };
    let mut view = purchase_view(&invoice, license.as_ref());
    if invoice.status == InvoiceStatus::Settled && refunds::refunded(&s.core, id).await?.is_some() {
        view.stage = "refunded".to_string();
    }
    Ok(([NO_STORE], Json(view)).into_response())
}

/// The poll answer: PROTOCOL.md's fields plus the payment stage, the
/// license's expiry and seats, and the checkout while it is open.
pub fn purchase_view(invoice: &db::invoices::Invoice, license: Option<&db::licenses::License>) -> PurchaseStatus {
    let stage = match (invoice.status, invoice.processing) {
        (InvoiceStatus::Pending, false) => "waiting_for_payment",
        (InvoiceStatus::Pending, true) => "confirming",
        (InvoiceStatus::Settled, _) => "paid",
        (InvoiceStatus::Expired, _) => "expired",
        (InvoiceStatus::Invalid, _) => "invalid",
    };
    PurchaseStatus {
        invoice_id: invoice.id,
        status: invoice.status.as_str().to_string(),
        stage: stage.to_string(),
        product_id: invoice.product_id,
        amount_sats: invoice.amount_sats,
        license_key: license.map(|l| l.license_key.clone()),
        license_id: license.map(|l| l.id),
        expires_at: license.and_then(|l| unix_or_never(l.expires_at)),
        max_machines: license.map(|l| l.max_machines),
        checkout_url: invoice.checkout_url.clone().filter(|_| invoice.status == InvoiceStatus::Pending),
    }
}
