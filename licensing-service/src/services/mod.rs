//! The use cases, between the front ends (`http/`, the buyer pages, the jobs)
//! and the rules and storage below (`domain/`, `db/`, providers). A service
//! takes typed input and answers a result or a [`ServiceError`]; the front
//! ends only translate. Nothing here imports `http`.
//!
//! The layer is being built up family by family (issue 13): the catalogue's
//! "what is on sale", orders (purchase, redeem, recover) and idempotency are
//! here; licenses, the BTCPay connection and settings still live in their
//! handlers.

pub mod catalog;
pub mod idempotency;
pub mod orders;

use crate::domain::discount::Refusal;
use crate::domain::DomainError;
use crate::ratelimit::Busy;

/// Why a use case did not happen, in terms every front end can render.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("{0}")]
    NotFound(String),
    /// A rule was broken by the input (invalid field, or a conflict with a code).
    #[error(transparent)]
    Domain(#[from] DomainError),
    /// A discount code cannot be used (strangers see [`Refusal::public`]).
    #[error("{}", .0.message())]
    Refused(Refusal),
    /// The request is well formed but cannot be done as asked.
    #[error("{message}")]
    Invalid { code: &'static str, message: String },
    /// This caller must wait.
    #[error("{message}")]
    TooMany { code: &'static str, message: String, retry_after: u64 },
    /// The service cannot do it now (a provider down, a shop-wide cap).
    #[error("{message}")]
    Unavailable { code: &'static str, message: String, retry_after: Option<u64> },
    /// Everyone together must wait.
    #[error("too many {} from everyone", .0.what)]
    Busy(Busy),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<Busy> for ServiceError {
    fn from(b: Busy) -> Self {
        ServiceError::Busy(b)
    }
}

impl ServiceError {
    /// One address over its own limit.
    pub fn rate_limited(retry_after: u64) -> ServiceError {
        ServiceError::TooMany {
            code: "rate_limited",
            message: format!("too many attempts from this address; try again in {retry_after} s"),
            retry_after,
        }
    }
}
