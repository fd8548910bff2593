//! `GET /v1/admin/export/{kind}.csv` and `.jsonl`: licenses, invoices,
//! machines, the audit log — streamed a page at a time by `services::export`;
//! `POST /v1/admin/export-links`: the same export once, through a one-time
//! link on the public listener (`GET /download/{token}`, `pages::download`),
//! for an operator who reaches the admin API only through StartOS actions.

use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use schemars::JsonSchema;
use serde::Deserialize;

use crate::http::error::ApiError;
use crate::http::extract::Json as JsonBody;
use crate::http::state::AppState;
use crate::http::views::parse_time;
use crate::services::export::{Export, Format, Kind, Link};
use crate::services::Core;

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExportQuery {
    from: Option<String>,
    to: Option<String>,
}

pub async fn export(
    State(s): State<AppState>,
    Path(file): Path<String>,
    Query(q): Query<ExportQuery>,
) -> Result<Response, ApiError> {
    let (kind, format) = Kind::parse(&file)?;
    let from = q.from.as_deref().map(|v| parse_time("from", v)).transpose()?;
    let to = q.to.as_deref().map(|v| parse_time("to", v)).transpose()?;
    stream(s.core.clone(), &file, kind, format, from, to).await
}

/// A one-time link to an export.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LinkBody {
    /// `licenses.csv`, `invoices.jsonl`, … as in `GET /export/{file}`.
    file: String,
    from: Option<String>,
    to: Option<String>,
}

pub async fn create_link(
    State(s): State<AppState>,
    JsonBody(body): JsonBody<LinkBody>,
) -> Result<Json<Link>, ApiError> {
    let from = body.from.as_deref().map(|v| parse_time("from", v)).transpose()?;
    let to = body.to.as_deref().map(|v| parse_time("to", v)).transpose()?;
    Ok(Json(s.core.export_links.create(&s.core, &body.file, from, to).await?))
}

/// The export as a streamed file answer (CSV or JSON Lines).
pub(crate) async fn stream(
    core: Core,
    file: &str,
    kind: Kind,
    format: Format,
    from: Option<i64>,
    to: Option<i64>,
) -> Result<Response, ApiError> {
    let mut export = Export::new(core, kind, format, from, to);
    // The first page is read before answering, so a failure is an error answer.
    let first = export.next_chunk().await?;
    let rest = futures_util::stream::unfold(export, |mut e| async move {
        if e.done {
            return None;
        }
        match e.next_chunk().await {
            Ok(text) => Some((Ok::<Bytes, std::io::Error>(Bytes::from(text)), e)),
            Err(err) => {
                tracing::error!(error = %err, "export stopped");
                e.done = true;
                Some((Err(std::io::Error::other(err.to_string())), e))
            }
        }
    });
    let stream =
        futures_util::StreamExt::chain(futures_util::stream::once(async move { Ok(Bytes::from(first)) }), rest);
    let content_type = match format {
        Format::Csv => "text/csv; charset=utf-8; header=present",
        Format::Jsonl => "application/x-ndjson; charset=utf-8",
    };
    let disposition = format!("attachment; filename=\"keysat-{file}\"");
    Ok((
        [
            (header::CONTENT_TYPE, content_type.to_string()),
            (header::CONTENT_DISPOSITION, disposition),
            (header::CACHE_CONTROL, "no-store".to_string()),
        ],
        Body::from_stream(stream),
    )
        .into_response())
}
