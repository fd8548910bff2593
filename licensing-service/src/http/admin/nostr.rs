//! `/v1/admin/nostr`: Keysat's Nostr identity (npub) and its relays, with
//! the state of each connection; the operator edits the relay list.

use axum::extract::State;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::app::AppState;
use crate::db::{self, audit::NewAudit};
use crate::delivery::nostr::{parse_relay, MAX_RELAYS};
use crate::domain::{now_unix, DomainError};
use crate::http::error::ApiError;
use crate::http::extract::Json as JsonBody;

async fn current(s: &AppState) -> Value {
    let relays: Vec<Value> =
        s.delivery.nostr.relay_states().await.into_iter().map(|r| json!({"url": r.url, "status": r.status})).collect();
    json!({
        "npub": s.delivery.nostr.npub(),
        "public_key_hex": s.delivery.nostr.public_key().to_hex(),
        "relays": relays,
    })
}

/// Connects the relays first (they are connected on demand), so the answer
/// shows how each stands.
pub async fn get(State(s): State<AppState>) -> Json<Value> {
    s.delivery.nostr.connect().await;
    Json(current(&s).await)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NostrBody {
    relays: Vec<String>,
}

pub async fn put(State(s): State<AppState>, JsonBody(b): JsonBody<NostrBody>) -> Result<Json<Value>, ApiError> {
    if b.relays.len() > MAX_RELAYS {
        return Err(DomainError::invalid("relays", format!("at most {MAX_RELAYS} relays")).into());
    }
    let mut urls = Vec::with_capacity(b.relays.len());
    for r in &b.relays {
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
    db::audit::record(
        &mut tx,
        now,
        NewAudit {
            actor: "admin",
            action: "nostr.relays.update",
            target_type: "settings",
            target_id: "nostr_relays".into(),
            details: json!({ "before": before, "after": names }),
        },
    )
    .await?;
    tx.commit().await?;
    s.delivery.nostr.set_relays(urls).await?;
    // Connect the new relays now, so the answer shows how they stand.
    s.delivery.nostr.connect().await;
    Ok(Json(current(&s).await))
}
