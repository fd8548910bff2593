//! The use cases, between the front ends (`http/`, the buyer pages, the jobs)
//! and the rules and storage below (`domain/`, `db/`, providers). A service
//! takes typed input and answers a typed result or a [`ServiceError`]; the
//! front ends only translate.
//!
//! The layer is being built up family by family (issue 13): the catalogue's
//! "what is on sale" is here; orders, licenses, the BTCPay connection and
//! settings still live in their handlers.

pub mod catalog;

use crate::domain::DomainError;

/// Why a use case did not happen, in terms every front end can render.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("{0}")]
    NotFound(String),
    /// A rule was broken by the input.
    #[error(transparent)]
    Domain(#[from] DomainError),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}
