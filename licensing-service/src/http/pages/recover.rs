//! `GET /recover` and `POST /recover`: the order number plus the email or
//! npub given at purchase lead back to the thank-you page with the key;
//! `POST /recover/npub` and (when e-mail is on) `POST /recover/email` send
//! every key bought with an npub or an address to it.
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
use crate::http::public::recover::{ANSWER, EMAIL_ANSWER};
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
    /// E-mail is on: the page offers "send my keys to this e-mail".
    email_on: bool,
    email: String,
    email_error: Option<String>,
    email_notice: Option<&'static str>,
}

pub async fn page(State(s): State<AppState>) -> Result<Response, ApiError> {
    show(&s, RecoverForm::default(), None, StatusCode::OK).await
}

pub async fn submit(
    State(s): State<AppState>,
    ClientIp(ip): ClientIp,
    PageForm(form): PageForm<RecoverForm>,
) -> Result<Response, ApiError> {
    if let Err(retry) = s.limits.purchase.check(ip) {
        let e = too_many(retry);
        let mut res = show(&s, form, Some(super::errors::sentence(&e.message)), e.status).await?;
        res.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(retry));
        return Ok(res);
    }
    let invoice = form.invoice.as_deref().unwrap_or_default().trim();
    let contact = form.contact.as_deref().unwrap_or_default().trim();
    if invoice.is_empty() || contact.is_empty() {
        let message = "Enter both the order number and the email or npub you gave.".to_string();
        return show(&s, form, Some(message), StatusCode::UNPROCESSABLE_ENTITY).await;
    }
    let found = match Uuid::parse_str(invoice) {
        Ok(id) => db::invoices::by_id(&s.db.read, id).await?,
        Err(_) => None,
    };
    match found {
        Some(inv) if belongs_to(&inv, contact) => Ok(Redirect::to(&thank_you_path(inv.id)).into_response()),
        _ => show(&s, form, Some(NO_MATCH.to_string()), StatusCode::OK).await,
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

async fn show(
    s: &AppState,
    form: RecoverForm,
    error: Option<String>,
    status: StatusCode,
) -> Result<Response, ApiError> {
    let mut page = RecoverPage::new(s).await?;
    page.invoice = form.invoice.unwrap_or_default();
    page.contact = form.contact.unwrap_or_default();
    page.error = error;
    render(&page, status, Caching::Private)
}

impl RecoverPage {
    async fn new(s: &AppState) -> Result<RecoverPage, ApiError> {
        Ok(RecoverPage {
            chrome: Chrome::new(s),
            invoice: String::new(),
            contact: String::new(),
            error: None,
            npub: String::new(),
            npub_error: None,
            npub_notice: None,
            email_on: crate::services::email::enabled(&s.core).await?,
            email: String::new(),
            email_error: None,
            email_notice: None,
        })
    }
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
    let (status, npub_error, npub_notice, retry) = outcome(request_recovery(&s.core, ip, &npub).await, ANSWER)?;
    let mut page = RecoverPage::new(&s).await?;
    page.npub = if npub_notice.is_some() { String::new() } else { npub };
    page.npub_error = npub_error;
    page.npub_notice = npub_notice;
    answer(&page, status, retry)
}

/// A recovery request as the page tells it: the one answer, or the buyer's
/// error in words (with its wait); a server error stays an error.
type Outcome = (StatusCode, Option<String>, Option<&'static str>, Option<u64>);

fn outcome(asked: Result<(), crate::services::ServiceError>, answer: &'static str) -> Result<Outcome, ApiError> {
    match asked.map_err(ApiError::from) {
        Ok(()) => Ok((StatusCode::OK, None, Some(answer), None)),
        Err(e) if e.status.is_client_error() => {
            Ok((e.status, Some(super::errors::sentence(&e.message)), None, e.retry_after))
        }
        Err(e) => Err(e),
    }
}

fn answer(page: &RecoverPage, status: StatusCode, retry: Option<u64>) -> Result<Response, ApiError> {
    let mut res = render(page, status, Caching::Private)?;
    if let Some(secs) = retry {
        res.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    Ok(res)
}

#[derive(Deserialize, Default, JsonSchema)]
pub struct EmailForm {
    email: Option<String>,
}

/// "Send my keys to this e-mail": the same answer whether or not anything was found.
pub async fn submit_email(
    State(s): State<AppState>,
    ClientIp(ip): ClientIp,
    PageForm(form): PageForm<EmailForm>,
) -> Result<Response, ApiError> {
    let email = form.email.unwrap_or_default();
    let asked = crate::services::email::request_recovery(&s.core, ip, &email).await;
    let (status, email_error, email_notice, retry) = outcome(asked, EMAIL_ANSWER)?;
    let mut page = RecoverPage::new(&s).await?;
    page.email = if email_notice.is_some() { String::new() } else { email };
    page.email_error = email_error;
    page.email_notice = email_notice;
    answer(&page, status, retry)
}
