//! Inbound provider calls on the public listener: BTCPay's and Stripe's
//! webhooks (applied by `services::payments` and `services::stripe_webhook`;
//! answered 2xx only once the effect is committed) and the authorize
//! callback of BTCPay's one-click connection.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::Json;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::http::error::ApiError;
use crate::http::extract::RawBody;
use crate::http::state::AppState;
use crate::services::btcpay::{self, Authorized, Grant};
use crate::services::fulfillment::Outcome;
use crate::services::payments;
use crate::services::ServiceError;

/// What BTCPay is answered once the event is applied (it reads only the status).
#[derive(Serialize, JsonSchema)]
pub struct Acknowledged {
    ok: bool,
    outcome: &'static str,
}

pub async fn btcpay_webhook(
    State(s): State<AppState>,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> Result<Json<Acknowledged>, ApiError> {
    let outcome = payments::btcpay_webhook(&s.core, &headers, &body).await?;
    Ok(Json(Acknowledged { ok: true, outcome: outcome_name(&outcome) }))
}

/// Stripe's webhook: 2xx only once the event's effect is committed.
pub async fn stripe_webhook(
    State(s): State<AppState>,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> Result<Json<Acknowledged>, ApiError> {
    let outcome = crate::services::stripe_webhook::stripe_webhook(&s.core, &headers, &body).await?;
    Ok(Json(Acknowledged { ok: true, outcome }))
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

#[derive(Deserialize, JsonSchema)]
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
