//! Every path into the `keysat` crate the tests name, in one place. The
//! tests speak HTTP to the daemon; these are the few items they reach for
//! beside it (its configuration, its state, route tables to check against,
//! functions to call directly). When `src/` moves one, this file is the one
//! to change.

pub use keysat::app::{admin_routes_table, Application, Handle};
pub use keysat::config::Config;
pub use keysat::db::nostr as nostr_db;
pub use keysat::domain::outbox::NoticeKind;
pub use keysat::domain::outbox::RetrySchedule;
pub use keysat::domain::proxies::TrustedProxies;
pub use keysat::operator;
pub use keysat::payment::{Amount, CheckoutRequest, PaymentProvider, RefundRequest};
pub use keysat::{derived_max_connections, open_file_limit};

/// Keysat's BTCPay client, its table of the routes it uses, and the provider over it.
pub mod btcpay {
    pub use keysat::payment::btcpay::client::{Client, ROUTES};
    pub use keysat::payment::btcpay::{connect, Btcpay};
}
