//! `GET /v1/admin/export/{kind}.csv` and `.jsonl`: licenses, invoices,
//! machines, the audit log — streamed a page at a time by `services::export`.

use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use schemars::JsonSchema;
use serde::Deserialize;

use crate::http::error::ApiError;
use crate::http::state::AppState;
use crate::http::views::parse_time;
use crate::services::export::{Export, Format, Kind};

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
    let mut export = Export::new(s.core.clone(), kind, format, from, to);
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
        [(header::CONTENT_TYPE, content_type.to_string()), (header::CONTENT_DISPOSITION, disposition)],
        Body::from_stream(stream),
    )
        .into_response())
}
