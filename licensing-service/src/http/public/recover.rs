//! `POST /v1/recover/npub`: a buyer asks for every key bought with their
//! npub to be sent to that npub by Nostr DM (receiving it proves they own
//! it). The answer is the same whether or not anything was found; requests
//! are limited per client address (429) and, silently, per npub.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::http::client_ip::ClientIp;
use crate::http::error::ApiError;
use crate::http::extract::Json as JsonBody;
use crate::http::state::AppState;
use crate::services::orders::request_recovery;

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RecoverBody {
    npub: String,
}

/// The one answer to every well-formed request.
pub const ANSWER: &str =
    "If any keys were bought with this npub, a Nostr direct message listing them is on its way to it.";

/// `{"ok": true, "message": ANSWER}`.
#[derive(Serialize, JsonSchema)]
pub struct Accepted {
    ok: bool,
    message: &'static str,
}

pub async fn npub(
    State(s): State<AppState>,
    ClientIp(ip): ClientIp,
    JsonBody(b): JsonBody<RecoverBody>,
) -> Result<(StatusCode, Json<Accepted>), ApiError> {
    request_recovery(&s.core, ip, &b.npub).await?;
    Ok((StatusCode::ACCEPTED, Json(Accepted { ok: true, message: ANSWER })))
}
