//! `GET /download/{token}`: an export through the one-time link the operator
//! asked for (`POST /v1/admin/export-links`), on the public listener because
//! on StartOS that is the only one the operator's browser reaches. The link
//! answers once and lives ten minutes; anything else is a plain 404 page.

use axum::extract::{Path, State};
use axum::response::Response;

use crate::http::admin::export::stream;
use crate::http::error::ApiError;
use crate::http::state::AppState;
use crate::services::ServiceError;

pub async fn download(State(s): State<AppState>, Path(token): Path<String>) -> Result<Response, ApiError> {
    let Some(p) = s.core.export_links.take(&token) else {
        return Err(ServiceError::NotFound(
            "This download link was already used or has expired. Ask for a new one (the \"Export data\" action)."
                .into(),
        )
        .into());
    };
    tracing::info!(file = %p.file, "export downloaded through a one-time link");
    stream(s.core.clone(), &p.file, p.kind, p.format, p.from, p.to).await
}
