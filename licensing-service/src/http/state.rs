//! What every handler holds: the core (services' narrow state) and what
//! only the HTTP front needs — the admin key check and the public
//! listener's connection caps.

use std::sync::Arc;

use crate::server::Connections;
use crate::services::{Core, CoreInner};

use super::admin::auth::AdminAuth;

/// One pointer, so a request clones one counter. It dereferences to the
/// core, so handlers read `s.db`, `s.config`, `s.limits` directly and pass
/// `&s.core` to services.
#[derive(Clone)]
pub struct AppState(Arc<AppInner>);

pub struct AppInner {
    pub core: Core,
    /// Checks the admin key; counts and logs failures.
    pub admin_auth: AdminAuth,
    /// The public listener's open connections.
    pub connections: Arc<Connections>,
}

impl AppState {
    pub fn new(core: Core, admin_auth: AdminAuth, connections: Arc<Connections>) -> AppState {
        AppState(Arc::new(AppInner { core, admin_auth, connections }))
    }
}

impl std::ops::Deref for AppState {
    type Target = AppInner;
    fn deref(&self) -> &AppInner {
        &self.0
    }
}

impl std::ops::Deref for AppInner {
    type Target = CoreInner;
    fn deref(&self) -> &CoreInner {
        &self.core
    }
}
