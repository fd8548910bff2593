//! The Stripe connection: the seller gives a (restricted) secret key; Keysat
//! checks it by listing the account's webhook endpoints, registers its own
//! endpoint for the events it needs (replacing one it registered before at
//! the same address) and keeps the signing secret Stripe answers with. Status
//! and disconnect as for BTCPay. The card rail runs beside the bitcoin one.

use schemars::JsonSchema;
use std::sync::Arc;

use rand::rngs::OsRng;
use rand::RngCore;
use serde::Serialize;
use serde_json::json;

use super::{audit, Core, ServiceError};
use crate::config::Config;
use crate::db::{self, stripe::Connection, Db};
use crate::domain::now_unix;
use crate::domain::time::Timestamp;
use crate::payment::stripe::client::{Client, Form, API_VERSION, CREATE_WEBHOOK};
use crate::payment::stripe::events::ENABLED_EVENTS;
use crate::payment::stripe::Stripe;
use crate::payment::ProviderError;

/// The Stripe client for a key, at `KEYSAT_STRIPE_API_URL`.
pub fn api_client(config: &Config, secret_key: &str) -> Result<Client, ProviderError> {
    Client::new(&config.stripe_api_url, secret_key)
}

/// The stored connection as the card rail, at start-up.
pub async fn provider_from_store(db: &Db, config: &Config) -> anyhow::Result<Option<Arc<Stripe>>> {
    let Some(c) = db::stripe::connection(&db.read).await? else {
        return Ok(None);
    };
    Ok(Some(Arc::new(Stripe::new(api_client(config, &c.secret_key)?, c.webhook_id, c.webhook_secret))))
}

/// A secret key as Stripe issues them: `sk_…` or, restricted, `rk_…`, test or live.
fn check_key(given: &str) -> Result<(String, bool), ServiceError> {
    let key = given.trim();
    let bad = || {
        ServiceError::bad_input(
            "invalid_field",
            "secret_key: give a Stripe secret key (sk_live_…, or a restricted key rk_live_…; test keys sk_test_…/rk_test_…)",
        )
    };
    if key.len() > 255 || !key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        return Err(bad());
    }
    let livemode = match key.get(..8) {
        Some("sk_live_" | "rk_live_") => true,
        Some("sk_test_" | "rk_test_") => false,
        _ => return Err(bad()),
    };
    if key.len() < 12 {
        return Err(bad());
    }
    Ok((key.to_string(), livemode))
}

/// Where Stripe delivers events: Keysat's public address (Stripe is on the internet).
pub fn webhook_url(s: &Core) -> String {
    format!("{}/v1/stripe/webhook", s.public_url)
}

/// What a connection made.
#[derive(Debug, Serialize, JsonSchema)]
#[schemars(rename = "StripeConnected")]
pub struct Connected {
    pub connected: bool,
    pub livemode: bool,
    pub webhook_id: String,
    pub webhook_url: String,
    pub enabled_events: Vec<&'static str>,
}

/// Checks the key, registers Keysat's webhook endpoint and switches the card rail on.
pub async fn connect(s: &Core, secret_key: &str) -> Result<Connected, ServiceError> {
    let (key, livemode) = check_key(secret_key)?;
    let client = api_client(&s.config, &key)?;
    let url = webhook_url(s);
    // Listing the endpoints proves the key works (and may manage endpoints).
    let existing = client.webhook_endpoints().await?;
    for old in existing.data.iter().filter(|e| e.url == url) {
        if let Err(e) = client.delete_webhook_endpoint(&old.id).await {
            tracing::info!(error = %e, endpoint = %old.id, "an earlier Keysat endpoint at Stripe was not removed");
        }
    }
    let mut form: Form = vec![
        ("url".into(), url.clone()),
        ("api_version".into(), API_VERSION.into()),
        ("description".into(), "Keysat: card sales, refunds and disputes".into()),
        ("metadata[keysat]".into(), "1".into()),
    ];
    form.extend(ENABLED_EVENTS.iter().enumerate().map(|(i, e)| (format!("enabled_events[{i}]"), e.to_string())));
    let created = client.create_webhook_endpoint(&form, &format!("keysat-connect-{}", random_token())).await?;
    let secret = created.secret.clone().filter(|s| !s.is_empty()).ok_or(ProviderError::Malformed {
        call: CREATE_WEBHOOK,
        message: "the new webhook endpoint has no secret".into(),
    })?;
    let now = now_unix();
    let conn = Connection {
        secret_key: key,
        livemode,
        webhook_id: created.id.clone(),
        webhook_secret: secret.clone(),
        connected_at: now,
        last_webhook_at: None,
        last_error: None,
        last_error_at: None,
    };
    let mut tx = s.db.begin().await?;
    db::stripe::put(&mut tx, &conn).await?;
    let details = json!({ "webhook_id": created.id, "webhook_url": url, "livemode": livemode });
    audit(&mut tx, now, "admin", "stripe.connect", ("stripe", &created.id), details).await?;
    tx.commit().await?;
    s.payments.set_stripe(Some(Arc::new(Stripe::new(client, created.id.clone(), secret))));
    Ok(Connected {
        connected: true,
        livemode,
        webhook_id: created.id,
        webhook_url: url,
        enabled_events: ENABLED_EVENTS.to_vec(),
    })
}

fn random_token() -> String {
    let mut raw = [0u8; 16];
    OsRng.fill_bytes(&mut raw);
    hex::encode(raw)
}

/// The connection as the operator sees it (the key is never shown).
#[derive(Debug, Serialize, JsonSchema)]
#[schemars(rename = "StripeStatus")]
pub struct Status {
    pub connected: bool,
    pub livemode: Option<bool>,
    pub webhook_id: Option<String>,
    pub webhook_url: String,
    pub connected_at: Option<Timestamp>,
    pub last_webhook_at: Option<Timestamp>,
    pub last_error: Option<String>,
    pub last_error_at: Option<Timestamp>,
    pub reconciliation: super::btcpay::Reconciliation,
}

pub async fn status(s: &Core) -> Result<Status, ServiceError> {
    let c = db::stripe::connection(&s.db.read).await?;
    let r = s.payments.card_reconcile_state();
    let reconciliation = super::btcpay::Reconciliation {
        last_run_at: r.last_run_at.map(Timestamp),
        last_error: r.last_error,
        last_checked: r.last_checked,
        next_attempt_at: r.next_attempt_at.map(Timestamp),
        pending_invoices: db::stripe::count_pending(&s.db.read).await?,
    };
    Ok(Status {
        connected: c.is_some(),
        livemode: c.as_ref().map(|c| c.livemode),
        webhook_id: c.as_ref().map(|c| c.webhook_id.clone()),
        webhook_url: webhook_url(s),
        connected_at: c.as_ref().map(|c| Timestamp(c.connected_at)),
        last_webhook_at: c.as_ref().and_then(|c| c.last_webhook_at).map(Timestamp),
        last_error: c.as_ref().and_then(|c| c.last_error.clone()),
        last_error_at: c.as_ref().and_then(|c| c.last_error_at).map(Timestamp),
        reconciliation,
    })
}

/// What a disconnect did.
#[derive(Debug, Serialize, JsonSchema)]
#[schemars(rename = "StripeDisconnected")]
pub struct Disconnected {
    pub connected: bool,
    pub removed_webhook: bool,
}

/// Forgets the key and removes Keysat's endpoint at Stripe (best effort).
pub async fn disconnect(s: &Core) -> Result<Disconnected, ServiceError> {
    let Some(c) = db::stripe::connection(&s.db.read).await? else {
        return Ok(Disconnected { connected: false, removed_webhook: false });
    };
    let removed_webhook = match api_client(&s.config, &c.secret_key) {
        Ok(client) => client.delete_webhook_endpoint(&c.webhook_id).await.is_ok(),
        Err(_) => false,
    };
    let mut tx = s.db.begin().await?;
    db::stripe::delete(&mut tx).await?;
    let details = json!({ "webhook_id": c.webhook_id, "removed_webhook": removed_webhook });
    audit(&mut tx, now_unix(), "admin", "stripe.disconnect", ("stripe", &c.webhook_id), details).await?;
    tx.commit().await?;
    s.payments.set_stripe(None);
    Ok(Disconnected { connected: false, removed_webhook })
}

#[cfg(test)]
mod tests {
    use super::check_key;

    #[test]
    fn keys_are_checked_before_stripe_is_asked() {
        assert_eq!(check_key(" sk_test_abc123 ").unwrap(), ("sk_test_abc123".to_string(), false));
        assert!(check_key("rk_live_abc123").unwrap().1);
        for bad in ["", "pk_test_abc123", "sk_test_", "sk_test_a b", "whsec_abc123", "sk_test_é12345"] {
            assert!(check_key(bad).is_err(), "{bad}");
        }
    }
}
