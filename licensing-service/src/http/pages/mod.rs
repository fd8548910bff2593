//! The buyer pages: server-rendered HTML (askama, escaped by default) with
//! one stylesheet and one small script served from the binary. Every page
//! works without JavaScript; the script only refreshes and copies.
//!
//! The pages call the same services as the public API (`services::orders`:
//! purchase, redeem, recover; the code preview), so a sale made in the browser follows
//! exactly the rules of one made through `POST /v1/purchase`.

pub mod activate;
pub mod assets;
pub mod buy;
pub mod download;
pub mod errors;
pub mod recover;
pub mod redeem;
pub mod renew;
pub mod seats;
pub mod security;
pub mod storefront;
pub mod thank_you;
pub mod upgrade;

pub use crate::domain::clip;

use askama::Template;
use axum::extract::{FromRequestParts, Query};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use serde::de::DeserializeOwned;

use crate::domain::seller::SellerIdentity;
use crate::http::error::ApiError;
use crate::http::state::AppState;

/// What every page shows around its content: the shop's name and the assets.
pub struct Chrome {
    /// The operator's name, or "Keysat" when none is set.
    pub shop: String,
    pub css: &'static str,
    pub js: &'static str,
    pub icon: &'static str,
    /// Demo mode: payments are simulated (said on every page).
    pub demo: bool,
    /// How buyers reach the seller: in the footer of every page.
    pub seller: SellerIdentity,
}

impl Chrome {
    pub fn new(s: &AppState) -> Chrome {
        Chrome {
            shop: s.delivery.seller_name(),
            css: assets::url(&assets::CSS),
            js: assets::url(&assets::JS),
            icon: assets::url(&assets::ICON),
            demo: s.demo.is_some(),
            seller: s.delivery.seller(),
        }
    }
}

/// Whether the client asked for a page rather than JSON.
pub fn wants_html(headers: &HeaderMap) -> bool {
    headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|a| a.contains("text/html"))
}

/// A page's query string; a malformed one is an [`ApiError`] (so a browser
/// gets the error page, not axum's plain-text rejection).
pub struct PageQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for PageQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match Query::<T>::from_request_parts(parts, state).await {
            Ok(Query(v)) => Ok(PageQuery(v)),
            Err(e) => Err(ApiError::bad_request("invalid_query", e.body_text())),
        }
    }
}

/// What went wrong with a form: the sentence, and the field at fault when
/// the page has it (marked `aria-invalid`, the sentence beside it).
pub struct FormError {
    pub field: Option<&'static str>,
    pub text: String,
}

impl FormError {
    pub fn new(e: &ApiError) -> FormError {
        FormError { field: e.field, text: errors::for_form(e) }
    }

    /// The error is about `field`.
    pub fn on(&self, field: &str) -> bool {
        self.field == Some(field)
    }
}

/// The form error's sentence when it is about `field`, for templates.
pub fn field_error<'a>(error: &'a Option<FormError>, field: &str) -> Option<&'a str> {
    error.as_ref().filter(|e| e.on(field)).map(|e| e.text.as_str())
}

/// How long a browser may keep a page.
#[derive(Clone, Copy)]
pub enum Caching {
    /// Ordinary pages: revalidate every time (prices and stock change).
    Revalidate,
    /// Pages showing a license key: never stored anywhere.
    Private,
}

/// Renders `page` with `status`.
pub fn render(page: &impl Template, status: StatusCode, caching: Caching) -> Result<Response, ApiError> {
    let body = page.render().map_err(|e| anyhow::anyhow!("rendering a page: {e}"))?;
    let cache = match caching {
        Caching::Revalidate => "no-cache",
        Caching::Private => "private, no-store",
    };
    let mut res = (status, Html(body)).into_response();
    res.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    Ok(res)
}

/// A form shown again after `error`: its status, and `Retry-After` when rate limited.
pub fn render_form(page: &impl Template, error: Option<&ApiError>, caching: Caching) -> Result<Response, ApiError> {
    let mut res = render(page, error.map_or(StatusCode::OK, |e| e.status), caching)?;
    if let Some(secs) = error.and_then(|e| e.retry_after) {
        res.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    Ok(res)
}

/// `50000` → `50,000 sats`.
pub fn sats(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 6);
    if n < 0 {
        out.push('-');
    }
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out.push_str(" sats");
    out
}

/// A license term: `0` → "Lifetime", else the largest whole unit.
pub fn term(seconds: i64) -> String {
    if seconds <= 0 {
        return "Lifetime".to_string();
    }
    const UNITS: [(i64, &str); 6] = [
        (31_536_000, "year"),
        (2_592_000, "month"),
        (604_800, "week"),
        (86_400, "day"),
        (3_600, "hour"),
        (60, "minute"),
    ];
    for (size, name) in UNITS {
        if seconds % size == 0 {
            return plural(seconds / size, name);
        }
    }
    plural(seconds, "second")
}

/// Seats: `0` → unlimited.
pub fn seats(max_machines: i64) -> String {
    if max_machines <= 0 {
        "Unlimited machines".to_string()
    } else {
        plural(max_machines, "machine")
    }
}

fn plural(n: i64, unit: &str) -> String {
    if n == 1 {
        format!("1 {unit}")
    } else {
        format!("{n} {unit}s")
    }
}

/// Unix seconds → "1 May 2027" (UTC), the same text the script writes.
pub fn date(unix: i64) -> String {
    crate::delivery::buyer_notices::day(unix)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(sats(0), "0 sats");
        assert_eq!(sats(999), "999 sats");
        assert_eq!(sats(50_000), "50,000 sats");
        assert_eq!(sats(1_234_567), "1,234,567 sats");
        assert_eq!(term(0), "Lifetime");
        assert_eq!(term(31_536_000), "1 year");
        assert_eq!(term(2 * 2_592_000), "2 months");
        assert_eq!(term(14 * 86_400), "2 weeks");
        assert_eq!(term(10 * 86_400), "10 days");
        assert_eq!(term(90), "90 seconds");
        assert_eq!(seats(0), "Unlimited machines");
        assert_eq!(seats(1), "1 machine");
        assert_eq!(seats(3), "3 machines");
        assert_eq!(date(1_809_129_600), "1 May 2027");
        assert_eq!(clip("  abcdef ", 3), "abc…");
        assert_eq!(clip("ab", 3), "ab");
    }
}
