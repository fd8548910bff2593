//! `/v1/admin/webhook-endpoints` (where events go; the secret is shown once)
//! and `/v1/admin/webhook-deliveries` (the delivery log, manual redeliver).

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::db::outbox::{Attempt, Delivery, DeliveryFilter};
use crate::db::webhooks::Endpoint;
use crate::db::{self, audit::NewAudit};
use crate::delivery::webhooks::{new_secret, redeliver};
use crate::domain::outbox::EventFilter;
use crate::domain::{now_unix, nullable, optional_text, DomainError};
use crate::http::error::ApiError;
use crate::http::extract::Json as JsonBody;
use crate::http::state::AppState;
use crate::http::views::{ts, ts_or_null};

const URL_MAX: usize = 2000;

/// An http(s) address with a host.
fn parse_url(raw: &str) -> Result<String, DomainError> {
    let raw = raw.trim();
    let bad = |why: &str| DomainError::invalid("url", format!("'{raw}' {why}"));
    if raw.len() > URL_MAX {
        return Err(DomainError::invalid("url", format!("must be at most {URL_MAX} characters")));
    }
    let url = reqwest::Url::parse(raw).map_err(|_| bad("is not a URL"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(bad("must start with https:// or http://"));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(bad("has no host"));
    }
    Ok(url.to_string())
}

fn endpoint_view(e: &Endpoint) -> Value {
    json!({
        "id": e.id,
        "url": e.url,
        "description": e.description,
        "events": e.events,
        "active": e.active,
        "created_at": ts(e.created_at),
        "updated_at": ts(e.updated_at),
    })
}

fn endpoint_with_secret(e: &Endpoint) -> Value {
    let mut v = endpoint_view(e);
    v["secret"] = json!(e.secret);
    v["secret_note"] = json!("shown only now: store it to verify the Keysat-Signature header");
    v
}

async fn audit(tx: &mut db::Tx, action: &'static str, id: &str, details: Value) -> Result<(), sqlx::Error> {
    db::audit::record(
        tx,
        now_unix(),
        NewAudit { actor: "admin", action, target_type: "webhook_endpoint", target_id: id.to_string(), details },
    )
    .await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateBody {
    url: String,
    events: Vec<String>,
    description: Option<String>,
    active: Option<bool>,
}

pub async fn create(
    State(s): State<AppState>,
    JsonBody(b): JsonBody<CreateBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let url = parse_url(&b.url)?;
    let events = EventFilter::parse(&b.events)?;
    let now = now_unix();
    let e = Endpoint {
        id: Uuid::new_v4(),
        url,
        description: optional_text("description", b.description, 500)?,
        events: events.names().into_iter().map(String::from).collect(),
        secret: new_secret(),
        active: b.active.unwrap_or(true),
        created_at: now,
        updated_at: now,
    };
    let mut tx = s.db.begin().await?;
    db::webhooks::insert(&mut tx, &e).await?;
    audit(&mut tx, "webhook_endpoint.create", &e.id.to_string(), json!({"url": e.url, "events": e.events})).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(endpoint_with_secret(&e))))
}

async fn with_counts(s: &AppState, e: &Endpoint) -> Result<Value, ApiError> {
    let (pending, delivered, dead) = db::webhooks::delivery_counts(&s.db.read, e.id).await?;
    let mut v = endpoint_view(e);
    v["deliveries"] = json!({"pending": pending, "delivered": delivered, "dead": dead});
    Ok(v)
}

pub async fn list(State(s): State<AppState>) -> Result<Json<Value>, ApiError> {
    let mut out = Vec::new();
    for e in db::webhooks::list(&s.db.read).await? {
        out.push(with_counts(&s, &e).await?);
    }
    Ok(Json(json!({ "endpoints": out })))
}

fn parse_id(id: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(id).map_err(|_| ApiError::not_found(format!("no webhook endpoint '{id}'")))
}

async fn find(s: &AppState, id: &str) -> Result<Endpoint, ApiError> {
    let uuid = parse_id(id)?;
    db::webhooks::by_id(&s.db.read, uuid)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no webhook endpoint '{id}'")))
}

pub async fn get(State(s): State<AppState>, Path(id): Path<String>) -> Result<Json<Value>, ApiError> {
    let e = find(&s, &id).await?;
    Ok(Json(with_counts(&s, &e).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PatchBody {
    url: Option<String>,
    events: Option<Vec<String>>,
    #[serde(default, deserialize_with = "nullable")]
    description: Option<Option<String>>,
    active: Option<bool>,
    /// Replaces the secret; the answer shows the new one, once.
    #[serde(default)]
    rotate_secret: bool,
}

pub async fn patch(
    State(s): State<AppState>,
    Path(id): Path<String>,
    JsonBody(b): JsonBody<PatchBody>,
) -> Result<Json<Value>, ApiError> {
    let uuid = parse_id(&id)?;
    let mut tx = s.db.begin().await?;
    let before = db::webhooks::by_id(&mut *tx, uuid)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no webhook endpoint '{id}'")))?;
    let mut e = before.clone();
    if let Some(u) = &b.url {
        e.url = parse_url(u)?;
    }
    if let Some(ev) = &b.events {
        e.events = EventFilter::parse(ev)?.names().into_iter().map(String::from).collect();
    }
    if let Some(d) = b.description {
        e.description = optional_text("description", d, 500)?;
    }
    if let Some(a) = b.active {
        e.active = a;
    }
    if b.rotate_secret {
        e.secret = new_secret();
    }
    e.updated_at = now_unix();
    db::webhooks::update(&mut tx, &e).await?;
    audit(
        &mut tx,
        "webhook_endpoint.update",
        &id,
        json!({
            "before": {"url": before.url, "events": before.events, "active": before.active},
            "after": {"url": e.url, "events": e.events, "active": e.active},
            "secret_rotated": b.rotate_secret,
        }),
    )
    .await?;
    tx.commit().await?;
    Ok(Json(if b.rotate_secret { endpoint_with_secret(&e) } else { endpoint_view(&e) }))
}

pub async fn delete(State(s): State<AppState>, Path(id): Path<String>) -> Result<StatusCode, ApiError> {
    let uuid = parse_id(&id)?;
    let mut tx = s.db.begin().await?;
    let Some(e) = db::webhooks::by_id(&mut *tx, uuid).await? else {
        return Err(ApiError::not_found(format!("no webhook endpoint '{id}'")));
    };
    db::webhooks::delete(&mut tx, uuid).await?;
    audit(&mut tx, "webhook_endpoint.delete", &id, json!({"url": e.url, "events": e.events})).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

fn delivery_view(d: &Delivery) -> Value {
    json!({
        "id": d.id,
        "event_id": d.event_id,
        "event_type": d.event_type,
        "endpoint_id": d.endpoint_id,
        "endpoint_url": d.endpoint_url,
        "state": d.state,
        "attempts": d.attempts,
        "next_attempt_at": d.next_attempt_at.map(ts),
        "status_code": d.last_status,
        "latency_ms": d.last_latency_ms,
        "error": d.last_error,
        "created_at": ts(d.created_at),
        "updated_at": ts(d.updated_at),
        "delivered_at": d.delivered_at.map_or(Value::Null, ts_or_null),
    })
}

fn attempt_view(a: &Attempt) -> Value {
    json!({
        "at": ts(a.at),
        "status_code": a.status_code,
        "latency_ms": a.latency_ms,
        "error": a.error,
        "manual": a.manual,
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeliveriesQuery {
    endpoint_id: Option<String>,
    event_id: Option<String>,
    state: Option<String>,
    cursor: Option<String>,
    limit: Option<i64>,
}

pub async fn deliveries(State(s): State<AppState>, Query(q): Query<DeliveriesQuery>) -> Result<Json<Value>, ApiError> {
    if let Some(st) = &q.state {
        if !matches!(st.as_str(), "pending" | "delivered" | "dead") {
            return Err(DomainError::invalid("state", format!("'{st}' is not one of pending, delivered, dead")).into());
        }
    }
    let endpoint_id = match &q.endpoint_id {
        Some(id) => Some(find(&s, id).await?.id.to_string()),
        None => None,
    };
    let limit = super::page_size(q.limit);
    let filter = DeliveryFilter {
        endpoint_id,
        event_id: q.event_id.clone(),
        state: q.state.clone(),
        before_rowid: super::parse_cursor(q.cursor.as_deref())?,
        limit,
    };
    let rows = db::outbox::list(&s.db.read, &filter).await?;
    let next_cursor = (rows.len() as i64 == limit).then(|| rows.last().map(|d| d.rowid.to_string())).flatten();
    Ok(Json(json!({
        "deliveries": rows.iter().map(delivery_view).collect::<Vec<_>>(),
        "next_cursor": next_cursor,
    })))
}

async fn delivery_details(s: &AppState, id: &str) -> Result<Value, ApiError> {
    let d = db::outbox::delivery(&s.db.write, id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no webhook delivery '{id}'")))?;
    let log = db::outbox::attempts(&s.db.write, id).await?;
    let event = db::outbox::event(&s.db.write, &d.event_id).await?;
    let mut v = delivery_view(&d);
    v["log"] = log.iter().map(attempt_view).collect();
    if let Some(e) = event {
        v["event"] = json!({
            "id": e.id,
            "type": e.event_type,
            "created_at": ts(e.created_at),
            "data": serde_json::from_str::<Value>(&e.data).unwrap_or(Value::Null),
        });
    }
    Ok(v)
}

pub async fn delivery(State(s): State<AppState>, Path(id): Path<String>) -> Result<Json<Value>, ApiError> {
    Ok(Json(delivery_details(&s, &id).await?))
}

/// Sends the delivery again now, whatever its state; answers with the
/// attempt and the delivery as it stands after it.
pub async fn retry(State(s): State<AppState>, Path(id): Path<String>) -> Result<Json<Value>, ApiError> {
    let r = redeliver(&s.delivery, &id, "admin")
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no webhook delivery '{id}'")))?;
    let mut v = delivery_details(&s, &id).await?;
    v["delivered"] = json!(r.succeeded());
    Ok(Json(v))
}
