//! The public API of PROTOCOL.md section 4.

pub mod catalog;
pub mod codes;
pub mod machines;
pub mod service;
pub mod validate;
