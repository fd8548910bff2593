//! `GET /recover` and `POST /recover`: the order number plus the email or
//! npub given at purchase lead back to the thank-you page with the key.
//! Limited per client address (with purchases); every miss gets the same
//! answer, so the page never tells whether an order or an address exists.

use askama::Template;
use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use schemars::JsonSchema;
use serde::Deserialize;
use subtle::ConstantTimeEq;
use uuid::Uuid;

use super::security::PageForm;
use super::thank_you::path as thank_you_path;
use super::{render, Caching, Chrome};
use crate::db;
use crate::db::invoices::Invoice;
use crate::domain::npub::Npub;
use crate::http::client_ip::ClientIp;
use crate::http::error::ApiError;
use crate::http::public::codes::too_many;
use crate::http::public::recover::ANSWER;
use crate::http::state::AppState;
use crate::services::orders::request_recovery;

/// The one answer to every order number and contact that do not match.
pub const NO_MATCH: &str = "We found no key for this order number and email or npub. Check both (the order \
     number is on your thank-you page and in the payment receipt) and try again.";

#[derive(Deserialize, Default, JsonSchema)]
pub struct RecoverForm {
    invoice: Option<String>,
    contact: Option<String>,
}

#[derive(Template)]
#[template(path = "recover.html")]
struct RecoverPage {
    chrome: Chrome,
    invoice: String,
    contact: String,
    error: Option<String>,
    npub: String,
    npub_error: Option<String>,
    npub_notice: Option<&'static str>,
}

pub async fn page(State(s): State<AppState>) -> Result<Response, ApiError> {
    show(&s, RecoverForm::default(), None, StatusCode::OK)
}

pub async fn submit(
    State(s): State<AppState>,
    ClientIp(ip): ClientIp,
    PageForm(form): PageForm<RecoverForm>,
) -> Result<Response, ApiError> {
    if let Err(retry) = s.limits.purchase.check(ip) {
        let e = too_many(retry);
        let mut res = show(&s, form, Some(super::errors::sentence(&e.message)), e.status)?;
        res.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(retry));
        return Ok(res);
    }
    let invoice = form.invoice.as_deref().unwrap_or_default().trim();
    let contact = form.contact.as_deref().unwrap_or_default().trim();
    if invoice.is_empty() || contact.is_empty() {
        let message = "Enter both the order number and the email or npub you gave.".to_string();
        return show(&s, form, Some(message), StatusCode::UNPROCESSABLE_ENTITY);
    }
    let found = match Uuid::parse_str(invoice) {
        Ok(id) => db::invoices::by_id(&s.db.read, id).await?,
        Err(_) => None,
    };
    match found {
        Some(inv) if belongs_to(&inv, contact) => Ok(Redirect::to(&thank_you_path(inv.id)).into_response()),
        _ => show(&s, form, Some(NO_MATCH.to_string()), StatusCode::OK),
    }
}

/// Whether `contact` is the email (any case) or the npub the order was placed with.
fn belongs_to(inv: &Invoice, contact: &str) -> bool {
    let (given, stored) = if contact.contains('@') {
        (contact.to_lowercase(), inv.buyer_email.as_deref().map(str::to_lowercase))
    } else {
        match Npub::parse(contact) {
            Ok(n) => (n.to_hex(), inv.buyer_npub.clone()),
            Err(_) => return false,
        }
    };
    stored.is_some_and(|s| bool::from(s.as_bytes().ct_eq(given.as_bytes())))
}

fn show(s: &AppState, form: RecoverForm, error: Option<String>, status: StatusCode) -> Result<Response, ApiError> {
    let page = RecoverPage {
        chrome: Chrome::new(s),
        invoice: form.invoice.unwrap_or_default(),
        contact: form.contact.unwrap_or_default(),
        error,
        npub: String::new(),
        npub_error: None,
        npub_notice: None,
    };
    render(&page, status, Caching::Private)
}

#[derive(Deserialize, Default, JsonSchema)]
pub struct NpubForm {
    npub: Option<String>,
}

/// "Send my keys to my npub": the same answer whether or not anything was found.
pub async fn submit_npub(
    State(s): State<AppState>,
    ClientIp(ip): ClientIp,
    PageForm(form): PageForm<NpubForm>,
) -> Result<Response, ApiError> {
    let npub = form.npub.unwrap_or_default();
    let (status, npub_error, npub_notice, retry) =
        match request_recovery(&s.core, ip, &npub).await.map_err(ApiError::from) {
            Ok(()) => (StatusCode::OK, None, Some(ANSWER), None),
            Err(e) if e.status.is_client_error() => {
                (e.status, Some(super::errors::sentence(&e.message)), None, e.retry_after)
            }
            Err(e) => return Err(e),
        };
    let page = RecoverPage {
        chrome: Chrome::new(&s),
        invoice: String::new(),
        contact: String::new(),
        error: None,
        npub: if npub_notice.is_some() { String::new() } else { npub },
        npub_error,
        npub_notice,
    };
    let mut res = render(&page, status, Caching::Private)?;
    if let Some(secs) = retry {
        res.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    Ok(res)
}
