//! Keysat: a self-hosted, Bitcoin-first software-licensing server.
//!
//! Layout (see docs/ARCHITECTURE.md): `domain` holds pure rules, `db` plain SQL,
//! `licensing` the validation hot path, `fulfillment` the one way a license
//! is created, `http` thin axum handlers, `app` start-up and the router.

// The public face: start-up, configuration, storage, the pure model and the
// payment providers (the binary and the integration tests use these).
pub mod app;
pub mod config;
pub mod db;
pub mod domain;
pub mod payment;
pub mod snapshot;
pub mod telemetry;

// The rest is internal, so the compiler reports what nothing uses.
pub(crate) mod delivery;
pub(crate) mod http;
pub(crate) mod jobs;
pub(crate) mod licensing;
pub(crate) mod ratelimit;
pub(crate) mod server;
pub(crate) mod services;

/// Reached by the integration tests beside HTTP.
pub use delivery::operator;
pub use server::{derived_max_connections, open_file_limit};
