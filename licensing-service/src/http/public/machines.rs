//! `POST /v1/machines/{activate,heartbeat,deactivate}`. Every decision is
//! HTTP 200: `{ok, reason?, machine_id?, active_count, max_machines}`.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;
use keysat_client::Answer;
use serde::Deserialize;

use crate::domain::validation::Reason;
use crate::http::client_ip::ClientIp;
use crate::http::error::ApiError;
use crate::http::extract::{parse_json, RawBody};
use crate::http::state::AppState;
use crate::licensing::{Granted, Refusal};

use super::validate::{refusal, seats};

/// An optional short text field: empty counts as absent, too long is a 400.
pub fn text_field<'a>(field: &str, v: Option<&'a str>, max_bytes: usize) -> Result<Option<&'a str>, ApiError> {
    match v {
        Some(s) if s.len() > max_bytes || s.chars().any(char::is_control) => Err(ApiError::bad_request(
            "invalid_request",
            format!("{field}: at most {max_bytes} bytes of printable text"),
        )),
        Some("") | None => Ok(None),
        Some(s) => Ok(Some(s)),
    }
}

fn required<'a>(field: &str, v: &'a str, max_bytes: usize) -> Result<&'a str, ApiError> {
    text_field(field, Some(v), max_bytes)?
        .ok_or_else(|| ApiError::bad_request("invalid_request", format!("{field}: is required")))
}

#[derive(Deserialize)]
pub struct MachineBody {
    key: String,
    fingerprint: String,
    hostname: Option<String>,
    platform: Option<String>,
    reason: Option<String>,
}

/// `{ok, reason?, message?, machine_id?, active_count, max_machines}`;
/// a refusal without a license counts 0 seats of 0.
fn answer(result: Result<Granted, Refusal>) -> Result<Response, ApiError> {
    let a = match result {
        Ok(g) => Answer {
            ok: true,
            machine_id: g.machine_id,
            active_count: Some(g.license.seats.len() as u64),
            max_machines: Some(seats(g.license.max_machines)),
            ..Answer::default()
        },
        Err(Refusal::Reason { reason, license }) => Answer {
            active_count: Some(license.as_ref().map_or(0, |l| l.seats.len() as u64)),
            max_machines: Some(license.as_ref().map_or(0, |l| seats(l.max_machines))),
            ..refusal(reason)
        },
        Err(Refusal::Internal(e)) => return Err(e.into()),
    };
    Ok(Json(a).into_response())
}

fn rate_limited(s: &AppState, ip: std::net::IpAddr) -> Option<Response> {
    s.limits.validate.check(ip).err().map(|secs| super::validate::refusal_response(Reason::RateLimited, Some(secs)))
}

pub async fn activate(
    State(s): State<AppState>,
    ClientIp(ip): ClientIp,
    RawBody(body): RawBody,
) -> Result<Response, ApiError> {
    if let Some(r) = rate_limited(&s, ip) {
        return Ok(r);
    }
    let b: MachineBody = parse_json(&body)?;
    let fp = required("fingerprint", &b.fingerprint, 256)?;
    let hostname = text_field("hostname", b.hostname.as_deref(), 255)?;
    let platform = text_field("platform", b.platform.as_deref(), 255)?;
    answer(s.licensing.activate(&b.key, fp, hostname, platform, ip).await)
}

pub async fn heartbeat(
    State(s): State<AppState>,
    ClientIp(ip): ClientIp,
    RawBody(body): RawBody,
) -> Result<Response, ApiError> {
    if let Some(r) = rate_limited(&s, ip) {
        return Ok(r);
    }
    let b: MachineBody = parse_json(&body)?;
    let fp = required("fingerprint", &b.fingerprint, 256)?;
    answer(s.licensing.heartbeat(&b.key, fp, ip).await)
}

pub async fn deactivate(
    State(s): State<AppState>,
    ClientIp(ip): ClientIp,
    RawBody(body): RawBody,
) -> Result<Response, ApiError> {
    if let Some(r) = rate_limited(&s, ip) {
        return Ok(r);
    }
    let b: MachineBody = parse_json(&body)?;
    let fp = required("fingerprint", &b.fingerprint, 256)?;
    let reason = text_field("reason", b.reason.as_deref(), 500)?;
    answer(s.licensing.deactivate(&b.key, fp, reason).await)
}
