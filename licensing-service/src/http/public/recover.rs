//! `POST /v1/recover/npub`: a buyer asks for every key bought with their
//! npub to be sent to that npub by Nostr DM (receiving it proves they own
//! it). The answer is the same whether or not anything was found; requests
//! are limited per client address (429) and, silently, per npub.

use std::net::IpAddr;

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use super::codes::too_many;
use crate::app::AppState;
use crate::db;
use crate::domain::npub::Npub;
use crate::domain::{now_unix, DomainError};
use crate::http::client_ip::ClientIp;
use crate::http::error::ApiError;
use crate::http::extract::Json as JsonBody;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecoverBody {
    npub: String,
}

/// The one answer to every well-formed request.
pub const ANSWER: &str =
    "If any keys were bought with this npub, a Nostr direct message listing them is on its way to it.";

pub async fn npub(
    State(s): State<AppState>,
    ClientIp(ip): ClientIp,
    JsonBody(b): JsonBody<RecoverBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    request_recovery(&s, ip, &b.npub).await?;
    Ok((StatusCode::ACCEPTED, Json(json!({"ok": true, "message": ANSWER}))))
}

/// Queues the recovery DM for `npub` (also used by the recover page): a bad
/// npub is a clear error; otherwise the caller answers [`ANSWER`] whatever
/// was found.
pub async fn request_recovery(s: &AppState, ip: IpAddr, npub: &str) -> Result<(), ApiError> {
    s.recover_limiter.check(ip).map_err(too_many)?;
    s.global_limits.recover.admit()?;
    let npub = Npub::parse(npub).map_err(|_| {
        DomainError::invalid("npub", format!("'{}' is not an npub or a 64-character hex public key", npub.trim()))
    })?;
    let hex = npub.to_hex();
    let now = now_unix();
    let mut tx = s.db.begin().await?;
    let recent = db::nostr::recoveries_since(&mut tx, &hex, now - 3600).await?;
    if recent < i64::from(s.config.recover_per_npub_per_hour)
        && !db::nostr::keys_of_npub(&mut *tx, &hex, 1).await?.is_empty()
    {
        db::nostr::enqueue(
            &mut tx,
            now,
            db::nostr::NewMessage {
                kind: db::nostr::MessageKind::Recovery,
                recipient_hex: &hex,
                license_id: None,
                notice: None,
                text: None,
            },
        )
        .await?;
    }
    tx.commit().await?;
    Ok(())
}
