//! Keysat's integration tests, one binary: each module below was once a test
//! file of its own, and each would link the whole crate and its dependencies
//! (nostr-sdk, sqlx, axum, reqwest…) again. One binary links them once.
//!
//! Run one module's tests with a filter on its path, e.g.
//! `cargo test -p keysat --test integration payments::` (a filter is a
//! substring: `delivery_payments::` matches too; add `--exact` for one test).
//!
//! The tests share one process, so none may rely on being alone in it: no
//! environment variables are set (the `keysat` binary, `CARGO_BIN_EXE_keysat`,
//! gets its environment per child process), and the one process-wide tracing
//! subscriber is `admin_auth`'s log capture.

mod common;
mod delivery_support;
mod internals;
mod pages_support;

mod admin_auth;
mod admin_catalog;
mod admin_licenses;
mod api_keys;
mod bad_input;
mod binary;
mod btcpay_conformance;
mod catalogue;
mod chaos;
mod client_example;
mod codes_admin;
mod connections;
mod cors;
mod delivery_payments;
mod demo;
mod desk_backups;
mod desk_customers;
mod desk_export;
mod desk_import;
mod desk_metrics;
mod desk_sales;
mod desk_search;
mod desk_support;
mod email_delivery;
mod group_commit;
mod hostile_buyers;
mod lifecycle;
mod machines;
mod nostr_delivery;
mod nostr_inbox;
mod offline_seats;
mod openapi;
mod pages;
mod pages_browser;
mod pages_renewals;
mod payments;
mod protocol_types;
mod public_api;
mod reconcile_btcpay_2_0;
mod redeem;
mod refunds;
mod sdk_calls;
mod seller;
mod service_limits;
mod signed_answers;
mod snapshot;
mod spam_bounds;
mod stripe_browser;
mod stripe_cards;
mod subscriptions;
mod upgrades;
mod validate_reasons;
mod webhooks;
