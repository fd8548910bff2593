//! axum handlers, one module per resource; thin: parse, call, answer.

pub mod admin;
pub mod client_ip;
pub mod cors;
pub mod demo;
pub mod error;
pub mod extract;
pub mod idempotency;
pub mod openapi;
pub mod pages;
pub mod public;
pub mod router;
pub mod state;
pub mod views;
pub mod webhooks;
