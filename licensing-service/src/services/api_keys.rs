//! Scoped admin API keys: created with a name and scopes (the key is shown
//! once), listed without it, revoked; and, for the admin front, the key a
//! request presents turned into who is acting and what they may do. The
//! audit log names the key that acted (`api-key:<name>`); the startup admin
//! key acts as `admin` with every scope.

use rand::RngCore;
use schemars::JsonSchema;
use serde::Serialize;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::{audit, Core, ServiceError};
use crate::db::{self, api_keys::ApiKey};
use crate::domain::access::Scope;
use crate::domain::time::Timestamp;
use crate::domain::{now_unix, required_text, DomainError};

/// A key's last use is written at most this often.
const TOUCH_EVERY_SECONDS: i64 = 60;

tokio::task_local! {
    /// Who is acting in the current admin request, for the audit log.
    static ACTING: String;
}

/// Runs `f` with `actor` as the admin request's actor.
pub async fn acting_as<F: std::future::Future>(actor: String, f: F) -> F::Output {
    ACTING.scope(actor, f).await
}

/// The current admin request's actor, if inside one.
pub fn acting() -> Option<String> {
    ACTING.try_with(Clone::clone).ok()
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ApiKeyView {
    pub id: Uuid,
    pub name: String,
    /// The key's first characters, to tell keys apart.
    pub prefix: String,
    pub scopes: Vec<Scope>,
    pub created_at: Timestamp,
    pub last_used_at: Option<Timestamp>,
    pub revoked_at: Option<Timestamp>,
}

impl From<&ApiKey> for ApiKeyView {
    fn from(k: &ApiKey) -> ApiKeyView {
        ApiKeyView {
            id: k.id,
            name: k.name.clone(),
            prefix: k.prefix.clone(),
            scopes: k.scopes.clone(),
            created_at: Timestamp(k.created_at),
            last_used_at: k.last_used_at.map(Timestamp),
            revoked_at: k.revoked_at.map(Timestamp),
        }
    }
}

/// A new key: the only time `key` is shown.
#[derive(Debug, Serialize, JsonSchema)]
pub struct CreatedKey {
    #[serde(flatten)]
    pub view: ApiKeyView,
    pub key: String,
}

pub fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

pub async fn create(s: &Core, name: &str, scopes: &[String]) -> Result<CreatedKey, ServiceError> {
    let name = required_text("name", name, 100)?;
    let mut parsed: Vec<Scope> = scopes.iter().map(|x| Scope::parse(x.trim())).collect::<Result<_, _>>()?;
    parsed.sort();
    parsed.dedup();
    if parsed.is_empty() {
        return Err(DomainError::invalid("scopes", "give at least one of read-only, support, issuer, full").into());
    }
    let mut secret = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut secret);
    let key = format!("ksk_{}", data_encoding::BASE32_NOPAD.encode(&secret).to_lowercase());
    let now = now_unix();
    let k = ApiKey {
        id: Uuid::new_v4(),
        name,
        prefix: key[..12].to_string(),
        scopes: parsed,
        created_at: now,
        last_used_at: None,
        revoked_at: None,
    };
    let mut tx = s.db.begin().await?;
    db::api_keys::insert(&mut *tx, &k, &digest(&key)).await?;
    let details = serde_json::json!({ "name": k.name, "scopes": k.scopes, "prefix": k.prefix });
    audit(&mut tx, now, "admin", "api_key.create", ("api_key", k.id), details).await?;
    tx.commit().await?;
    Ok(CreatedKey { view: ApiKeyView::from(&k), key })
}

pub async fn list(s: &Core) -> Result<Vec<ApiKeyView>, ServiceError> {
    Ok(db::api_keys::list(&s.db.read).await?.iter().map(ApiKeyView::from).collect())
}

pub async fn revoke(s: &Core, id: &str) -> Result<ApiKeyView, ServiceError> {
    let missing = || ServiceError::NotFound(format!("no API key '{id}'"));
    let id = Uuid::parse_str(id.trim()).map_err(|_| missing())?;
    let now = now_unix();
    let mut tx = s.db.begin().await?;
    let k = db::api_keys::by_id(&mut *tx, id).await?.ok_or_else(missing)?;
    if db::api_keys::revoke(&mut *tx, id, now).await? {
        audit(&mut tx, now, "admin", "api_key.revoke", ("api_key", id), serde_json::json!({ "name": k.name })).await?;
    }
    tx.commit().await?;
    let k = db::api_keys::by_id(&s.db.write, id).await?.ok_or_else(missing)?;
    Ok(ApiKeyView::from(&k))
}

/// Who presents a scoped key.
pub struct Principal {
    pub actor: String,
    pub scopes: Vec<Scope>,
}

/// The live scoped key behind `token`, if any (its last use recorded).
pub async fn authenticate(s: &Core, token: &str) -> Result<Option<Principal>, sqlx::Error> {
    if !token.starts_with("ksk_") {
        return Ok(None);
    }
    let Some(k) = db::api_keys::by_digest(&s.db.read, &digest(token)).await? else {
        return Ok(None);
    };
    let now = now_unix();
    if k.last_used_at.is_none_or(|t| now - t >= TOUCH_EVERY_SECONDS) {
        db::api_keys::touch(&s.db.write, k.id, now).await?;
    }
    Ok(Some(Principal { actor: format!("api-key:{}", k.name), scopes: k.scopes }))
}
