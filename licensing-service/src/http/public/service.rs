//! `GET /`, `/healthz`, `/v1/pubkey`.

use askama::Template;
use axum::extract::State;
use axum::http::{header, HeaderMap};
use axum::response::{Html, IntoResponse, Response};
use axum::Json;
use serde_json::json;

use crate::app::AppState;
use crate::http::error::ApiError;

/// Placeholder storefront until the buyer pages exist.
#[derive(Template)]
#[template(path = "placeholder.html")]
struct Placeholder<'a> {
    operator: Option<&'a str>,
    public_url: &'a str,
}

/// Browsers get a page; everything else gets the service description.
pub async fn root(State(s): State<AppState>, headers: HeaderMap) -> Result<Response, ApiError> {
    let wants_html = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|a| a.contains("text/html"));
    let operator = s.operator_name();
    if wants_html {
        let page = Placeholder { operator: operator.as_deref(), public_url: &s.public_url };
        let body = page.render().map_err(|e| anyhow::anyhow!("rendering page: {e}"))?;
        return Ok(Html(body).into_response());
    }
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
