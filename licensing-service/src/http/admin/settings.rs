//! `/v1/admin/settings`, `/v1/admin/nostr` and `/v1/admin/stats`; thin over
//! `services::settings`.

use schemars::JsonSchema;
use std::collections::BTreeMap;
use std::sync::atomic::Ordering;

use axum::extract::State;
use axum::Json;
use serde::{Deserialize, Serialize};

use crate::db;
use crate::domain::email::SmtpInput;
use crate::domain::nullable;
use crate::http::error::ApiError;
use crate::http::extract::Json as JsonBody;
use crate::http::state::AppState;
use crate::services::settings::{self, Change, Nostr, Settings};

pub async fn get(State(s): State<AppState>) -> Result<Json<Settings>, ApiError> {
    Ok(Json(settings::current(&s.core).await?))
}

/// Absent fields keep their value; `null` clears a nullable one.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SettingsBody {
    #[serde(default, deserialize_with = "nullable")]
    operator_name: Option<Option<String>>,
    /// Where operator notices go (npub or hex).
    #[serde(default, deserialize_with = "nullable")]
    operator_npub: Option<Option<String>>,
    /// Notice kind → on/off.
    notifications: Option<BTreeMap<String, bool>>,
    /// Origins whose pages may call the public API (CORS); `[]` for none.
    cors_origins: Option<Vec<String>>,
    /// An e-mail address buyers can write to.
    #[serde(default, deserialize_with = "nullable")]
    contact_email: Option<Option<String>>,
    /// A Nostr public key buyers can write to (npub or hex).
    #[serde(default, deserialize_with = "nullable")]
    contact_npub: Option<Option<String>>,
    /// The seller's support page (http or https).
    #[serde(default, deserialize_with = "nullable")]
    support_url: Option<Option<String>>,
    /// The seller's terms of sale (http or https).
    #[serde(default, deserialize_with = "nullable")]
    terms_url: Option<Option<String>>,
    /// The refund policy shown to buyers before they pay (at most 4000 characters).
    #[serde(default, deserialize_with = "nullable")]
    refund_policy: Option<Option<String>>,
    /// The SMTP server e-mail to buyers goes through; `null` turns e-mail off.
    /// The password is write-only (left out: the stored one is kept for the same username).
    #[serde(default, deserialize_with = "nullable")]
    smtp: Option<Option<SmtpInput>>,
}

pub async fn put(State(s): State<AppState>, JsonBody(b): JsonBody<SettingsBody>) -> Result<Json<Settings>, ApiError> {
    let change = Change {
        operator_name: b.operator_name,
        operator_npub: b.operator_npub,
        notifications: b.notifications,
        cors_origins: b.cors_origins,
        contact_email: b.contact_email,
        contact_npub: b.contact_npub,
        support_url: b.support_url,
        terms_url: b.terms_url,
        refund_policy: b.refund_policy,
        smtp: b.smtp,
    };
    Ok(Json(settings::update(&s.core, change).await?))
}

pub async fn get_nostr(State(s): State<AppState>) -> Json<Nostr> {
    Json(settings::nostr(&s.core).await)
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NostrBody {
    relays: Vec<String>,
}

pub async fn put_nostr(State(s): State<AppState>, JsonBody(b): JsonBody<NostrBody>) -> Result<Json<Nostr>, ApiError> {
    Ok(Json(settings::set_relays(&s.core, &b.relays).await?))
}

/// Counters an operator (and the benchmark) can read.
#[derive(Serialize, JsonSchema)]
pub struct Stats {
    licenses: i64,
    active_machines: i64,
    validation_log_rows: i64,
    validation_events_written: u64,
    validation_events_dropped: u64,
    rate_limited_addresses_tracked: usize,
    public_connections_open: usize,
    public_connections_refused_per_address_cap: u64,
}

pub async fn stats(State(s): State<AppState>) -> Result<Json<Stats>, ApiError> {
    let (licenses, active_machines, validation_log_rows) = db::events::table_counts(&s.db.read).await?;
    let q = &s.licensing.events;
    Ok(Json(Stats {
        licenses,
        active_machines,
        validation_log_rows,
        validation_events_written: q.written.load(Ordering::Relaxed),
        validation_events_dropped: q.dropped.load(Ordering::Relaxed),
        rate_limited_addresses_tracked: s.limits.validate.tracked(),
        public_connections_open: s.connections.open(),
        public_connections_refused_per_address_cap: s.connections.refused(),
    }))
}
