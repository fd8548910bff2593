//! `POST /v1/validate`: the hot path. Every decision is HTTP 200.

use std::borrow::Cow;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::machines::text_field;
use crate::domain::validation::{Expiry, Reason};
use crate::http::client_ip::ClientIp;
use crate::http::error::ApiError;
use crate::http::extract::{parse_json, RawBody};
use crate::http::state::AppState;
use crate::http::views::ts;
use crate::licensing::{Granted, Refusal, ValidateInput};

/// Borrows from the request body where the JSON has no escapes.
#[derive(Deserialize)]
struct Body<'a> {
    #[serde(borrow)]
    key: Cow<'a, str>,
    #[serde(borrow)]
    product_slug: Option<Cow<'a, str>>,
    #[serde(borrow)]
    fingerprint: Option<Cow<'a, str>>,
    #[serde(borrow)]
    hostname: Option<Cow<'a, str>>,
    #[serde(borrow)]
    platform: Option<Cow<'a, str>>,
}

#[derive(Serialize)]
struct Valid<'a> {
    ok: bool,
    status: &'static str,
    license_id: Uuid,
    product_id: Uuid,
    product_slug: &'a str,
    issued_at: String,
    expires_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    grace_until: Option<String>,
    in_grace_period: bool,
    is_trial: bool,
    entitlements: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    machine_id: Option<Uuid>,
    max_machines: i64,
}

#[derive(Serialize)]
struct Invalid {
    ok: bool,
    reason: &'static str,
    message: &'static str,
}

/// The refusal answer shared by validate and the machine endpoints' callers.
pub fn refusal_response(reason: Reason, retry_after: Option<u64>) -> Response {
    let body = Json(Invalid { ok: false, reason: reason.code(), message: reason.message() });
    match retry_after {
        Some(secs) => (StatusCode::OK, [(header::RETRY_AFTER, secs.to_string())], body).into_response(),
        None => body.into_response(),
    }
}

fn granted(g: &Granted) -> Response {
    let l = &g.license;
    let grace_until = match g.expiry {
        Expiry::InGrace { grace_until } => Some(ts(grace_until)),
        _ => None,
    };
    Json(Valid {
        ok: true,
        status: "active",
        license_id: l.license_id,
        product_id: l.product_id,
        product_slug: &l.product_slug,
        issued_at: ts(l.issued_at),
        expires_at: (l.expires_at != 0).then(|| ts(l.expires_at)),
        in_grace_period: grace_until.is_some(),
        grace_until,
        is_trial: l.is_trial,
        entitlements: &l.entitlements,
        machine_id: g.machine_id,
        max_machines: l.max_machines,
    })
    .into_response()
}

pub async fn validate(
    State(s): State<AppState>,
    ClientIp(ip): ClientIp,
    RawBody(body): RawBody,
) -> Result<Response, ApiError> {
    if let Err(retry_after) = s.limits.validate.check(ip) {
        s.licensing.log_event(None, None, None, ip, Reason::RateLimited.code());
        return Ok(refusal_response(Reason::RateLimited, Some(retry_after)));
    }
    let b: Body = parse_json(&body)?;
    let input = ValidateInput {
        key: &b.key,
        product_slug: b.product_slug.as_deref().filter(|s| !s.is_empty()),
        fingerprint: text_field("fingerprint", b.fingerprint.as_deref(), 256)?,
        hostname: text_field("hostname", b.hostname.as_deref(), 255)?,
        platform: text_field("platform", b.platform.as_deref(), 255)?,
    };
    match s.licensing.validate(&input, ip).await {
        Ok(g) => Ok(granted(&g)),
        Err(Refusal::Reason { reason, .. }) => Ok(refusal_response(reason, None)),
        Err(Refusal::Internal(e)) => Err(e.into()),
    }
}
