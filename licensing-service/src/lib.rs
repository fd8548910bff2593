//! Keysat: a self-hosted, Bitcoin-first software-licensing server.
//!
//! Layout (see docs/ARCHITECTURE.md): `domain` holds pure rules, `db` SQL,
//! `licensing` the validation hot path, `services` the use cases over one
//! narrow core state, `http` thin axum handlers over them, `jobs` the
//! scheduler, `app` start-up. Modules import one way:
//! domain ← db ← payment, delivery, licensing ← services ← http, jobs ← app.

// No function over 80 lines (clippy.toml sets the threshold).
#![warn(clippy::too_many_lines)]

// The public face: start-up, configuration, storage, the pure model and the
// payment providers (the binary and the integration tests use these).
pub mod app;
pub mod backup;
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
