//! `/seats`: a license holder sees the machines holding their license's
//! seats and frees one or all, within the tier's `self_reset_limit` (the
//! same services as `POST /v1/machines/list` and `…/deactivate`). Without
//! JavaScript; the key travels only in posted forms, never in an address.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use schemars::JsonSchema;
use serde::Deserialize;
use uuid::Uuid;

use super::security::PageForm;
use super::{date, render_form, Caching, Chrome};
use crate::http::client_ip::ClientIp;
use crate::http::error::ApiError;
use crate::http::public::machines::reset_limit_message;
use crate::http::state::AppState;
use crate::licensing::Refusal;
use crate::services::seats::{free_by_buyer, list, BuyerFree, FreeTarget, SeatList};

#[derive(Deserialize, Default, JsonSchema)]
pub struct SeatsForm {
    key: Option<String>,
    machine_id: Option<String>,
    all: Option<String>,
}

/// One machine as the page lists it.
struct Row {
    id: String,
    name: String,
    platform: String,
    last_seen: String,
    activated: String,
}

#[derive(Template)]
#[template(path = "seats.html")]
struct SeatsPage {
    chrome: Chrome,
    key: String,
    error: Option<String>,
    notice: Option<String>,
    /// The license's machines, once a key was given.
    machines: Option<Vec<Row>>,
    seats: String,
    /// What the holder may still free.
    allowance: String,
    can_free: bool,
}

pub async fn page(State(s): State<AppState>) -> Result<Response, ApiError> {
    render(&s, String::new(), None, None, None)
}

pub async fn submit(
    State(s): State<AppState>,
    ClientIp(ip): ClientIp,
    PageForm(form): PageForm<SeatsForm>,
) -> Result<Response, ApiError> {
    let key = form.key.unwrap_or_default().trim().to_string();
    if let Err(retry) = s.limits.validate.check(ip) {
        return render(&s, key, None, Some(crate::services::ServiceError::rate_limited(retry).into()), None);
    }
    show(&s, key, None).await
}

pub async fn free(
    State(s): State<AppState>,
    ClientIp(ip): ClientIp,
    PageForm(form): PageForm<SeatsForm>,
) -> Result<Response, ApiError> {
    let key = form.key.unwrap_or_default().trim().to_string();
    if let Err(retry) = s.limits.validate.check(ip) {
        return render(&s, key, None, Some(crate::services::ServiceError::rate_limited(retry).into()), None);
    }
    let target = match (form.machine_id.as_deref(), form.all.is_some()) {
        (_, true) => FreeTarget::All,
        (Some(id), false) => match Uuid::parse_str(id.trim()) {
            Ok(id) => FreeTarget::Machine(id),
            Err(_) => return show(&s, key, Some(Err(refused("invalid_request", "no such machine")))).await,
        },
        (None, false) => return show(&s, key, None).await,
    };
    let outcome = match free_by_buyer(&s.core, &key, target).await {
        Ok(BuyerFree::Freed { machines, .. }) => Ok(match machines.len() {
            0 => "No machine holds a seat.".to_string(),
            1 => "The machine was freed: its seat can be used by another machine.".to_string(),
            n => format!("{n} machines were freed."),
        }),
        Ok(BuyerFree::LimitReached { next_reset_at, .. }) => {
            Err(refused("reset_limit_reached", &reset_limit_message(next_reset_at)))
        }
        Err(Refusal::Internal(e)) => return Err(e.into()),
        Err(Refusal::Reason { reason, .. }) => Err(refused(reason.code(), reason.message())),
    };
    show(&s, key, Some(outcome)).await
}

fn refused(code: &'static str, message: &str) -> ApiError {
    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, code, message)
}

/// The list for `key`, with what the last free did.
async fn show(s: &AppState, key: String, outcome: Option<Result<String, ApiError>>) -> Result<Response, ApiError> {
    let (notice, error) = match outcome {
        Some(Ok(n)) => (Some(n), None),
        Some(Err(e)) => (None, Some(e)),
        None => (None, None),
    };
    match list(&s.core, &key).await {
        Ok(l) => render(s, key, Some(&l), error, notice),
        Err(Refusal::Internal(e)) => Err(e.into()),
        Err(Refusal::Reason { reason, .. }) => {
            render(s, key, None, Some(refused(reason.code(), reason.message())), None)
        }
    }
}

fn render(
    s: &AppState,
    key: String,
    list: Option<&SeatList>,
    error: Option<ApiError>,
    notice: Option<String>,
) -> Result<Response, ApiError> {
    let machines = list.map(|l| {
        l.machines
            .iter()
            .map(|m| Row {
                id: m.id.to_string(),
                name: m.hostname.clone().unwrap_or_else(|| {
                    if m.fingerprint.starts_with("act1:") { "Offline machine" } else { "Unnamed machine" }.to_string()
                }),
                platform: m.platform.clone().unwrap_or_default(),
                last_seen: date(m.last_seen_at),
                activated: date(m.activated_at),
            })
            .collect()
    });
    let allowance = list.map(allowance).unwrap_or_default();
    let page = SeatsPage {
        chrome: Chrome::new(s),
        can_free: list.is_some_and(|l| l.resets_left > 0),
        seats: list.map(|l| super::seats(l.license.terms.max_machines)).unwrap_or_default(),
        key,
        error: error.as_ref().map(super::errors::for_form),
        notice,
        machines,
        allowance,
    };
    render_form(&page, error.as_ref(), Caching::Private)
}

fn allowance(l: &SeatList) -> String {
    match (l.rules.self_reset_limit, l.resets_left, l.next_reset_at) {
        (0, _, _) => "Only the seller can free this license's machines.".to_string(),
        (_, 0, Some(at)) => format!("You can free machines again from {}.", date(at)),
        (limit, left, _) => {
            format!("You can free machines {left} more time(s) in the next 30 days (at most {limit} every 30 days).")
        }
    }
}
