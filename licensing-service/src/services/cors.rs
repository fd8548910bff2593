//! The web origins the operator lets call the public API from their own
//! pages (`cors_origins` of `/v1/admin/settings`; none by default): stored
//! as a setting, held in memory for the HTTP front's CORS middleware, which
//! reads it on every cross-origin request.

use std::sync::{Arc, RwLock};

use serde_json::json;

use super::audit;
use crate::db::{self, Tx};
use crate::domain::origin::Origin;

/// The setting's key (a JSON array of origins).
const KEY: &str = "cors_origins";

/// The list in memory, replaced whole when the operator saves a new one.
#[derive(Default)]
pub struct CorsOrigins(RwLock<Arc<[String]>>);

impl CorsOrigins {
    /// The stored list (none before the operator sets one).
    pub async fn load(db: &db::Db) -> Result<CorsOrigins, sqlx::Error> {
        let stored: Vec<String> = db::settings::get_json(&db.read, KEY).await?.unwrap_or_default();
        Ok(CorsOrigins(RwLock::new(stored.into())))
    }

    /// Whether `origin`, exactly as a browser sent it, is listed.
    pub fn allows(&self, origin: &[u8]) -> bool {
        self.list_arc().iter().any(|o| o.as_bytes() == origin)
    }

    pub fn list(&self) -> Vec<String> {
        self.list_arc().to_vec()
    }

    fn list_arc(&self) -> Arc<[String]> {
        self.0.read().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }

    /// After the transaction that stored `list` committed.
    pub fn replace(&self, list: Vec<String>) {
        *self.0.write().unwrap_or_else(std::sync::PoisonError::into_inner) = list.into();
    }
}

/// Stores the new list with its audit record; the caller commits, then
/// [`CorsOrigins::replace`]s. Returns the list as stored.
pub async fn store(tx: &mut Tx, now: i64, before: Vec<String>, list: &[Origin]) -> Result<Vec<String>, sqlx::Error> {
    let after: Vec<String> = list.iter().map(|o| o.as_str().to_string()).collect();
    db::settings::set(&mut **tx, KEY, &serde_json::to_string(&after).unwrap_or_else(|_| "[]".into())).await?;
    let details = json!({ "before": before, "after": after });
    audit(tx, now, "admin", "settings.update", ("settings", KEY), details).await?;
    Ok(after)
}
