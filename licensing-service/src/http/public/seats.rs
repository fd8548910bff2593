//! `POST /v1/machines/offline-activate` (air-gapped activation) and
//! `POST /v1/machines/list` (the key's machines, for their holder). Like
//! the other machine endpoints, every decision is HTTP 200.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;
use keysat_client::Answer;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::machines::{required, seat_answer, text_field, Extended};
use super::validate::{answer_json, refusal, refusal_response, seats};
use crate::db::machines::Machine;
use crate::domain::time::Timestamp;
use crate::domain::validation::Reason;
use crate::http::client_ip::ClientIp;
use crate::http::error::ApiError;
use crate::http::extract::{parse_json, RawBody};
use crate::http::state::AppState;
use crate::licensing::Refusal;
use crate::services::seats::{activate_offline, list as list_seats, parse_challenge, SeatList};

#[derive(Deserialize, JsonSchema)]
pub struct OfflineBody {
    key: String,
    challenge: String,
    /// A name for the machine, shown on the seats page.
    hostname: Option<String>,
}

/// The response code a `POST /v1/machines/offline-activate` adds.
#[derive(Serialize, JsonSchema)]
pub struct ResponseExtra {
    #[serde(skip_serializing_if = "Option::is_none")]
    response: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    response_expires_at: Option<Timestamp>,
}

/// The answer of `POST /v1/machines/offline-activate`.
pub type OfflineAnswer<'a> = Extended<'a, ResponseExtra>;

pub async fn offline_activate(
    State(s): State<AppState>,
    ClientIp(ip): ClientIp,
    RawBody(body): RawBody,
) -> Result<Response, ApiError> {
    if let Err(secs) = s.limits.validate.check(ip) {
        return Ok(refusal_response(Reason::RateLimited, Some(secs)));
    }
    let b: OfflineBody = parse_json(&body)?;
    let challenge = required("challenge", Some(&b.challenge), 400)?;
    let hostname = text_field("hostname", b.hostname.as_deref(), 255)?;
    let result = match parse_challenge(challenge) {
        Err(reason) => Err(Refusal::Reason { reason, license: None }),
        Ok(c) => activate_offline(&s.core, &b.key, &c, hostname, ip).await,
    };
    let (result, code) = match result {
        Ok(l) => (Ok(l.granted), Some((l.code, l.expires_at))),
        Err(Refusal::Internal(e)) => return Err(e.into()),
        Err(r) => (Err(r), None),
    };
    let extra = ResponseExtra {
        response_expires_at: code.as_ref().map(|(_, at)| Timestamp(*at)),
        response: code.map(|(c, _)| c),
    };
    Ok(answer_json(&Extended { answer: seat_answer(&result), extra }))
}

#[derive(Deserialize, JsonSchema)]
pub struct ListBody {
    key: String,
}

/// One machine as its license holder sees it (no fingerprint: knowing one
/// would let anyone with the key free it without counting).
#[derive(Serialize, JsonSchema)]
pub struct MachineItem<'a> {
    pub machine_id: Uuid,
    pub hostname: Option<&'a str>,
    pub platform: Option<&'a str>,
    /// `true` for a machine activated air-gapped (`ACT1`).
    pub air_gapped: bool,
    pub activated_at: Timestamp,
    pub last_seen_at: Timestamp,
    /// Floating seats: when it lapses unless heard from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lapses_at: Option<Timestamp>,
}

impl<'a> MachineItem<'a> {
    pub fn new(m: &'a Machine, seat_timeout_seconds: i64) -> Self {
        MachineItem {
            machine_id: m.id,
            hostname: m.hostname.as_deref(),
            platform: m.platform.as_deref(),
            air_gapped: m.fingerprint.starts_with("act1:"),
            activated_at: Timestamp(m.activated_at),
            last_seen_at: Timestamp(m.last_seen_at),
            lapses_at: (seat_timeout_seconds > 0).then(|| Timestamp(m.last_seen_at + seat_timeout_seconds)),
        }
    }
}

/// The answer of `POST /v1/machines/list`.
#[derive(Serialize, JsonSchema)]
pub struct ListAnswer<'a> {
    ok: bool,
    license_id: Uuid,
    status: &'static str,
    active_count: u64,
    max_machines: u64,
    machines: Vec<MachineItem<'a>>,
    self_reset_limit: i64,
    resets_left: i64,
    next_reset_at: Option<Timestamp>,
}

impl<'a> From<&'a SeatList> for ListAnswer<'a> {
    fn from(l: &'a SeatList) -> Self {
        let timeout = l.rules.seat_timeout_seconds;
        ListAnswer {
            ok: true,
            license_id: l.license.license_id,
            status: l.license.terms.status.as_str(),
            active_count: l.machines.len() as u64,
            max_machines: seats(l.license.terms.max_machines),
            machines: l.machines.iter().map(|m| MachineItem::new(m, timeout)).collect(),
            self_reset_limit: l.rules.self_reset_limit,
            resets_left: l.resets_left,
            next_reset_at: l.next_reset_at.map(Timestamp),
        }
    }
}

/// The answer of `POST /v1/machines/list`: the machines, or why not.
#[derive(Serialize, JsonSchema)]
#[serde(untagged)]
pub enum ListOrRefusal<'a> {
    List(ListAnswer<'a>),
    Refused(Answer<'static>),
}

pub async fn list(
    State(s): State<AppState>,
    ClientIp(ip): ClientIp,
    RawBody(body): RawBody,
) -> Result<Response, ApiError> {
    if let Err(secs) = s.limits.validate.check(ip) {
        return Ok(refusal_response(Reason::RateLimited, Some(secs)));
    }
    let b: ListBody = parse_json(&body)?;
    match list_seats(&s.core, &b.key).await {
        Ok(l) => Ok(Json(ListOrRefusal::List(ListAnswer::from(&l))).into_response()),
        Err(Refusal::Reason { reason, .. }) => Ok(Json(ListOrRefusal::Refused(refusal(reason))).into_response()),
        Err(Refusal::Internal(e)) => Err(e.into()),
    }
}
