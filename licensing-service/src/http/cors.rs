//! CORS for the public API a seller's website calls from the buyer's
//! browser: the catalogue, purchases, code previews, validation and the
//! machine endpoints ([`ROUTES`]), from the origins the operator listed
//! (`cors_origins` of `/v1/admin/settings`, none by default). Any other
//! route, and any other origin, gets no CORS header at all, so a browser
//! keeps other sites' pages from reading the answers; the admin API and the
//! buyer pages are never behind this layer. No credentials are involved:
//! nothing here reads a cookie.

use axum::extract::{MatchedPath, Request, State};
use axum::http::header::{
    ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS, ACCESS_CONTROL_ALLOW_ORIGIN,
    ACCESS_CONTROL_EXPOSE_HEADERS, ACCESS_CONTROL_MAX_AGE, ACCESS_CONTROL_REQUEST_METHOD, ORIGIN, VARY,
};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::state::AppState;

/// The routes a listed origin may call (axum's templates).
pub const ROUTES: &[&str] = &[
    "/v1/products",
    "/v1/products/{slug}",
    "/v1/products/{slug}/policies",
    "/v1/discount-codes/preview",
    "/v1/purchase",
    "/v1/purchase/{invoice_id}",
    "/v1/validate",
    "/v1/machines/activate",
    "/v1/machines/heartbeat",
    "/v1/machines/deactivate",
    "/v1/machines/lease",
    "/v1/machines/offline-activate",
    "/v1/machines/list",
];

/// A preflight is remembered this long (seconds).
const MAX_AGE: &str = "600";

/// The middleware over the public API's routes.
pub async fn public_cors(State(s): State<AppState>, req: Request, next: Next) -> Response {
    let listed_route = req.extensions().get::<MatchedPath>().is_some_and(|p| ROUTES.contains(&p.as_str()));
    if !listed_route {
        return next.run(req).await;
    }
    let origin = req.headers().get(ORIGIN).filter(|o| s.cors_origins.allows(o.as_bytes())).cloned();
    let Some(origin) = origin else {
        let mut resp = next.run(req).await;
        vary(resp.headers_mut(), "origin");
        return resp;
    };
    if req.method() == Method::OPTIONS && req.headers().contains_key(ACCESS_CONTROL_REQUEST_METHOD) {
        return preflight(origin);
    }
    let mut resp = next.run(req).await;
    let h = resp.headers_mut();
    h.insert(ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    h.insert(ACCESS_CONTROL_EXPOSE_HEADERS, HeaderValue::from_static("retry-after"));
    vary(h, "origin");
    resp
}

/// A listed origin may GET and POST JSON, with an `Idempotency-Key`.
fn preflight(origin: HeaderValue) -> Response {
    let mut resp = StatusCode::NO_CONTENT.into_response();
    let h = resp.headers_mut();
    h.insert(ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    h.insert(ACCESS_CONTROL_ALLOW_METHODS, HeaderValue::from_static("GET, POST"));
    h.insert(ACCESS_CONTROL_ALLOW_HEADERS, HeaderValue::from_static("content-type, idempotency-key"));
    h.insert(ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static(MAX_AGE));
    vary(h, "origin, access-control-request-method, access-control-request-headers");
    resp
}

fn vary(h: &mut HeaderMap, names: &'static str) {
    h.append(VARY, HeaderValue::from_static(names));
}
