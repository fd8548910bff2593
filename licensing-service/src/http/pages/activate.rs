//! `GET /activate` and `POST /activate`: air-gapped activation from any
//! other device, without JavaScript. The buyer enters their key and the
//! `ACT1` challenge their offline machine shows; the page answers the
//! `ACTR1` response code to type (or copy) back, through the same service
//! as `POST /v1/machines/offline-activate`.

use askama::Template;
use axum::extract::State;
use axum::response::Response;
use schemars::JsonSchema;
use serde::Deserialize;

use super::security::PageForm;
use super::{date, render_form, Caching, Chrome};
use crate::http::client_ip::ClientIp;
use crate::http::error::ApiError;
use crate::http::state::AppState;
use crate::licensing::Refusal;
use crate::services::seats::{activate_offline, parse_challenge};

#[derive(Deserialize, Default, JsonSchema)]
pub struct ActivateForm {
    key: Option<String>,
    challenge: Option<String>,
    hostname: Option<String>,
}

#[derive(Template)]
#[template(path = "activate.html")]
struct ActivatePage {
    chrome: Chrome,
    key: String,
    challenge: String,
    hostname: String,
    error: Option<String>,
    /// The response code, and until when it grants the license.
    response: Option<(String, String)>,
}

pub async fn page(State(s): State<AppState>) -> Result<Response, ApiError> {
    show(&s, ActivateForm::default(), None, None)
}

pub async fn submit(
    State(s): State<AppState>,
    ClientIp(ip): ClientIp,
    PageForm(form): PageForm<ActivateForm>,
) -> Result<Response, ApiError> {
    if let Err(retry) = s.limits.validate.check(ip) {
        let e = crate::services::ServiceError::rate_limited(retry).into();
        return show(&s, form, Some(e), None);
    }
    let key = form.key.as_deref().unwrap_or_default().trim();
    let hostname = form.hostname.as_deref().map(str::trim).filter(|h| !h.is_empty() && h.len() <= 255);
    let result = match parse_challenge(form.challenge.as_deref().unwrap_or_default()) {
        Err(reason) => Err(Refusal::Reason { reason, license: None }),
        Ok(c) => activate_offline(&s.core, key, &c, hostname, ip).await,
    };
    match result {
        Ok(l) => {
            let response = Some((l.code, date(l.expires_at)));
            show(&s, ActivateForm { key: None, ..form }, None, response)
        }
        Err(Refusal::Internal(e)) => Err(e.into()),
        Err(Refusal::Reason { reason, .. }) => {
            let e = ApiError::new(axum::http::StatusCode::UNPROCESSABLE_ENTITY, reason.code(), reason.message());
            show(&s, form, Some(e), None)
        }
    }
}

fn show(
    s: &AppState,
    form: ActivateForm,
    error: Option<ApiError>,
    response: Option<(String, String)>,
) -> Result<Response, ApiError> {
    let page = ActivatePage {
        chrome: Chrome::new(s),
        key: form.key.unwrap_or_default(),
        challenge: form.challenge.unwrap_or_default(),
        hostname: form.hostname.unwrap_or_default(),
        error: error.as_ref().map(super::errors::for_form),
        response,
    };
    // The page may show a key: no cache keeps it.
    render_form(&page, error.as_ref(), Caching::Private)
}
