//! `/v1/admin/btcpay/*`: one-click connection (authorize link), store
//! choice, status, disconnect, and the manual fallback.

use std::sync::Arc;

use axum::extract::State;
use axum::Json;
use rand::rngs::OsRng;
use rand::RngCore;
use serde::Deserialize;
use serde_json::{json, Value};
use url::Url;

use crate::app::AppState;
use crate::config::Config;
use crate::db::{self, audit::NewAudit, payments::Connection, Db};
use crate::delivery::{operator, NoticeKind};
use crate::domain::now_unix;
use crate::http::error::ApiError;
use crate::http::extract::Json as JsonBody;
use crate::http::views::ts;
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

fn btcpay_url(given: &str) -> Result<Url, ApiError> {
    parse_base_url(given).map_err(|m| ApiError::bad_request("invalid_field", format!("btcpay_url: {m}")))
}

fn random_token() -> String {
    let mut raw = [0u8; 24];
    OsRng.fill_bytes(&mut raw);
    hex::encode(raw)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConnectBody {
    btcpay_url: String,
}

/// Starts the one-click flow: the authorize link for the operator to open.
pub async fn connect(State(s): State<AppState>, JsonBody(b): JsonBody<ConnectBody>) -> Result<Json<Value>, ApiError> {
    let base = btcpay_url(&b.btcpay_url)?;
    let token = random_token();
    let now = now_unix();
    let expires_at = now + STATE_TTL_SECONDS;
    let callback = format!("{}/v1/btcpay/connect/callback?state={token}", s.public_url);
    let mut tx = s.db.begin().await?;
    db::payments::insert_state(&mut tx, &token, base.as_str(), now, expires_at).await?;
    tx.commit().await?;
    Ok(Json(json!({
        "authorize_url": connect::authorize_url(&base, &callback).as_str(),
        "expires_at": ts(expires_at),
        "callback_url": callback,
    })))
}

/// Finishes a connection on `store`: registers Keysat's webhook with a fresh
/// secret (removing the one this connection had), stores everything, and
/// switches payments to it.
pub async fn finish_connection(
    s: &AppState,
    client: &Client,
    base_url: &str,
    api_key: &str,
    store: &Store,
    key_owner: Option<&str>,
    actor: &str,
) -> Result<Connection, ApiError> {
    let previous = db::payments::connection(&s.db.read).await?;
    if let Some(old) = previous.as_ref().filter(|c| c.api_key == api_key) {
        if let (Some(id), Some(store)) = (&old.webhook_id, &old.store_id) {
            // Best effort: a stale webhook only delivers events we ignore.
            let _ = client.delete_webhook(store, id).await;
        }
    }
    let secret = random_token();
    let base = s.config.webhook_base_url.as_deref().unwrap_or(&s.public_url);
    let webhook_url = format!("{base}/v1/btcpay/webhook");
    let webhook_id = connect::register_webhook(client, &store.id, &webhook_url, &secret).await?;
    let now = now_unix();
    let conn = Connection {
        provider: btcpay_provider::NAME.into(),
        base_url: base_url.into(),
        api_key: api_key.into(),
        store_id: Some(store.id.clone()),
        store_name: Some(store.name.clone()),
        webhook_id: Some(webhook_id.clone()),
        webhook_secret: Some(secret.clone()),
        connected_at: now,
        last_webhook_at: None,
        last_error: None,
        last_error_at: None,
        key_owner: key_owner.map(str::to_string),
    };
    let mut tx = s.db.begin().await?;
    db::payments::put_connection(&mut tx, &conn).await?;
    // Told to the operator, so a key swapped in through a leaked link is noticed.
    let text = operator::btcpay_connected_text(&store.name, &store.id, key_owner);
    operator::notify_in(&mut tx, now, NoticeKind::BtcpayConnected, &text).await?;
    db::audit::record(
        &mut tx,
        now,
        NewAudit {
            actor,
            action: "btcpay.connect",
            target_type: "btcpay",
            target_id: store.id.clone(),
            details: json!({ "btcpay_url": base_url, "store_name": store.name, "webhook_id": webhook_id,
                "key_owner": key_owner }),
        },
    )
    .await?;
    tx.commit().await?;
    s.payments.set(Some(Arc::new(Btcpay::new(client.clone(), store.id.clone(), secret))));
    Ok(conn)
}

/// A key confirmed and its stores listed, but several usable: keep the key
/// until the operator picks one.
pub async fn remember_unchosen(
    s: &AppState,
    base_url: &str,
    api_key: &str,
    key_owner: Option<&str>,
) -> Result<(), ApiError> {
    let conn = Connection {
        provider: btcpay_provider::NAME.into(),
        base_url: base_url.into(),
        api_key: api_key.into(),
        store_id: None,
        store_name: None,
        webhook_id: None,
        webhook_secret: None,
        connected_at: now_unix(),
        last_webhook_at: None,
        last_error: None,
        last_error_at: None,
        key_owner: key_owner.map(str::to_string),
    };
    let mut tx = s.db.begin().await?;
    db::payments::put_connection(&mut tx, &conn).await?;
    tx.commit().await?;
    s.payments.set(None);
    Ok(())
}

/// The stores this key can run Keysat's sales on.
pub async fn usable_stores(client: &Client) -> Result<Vec<Store>, ProviderError> {
    let key = client.current_key().await?;
    let stores = client.stores().await?;
    Ok(connect::usable_stores(&key.permissions, &stores))
}

pub async fn status(State(s): State<AppState>) -> Result<Json<Value>, ApiError> {
    let conn = db::payments::connection(&s.db.read).await?;
    let pending = db::invoices::count_pending(&s.db.read).await?;
    let r = s.payments.reconcile_state();
    let reconciliation = json!({
        "last_run_at": r.last_run_at.map(ts),
        "last_error": r.last_error,
        "last_checked": r.last_checked,
        "next_attempt_at": r.next_attempt_at.map(ts),
        "pending_invoices": pending,
    });
    if s.demo.is_some() {
        return Ok(Json(json!({
            "connected": true, "provider": "simulated", "demo": true, "btcpay_url": null, "store_id": null,
            "store_name": null, "webhook_id": null, "last_webhook_at": null, "last_error": null, "stores": [],
            "reconciliation": reconciliation,
        })));
    }
    let Some(c) = conn else {
        return Ok(Json(json!({
            "connected": false, "provider": null, "btcpay_url": null, "store_id": null, "store_name": null,
            "webhook_id": null, "last_webhook_at": null, "last_error": null, "stores": [],
            "reconciliation": reconciliation,
        })));
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
    Ok(Json(json!({
        "connected": c.store_id.is_some() && c.webhook_id.is_some(),
        "provider": c.provider,
        "btcpay_url": c.base_url,
        "store_id": c.store_id,
        "store_name": c.store_name,
        "key_owner": c.key_owner,
        "webhook_id": c.webhook_id,
        "connected_at": ts(c.connected_at),
        "last_webhook_at": c.last_webhook_at.map(ts),
        "last_error": last_error,
        "last_error_at": c.last_error_at.map(ts),
        "stores": stores,
        "reconciliation": reconciliation,
    })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreBody {
    store_id: String,
}

/// Picks the store when the key can use several.
pub async fn choose_store(
    State(s): State<AppState>,
    JsonBody(b): JsonBody<StoreBody>,
) -> Result<Json<Value>, ApiError> {
    let c = db::payments::connection(&s.db.read)
        .await?
        .ok_or_else(|| ApiError::conflict("not_connected", "connect BTCPay first (POST /v1/admin/btcpay/connect)"))?;
    let client = api_client(&s.config, &c.base_url, &c.api_key)?;
    let stores = usable_stores(&client).await?;
    let store = stores.iter().find(|st| st.id == b.store_id).ok_or_else(|| {
        ApiError::bad_request(
            "unknown_store",
            format!("store '{}' is not one this API key may sell on; choose one of the listed stores", b.store_id),
        )
    })?;
    let conn = finish_connection(&s, &client, &c.base_url, &c.api_key, store, c.key_owner.as_deref(), "admin").await?;
    Ok(Json(connected(&conn)))
}

fn connected(c: &Connection) -> Value {
    json!({ "connected": true, "btcpay_url": c.base_url, "store_id": c.store_id, "store_name": c.store_name,
            "webhook_id": c.webhook_id })
}

pub async fn disconnect(State(s): State<AppState>) -> Result<Json<Value>, ApiError> {
    let Some(c) = db::payments::connection(&s.db.read).await? else {
        return Ok(Json(json!({ "connected": false, "removed_webhook": false })));
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
    db::audit::record(
        &mut tx,
        now,
        NewAudit {
            actor: "admin",
            action: "btcpay.disconnect",
            target_type: "btcpay",
            target_id: c.store_id.clone().unwrap_or_default(),
            details: json!({ "btcpay_url": c.base_url, "removed_webhook": removed_webhook }),
        },
    )
    .await?;
    tx.commit().await?;
    if s.demo.is_none() {
        s.payments.set(None);
    }
    Ok(Json(json!({ "connected": false, "removed_webhook": removed_webhook })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManualBody {
    btcpay_url: String,
    api_key: String,
    store_id: String,
}

/// Connects with a key created by hand in BTCPay.
pub async fn manual(State(s): State<AppState>, JsonBody(b): JsonBody<ManualBody>) -> Result<Json<Value>, ApiError> {
    let base = btcpay_url(&b.btcpay_url)?;
    let api_key = b.api_key.trim();
    if api_key.is_empty() || api_key.len() > 200 || !api_key.bytes().all(|c| c.is_ascii_graphic()) {
        return Err(ApiError::bad_request("invalid_field", "api_key: must be the API key BTCPay shows (no spaces)"));
    }
    let client = api_client(&s.config, base.as_str(), api_key)?;
    let key = client.current_key().await?;
    let store = client.store(b.store_id.trim()).await?;
    if connect::usable_stores(&key.permissions, std::slice::from_ref(&store)).is_empty() {
        return Err(ApiError::bad_request(
            "insufficient_permissions",
            format!("this API key lacks one of {} on store '{}'", connect::PERMISSIONS.join(", "), store.name),
        ));
    }
    let conn = finish_connection(&s, &client, base.as_str(), api_key, &store, None, "admin").await?;
    Ok(Json(connected(&conn)))
}

/// Runs a reconciliation pass now and reports what it did.
pub async fn reconcile(State(s): State<AppState>) -> Json<crate::reconcile::Report> {
    Json(crate::reconcile::run_pass(&s, true).await)
}
