//! Everyday support on `/v1/admin/licenses/{id}/…`: reset every seat, resend
//! the key, everything about one license — thin over `services::support`.

use axum::extract::{Path, State};
use axum::Json;
use schemars::JsonSchema;
use serde::Deserialize;

use crate::http::error::ApiError;
use crate::http::extract::{parse_json, RawBody};
use crate::http::state::AppState;
use crate::services::support;
use crate::services::views::{LicenseSupport, Resent, SeatsReset};

#[derive(Deserialize, Default, JsonSchema)]
#[schemars(rename = "ResetSeatsBody")]
#[serde(deny_unknown_fields)]
pub struct ReasonBody {
    reason: Option<String>,
}

pub async fn reset_seats(
    State(s): State<AppState>,
    Path(id): Path<String>,
    RawBody(body): RawBody,
) -> Result<Json<SeatsReset>, ApiError> {
    let reason = if body.iter().all(u8::is_ascii_whitespace) { None } else { parse_json::<ReasonBody>(&body)?.reason };
    Ok(Json(support::reset_seats(&s.core, &id, reason).await?))
}

/// Which channel to send the key by; without one, the npub when the license has one, else e-mail.
#[derive(Deserialize, Default, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ResendBody {
    channel: Option<support::Channel>,
}

pub async fn resend(
    State(s): State<AppState>,
    Path(id): Path<String>,
    RawBody(body): RawBody,
) -> Result<Json<Resent>, ApiError> {
    let channel =
        if body.iter().all(u8::is_ascii_whitespace) { None } else { parse_json::<ResendBody>(&body)?.channel };
    Ok(Json(support::resend(&s.core, &id, channel).await?))
}

pub async fn show(State(s): State<AppState>, Path(id): Path<String>) -> Result<Json<LicenseSupport>, ApiError> {
    Ok(Json(support::show(&s.core, &id).await?))
}
