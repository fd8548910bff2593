//! `GET /metrics` (Prometheus text format), served with the admin routes:
//! on the admin listener when there is one, never on the public one then;
//! behind the admin key like them (Prometheus: `authorization.credentials`).

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};

use crate::http::error::ApiError;
use crate::http::state::AppState;
use crate::services::metrics;

pub async fn metrics(State(s): State<AppState>) -> Result<Response, ApiError> {
    let body = metrics::render(&s.core).await?;
    Ok(([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], body).into_response())
}
