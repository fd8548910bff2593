//! `GET /`, `/healthz`, `/v1/pubkey`.

use axum::extract::State;
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use crate::http::error::ApiError;
use crate::http::pages;
use crate::http::state::AppState;

/// Browsers get the storefront; everything else gets the service description.
pub async fn root(State(s): State<AppState>, headers: HeaderMap) -> Result<Response, ApiError> {
    if pages::wants_html(&headers) {
        return pages::storefront::page(&s).await;
    }
    let operator = s.operator_name();
    Ok(Json(json!({
        "service": "keysat",
        "version": env!("CARGO_PKG_VERSION"),
        "operator": operator,
        "public_key_pem": &*s.public_key_pem,
        "key_algorithm": "ed25519",
        "key_format_version": 2,
    }))
    .into_response())
}

pub async fn healthz() -> Response {
    // A constant body: the health check must be as cheap as it gets.
    ([(header::CONTENT_TYPE, "application/json")], r#"{"ok":true}"#).into_response()
}

pub async fn pubkey(State(s): State<AppState>) -> Json<serde_json::Value> {
    Json(json!({ "public_key_pem": &*s.public_key_pem }))
}
