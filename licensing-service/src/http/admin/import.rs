//! `POST /v1/admin/import/licenses?dry_run=true`: licenses from another
//! system, a CSV body (see `services::import` for the columns). Answers the
//! report; with any bad row, 422 with the same report and nothing imported.

use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::http::error::ApiError;
use crate::http::state::AppState;
use crate::services::import;

/// Largest CSV accepted (about 100,000 rows of a Keysat export).
const MAX_CSV_BYTES: usize = 64 * 1024 * 1024;

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ImportQuery {
    dry_run: Option<String>,
}

pub async fn licenses(
    State(s): State<AppState>,
    Query(q): Query<ImportQuery>,
    body: Body,
) -> Result<Response, ApiError> {
    let dry_run = match q.dry_run.as_deref() {
        None | Some("false" | "0") => false,
        Some("true" | "1" | "") => true,
        Some(other) => {
            return Err(ApiError::bad_request("invalid_request", format!("dry_run: '{other}' is not true or false")))
        }
    };
    let csv = axum::body::to_bytes(body, MAX_CSV_BYTES).await.map_err(|_| {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("the CSV is larger than {} MiB; split it", MAX_CSV_BYTES >> 20),
        )
    })?;
    let report = import::licenses(&s.core, &csv, dry_run, "admin").await?;
    if report.errors.is_empty() {
        return Ok(Json(report).into_response());
    }
    let message = format!("{} row(s) have errors; nothing was imported", report.errors.len());
    let refused = Refused { report, ok: false, error: "import_invalid", message };
    Ok((StatusCode::UNPROCESSABLE_ENTITY, Json(refused)).into_response())
}

/// The answer when a row has errors (422): the report, in the error envelope.
#[derive(Serialize, JsonSchema)]
pub struct Refused {
    #[serde(flatten)]
    report: import::ImportReport,
    ok: bool,
    error: &'static str,
    message: String,
}
