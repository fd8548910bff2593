//! `GET /`, `/healthz`, `/v1/pubkey`.

use axum::extract::State;
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use axum::Json;
use schemars::JsonSchema;
use serde::Serialize;

use crate::http::error::ApiError;
use crate::http::pages;
use crate::http::state::AppState;

/// `GET /` for programs: what this server is and its key.
#[derive(Serialize, JsonSchema)]
pub struct ServiceInfo<'a> {
    service: &'static str,
    version: &'static str,
    /// The seller's name, null when none is set.
    operator: Option<String>,
    public_key_pem: &'a str,
    key_algorithm: &'static str,
    key_format_version: u8,
}

/// `GET /v1/pubkey`.
#[derive(Serialize, JsonSchema)]
pub struct PublicKey<'a> {
    public_key_pem: &'a str,
}

/// Browsers get the storefront; everything else gets the service description.
pub async fn root(State(s): State<AppState>, headers: HeaderMap) -> Result<Response, ApiError> {
    if pages::wants_html(&headers) {
        return pages::storefront::page(&s).await;
    }
    Ok(Json(ServiceInfo {
        service: "keysat",
        version: env!("CARGO_PKG_VERSION"),
        operator: s.operator_name(),
        public_key_pem: &s.public_key_pem,
        key_algorithm: "ed25519",
        key_format_version: 2,
    })
    .into_response())
}

pub async fn healthz() -> Response {
    // A constant body: the health check must be as cheap as it gets.
    ([(header::CONTENT_TYPE, "application/json")], r#"{"ok":true}"#).into_response()
}

pub async fn pubkey(State(s): State<AppState>) -> Response {
    Json(PublicKey { public_key_pem: &s.public_key_pem }).into_response()
}
