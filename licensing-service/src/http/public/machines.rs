//! `POST /v1/machines/{activate,heartbeat,deactivate,lease}`. Every
//! decision is HTTP 200: `{ok, reason?, machine_id?, active_count,
//! max_machines}`, with `signature` when the request carried a `nonce`
//! (§7), and a few unsigned additions: `seat_lapses_at` (floating seats),
//! `lease` (`POST /v1/machines/lease`), the self-service frees' counts.

use axum::extract::State;
use axum::response::Response;
use keysat_client::{Answer, AnswerRequest, Endpoint, Nonce};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::signed;
use super::validate::{answer_json, refusal, seats};
use crate::domain::time::Timestamp;
use crate::domain::validation::Reason;
use crate::http::client_ip::ClientIp;
use crate::http::error::ApiError;
use crate::http::extract::{parse_json, RawBody};
use crate::http::state::AppState;
use crate::licensing::{Granted, Refusal};
use crate::services::seats::{free_by_buyer, lease as lease_seat, BuyerFree, FreeTarget};

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

pub fn required<'a>(field: &str, v: Option<&'a str>, max_bytes: usize) -> Result<&'a str, ApiError> {
    text_field(field, v, max_bytes)?
        .ok_or_else(|| ApiError::bad_request("invalid_request", format!("{field}: is required")))
}

#[derive(Deserialize, JsonSchema)]
pub struct MachineBody {
    key: String,
    fingerprint: Option<String>,
    hostname: Option<String>,
    platform: Option<String>,
    reason: Option<String>,
    nonce: Option<String>,
    /// Self-service deactivate: the machine to free (from `machines/list`).
    machine_id: Option<String>,
    /// Self-service deactivate: free every machine.
    all: Option<bool>,
}

/// An answer with unsigned additions after its own fields.
#[derive(Serialize, JsonSchema)]
#[schemars(rename = "AnswerWith{E}")]
pub struct Extended<'a, E: Serialize> {
    #[serde(flatten)]
    pub answer: Answer<'a>,
    #[serde(flatten)]
    pub extra: E,
}

/// The answers of activate and heartbeat, deactivate and lease.
pub type SeatAnswer<'a> = Extended<'a, Lapse>;
pub type FreedAnswer<'a> = Extended<'a, FreedExtra>;
pub type LeaseAnswer<'a> = Extended<'a, LeaseExtra>;

/// `{ok, reason?, message?, machine_id?, active_count, max_machines}`;
/// a refusal without a license counts 0 seats of 0.
pub fn seat_answer(result: &Result<Granted, Refusal>) -> Answer<'static> {
    match result {
        Ok(g) => Answer {
            ok: true,
            machine_id: g.machine_id,
            active_count: Some(g.license.seats.len() as u64),
            max_machines: Some(seats(g.license.terms.max_machines)),
            ..Answer::default()
        },
        Err(Refusal::Reason { reason, license }) => Answer {
            active_count: Some(license.as_ref().map_or(0, |l| l.seats.len() as u64)),
            max_machines: Some(license.as_ref().map_or(0, |l| seats(l.terms.max_machines))),
            ..refusal(*reason)
        },
        Err(Refusal::Internal(_)) => Answer::default(),
    }
}

/// What the answer is bound to when signed.
struct Signing<'a> {
    endpoint: Endpoint,
    key: &'a str,
    fingerprint: Option<&'a str>,
    nonce: Option<Nonce>,
}

impl Signing<'_> {
    fn sign(&self, s: &AppState, answer: &mut Answer<'_>) -> Result<(), ApiError> {
        let request =
            AnswerRequest { endpoint: self.endpoint, key: self.key, product_slug: None, fingerprint: self.fingerprint };
        signed::sign(s, answer, &request, self.nonce.as_ref())
    }
}

/// Fails on our own errors only; every decision is an answer.
fn internal(result: Result<Granted, Refusal>) -> Result<Result<Granted, Refusal>, ApiError> {
    match result {
        Err(Refusal::Internal(e)) => Err(e.into()),
        other => Ok(other),
    }
}

fn rate_limited(s: &AppState, ip: std::net::IpAddr) -> Option<Response> {
    s.limits.validate.check(ip).err().map(|secs| super::validate::refusal_response(Reason::RateLimited, Some(secs)))
}

/// Floating seats: when the seat lapses if not heard from again.
#[derive(Serialize, JsonSchema)]
pub struct Lapse {
    #[serde(skip_serializing_if = "Option::is_none")]
    seat_lapses_at: Option<Timestamp>,
}

async fn lapse(s: &AppState, result: &Result<Granted, Refusal>) -> Result<Lapse, ApiError> {
    let Ok(g) = result else { return Ok(Lapse { seat_lapses_at: None }) };
    let timeout = s.licensing.rules_of(g.license.terms.policy_id).await?.seat_timeout_seconds;
    let at = (timeout > 0 && g.machine_id.is_some()).then(|| Timestamp(crate::domain::now_unix() + timeout));
    Ok(Lapse { seat_lapses_at: at })
}

/// Parses the body and its signing context; `fingerprint` is required.
fn machine_request(body: &[u8]) -> Result<MachineBody, ApiError> {
    let b: MachineBody = parse_json(body)?;
    required("fingerprint", b.fingerprint.as_deref(), 256)?;
    Ok(b)
}

/// What a seat is taken with: the fingerprint, and the hostname and
/// platform the operator sees.
type SeatFields<'a> = (&'a str, Option<&'a str>, Option<&'a str>);

fn seat_fields(b: &MachineBody) -> Result<SeatFields<'_>, ApiError> {
    Ok((
        required("fingerprint", b.fingerprint.as_deref(), 256)?,
        text_field("hostname", b.hostname.as_deref(), 255)?,
        text_field("platform", b.platform.as_deref(), 255)?,
    ))
}

fn signing<'a>(endpoint: Endpoint, b: &'a MachineBody) -> Result<Signing<'a>, ApiError> {
    let nonce = signed::nonce(b.nonce.as_deref())?;
    Ok(Signing { endpoint, key: &b.key, fingerprint: b.fingerprint.as_deref(), nonce })
}

async fn seat_reply(s: &AppState, sig: &Signing<'_>, result: Result<Granted, Refusal>) -> Result<Response, ApiError> {
    let result = internal(result)?;
    let extra = lapse(s, &result).await?;
    let mut answer = seat_answer(&result);
    sig.sign(s, &mut answer)?;
    Ok(answer_json(&Extended { answer, extra }))
}

pub async fn activate(
    State(s): State<AppState>,
    ClientIp(ip): ClientIp,
    RawBody(body): RawBody,
) -> Result<Response, ApiError> {
    if let Some(r) = rate_limited(&s, ip) {
        return Ok(r);
    }
    let b = machine_request(&body)?;
    let sig = signing(Endpoint::Activate, &b)?;
    let (fp, hostname, platform) = seat_fields(&b)?;
    let result = s.licensing.activate(&b.key, fp, hostname, platform, ip).await;
    seat_reply(&s, &sig, result).await
}

pub async fn heartbeat(
    State(s): State<AppState>,
    ClientIp(ip): ClientIp,
    RawBody(body): RawBody,
) -> Result<Response, ApiError> {
    if let Some(r) = rate_limited(&s, ip) {
        return Ok(r);
    }
    let b = machine_request(&body)?;
    let sig = signing(Endpoint::Heartbeat, &b)?;
    let fp = required("fingerprint", b.fingerprint.as_deref(), 256)?;
    let result = s.licensing.heartbeat(&b.key, fp, ip).await;
    seat_reply(&s, &sig, result).await
}

/// With `fingerprint`: the application frees its own seat (as always).
/// With `machine_id` or `"all": true` instead: the license holder frees
/// machines, within the tier's `self_reset_limit`.
pub async fn deactivate(
    State(s): State<AppState>,
    ClientIp(ip): ClientIp,
    RawBody(body): RawBody,
) -> Result<Response, ApiError> {
    if let Some(r) = rate_limited(&s, ip) {
        return Ok(r);
    }
    let b: MachineBody = parse_json(&body)?;
    let sig = signing(Endpoint::Deactivate, &b)?;
    let fingerprint = text_field("fingerprint", b.fingerprint.as_deref(), 256)?;
    let target = match (fingerprint, b.machine_id.as_deref(), b.all.unwrap_or(false)) {
        (Some(fp), None, false) => {
            let reason = text_field("reason", b.reason.as_deref(), 500)?;
            let result = s.licensing.deactivate(&b.key, fp, reason).await;
            let mut answer = seat_answer(&internal(result)?);
            sig.sign(&s, &mut answer)?;
            return Ok(answer_json(&answer));
        }
        (None, Some(id), false) => FreeTarget::Machine(
            Uuid::parse_str(id.trim())
                .map_err(|_| ApiError::bad_request("invalid_request", "machine_id: must be a machine id (a UUID)"))?,
        ),
        (None, None, true) => FreeTarget::All,
        (None, None, false) => {
            return Err(ApiError::bad_request("invalid_request", "fingerprint: is required (or machine_id, or all)"))
        }
        _ => {
            return Err(ApiError::bad_request(
                "invalid_request",
                "send one of fingerprint, machine_id or \"all\": true",
            ))
        }
    };
    self_service_reply(&s, &sig, free_by_buyer(&s.core, &b.key, target).await).await
}

/// What a self-service free adds to the answer.
#[derive(Serialize, JsonSchema)]
pub struct FreedExtra {
    #[serde(skip_serializing_if = "Option::is_none")]
    freed: Option<Vec<Uuid>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    resets_left: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_reset_at: Option<Timestamp>,
}

async fn self_service_reply(
    s: &AppState,
    sig: &Signing<'_>,
    result: Result<BuyerFree, Refusal>,
) -> Result<Response, ApiError> {
    let none = FreedExtra { freed: None, resets_left: None, next_reset_at: None };
    let (mut answer, extra) = match result {
        Err(Refusal::Internal(e)) => return Err(e.into()),
        Err(r) => (seat_answer(&Err(r)), none),
        Ok(BuyerFree::Freed { license, machines, resets_left }) => {
            let extra = FreedExtra { freed: Some(machines), resets_left: Some(resets_left.max(0)), ..none };
            let answer = Answer {
                ok: true,
                active_count: Some(license.seats.len() as u64),
                max_machines: Some(seats(license.terms.max_machines)),
                ..Answer::default()
            };
            (answer, extra)
        }
        Ok(BuyerFree::LimitReached { license, next_reset_at }) => {
            let refused = Err(Refusal::Reason { reason: Reason::ResetLimitReached, license: Some(license) });
            let mut answer = seat_answer(&refused);
            answer.message = Some(reset_limit_message(next_reset_at).into());
            (answer, FreedExtra { next_reset_at: next_reset_at.map(Timestamp), ..none })
        }
    };
    sig.sign(s, &mut answer)?;
    Ok(answer_json(&Extended { answer, extra }))
}

/// Why a self-service free was refused, and when the next one is possible.
pub fn reset_limit_message(next_reset_at: Option<i64>) -> String {
    match next_reset_at {
        Some(at) => format!(
            "this license's machines have been freed as often as its tier allows in 30 days; the next free is possible from {} (UTC); the seller can free them at any time",
            crate::domain::time::ts(at)
        ),
        None => "this license's tier does not let its holder free machines; ask the seller".to_string(),
    }
}

/// The lease a `POST /v1/machines/lease` adds to the answer.
#[derive(Serialize, JsonSchema)]
pub struct LeaseExtra {
    #[serde(skip_serializing_if = "Option::is_none")]
    lease: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    lease_expires_at: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    seat_lapses_at: Option<Timestamp>,
}

/// `POST /v1/machines/lease {"key","fingerprint","hostname"?,"platform"?,"nonce"?}`:
/// the seat as by activate, and a `LEASE1` lease for this machine.
pub async fn lease(
    State(s): State<AppState>,
    ClientIp(ip): ClientIp,
    RawBody(body): RawBody,
) -> Result<Response, ApiError> {
    if let Some(r) = rate_limited(&s, ip) {
        return Ok(r);
    }
    let b = machine_request(&body)?;
    let sig = signing(Endpoint::Lease, &b)?;
    let (fp, hostname, platform) = seat_fields(&b)?;
    let (result, code) = match lease_seat(&s.core, &b.key, fp, hostname, platform, ip).await {
        Ok(l) => (Ok(l.granted), Some((l.code, l.expires_at))),
        Err(r) => (Err(r), None),
    };
    let result = internal(result)?;
    let lapse = lapse(&s, &result).await?;
    let mut answer = seat_answer(&result);
    sig.sign(&s, &mut answer)?;
    let extra = LeaseExtra {
        lease_expires_at: code.as_ref().map(|(_, at)| Timestamp(*at)),
        lease: code.map(|(c, _)| c),
        seat_lapses_at: lapse.seat_lapses_at,
    };
    Ok(answer_json(&Extended { answer, extra }))
}
