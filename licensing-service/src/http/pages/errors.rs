//! Friendly error pages: a browser that meets an error outside the JSON API
//! (`/v1/…`) gets a page in the shop's style instead of the JSON envelope,
//! with the same status and headers. Programs keep the envelope.

use askama::Template;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use keysat_client::ErrorEnvelope;

use super::{wants_html, Chrome};
use crate::http::error::ApiError;
use crate::http::state::AppState;

#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage {
    chrome: Chrome,
    status: u16,
    title: &'static str,
    message: String,
}

impl ErrorPage {
    pub fn new(chrome: Chrome, status: StatusCode, detail: Option<String>) -> ErrorPage {
        let (title, fallback) = match status {
            StatusCode::NOT_FOUND => (
                "Page not found",
                "There is nothing at this address. It may have been mistyped, or the page was moved.",
            ),
            StatusCode::FORBIDDEN => ("Refused", "This request was refused."),
            StatusCode::TOO_MANY_REQUESTS => ("Slow down", "Too many attempts from your address; wait a minute."),
            s if s.is_server_error() => (
                "Something went wrong",
                "Something went wrong on our side, not yours. Nothing you paid is lost. Please try again in a \
                 moment; if it keeps happening, contact the seller.",
            ),
            _ => ("That did not work", "The request could not be handled."),
        };
        // Server errors never show their detail (it is in the log); an
        // unknown address is said in words, not the API's.
        let message = match detail {
            Some(d) if d == crate::http::error::NO_SUCH_ENDPOINT => fallback.to_string(),
            Some(d) if !status.is_server_error() && !d.is_empty() => sentence(&d),
            _ => fallback.to_string(),
        };
        ErrorPage { chrome, status: status.as_u16(), title, message }
    }
}

/// A refusal as a form shows it: the field at fault by its label on the
/// page ("Email: …"), from the error's field, not from its text.
pub(super) fn for_form(e: &ApiError) -> String {
    const LABELS: [(&str, &str); 5] = [
        ("buyer_email", "Email"),
        ("buyer_npub", "Nostr public key"),
        ("buyer_note", "Note"),
        ("code", "Code"),
        ("product", "Product"),
    ];
    let label = e.field.and_then(|f| LABELS.iter().find(|(name, _)| *name == f).map(|(_, l)| (f, *l)));
    match label {
        Some((field, label)) => {
            let rest = e.message.strip_prefix(field).and_then(|r| r.strip_prefix(": ")).unwrap_or(&e.message);
            sentence(&format!("{label}: {rest}"))
        }
        None => sentence(&e.message),
    }
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
        .and_then(|b| serde_json::from_slice::<ErrorEnvelope>(&b).ok())
        .map(|e| e.message.into_owned());
    let html = match ErrorPage::new(Chrome::new(&s), status, detail).render() {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::seller::SellerIdentity;

    fn chrome() -> Chrome {
        Chrome {
            shop: "Ada <Software>".into(),
            css: "/c.css",
            js: "/j.js",
            icon: "/i.svg",
            demo: false,
            seller: SellerIdentity { contact_email: Some("help@ada.example".into()), ..Default::default() },
        }
    }

    #[test]
    fn server_errors_hide_their_detail() {
        let detail = Some("database is locked at /data/keysat.db".to_string());
        let html = ErrorPage::new(chrome(), StatusCode::INTERNAL_SERVER_ERROR, detail).render().unwrap();
        assert!(html.contains("Something went wrong") && html.contains("Error 500"), "{html}");
        assert!(!html.contains("database is locked"), "{html}");
        assert!(html.contains("Ada &#60;Software&#62;"), "{html}");
        let html = ErrorPage::new(chrome(), StatusCode::BAD_GATEWAY, None).render().unwrap();
        assert!(html.contains("Something went wrong") && html.contains("Error 502"), "{html}");
    }

    #[test]
    fn client_errors_say_why() {
        let html = ErrorPage::new(chrome(), StatusCode::NOT_FOUND, Some("no product 'x'".into())).render().unwrap();
        assert!(html.contains("Page not found") && html.contains("No product &#39;x&#39;."), "{html}");
        let html = ErrorPage::new(chrome(), StatusCode::NOT_FOUND, Some("no such endpoint".into())).render().unwrap();
        assert!(html.contains("There is nothing at this address") && !html.contains("endpoint"), "{html}");
        assert!(html.contains("mailto:help@ada.example"), "the error page offers the contact: {html}");
        let invalid: ApiError =
            crate::domain::DomainError::invalid("buyer_email", "'a' is not an e-mail address").into();
        assert_eq!(for_form(&invalid), "Email: 'a' is not an e-mail address.");
        // The label comes from the field, never from text that merely looks like one.
        let other = ApiError::bad_request("invalid_request", "buyer_email: looks like a field");
        assert_eq!(for_form(&other), "Buyer_email: looks like a field.");
        assert_eq!(sentence("done!"), "Done!");
    }
}
