//! Browser-facing protections: the security headers every answer carries,
//! and the form extractor that refuses posts made from another site.

use axum::extract::{FromRef, FromRequest, Request};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use serde::de::DeserializeOwned;

use crate::config::origin_of;
use crate::http::error::ApiError;
use crate::http::state::AppState;

/// Scripts, styles, images and fetches only from this origin; no inline
/// script or style, no plugins, never framed.
pub const CONTENT_SECURITY_POLICY: &str =
    "default-src 'self'; base-uri 'none'; object-src 'none'; frame-ancestors 'none'";

/// Adds the security headers to every answer of `router` (the pages and the
/// not-found answer; the JSON API is not rendered by browsers and its hot
/// path is measured without them). Static header layers, no boxing.
pub fn with_headers<S: Clone + Send + Sync + 'static>(router: axum::Router<S>) -> axum::Router<S> {
    use tower_http::set_header::SetResponseHeaderLayer as Set;
    router
        .layer(Set::overriding(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CONTENT_SECURITY_POLICY)))
        .layer(Set::overriding(header::REFERRER_POLICY, HeaderValue::from_static("same-origin")))
        .layer(Set::overriding(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")))
        .layer(Set::overriding(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")))
}

/// A form posted from one of our own pages (an `application/x-www-form-urlencoded`
/// body). Any rejection is an [`ApiError`], shown to browsers as a page.
pub struct PageForm<T>(pub T);

impl<T, S> FromRequest<S> for PageForm<T>
where
    T: DeserializeOwned,
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        same_origin(&AppState::from_ref(state), req.headers())?;
        match axum::Form::<T>::from_request(req, state).await {
            Ok(axum::Form(v)) => Ok(PageForm(v)),
            Err(e) => Err(ApiError::new(e.status(), "invalid_form", e.body_text())),
        }
    }
}

/// Refuses a request a browser made on behalf of another site. Browsers
/// say where a request comes from in `Sec-Fetch-Site` (all current ones)
/// or at least `Origin` (every POST since 2020); a request with neither
/// comes from a program, not from a page, and is let through like the API.
pub fn same_origin(s: &AppState, headers: &HeaderMap) -> Result<(), ApiError> {
    let refused = || {
        ApiError::new(
            StatusCode::FORBIDDEN,
            "cross_site_form",
            "This form was sent from another site, so it was refused. Open the page on this site and send it from there.",
        )
    };
    if let Some(site) = headers.get("sec-fetch-site") {
        // "none": typed in the address bar or opened from a bookmark.
        return match site.as_bytes() {
            b"same-origin" | b"none" => Ok(()),
            _ => Err(refused()),
        };
    }
    let Some(origin) = headers.get(header::ORIGIN) else {
        return Ok(());
    };
    let origin = origin.to_str().map_err(|_| refused())?;
    if origin_of(&s.public_url).as_deref() == Some(origin) {
        return Ok(());
    }
    // The same server reached at another of its addresses (LAN, .onion).
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    match (url::Url::parse(origin), host) {
        (Ok(o), Some(host)) if o.origin().is_tuple() => {
            let authority = match o.port() {
                Some(p) => format!("{}:{p}", o.host_str().unwrap_or_default()),
                None => o.host_str().unwrap_or_default().to_string(),
            };
            if authority.eq_ignore_ascii_case(host) {
                Ok(())
            } else {
                Err(refused())
            }
        }
        _ => Err(refused()),
    }
}
