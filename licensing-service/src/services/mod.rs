//! The use cases, between the front ends (`http/`, the buyer pages, the jobs)
//! and the rules and storage below (`domain/`, `db/`, providers). A service
//! takes typed input and answers a result or a [`ServiceError`]; the front
//! ends only translate. Nothing here imports `http`.
//!
//! One module per use-case family; [`Core`] (`state.rs`) is the narrow state
//! they, the jobs and the front ends share.

pub mod adjustments;
pub mod api_keys;
pub mod backups;
pub mod btcpay;
pub mod catalog;
pub mod codes;
pub mod cors;
pub mod customers;
pub mod demo_shop;
pub mod email;
pub mod export;
pub mod fulfillment;
pub mod idempotency;
pub mod import;
pub mod licenses;
pub mod metrics;
pub mod orders;
pub mod payments;
pub mod products;
pub mod reconcile;
pub mod refunds;
pub mod sales;
pub mod seats;
pub mod settings;
pub mod state;
pub mod stripe;
pub mod stripe_webhook;
pub mod subscription_steps;
pub mod subscriptions;
pub mod support;
pub mod terms;
pub mod upgrades;
pub mod views;
pub mod webhooks;
pub mod writer;

pub use state::{Core, CoreInner, Limits};

use serde_json::Value;

use crate::db::{self, Tx};
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
    /// The request itself is malformed (answered 400).
    #[error("{message}")]
    BadInput { code: &'static str, message: String },
    /// The caller could not prove who it is (a webhook's signature).
    #[error("{message}")]
    Unauthorized { code: &'static str, message: String },
    /// The payment provider failed or refused the call.
    #[error(transparent)]
    Provider(#[from] crate::payment::ProviderError),
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
    pub fn bad_input(code: &'static str, message: impl Into<String>) -> ServiceError {
        ServiceError::BadInput { code, message: message.into() }
    }

    /// One address over its own limit.
    pub fn rate_limited(retry_after: u64) -> ServiceError {
        ServiceError::TooMany {
            code: "rate_limited",
            message: format!("too many attempts from this address; try again in {retry_after} s"),
            retry_after,
        }
    }
}

/// Writes the audit record of a change inside the change's transaction: the
/// one helper every use case calls. `target` is (type, id). Inside a job of
/// the group-committing writer the record is held and written with the
/// whole group's in one statement before its `COMMIT` (`writer`), so it is
/// still in the change's transaction, and dropped if the job is undone.
pub async fn audit(
    tx: &mut Tx,
    now: i64,
    actor: &str,
    action: &str,
    target: (&str, impl ToString),
    details: Value,
) -> Result<(), sqlx::Error> {
    let (target_type, id) = target;
    // "admin" is whoever holds the admin API: the request's key says which.
    let acting = (actor == "admin").then(api_keys::acting).flatten();
    let actor = acting.as_deref().unwrap_or(actor);
    let held = db::audit::Held {
        at: now,
        actor: actor.to_owned(),
        action: action.to_owned(),
        target_type: target_type.to_owned(),
        target_id: id.to_string(),
        details: details.to_string(),
    };
    match writer::hold_audit(held) {
        None => Ok(()),
        Some(held) => db::audit::record_all(tx, std::slice::from_ref(&held)).await,
    }
}
