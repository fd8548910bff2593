//! The BTCPay connection: the one-click authorize flow (link, callback),
//! the manual fallback, the store choice, status and disconnect. Each
//! change is stored with its audit record and, when payments switch, the
//! running provider is replaced.

use schemars::JsonSchema;
use std::sync::Arc;

use rand::rngs::OsRng;
use rand::RngCore;
use serde::Serialize;
use serde_json::json;
use url::Url;

use super::{audit, Core, ServiceError};
use crate::config::Config;
use crate::db::{self, payments::Connection, Db};
use crate::delivery::{operator, NoticeKind};
use crate::domain::now_unix;
use crate::domain::time::Timestamp;
use crate::payment::btcpay::client::{Client, Store};
use crate::payment::btcpay::connect::{self, parse_base_url};
use crate::payment::btcpay::{self as btcpay_provider, Btcpay};
use crate::payment::{PaymentProvider, ProviderError};

/// How long an authorize link stays usable.
const STATE_TTL_SECONDS: i64 = 30 * 60;

/// The Greenfield client for a connection: the API is called at
/// `KEYSAT_BTCPAY_URL` when set (an address only Keysat uses), else at the
/// address the operator gave.
pub fn api_client(config: &Config, base_url: &str, api_key: &str) -> Result<Client, ProviderError> {
    let base = match &config.btcpay_url {
        Some(u) => u.clone(),
        None => Url::parse(base_url).map_err(|e| ProviderError::Config(format!("stored BTCPay address: {e}")))?,
    };
    Client::new(&base, api_key)
}

fn provider_for(config: &Config, c: &Connection) -> Result<Option<Btcpay>, ProviderError> {
    match (&c.store_id, &c.webhook_secret) {
        (Some(store), Some(secret)) => {
            Ok(Some(Btcpay::new(api_client(config, &c.base_url, &c.api_key)?, store.clone(), secret.clone())))
        }
        _ => Ok(None),
    }
}

/// The stored connection as a provider, at start-up.
pub async fn provider_from_store(db: &Db, config: &Config) -> anyhow::Result<Option<Arc<dyn PaymentProvider>>> {
    let Some(c) = db::payments::connection(&db.read).await? else {
        return Ok(None);
    };
    Ok(provider_for(config, &c)?.map(|p| Arc::new(p) as Arc<dyn PaymentProvider>))
}

fn btcpay_url(given: &str) -> Result<Url, ServiceError> {
    parse_base_url(given).map_err(|m| ServiceError::bad_input("invalid_field", format!("btcpay_url: {m}")))
}

fn random_token() -> String {
    let mut raw = [0u8; 24];
    OsRng.fill_bytes(&mut raw);
    hex::encode(raw)
}

/// The link the operator opens to approve Keysat in BTCPay.
#[derive(Debug, Serialize, JsonSchema)]
pub struct AuthorizeLink {
    pub authorize_url: String,
    pub expires_at: Timestamp,
    pub callback_url: String,
}

/// Starts the one-click flow for the BTCPay at `btcpay_url`.
pub async fn begin(s: &Core, btcpay_url_given: &str) -> Result<AuthorizeLink, ServiceError> {
    let base = btcpay_url(btcpay_url_given)?;
    let token = random_token();
    let now = now_unix();
    let expires_at = now + STATE_TTL_SECONDS;
    let callback = format!("{}/v1/btcpay/connect/callback?state={token}", s.public_url);
    let mut tx = s.db.begin().await?;
    db::payments::insert_state(&mut tx, &token, base.as_str(), now, expires_at).await?;
    tx.commit().await?;
    Ok(AuthorizeLink {
        authorize_url: connect::authorize_url(&base, &callback).to_string(),
        expires_at: Timestamp(expires_at),
        callback_url: callback,
    })
}

/// What BTCPay's authorize page handed back.
pub struct Grant {
    pub api_key: String,
    /// The BTCPay user who approved the key.
    pub user_id: Option<String>,
}

/// How an authorization ended.
pub enum Authorized {
    /// The link was unknown, expired or already used.
    StaleLink,
    /// Connected to the one store the key can sell on.
    Connected(Store),
    /// The key can sell on several stores; the operator must pick one.
    ChooseStore(Vec<Store>),
}

/// BTCPay's callback: takes the one-use link token, confirms the key, finds
/// the store and registers the webhook.
pub async fn complete(s: &Core, token: &str, grant: &Grant) -> Result<Authorized, ServiceError> {
    let mut tx = s.db.begin().await?;
    let base_url = db::payments::take_state(&mut tx, token, now_unix()).await?;
    tx.commit().await?;
    let Some(base_url) = base_url else {
        return Ok(Authorized::StaleLink);
    };
    let (api_key, owner) = (grant.api_key.as_str(), grant.user_id.as_deref());
    let client = api_client(&s.config, &base_url, api_key)?;
    let mut stores = usable_stores(&client).await?;
    match stores.len() {
        0 => Err(ServiceError::bad_input(
            "no_usable_store",
            "The key BTCPay created does not allow Keysat to sell on any store. Try again and select a store.",
        )),
        1 => {
            let store = stores.remove(0);
            finish_connection(s, &client, &base_url, api_key, &store, owner, "btcpay-authorize").await?;
            Ok(Authorized::Connected(store))
        }
        _ => {
            remember_unchosen(s, &base_url, api_key, owner).await?;
            Ok(Authorized::ChooseStore(stores))
        }
    }
}

/// Finishes a connection on `store`: registers Keysat's webhook with a fresh
/// secret (removing the one this connection had), stores everything, and
/// switches payments to it.
async fn finish_connection(
    s: &Core,
    client: &Client,
    base_url: &str,
    api_key: &str,
    store: &Store,
    key_owner: Option<&str>,
    actor: &str,
) -> Result<Connection, ServiceError> {
    let previous = db::payments::connection(&s.db.read).await?;
    if let Some(old) = previous.as_ref().filter(|c| c.api_key == api_key) {
        if let (Some(id), Some(store)) = (&old.webhook_id, &old.store_id) {
            // Best effort: a stale webhook only delivers events we ignore.
            if let Err(e) = client.delete_webhook(store, id).await {
                tracing::info!(error = %e, webhook = %id, "the previous BTCPay webhook was not removed");
            }
        }
    }
    // What the key may do, kept to tell the operator when refunds need a reconnect.
    let permissions = client.current_key().await?.permissions;
    let secret = random_token();
    let base = s.config.webhook_base_url.as_deref().unwrap_or(&s.public_url);
    let webhook_url = format!("{base}/v1/btcpay/webhook");
    let webhook_id = connect::register_webhook(client, &store.id, &webhook_url, &secret).await?;
    let now = now_unix();
    let conn = Connection {
        store_id: Some(store.id.clone()),
        store_name: Some(store.name.clone()),
        webhook_id: Some(webhook_id.clone()),
        webhook_secret: Some(secret.clone()),
        permissions: Some(serde_json::to_string(&permissions).map_err(anyhow::Error::from)?),
        ..unchosen(base_url, api_key, key_owner, now)
    };
    let mut tx = s.db.begin().await?;
    db::payments::put_connection(&mut tx, &conn).await?;
    // Told to the operator, so a key swapped in through a leaked link is noticed.
    let text = operator::btcpay_connected_text(&store.name, &store.id, key_owner);
    operator::notify_in(&mut tx, &s.db.operator, now, NoticeKind::BtcpayConnected, &text).await?;
    let details = json!({ "btcpay_url": base_url, "store_name": store.name, "webhook_id": webhook_id,
        "key_owner": key_owner });
    audit(&mut tx, now, actor, "btcpay.connect", ("btcpay", &store.id), details).await?;
    tx.commit().await?;
    s.payments.set(Some(Arc::new(Btcpay::new(client.clone(), store.id.clone(), secret))));
    Ok(conn)
}

/// A connection whose store is not chosen yet.
fn unchosen(base_url: &str, api_key: &str, key_owner: Option<&str>, now: i64) -> Connection {
    Connection {
        provider: btcpay_provider::NAME.into(),
        base_url: base_url.into(),
        api_key: api_key.into(),
        store_id: None,
        store_name: None,
        webhook_id: None,
        webhook_secret: None,
        connected_at: now,
        last_webhook_at: None,
        last_error: None,
        last_error_at: None,
        key_owner: key_owner.map(str::to_string),
        permissions: None,
    }
}

/// A key confirmed and its stores listed, but several usable: keep the key
/// until the operator picks one.
async fn remember_unchosen(
    s: &Core,
    base_url: &str,
    api_key: &str,
    key_owner: Option<&str>,
) -> Result<(), ServiceError> {
    let conn = unchosen(base_url, api_key, key_owner, now_unix());
    let mut tx = s.db.begin().await?;
    db::payments::put_connection(&mut tx, &conn).await?;
    tx.commit().await?;
    s.payments.set(None);
    Ok(())
}

/// The stores this key can run Keysat's sales on.
async fn usable_stores(client: &Client) -> Result<Vec<Store>, ProviderError> {
    let key = client.current_key().await?;
    let stores = client.stores().await?;
    Ok(connect::usable_stores(&key.permissions, &stores))
}

/// Reconciliation as the operator sees it.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Reconciliation {
    pub last_run_at: Option<Timestamp>,
    pub last_error: Option<String>,
    pub last_checked: u64,
    pub next_attempt_at: Option<Timestamp>,
    pub pending_invoices: i64,
}

/// The connection as the operator sees it (the API key is never shown).
#[derive(Debug, Serialize, JsonSchema)]
pub struct Status {
    pub connected: bool,
    pub provider: Option<String>,
    /// Present (true) only in demo mode.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub demo: bool,
    pub btcpay_url: Option<String>,
    pub store_id: Option<String>,
    pub store_name: Option<String>,
    pub key_owner: Option<String>,
    pub webhook_id: Option<String>,
    pub connected_at: Option<Timestamp>,
    pub last_webhook_at: Option<Timestamp>,
    pub last_error: Option<String>,
    pub last_error_at: Option<Timestamp>,
    /// While the operator has to choose: the stores the key can use.
    pub stores: Vec<Store>,
    /// The key may create pull payments, which refunds are.
    pub refunds_enabled: bool,
    /// What the operator should do (reconnect for refunds).
    pub warnings: Vec<String>,
    pub reconciliation: Reconciliation,
}

pub async fn status(s: &Core) -> Result<Status, ServiceError> {
    let conn = db::payments::connection(&s.db.read).await?;
    let r = s.payments.reconcile_state();
    let reconciliation = Reconciliation {
        last_run_at: r.last_run_at.map(Timestamp),
        last_error: r.last_error,
        last_checked: r.last_checked,
        next_attempt_at: r.next_attempt_at.map(Timestamp),
        pending_invoices: db::invoices::count_pending(&s.db.read).await?,
    };
    let none = Status {
        connected: false,
        provider: None,
        demo: false,
        btcpay_url: None,
        store_id: None,
        store_name: None,
        key_owner: None,
        webhook_id: None,
        connected_at: None,
        last_webhook_at: None,
        last_error: None,
        last_error_at: None,
        stores: Vec::new(),
        refunds_enabled: false,
        warnings: Vec::new(),
        reconciliation,
    };
    if s.demo.is_some() {
        return Ok(Status { connected: true, provider: Some("simulated".into()), demo: true, ..none });
    }
    let Some(c) = conn else {
        return Ok(none);
    };
    // While the operator has to choose, list the stores the key can use.
    let mut stores = Vec::new();
    let mut last_error = c.last_error.clone();
    if c.store_id.is_none() {
        match api_client(&s.config, &c.base_url, &c.api_key) {
            Ok(client) => match usable_stores(&client).await {
                Ok(found) => stores = found,
                Err(e) => last_error = Some(e.to_string()),
            },
            Err(e) => last_error = Some(e.to_string()),
        }
    }
    let granted: Vec<String> = c.permissions.as_deref().and_then(|p| serde_json::from_str(p).ok()).unwrap_or_default();
    let refunds_enabled = c.store_id.as_deref().is_some_and(|st| connect::can_refund(&granted, st));
    let mut warnings = Vec::new();
    if c.store_id.is_some() && !refunds_enabled {
        warnings.push(format!(
            "Refunds need the permission {}: reconnect BTCPay (the \"Connect BTCPay\" action) to grant it.",
            connect::REFUND_PERMISSION
        ));
    }
    Ok(Status {
        refunds_enabled,
        warnings,
        connected: c.store_id.is_some() && c.webhook_id.is_some(),
        provider: Some(c.provider),
        btcpay_url: Some(c.base_url),
        store_id: c.store_id,
        store_name: c.store_name,
        key_owner: c.key_owner,
        webhook_id: c.webhook_id,
        connected_at: Some(Timestamp(c.connected_at)),
        last_webhook_at: c.last_webhook_at.map(Timestamp),
        last_error,
        last_error_at: c.last_error_at.map(Timestamp),
        stores,
        ..none
    })
}

/// A connection just made.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Connected {
    pub connected: bool,
    pub btcpay_url: String,
    pub store_id: Option<String>,
    pub store_name: Option<String>,
    pub webhook_id: Option<String>,
}

impl From<Connection> for Connected {
    fn from(c: Connection) -> Connected {
        Connected {
            connected: true,
            btcpay_url: c.base_url,
            store_id: c.store_id,
            store_name: c.store_name,
            webhook_id: c.webhook_id,
        }
    }
}

/// Picks the store when the key can use several.
pub async fn choose_store(s: &Core, store_id: &str) -> Result<Connected, ServiceError> {
    let c = db::payments::connection(&s.db.read).await?.ok_or_else(|| {
        ServiceError::Domain(crate::domain::DomainError::conflict(
            "not_connected",
            "connect BTCPay first (POST /v1/admin/btcpay/connect)",
        ))
    })?;
    let client = api_client(&s.config, &c.base_url, &c.api_key)?;
    let stores = usable_stores(&client).await?;
    let store = stores.iter().find(|st| st.id == store_id).ok_or_else(|| {
        ServiceError::bad_input(
            "unknown_store",
            format!("store '{store_id}' is not one this API key may sell on; choose one of the listed stores"),
        )
    })?;
    let conn = finish_connection(s, &client, &c.base_url, &c.api_key, store, c.key_owner.as_deref(), "admin").await?;
    Ok(conn.into())
}

/// What a disconnect did.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Disconnected {
    pub connected: bool,
    pub removed_webhook: bool,
}

pub async fn disconnect(s: &Core) -> Result<Disconnected, ServiceError> {
    let Some(c) = db::payments::connection(&s.db.read).await? else {
        return Ok(Disconnected { connected: false, removed_webhook: false });
    };
    let mut removed_webhook = false;
    if let (Some(id), Some(store), Ok(client)) =
        (&c.webhook_id, &c.store_id, api_client(&s.config, &c.base_url, &c.api_key))
    {
        removed_webhook = client.delete_webhook(store, id).await.is_ok();
    }
    let now = now_unix();
    let mut tx = s.db.begin().await?;
    db::payments::delete_connection(&mut tx).await?;
    let details = json!({ "btcpay_url": c.base_url, "removed_webhook": removed_webhook });
    audit(&mut tx, now, "admin", "btcpay.disconnect", ("btcpay", c.store_id.as_deref().unwrap_or_default()), details)
        .await?;
    tx.commit().await?;
    if s.demo.is_none() {
        s.payments.set(None);
    }
    Ok(Disconnected { connected: false, removed_webhook })
}

/// Connects with a key created by hand in BTCPay.
pub async fn manual(
    s: &Core,
    btcpay_url_given: &str,
    api_key: &str,
    store_id: &str,
) -> Result<Connected, ServiceError> {
    let base = btcpay_url(btcpay_url_given)?;
    let api_key = api_key.trim();
    if api_key.is_empty() || api_key.len() > 200 || !api_key.bytes().all(|c| c.is_ascii_graphic()) {
        return Err(ServiceError::bad_input("invalid_field", "api_key: must be the API key BTCPay shows (no spaces)"));
    }
    let client = api_client(&s.config, base.as_str(), api_key)?;
    let key = client.current_key().await?;
    let store = client.store(store_id.trim()).await?;
    if connect::usable_stores(&key.permissions, std::slice::from_ref(&store)).is_empty() {
        return Err(ServiceError::bad_input(
            "insufficient_permissions",
            format!("this API key lacks one of {} on store '{}'", connect::PERMISSIONS.join(", "), store.name),
        ));
    }
    let conn = finish_connection(s, &client, base.as_str(), api_key, &store, None, "admin").await?;
    Ok(conn.into())
}
