//! `POST /v1/admin/email/test`: a test mail through the SMTP settings, sent
//! now; thin over `services::email`.

use axum::extract::State;
use axum::Json;
use schemars::JsonSchema;
use serde::Deserialize;

use crate::http::error::ApiError;
use crate::http::extract::Json as JsonBody;
use crate::http::state::AppState;
use crate::services::email::{self, TestSent};

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TestBody {
    /// Where the test mail goes.
    to: String,
}

pub async fn test(State(s): State<AppState>, JsonBody(b): JsonBody<TestBody>) -> Result<Json<TestSent>, ApiError> {
    Ok(Json(email::send_test(&s.core, &b.to).await?))
}
