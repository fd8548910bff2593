//! Inbound provider calls on the public listener: BTCPay's webhook (trust
//! nothing before the signature matches; answer 2xx only once the effect is
//! committed) and the authorize callback of the one-click connection.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use crate::db;
use crate::domain::invoice::Observed;
use crate::domain::now_unix;
use crate::http::error::ApiError;
use crate::http::extract::RawBody;
use crate::http::state::AppState;
use crate::payment::btcpay::NAME as BTCPAY;
use crate::payment::WebhookError;
use crate::services::btcpay::{self, Authorized, Grant};
use crate::services::fulfillment::{self, Delivery, Outcome};
use crate::services::ServiceError;

/// What BTCPay is answered once the event is applied (it reads only the status).
#[derive(Serialize)]
pub struct Acknowledged {
    ok: bool,
    outcome: &'static str,
}

pub async fn btcpay_webhook(
    State(s): State<AppState>,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> Result<Json<Acknowledged>, ApiError> {
    let provider = s.payments.current().filter(|p| p.name() == BTCPAY).ok_or_else(|| {
        ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "not_connected", "no BTCPay store is connected")
    })?;
    let event = provider.parse_webhook(&headers, &body).map_err(|e| match e {
        WebhookError::BadSignature => {
            tracing::warn!("BTCPay webhook with a missing or wrong BTCPay-Sig refused");
            ApiError::new(StatusCode::UNAUTHORIZED, "bad_signature", "missing or wrong BTCPay-Sig")
        }
        WebhookError::Malformed(m) => ApiError::bad_request("malformed_webhook", m),
        WebhookError::Unsupported => ApiError::not_found("this provider sends no webhooks"),
    })?;
    db::payments::webhook_received(&s.db.write, now_unix()).await?;
    let invoice_id = match &event.provider_invoice_id {
        Some(pid) => find_invoice(&s, pid, event.order_id.as_deref()).await?,
        None => None,
    };
    // An event that would settle is a hint: the invoice itself, read back
    // from BTCPay, says whether it is settled, in which store and for how
    // much — a webhook found through its orderId settles nothing BTCPay
    // calls invalid, and an invoice for another amount settles nothing.
    let (observed, charged) = match (&event.provider_invoice_id, invoice_id, event.observed) {
        (Some(pid), Some(_), Some(Observed::Settled)) => {
            let pi = provider.invoice(pid).await.map_err(|e| {
                tracing::warn!(error = %e, delivery = %event.delivery_id, "reading back a settled BTCPay invoice failed");
                ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "provider_unreachable", "cannot read the invoice back yet")
            })?;
            (Some(pi.state), pi.charged)
        }
        _ => (event.observed, None),
    };
    let delivery = Delivery { provider: BTCPAY, delivery_id: &event.delivery_id, event_type: &event.event_type };
    let outcome = fulfillment::apply_invoice_news(
        &s.db,
        &s.signer,
        invoice_id,
        observed,
        charged.as_ref(),
        Some(delivery),
        "btcpay",
    )
    .await
    .map_err(|e| anyhow::anyhow!("applying BTCPay event {}: {e}", event.delivery_id))?;
    if matches!(outcome, Outcome::NotOurs) && event.provider_invoice_id.is_some() {
        tracing::info!(
            delivery = %event.delivery_id,
            invoice = ?event.provider_invoice_id,
            "BTCPay event for an invoice that is not ours; acknowledged"
        );
    }
    Ok(Json(Acknowledged { ok: true, outcome: outcome_name(&outcome) }))
}

fn outcome_name(o: &Outcome) -> &'static str {
    match o {
        Outcome::Unchanged => "unchanged",
        Outcome::NotOurs => "not_ours",
        Outcome::Processing => "processing",
        Outcome::Settled(_) => "settled",
        Outcome::Closed(_) => "closed",
        Outcome::Mismatch(_) => "mismatch",
    }
}

/// Our invoice for a BTCPay invoice: by its id, or by the order id we gave
/// when a crash kept us from recording the BTCPay id.
async fn find_invoice(s: &AppState, provider_id: &str, order_id: Option<&str>) -> Result<Option<Uuid>, ApiError> {
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

#[derive(Template)]
#[template(path = "notice.html")]
struct Notice<'a> {
    title: &'a str,
    lines: Vec<String>,
}

fn notice(status: StatusCode, title: &str, lines: Vec<String>) -> Response {
    match (Notice { title, lines }).render() {
        Ok(body) => (status, Html(body)).into_response(),
        Err(_) => ApiError::internal().into_response(),
    }
}

#[derive(Deserialize)]
pub struct StateQuery {
    state: Option<String>,
}

/// What BTCPay posts back: `apiKey`, `permissions`, `userId`, as a form or as JSON.
fn parse_grant(headers: &HeaderMap, body: &[u8]) -> Option<Grant> {
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/json"));
    let field = |name: &str| -> Option<String> {
        let v = if is_json {
            serde_json::from_slice::<Value>(body).ok()?.get(name)?.as_str()?.to_string()
        } else {
            url::form_urlencoded::parse(body).find(|(k, _)| k == name).map(|(_, v)| v.into_owned())?
        };
        let v = v.trim().to_string();
        (!v.is_empty() && v.len() <= 200 && v.bytes().all(|b| b.is_ascii_graphic())).then_some(v)
    };
    Some(Grant { api_key: field("apiKey")?, user_id: field("userId") })
}

/// BTCPay's authorize page posts the new key here.
pub async fn btcpay_connect_callback(
    State(s): State<AppState>,
    Query(q): Query<StateQuery>,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> Response {
    let refused = |line: &str| notice(StatusCode::BAD_REQUEST, "BTCPay was not connected", vec![line.to_string()]);
    let Some(token) = q.state.filter(|t| !t.is_empty() && t.len() <= 128) else {
        return refused("This link has no connection token. Start again from the \"Connect BTCPay\" action.");
    };
    let Some(grant) = parse_grant(&headers, &body) else {
        return refused("BTCPay did not send an API key.");
    };
    match btcpay::complete(&s.core, &token, &grant).await {
        Ok(Authorized::StaleLink) => refused(
            "This connection link has expired or was already used. Start again from the \"Connect BTCPay\" action.",
        ),
        Ok(Authorized::Connected(store)) => notice(
            StatusCode::OK,
            &format!("Connected to store {}", store.name),
            vec![
                format!("Keysat now takes payments through the BTCPay store \"{}\".", store.name),
                "You can close this page.".into(),
            ],
        ),
        Ok(Authorized::ChooseStore(several)) => {
            let names: Vec<String> = several.iter().map(|st| format!("{} ({})", st.name, st.id)).collect();
            notice(
                StatusCode::OK,
                "Choose a store",
                vec![
                    format!("The key can sell on {} stores: {}.", several.len(), names.join(", ")),
                    "Pick one with the \"Check BTCPay connection\" action (or POST /v1/admin/btcpay/store).".into(),
                ],
            )
        }
        Err(e @ (ServiceError::Database(_) | ServiceError::Internal(_))) => ApiError::from(e).into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "BTCPay connection failed");
            notice(StatusCode::BAD_GATEWAY, "BTCPay was not connected", vec![e.to_string()])
        }
    }
}
