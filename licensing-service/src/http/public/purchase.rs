//! `POST /v1/purchase` and `GET /v1/purchase/{invoice_id}` (PROTOCOL.md): the
//! JSON front end of `services::orders::create_purchase`.

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::db;
use crate::domain::invoice::InvoiceStatus;
use crate::http::client_ip::ClientIp;
use crate::http::error::ApiError;
use crate::http::extract::{parse_json, require_json, RawBody};
use crate::http::idempotency::{self, NO_STORE};
use crate::http::public::codes::too_many;
use crate::http::state::AppState;
use crate::http::views;
use crate::services::orders::{create_purchase, Caller, PurchaseBody};

const SCOPE: &str = "purchase";

pub async fn create(
    State(s): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> Result<Response, ApiError> {
    require_json(&headers)?;
    s.limits.purchase.check(ip).map_err(too_many)?;
    let idem = idempotency::key(&headers, SCOPE, ip, "POST /v1/purchase", &body)?;
    let b: PurchaseBody = parse_json(&body)?;
    Ok(create_purchase(&s.core, b, &Caller { ip, idem }).await?.into_response())
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
