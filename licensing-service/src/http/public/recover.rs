//! `POST /v1/recover/npub` and `POST /v1/recover/email`: a buyer asks for
//! every key bought with their npub (or e-mail address) to be sent to it by
//! Nostr DM (or e-mail): receiving it proves they own it. The answer is the same whether or not anything was found; requests
//! are limited per client address (429) and, silently, per npub or address.

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

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RecoverEmailBody {
    email: String,
}

/// The one answer to every well-formed request by e-mail.
pub const EMAIL_ANSWER: &str =
    "If any keys were bought with this e-mail address, an e-mail listing them is on its way to it.";

/// `POST /v1/recover/email`: every key bought with the address, mailed to it.
pub async fn email(
    State(s): State<AppState>,
    ClientIp(ip): ClientIp,
    JsonBody(b): JsonBody<RecoverEmailBody>,
) -> Result<(StatusCode, Json<Accepted>), ApiError> {
    crate::services::email::request_recovery(&s.core, ip, &b.email).await?;
    Ok((StatusCode::ACCEPTED, Json(Accepted { ok: true, message: EMAIL_ANSWER })))
}

pub async fn npub(
    State(s): State<AppState>,
    ClientIp(ip): ClientIp,
    JsonBody(b): JsonBody<RecoverBody>,
) -> Result<(StatusCode, Json<Accepted>), ApiError> {
    request_recovery(&s.core, ip, &b.npub).await?;
    Ok((StatusCode::ACCEPTED, Json(Accepted { ok: true, message: ANSWER })))
}
