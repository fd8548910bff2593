//! The operator's Nostr settings, part of `/v1/admin/settings`: their npub
//! (where notices go) and a switch per notice kind.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use crate::db::{self, audit::NewAudit, Tx};
use crate::domain::npub::Npub;
use crate::domain::outbox::NoticeKind;
use crate::domain::{optional_text, DomainError};
use crate::http::error::ApiError;

/// The settings' current values, as `/v1/admin/settings` shows them.
pub async fn current(pool: &sqlx::SqlitePool) -> Result<Value, sqlx::Error> {
    let mut conn = pool.acquire().await?;
    let npub = db::nostr::operator_npub(&mut *conn).await?;
    let npub = npub.and_then(|h| Npub::parse(&h).ok()).map(|n| n.to_bech32());
    Ok(json!({ "operator_npub": npub, "notifications": switches(&mut conn).await? }))
}

async fn switches(conn: &mut sqlx::SqliteConnection) -> Result<Value, sqlx::Error> {
    let mut out = serde_json::Map::new();
    for kind in NoticeKind::ALL {
        out.insert(kind.as_str().into(), json!(db::nostr::notice_enabled(&mut *conn, kind).await?));
    }
    Ok(Value::Object(out))
}

/// Sets the npub (`Some(None)` clears it) and the switches given, each with
/// an audit record, inside the settings transaction.
pub async fn apply(
    tx: &mut Tx,
    now: i64,
    npub: Option<Option<String>>,
    notifications: Option<BTreeMap<String, bool>>,
) -> Result<(), ApiError> {
    if let Some(npub) = npub {
        let parsed = optional_text("operator_npub", npub, 100)?
            .map(|n| {
                Npub::parse(&n).map_err(|_| {
                    DomainError::invalid("operator_npub", format!("'{n}' is not an npub or a 64-character hex key"))
                })
            })
            .transpose()?;
        let before = db::nostr::operator_npub(&mut **tx).await?;
        match &parsed {
            Some(n) => db::settings::set(&mut **tx, db::nostr::OPERATOR_NPUB, &n.to_hex()).await?,
            None => db::settings::delete(&mut **tx, db::nostr::OPERATOR_NPUB).await?,
        }
        let show = |hex: Option<String>| hex.and_then(|h| Npub::parse(&h).ok()).map(|n| n.to_bech32());
        record(tx, now, "operator_npub", json!({"before": show(before), "after": parsed.map(|n| n.to_bech32())}))
            .await?;
    }
    if let Some(switches_given) = notifications {
        let mut kinds = Vec::with_capacity(switches_given.len());
        for (name, on) in &switches_given {
            let kind = NoticeKind::parse(name).ok_or_else(|| {
                let known: Vec<&str> = NoticeKind::ALL.iter().map(|k| k.as_str()).collect();
                DomainError::invalid("notifications", format!("'{name}' is not one of {}", known.join(", ")))
            })?;
            kinds.push((kind, *on));
        }
        let before = switches(tx).await?;
        for (kind, on) in kinds {
            db::nostr::set_notice_enabled(&mut **tx, kind, on).await?;
        }
        let after = switches(tx).await?;
        record(tx, now, "notifications", json!({"before": before, "after": after})).await?;
    }
    Ok(())
}

async fn record(tx: &mut Tx, now: i64, what: &str, details: Value) -> Result<(), sqlx::Error> {
    db::audit::record(
        tx,
        now,
        NewAudit {
            actor: "admin",
            action: "settings.update",
            target_type: "settings",
            target_id: what.into(),
            details,
        },
    )
    .await
}
