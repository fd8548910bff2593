//! Friendly error pages: a browser that meets an error outside the JSON API
//! (`/v1/…`) gets a page in the shop's style instead of the JSON envelope,
//! with the same status and headers. Programs keep the envelope.

use askama::Template;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use serde_json::Value;

use super::{wants_html, Chrome};
use crate::app::AppState;

#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage {
    chrome: Chrome,
    status: u16,
    title: &'static str,
    message: String,
}

impl ErrorPage {
    pub fn new(s: &AppState, status: StatusCode, detail: Option<String>) -> ErrorPage {
        let (title, fallback) = match status {
            StatusCode::NOT_FOUND => ("Page not found", "There is nothing at this address."),
            StatusCode::FORBIDDEN => ("Refused", "This request was refused."),
            StatusCode::TOO_MANY_REQUESTS => ("Slow down", "Too many attempts from your address; wait a minute."),
            s if s.is_server_error() => (
                "Something went wrong",
                "Something went wrong on our side. Please try again in a moment; if it keeps happening, contact the seller.",
            ),
            _ => ("That did not work", "The request could not be handled."),
        };
        // Server errors never show their detail (it is in the log).
        let message = match detail {
            Some(d) if !status.is_server_error() && !d.is_empty() => sentence(&d),
            _ => fallback.to_string(),
        };
        ErrorPage { chrome: Chrome::new(s), status: status.as_u16(), title, message }
    }
}

/// An API message for a form: the field's name as the form labels it, and
/// written as a sentence ("buyer_email: 'x' is not…" → "Email: 'x' is not….").
pub(super) fn for_form(message: &str) -> String {
    const LABELS: [(&str, &str); 5] = [
        ("buyer_email: ", "Email: "),
        ("buyer_npub: ", "Nostr public key: "),
        ("buyer_note: ", "Note: "),
        ("code: ", "Code: "),
        ("product: ", "Product: "),
    ];
    for (field, label) in LABELS {
        if let Some(rest) = message.strip_prefix(field) {
            return sentence(&format!("{label}{rest}"));
        }
    }
    sentence(message)
}

/// "no such endpoint" → "No such endpoint."
pub(super) fn sentence(s: &str) -> String {
    let mut chars = s.chars();
    let mut out: String = chars.next().map(|c| c.to_uppercase().collect()).unwrap_or_default();
    out.push_str(chars.as_str());
    if !out.ends_with(['.', '!', '?']) {
        out.push('.');
    }
    out
}

/// Replaces a JSON error answer by a page when a browser asked for a page.
pub async fn html_errors(State(s): State<AppState>, req: Request, next: Next) -> Response {
    let browser = wants_html(req.headers()) && !req.uri().path().starts_with("/v1/");
    let res = next.run(req).await;
    let status = res.status();
    let json = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|c| c.starts_with("application/json"));
    if !browser || !json || !(status.is_client_error() || status.is_server_error()) {
        return res;
    }
    let (mut parts, body) = res.into_parts();
    let detail = axum::body::to_bytes(body, 64 * 1024)
        .await
        .ok()
        .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
        .and_then(|v| v["message"].as_str().map(str::to_string));
    let html = match ErrorPage::new(&s, status, detail).render() {
        Ok(html) => html,
        Err(e) => {
            tracing::error!(error = %e, "rendering the error page");
            format!("<!doctype html><title>Error {}</title><p>Error {}.</p>", status.as_u16(), status.as_u16())
        }
    };
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    parts.headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Response::from_parts(parts, Body::from(html))
}
