//! The operator's settings: the seller's name and how buyers reach them
//! (contact, support, terms, refund policy), where operator notices go
//! (their npub) with a switch per notice kind, and Keysat's Nostr relays.
//! Every change is written with its audit record in one transaction.

use schemars::JsonSchema;
use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::json;

use super::{audit, Core, ServiceError};
use crate::db;
use crate::delivery::nostr::{parse_relay, MAX_RELAYS};
use crate::domain::email::{Security, Smtp, SmtpInput};
use crate::domain::npub::Npub;
use crate::domain::outbox::NoticeKind;
use crate::domain::seller::{self, SellerIdentity};
use crate::domain::{now_unix, optional_text, DomainError};

/// The settings as `/v1/admin/settings` shows them.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Settings {
    pub operator_name: Option<String>,
    pub public_url: String,
    pub public_key_pem: String,
    /// Where operator notices go (bech32), if set.
    pub operator_npub: Option<String>,
    /// Notice kind → on/off.
    pub notifications: BTreeMap<&'static str, bool>,
    /// Origins whose pages may call the public API (CORS), e.g. `https://shop.example`.
    pub cors_origins: Vec<String>,
    /// How buyers reach the seller, shown on every page and in every message.
    #[serde(flatten)]
    pub seller: SellerIdentity,
    /// The SMTP server e-mail to buyers goes through; `null`: e-mail is off.
    pub smtp: Option<SmtpView>,
}

/// The SMTP settings as shown: the password never, only whether one is set.
#[derive(Debug, Serialize, JsonSchema, PartialEq)]
pub struct SmtpView {
    pub host: String,
    pub port: u16,
    pub security: Security,
    pub username: Option<String>,
    pub password_set: bool,
    pub from: String,
}

impl From<&Smtp> for SmtpView {
    fn from(s: &Smtp) -> SmtpView {
        SmtpView {
            host: s.host.clone(),
            port: s.port,
            security: s.security,
            username: s.username.clone(),
            password_set: s.password.is_some(),
            from: s.from.clone(),
        }
    }
}

pub async fn current(s: &Core) -> Result<Settings, ServiceError> {
    let mut conn = s.db.read.acquire().await?;
    let npub = db::nostr::operator_npub(&mut *conn).await?;
    Ok(Settings {
        operator_name: s.operator_name(),
        public_url: s.public_url.to_string(),
        public_key_pem: s.public_key_pem.to_string(),
        operator_npub: bech32(npub),
        notifications: switches(&mut conn).await?,
        cors_origins: s.cors_origins.list(),
        seller: s.delivery.seller(),
        smtp: db::email::smtp(&mut *conn).await?.as_ref().map(Into::into),
    })
}

fn bech32(hex: Option<String>) -> Option<String> {
    hex.and_then(|h| Npub::parse(&h).ok()).map(|n| n.to_bech32())
}

async fn switches(conn: &mut sqlx::SqliteConnection) -> Result<BTreeMap<&'static str, bool>, sqlx::Error> {
    let mut out = BTreeMap::new();
    for kind in NoticeKind::ALL {
        out.insert(kind.as_str(), db::nostr::notice_enabled(&mut *conn, kind).await?);
    }
    Ok(out)
}

/// A change: absent fields keep their value; `Some(None)` clears a nullable one.
#[derive(Debug, Default)]
pub struct Change {
    pub operator_name: Option<Option<String>>,
    /// npub or hex.
    pub operator_npub: Option<Option<String>>,
    pub notifications: Option<BTreeMap<String, bool>>,
    pub cors_origins: Option<Vec<String>>,
    pub contact_email: Option<Option<String>>,
    pub contact_npub: Option<Option<String>>,
    pub support_url: Option<Option<String>>,
    pub terms_url: Option<Option<String>>,
    pub refund_policy: Option<Option<String>>,
    /// `Some(None)` turns e-mail off. A password left out keeps the stored
    /// one when the username is unchanged.
    pub smtp: Option<Option<SmtpInput>>,
}

impl Change {
    /// The seller's identity after this change, checked; `None` when the
    /// change does not touch it.
    fn seller(&self, before: &SellerIdentity) -> Result<Option<SellerIdentity>, DomainError> {
        if self.contact_email.is_none()
            && self.contact_npub.is_none()
            && self.support_url.is_none()
            && self.terms_url.is_none()
            && self.refund_policy.is_none()
        {
            return Ok(None);
        }
        let mut after = before.clone();
        if let Some(v) = &self.contact_email {
            after.contact_email = seller::contact_email(v.clone())?;
        }
        if let Some(v) = &self.contact_npub {
            after.contact_npub = seller::contact_npub(v.clone())?;
        }
        if let Some(v) = &self.support_url {
            after.support_url = seller::web_url("support_url", v.clone())?;
        }
        if let Some(v) = &self.terms_url {
            after.terms_url = seller::web_url("terms_url", v.clone())?;
        }
        if let Some(v) = &self.refund_policy {
            after.refund_policy = seller::refund_policy(v.clone())?;
        }
        Ok(Some(after))
    }
}

/// Stores the seller's identity, audited with what it was.
async fn write_seller(
    tx: &mut db::Tx,
    now: i64,
    before: &SellerIdentity,
    after: &SellerIdentity,
) -> Result<(), ServiceError> {
    let value = serde_json::to_string(after).map_err(anyhow::Error::from)?;
    db::settings::set(&mut **tx, db::settings::SELLER_IDENTITY, &value).await?;
    let details = json!({ "before": before, "after": after });
    audit(tx, now, "admin", "settings.update", ("settings", "seller_identity"), details).await?;
    Ok(())
}

/// Stores where operator notices go (`None`: nowhere), audited.
async fn write_operator_npub(tx: &mut db::Tx, now: i64, npub: Option<Npub>) -> Result<(), ServiceError> {
    let before = db::nostr::operator_npub(&mut **tx).await?;
    match &npub {
        Some(n) => db::settings::set(&mut **tx, db::nostr::OPERATOR_NPUB, &n.to_hex()).await?,
        None => db::settings::delete(&mut **tx, db::nostr::OPERATOR_NPUB).await?,
    }
    let details = json!({"before": bech32(before), "after": npub.map(|n| n.to_bech32())});
    audit(tx, now, "admin", "settings.update", ("settings", "operator_npub"), details).await?;
    Ok(())
}

/// Stores the SMTP settings (`None`: e-mail off), audited without the password.
async fn write_smtp(tx: &mut db::Tx, now: i64, smtp: Option<&Smtp>) -> Result<(), ServiceError> {
    let before = db::email::smtp(&mut **tx).await?;
    db::email::set_smtp(&mut **tx, smtp).await?;
    let view = |s: Option<&Smtp>| s.map(SmtpView::from);
    let details = json!({ "before": view(before.as_ref()), "after": view(smtp) });
    audit(tx, now, "admin", "settings.update", ("settings", "smtp"), details).await?;
    Ok(())
}

/// Checks the whole change first; nothing is written if any part is invalid.
/// A change of the operator's npub is bracketed for `db.operator` (marked
/// changing before, read again after), so notices never miss it.
pub async fn update(s: &Core, change: Change) -> Result<Settings, ServiceError> {
    let npub_changes = change.operator_npub.is_some();
    if npub_changes {
        s.db.operator.changing();
    }
    let done = write(s, change).await;
    if npub_changes {
        if let Err(e) = s.db.operator.refresh(&s.db.read).await {
            // Left "changing": every notice looks the setting up meanwhile.
            tracing::warn!(error = %e, "could not read the operator npub again");
        }
    }
    done
}

async fn write(s: &Core, change: Change) -> Result<Settings, ServiceError> {
    let seller_before = s.delivery.seller();
    let seller = change.seller(&seller_before)?;
    let name = change.operator_name.map(|n| optional_text("operator_name", n, 120)).transpose()?;
    let npub = change.operator_npub.map(parse_npub).transpose()?;
    let kinds = change.notifications.as_ref().map(parse_switches).transpose()?;
    let cors = change.cors_origins.as_deref().map(crate::domain::origin::parse_list).transpose()?;
    let stored_smtp = db::email::smtp(&s.db.read).await?;
    let smtp = change
        .smtp
        .map(|given| given.map(|i| keep_password(i, stored_smtp.as_ref()).check()).transpose())
        .transpose()?;
    let now = now_unix();
    let mut tx = s.db.begin().await?;
    if let Some(after) = &seller {
        write_seller(&mut tx, now, &seller_before, after).await?;
    }
    if let Some(smtp) = &smtp {
        write_smtp(&mut tx, now, smtp.as_ref()).await?;
    }
    if let Some(name) = &name {
        match name {
            Some(n) => db::settings::set(&mut *tx, db::settings::OPERATOR_NAME, n).await?,
            None => db::settings::delete(&mut *tx, db::settings::OPERATOR_NAME).await?,
        }
        audit(
            &mut tx,
            now,
            "admin",
            "settings.update",
            ("settings", "operator_name"),
            json!({ "before": s.operator_name(), "after": name }),
        )
        .await?;
    }
    if let Some(npub) = npub {
        write_operator_npub(&mut tx, now, npub).await?;
    }
    if let Some(kinds) = kinds {
        let before = switches(&mut tx).await?;
        for (kind, on) in kinds {
            db::nostr::set_notice_enabled(&mut *tx, kind, on).await?;
        }
        let after = switches(&mut tx).await?;
        audit(
            &mut tx,
            now,
            "admin",
            "settings.update",
            ("settings", "notifications"),
            json!({"before": before, "after": after}),
        )
        .await?;
    }
    let cors = match cors {
        Some(list) => Some(super::cors::store(&mut tx, now, s.cors_origins.list(), &list).await?),
        None => None,
    };
    tx.commit().await?;
    if let Some(name) = name {
        s.delivery.set_operator_name(name);
    }
    if let Some(list) = cors {
        s.cors_origins.replace(list);
    }
    if let Some(after) = seller {
        s.delivery.set_seller(after);
    }
    current(s).await
}

/// A password left out keeps the stored one for the same username.
fn keep_password(mut given: SmtpInput, stored: Option<&Smtp>) -> SmtpInput {
    if given.password.is_none() {
        if let Some(stored) = stored.filter(|s| s.username.is_some() && s.username == given.username) {
            given.password = stored.password.clone();
        }
    }
    given
}

fn parse_npub(given: Option<String>) -> Result<Option<Npub>, DomainError> {
    optional_text("operator_npub", given, 100)?
        .map(|n| {
            Npub::parse(&n).map_err(|_| {
                DomainError::invalid("operator_npub", format!("'{n}' is not an npub or a 64-character hex key"))
            })
        })
        .transpose()
}

fn parse_switches(given: &BTreeMap<String, bool>) -> Result<Vec<(NoticeKind, bool)>, DomainError> {
    given
        .iter()
        .map(|(name, on)| {
            let kind = NoticeKind::parse(name).ok_or_else(|| {
                let known: Vec<&str> = NoticeKind::ALL.iter().map(|k| k.as_str()).collect();
                DomainError::invalid("notifications", format!("'{name}' is not one of {}", known.join(", ")))
            })?;
            Ok((kind, *on))
        })
        .collect()
}

/// Keysat's Nostr identity and its relays, with how each connection stands.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Nostr {
    pub npub: String,
    pub public_key_hex: String,
    pub relays: Vec<Relay>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct Relay {
    pub url: String,
    pub status: &'static str,
}

/// Connects the relays first (they are connected on demand), so the answer
/// shows how each stands.
pub async fn nostr(s: &Core) -> Nostr {
    let n = &s.delivery.nostr;
    n.connect().await;
    let relays = n.relay_states().await.into_iter().map(|r| Relay { url: r.url, status: r.status }).collect();
    Nostr { npub: n.npub(), public_key_hex: n.public_key().to_hex(), relays }
}

/// Replaces the relay list (duplicates dropped) and connects the new relays.
pub async fn set_relays(s: &Core, given: &[String]) -> Result<Nostr, ServiceError> {
    if given.len() > MAX_RELAYS {
        return Err(DomainError::invalid("relays", format!("at most {MAX_RELAYS} relays")).into());
    }
    let mut urls = Vec::with_capacity(given.len());
    for r in given {
        let url = parse_relay(r).map_err(|m| DomainError::invalid("relays", m))?;
        if !urls.contains(&url) {
            urls.push(url);
        }
    }
    let names: Vec<String> = urls.iter().map(|u| u.to_string()).collect();
    let now = now_unix();
    let mut tx = s.db.begin().await?;
    let before = db::nostr::relays(&mut *tx).await?.unwrap_or_default();
    db::nostr::set_relays(&mut *tx, &names).await?;
    let details = json!({ "before": before, "after": names });
    audit(&mut tx, now, "admin", "nostr.relays.update", ("settings", "nostr_relays"), details).await?;
    tx.commit().await?;
    s.delivery.nostr.set_relays(urls).await?;
    Ok(nostr(s).await)
}
