//! The one error type handlers return; renders PROTOCOL.md's envelope
//! `{"ok": false, "error": "<code>", "message": "<human text>"}`
//! (`keysat_client::ErrorEnvelope`).

use std::borrow::Cow;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use keysat_client::ErrorEnvelope;

use crate::domain::DomainError;

/// An error answer: status, stable machine code, human message.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    /// Seconds to wait before retrying (sent as `Retry-After`).
    pub retry_after: Option<u64>,
    /// The input field at fault, for the pages to label (not on the wire).
    pub field: Option<&'static str>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError { status, code, message: message.into(), retry_after: None, field: None }
    }
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }
    pub fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "missing or wrong admin API key (Authorization: Bearer <key>)",
        )
    }
    pub fn internal() -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal_error", "internal error; see the server log")
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorEnvelope { error: Cow::Borrowed(self.code), message: Cow::Owned(self.message) };
        let mut resp = (self.status, Json(body)).into_response();
        if let Some(secs) = self.retry_after {
            resp.headers_mut().insert(axum::http::header::RETRY_AFTER, axum::http::HeaderValue::from(secs));
        }
        resp
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> Self {
        tracing::error!(error = %e, source = ?std::error::Error::source(&e), "database error");
        ApiError::internal()
    }
}

impl From<anyhow::Error> for ApiError {
    fn from(e: anyhow::Error) -> Self {
        // `{:#}` keeps the whole cause chain on one line.
        tracing::error!(error = %format_args!("{e:#}"), "internal error");
        ApiError::internal()
    }
}

impl From<DomainError> for ApiError {
    fn from(e: DomainError) -> Self {
        let status = match &e {
            DomainError::Invalid { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            DomainError::NotFound(_) => StatusCode::NOT_FOUND,
            DomainError::Conflict { .. } => StatusCode::CONFLICT,
        };
        let field = match &e {
            DomainError::Invalid { field, .. } => Some(*field),
            _ => None,
        };
        ApiError { field, ..ApiError::new(status, e.code(), e.to_string()) }
    }
}

/// What an unknown route answers (a program reads it; a browser gets a page in words).
pub const NO_SUCH_ENDPOINT: &str = "no such endpoint";

/// Unknown routes answer in the same envelope.
pub async fn not_found_fallback() -> ApiError {
    ApiError::not_found(NO_SUCH_ENDPOINT)
}

impl From<crate::services::ServiceError> for ApiError {
    fn from(e: crate::services::ServiceError) -> Self {
        use crate::services::ServiceError;
        let wait = |retry_after, e: ApiError| ApiError { retry_after, ..e };
        match e {
            ServiceError::NotFound(m) => ApiError::not_found(m),
            ServiceError::Domain(d) => d.into(),
            ServiceError::Refused(r) => r.into(),
            ServiceError::Invalid { code, message } => ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, code, message),
            ServiceError::BadInput { code, message } => ApiError::bad_request(code, message),
            ServiceError::Unauthorized { code, message } => ApiError::new(StatusCode::UNAUTHORIZED, code, message),
            ServiceError::Provider(e) => e.into(),
            ServiceError::TooMany { code, message, retry_after } => {
                wait(Some(retry_after), ApiError::new(StatusCode::TOO_MANY_REQUESTS, code, message))
            }
            ServiceError::Unavailable { code, message, retry_after } => {
                wait(retry_after, ApiError::new(StatusCode::SERVICE_UNAVAILABLE, code, message))
            }
            ServiceError::Busy(b) => b.into(),
            ServiceError::Database(e) => e.into(),
            ServiceError::Internal(e) => e.into(),
        }
    }
}

/// A refused code, as strangers are told it ([`Refusal::public`]): 422 with the reason as the code.
impl From<crate::domain::discount::Refusal> for ApiError {
    fn from(r: crate::domain::discount::Refusal) -> Self {
        let r = r.public();
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, r.code(), r.message())
    }
}

impl From<crate::ratelimit::Busy> for ApiError {
    fn from(b: crate::ratelimit::Busy) -> Self {
        let secs = b.retry_after;
        ApiError {
            retry_after: Some(secs),
            ..ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "busy",
                format!("the service is taking too many {} from everyone right now; try again in {secs} s", b.what),
            )
        }
    }
}

impl From<crate::payment::ProviderError> for ApiError {
    fn from(e: crate::payment::ProviderError) -> Self {
        tracing::warn!(error = %e, "payment provider call failed");
        ApiError::new(StatusCode::BAD_GATEWAY, "provider_error", e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_global_limit_is_told_as_everyones() {
        let e = ApiError::from(crate::ratelimit::Busy { what: "code redemptions", retry_after: 60 });
        assert_eq!((e.status, e.code, e.retry_after), (StatusCode::TOO_MANY_REQUESTS, "busy", Some(60)));
        assert!(e.message.contains("code redemptions from everyone"), "{}", e.message);
    }

    #[tokio::test]
    async fn the_envelope_is_ok_error_and_message() {
        let res = ApiError::not_found("no such invoice").into_response();
        assert_eq!(res.status(), StatusCode::NOT_FOUND);
        let body = axum::body::to_bytes(res.into_body(), 1024).await.unwrap();
        assert_eq!(&body[..], br#"{"ok":false,"error":"not_found","message":"no such invoice"}"#);
    }
}
