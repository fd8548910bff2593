//! The narrow core every use case, job and front end shares: storage, the
//! signing key, configuration, the payment provider, delivery, the
//! validation hot path and the rate limits. Nothing HTTP-specific lives
//! here (the admin key check and the connection caps are the HTTP front's,
//! `http::state`).

use std::sync::Arc;

use ed25519_dalek::SigningKey;

use crate::config::Config;
use crate::db::Db;
use crate::delivery::Delivery;
use crate::licensing::Licensing;
use crate::payment::simulated::Simulated;
use crate::payment::Payments;
use crate::ratelimit::{GlobalLimits, RateLimiter};

/// One pointer to the core, cheap to clone into jobs and requests.
#[derive(Clone)]
pub struct Core(Arc<CoreInner>);

impl Core {
    pub fn new(inner: CoreInner) -> Core {
        Core(Arc::new(inner))
    }
}

impl std::ops::Deref for Core {
    type Target = CoreInner;
    fn deref(&self) -> &CoreInner {
        &self.0
    }
}

/// What the daemon holds while it runs.
pub struct CoreInner {
    pub config: Arc<Config>,
    pub db: Db,
    /// Group commit of short write transactions (issue, free orders, fulfillment).
    pub writer: super::writer::Writer,
    pub signer: Arc<SigningKey>,
    pub public_key_pem: Arc<str>,
    pub licensing: Arc<Licensing>,
    /// Base URL buyers and applications use (no trailing slash).
    pub public_url: Arc<str>,
    /// The connected payment provider and reconciliation state.
    pub payments: Arc<Payments>,
    /// The simulated provider, in demo mode only.
    pub demo: Option<Arc<Simulated>>,
    /// Nostr identity and relays, webhook sender, the seller's name.
    pub delivery: Arc<Delivery>,
    pub limits: Limits,
    /// The origins whose pages may call the public API (CORS).
    pub cors_origins: super::cors::CorsOrigins,
    /// One-time download links to exports.
    pub export_links: super::export::Links,
    /// What buyers' pages show, kept until the operator changes it.
    pub catalogue: super::catalog::Catalogue,
}

impl CoreInner {
    /// The seller's name as buyers see it, if set.
    pub fn operator_name(&self) -> Option<String> {
        self.delivery.operator_name()
    }
}

/// The in-memory rate limits, per client address and for everyone.
pub struct Limits {
    pub validate: RateLimiter,
    /// Code previews and redemptions per client address.
    pub code: RateLimiter,
    /// Purchases per client address.
    pub purchase: RateLimiter,
    /// Recover-by-npub requests per client address.
    pub recover: RateLimiter,
    /// Purchases, redemptions and recoveries from all addresses together.
    pub global: GlobalLimits,
    /// Failed admin-key attempts per client address (refused outright past
    /// the limit for the rest of the minute).
    pub admin_failures: RateLimiter,
}

impl Limits {
    pub fn new(c: &Config) -> Limits {
        use std::time::Duration;
        const MINUTE: Duration = Duration::from_secs(60);
        Limits {
            validate: RateLimiter::new(c.validate_rate_per_minute, MINUTE),
            code: RateLimiter::new(c.code_rate_per_minute, MINUTE),
            purchase: RateLimiter::new(c.purchase_rate_per_minute, MINUTE),
            recover: RateLimiter::new(c.recover_rate_per_hour, Duration::from_secs(3600)),
            global: GlobalLimits::new(
                c.purchase_global_rate_per_minute,
                c.redeem_global_rate_per_minute,
                c.recover_global_rate_per_hour,
            ),
            admin_failures: RateLimiter::new(c.admin_auth_failures_per_minute, MINUTE),
        }
    }

    /// Forgets addresses whose windows have passed.
    pub fn prune(&self) {
        self.validate.prune();
        self.code.prune();
        self.purchase.prune();
        self.recover.prune();
        self.admin_failures.prune();
    }
}
