//! Keysat: a self-hosted, Bitcoin-first software-licensing server.
//!
//! Layout (see docs/ARCHITECTURE.md): `domain` holds pure rules, `db` plain SQL,
//! `licensing` the validation hot path, `fulfillment` the one way a license
//! is created, `http` thin axum handlers, `app` start-up and the router.

pub mod app;
pub mod config;
pub mod db;
pub mod delivery;
pub mod domain;
pub mod http;
pub mod jobs;
pub mod licensing;
pub mod payment;
pub mod ratelimit;
pub mod server;
pub mod services;
pub mod snapshot;
pub mod telemetry;
