//! The public API of PROTOCOL.md section 4.

pub mod catalog;
pub mod codes;
pub mod machines;
pub mod purchase;
pub mod recover;
pub mod redeem;
pub mod seats;
pub mod service;
pub mod signed;
pub mod subscriptions;
pub mod validate;
