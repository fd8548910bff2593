//! The operator's outbound webhooks: endpoints (where events go; the signing
//! secret is shown once, at creation or rotation), and the delivery log with
//! manual redelivery. Each endpoint change is one transaction with its audit
//! record; sending is `delivery::webhooks`.

use schemars::JsonSchema;
use serde::Serialize;
use serde_json::{json, Value};
use url::Url;
use uuid::Uuid;

use super::{audit, Core, ServiceError};
use crate::db::outbox::{Attempt, Delivery, DeliveryFilter, Event};
use crate::db::webhooks::Endpoint;
use crate::db::{self};
use crate::delivery::webhooks::{new_secret, redeliver};
use crate::domain::outbox::EventFilter;
use crate::domain::time::Timestamp;
use crate::domain::{now_unix, optional_text, DomainError};

const URL_MAX: usize = 2000;

/// An endpoint as the operator sees it (never its secret).
#[derive(Debug, Serialize, JsonSchema)]
pub struct EndpointView {
    pub id: Uuid,
    pub url: String,
    pub description: Option<String>,
    /// `["*"]` or the subscribed event types.
    pub events: Vec<String>,
    pub active: bool,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl From<&Endpoint> for EndpointView {
    fn from(e: &Endpoint) -> EndpointView {
        EndpointView {
            id: e.id,
            url: e.url.clone(),
            description: e.description.clone(),
            events: e.events.clone(),
            active: e.active,
            created_at: Timestamp(e.created_at),
            updated_at: Timestamp(e.updated_at),
        }
    }
}

/// An endpoint with its signing secret: answered once, when it is made.
#[derive(Debug, Serialize, JsonSchema)]
pub struct EndpointWithSecret {
    #[serde(flatten)]
    pub endpoint: EndpointView,
    pub secret: String,
    pub secret_note: &'static str,
}

impl From<&Endpoint> for EndpointWithSecret {
    fn from(e: &Endpoint) -> EndpointWithSecret {
        EndpointWithSecret {
            endpoint: e.into(),
            secret: e.secret.clone(),
            secret_note: "shown only now: store it to verify the Keysat-Signature header",
        }
    }
}

/// An endpoint with how its deliveries stand.
#[derive(Debug, Serialize, JsonSchema)]
pub struct EndpointWithCounts {
    #[serde(flatten)]
    pub endpoint: EndpointView,
    pub deliveries: DeliveryCounts,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct DeliveryCounts {
    pub pending: i64,
    pub delivered: i64,
    pub dead: i64,
}

/// A changed endpoint: with the new secret when it was rotated.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum Updated {
    Endpoint(EndpointView),
    Rotated(EndpointWithSecret),
}

/// An http(s) address with a host.
fn parse_url(raw: &str) -> Result<String, DomainError> {
    let raw = raw.trim();
    let bad = |why: &str| DomainError::invalid("url", format!("'{raw}' {why}"));
    if raw.len() > URL_MAX {
        return Err(DomainError::invalid("url", format!("must be at most {URL_MAX} characters")));
    }
    let url = Url::parse(raw).map_err(|_| bad("is not a URL"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(bad("must start with https:// or http://"));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(bad("has no host"));
    }
    Ok(url.to_string())
}

fn event_names(given: &[String]) -> Result<Vec<String>, DomainError> {
    Ok(EventFilter::parse(given)?.names().into_iter().map(String::from).collect())
}

/// A new endpoint.
#[derive(Debug)]
pub struct NewEndpoint {
    pub url: String,
    pub events: Vec<String>,
    pub description: Option<String>,
    /// Default: active.
    pub active: Option<bool>,
}

pub async fn create(s: &Core, input: NewEndpoint) -> Result<EndpointWithSecret, ServiceError> {
    changing_endpoints(s, create_in(s, input)).await
}

/// Runs a change of endpoints with the in-memory set of subscribed event
/// types marked "changing" until it ends, then read again.
async fn changing_endpoints<T>(
    s: &Core,
    change: impl std::future::Future<Output = Result<T, ServiceError>>,
) -> Result<T, ServiceError> {
    s.db.subscriptions.changing();
    let done = change.await;
    s.db.subscriptions.refresh(&s.db.read).await?;
    done
}

async fn create_in(s: &Core, input: NewEndpoint) -> Result<EndpointWithSecret, ServiceError> {
    let url = parse_url(&input.url)?;
    let events = event_names(&input.events)?;
    let now = now_unix();
    let e = Endpoint {
        id: Uuid::new_v4(),
        url,
        description: optional_text("description", input.description, 500)?,
        events,
        secret: new_secret(),
        active: input.active.unwrap_or(true),
        created_at: now,
        updated_at: now,
    };
    let mut tx = s.db.begin().await?;
    db::webhooks::insert(&mut tx, &e).await?;
    let details = json!({"url": e.url, "events": e.events});
    audit(&mut tx, now, "admin", "webhook_endpoint.create", ("webhook_endpoint", e.id), details).await?;
    tx.commit().await?;
    Ok((&e).into())
}

async fn with_counts(s: &Core, e: &Endpoint) -> Result<EndpointWithCounts, ServiceError> {
    let (pending, delivered, dead) = db::webhooks::delivery_counts(&s.db.read, e.id).await?;
    Ok(EndpointWithCounts { endpoint: e.into(), deliveries: DeliveryCounts { pending, delivered, dead } })
}

/// Every endpoint, oldest first.
pub async fn list(s: &Core) -> Result<Vec<EndpointWithCounts>, ServiceError> {
    let mut out = Vec::new();
    for e in db::webhooks::list(&s.db.read).await? {
        out.push(with_counts(s, &e).await?);
    }
    Ok(out)
}

fn no_endpoint(id: &str) -> ServiceError {
    ServiceError::NotFound(format!("no webhook endpoint '{id}'"))
}

fn parse_id(id: &str) -> Result<Uuid, ServiceError> {
    Uuid::parse_str(id).map_err(|_| no_endpoint(id))
}

async fn find(s: &Core, id: &str) -> Result<Endpoint, ServiceError> {
    db::webhooks::by_id(&s.db.read, parse_id(id)?).await?.ok_or_else(|| no_endpoint(id))
}

pub async fn get(s: &Core, id: &str) -> Result<EndpointWithCounts, ServiceError> {
    with_counts(s, &find(s, id).await?).await
}

/// A change: absent fields keep their value; `Some(None)` clears the description.
#[derive(Debug, Default)]
pub struct EndpointChange {
    pub url: Option<String>,
    pub events: Option<Vec<String>>,
    pub description: Option<Option<String>>,
    pub active: Option<bool>,
    /// Replaces the secret; the answer shows the new one, once.
    pub rotate_secret: bool,
}

pub async fn update(s: &Core, id: &str, change: EndpointChange) -> Result<Updated, ServiceError> {
    changing_endpoints(s, update_in(s, id, change)).await
}

async fn update_in(s: &Core, id: &str, change: EndpointChange) -> Result<Updated, ServiceError> {
    let uuid = parse_id(id)?;
    let mut tx = s.db.begin().await?;
    let before = db::webhooks::by_id(&mut *tx, uuid).await?.ok_or_else(|| no_endpoint(id))?;
    let mut e = before.clone();
    if let Some(u) = &change.url {
        e.url = parse_url(u)?;
    }
    if let Some(ev) = &change.events {
        e.events = event_names(ev)?;
    }
    if let Some(d) = change.description {
        e.description = optional_text("description", d, 500)?;
    }
    e.active = change.active.unwrap_or(e.active);
    if change.rotate_secret {
        e.secret = new_secret();
    }
    e.updated_at = now_unix();
    db::webhooks::update(&mut tx, &e).await?;
    let details = json!({
        "before": {"url": before.url, "events": before.events, "active": before.active},
        "after": {"url": e.url, "events": e.events, "active": e.active},
        "secret_rotated": change.rotate_secret,
    });
    audit(&mut tx, e.updated_at, "admin", "webhook_endpoint.update", ("webhook_endpoint", uuid), details).await?;
    tx.commit().await?;
    Ok(if change.rotate_secret { Updated::Rotated((&e).into()) } else { Updated::Endpoint((&e).into()) })
}

/// Deletes an endpoint (its deliveries go with it).
pub async fn delete(s: &Core, id: &str) -> Result<(), ServiceError> {
    changing_endpoints(s, delete_in(s, id)).await
}

async fn delete_in(s: &Core, id: &str) -> Result<(), ServiceError> {
    let uuid = parse_id(id)?;
    let now = now_unix();
    let mut tx = s.db.begin().await?;
    let e = db::webhooks::by_id(&mut *tx, uuid).await?.ok_or_else(|| no_endpoint(id))?;
    db::webhooks::delete(&mut tx, uuid).await?;
    let details = json!({"url": e.url, "events": e.events});
    audit(&mut tx, now, "admin", "webhook_endpoint.delete", ("webhook_endpoint", uuid), details).await?;
    tx.commit().await?;
    Ok(())
}

/// One delivery of an event to an endpoint, as the log shows it.
#[derive(Debug, Serialize, JsonSchema)]
pub struct DeliveryView {
    pub id: String,
    pub event_id: String,
    pub event_type: String,
    pub endpoint_id: String,
    pub endpoint_url: String,
    pub state: String,
    pub attempts: i64,
    pub next_attempt_at: Option<Timestamp>,
    /// Of the last attempt.
    pub status_code: Option<i64>,
    pub latency_ms: Option<i64>,
    pub error: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub delivered_at: Option<Timestamp>,
}

impl From<&Delivery> for DeliveryView {
    fn from(d: &Delivery) -> DeliveryView {
        DeliveryView {
            id: d.id.clone(),
            event_id: d.event_id.clone(),
            event_type: d.event_type.clone(),
            endpoint_id: d.endpoint_id.clone(),
            endpoint_url: d.endpoint_url.clone(),
            state: d.state.clone(),
            attempts: d.attempts,
            next_attempt_at: d.next_attempt_at.map(Timestamp),
            status_code: d.last_status,
            latency_ms: d.last_latency_ms,
            error: d.last_error.clone(),
            created_at: Timestamp(d.created_at),
            updated_at: Timestamp(d.updated_at),
            delivered_at: d.delivered_at.and_then(Timestamp::or_never),
        }
    }
}

/// One attempt of a delivery.
#[derive(Debug, Serialize, JsonSchema)]
pub struct AttemptView {
    pub at: Timestamp,
    pub status_code: Option<i64>,
    pub latency_ms: i64,
    pub error: Option<String>,
    /// Asked for by the operator (a redelivery).
    pub manual: bool,
}

impl From<&Attempt> for AttemptView {
    fn from(a: &Attempt) -> AttemptView {
        AttemptView {
            at: Timestamp(a.at),
            status_code: a.status_code,
            latency_ms: a.latency_ms,
            error: a.error.clone(),
            manual: a.manual,
        }
    }
}

/// The event a delivery carries.
#[derive(Debug, Serialize, JsonSchema)]
pub struct EventView {
    pub id: String,
    #[serde(rename = "type")]
    pub event_type: String,
    pub created_at: Timestamp,
    pub data: Value,
}

impl From<&Event> for EventView {
    fn from(e: &Event) -> EventView {
        EventView {
            id: e.id.clone(),
            event_type: e.event_type.clone(),
            created_at: Timestamp(e.created_at),
            data: serde_json::from_str(&e.data).unwrap_or(Value::Null),
        }
    }
}

/// A delivery with its attempts and its event (absent once pruned).
#[derive(Debug, Serialize, JsonSchema)]
pub struct DeliveryDetails {
    #[serde(flatten)]
    pub delivery: DeliveryView,
    pub log: Vec<AttemptView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event: Option<EventView>,
}

/// A delivery after a manual redelivery, and whether that attempt succeeded.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Redelivered {
    #[serde(flatten)]
    pub details: DeliveryDetails,
    pub delivered: bool,
}

/// Which deliveries to list, newest first.
#[derive(Debug)]
pub struct DeliveryQuery {
    pub endpoint_id: Option<String>,
    pub event_id: Option<String>,
    /// pending, delivered or dead.
    pub state: Option<String>,
    pub before_rowid: Option<i64>,
    pub limit: i64,
}

/// A page of the delivery log.
#[derive(Debug, Serialize, JsonSchema)]
pub struct DeliveryPage {
    pub deliveries: Vec<DeliveryView>,
    /// Give it back as `cursor` for the next page; null on the last.
    pub next_cursor: Option<String>,
}

pub async fn deliveries(s: &Core, q: DeliveryQuery) -> Result<DeliveryPage, ServiceError> {
    if let Some(st) = &q.state {
        if !matches!(st.as_str(), "pending" | "delivered" | "dead") {
            return Err(DomainError::invalid("state", format!("'{st}' is not one of pending, delivered, dead")).into());
        }
    }
    let endpoint_id = match &q.endpoint_id {
        Some(id) => Some(find(s, id).await?.id.to_string()),
        None => None,
    };
    let filter = DeliveryFilter {
        endpoint_id,
        event_id: q.event_id,
        state: q.state,
        before_rowid: q.before_rowid,
        limit: q.limit,
    };
    let rows = db::outbox::list(&s.db.read, &filter).await?;
    let next_cursor = (rows.len() as i64 == q.limit).then(|| rows.last().map(|d| d.rowid.to_string())).flatten();
    Ok(DeliveryPage { deliveries: rows.iter().map(DeliveryView::from).collect(), next_cursor })
}

/// Read from the writer, so a redelivery just made is seen.
pub async fn delivery(s: &Core, id: &str) -> Result<DeliveryDetails, ServiceError> {
    let d = db::outbox::delivery(&s.db.write, id)
        .await?
        .ok_or_else(|| ServiceError::NotFound(format!("no webhook delivery '{id}'")))?;
    let log = db::outbox::attempts(&s.db.write, id).await?;
    let event = db::outbox::event(&s.db.write, &d.event_id).await?;
    Ok(DeliveryDetails {
        delivery: (&d).into(),
        log: log.iter().map(AttemptView::from).collect(),
        event: event.as_ref().map(EventView::from),
    })
}

/// Sends the delivery again now, whatever its state (the attempt is logged
/// and audited by `delivery::webhooks::redeliver`).
pub async fn retry(s: &Core, id: &str) -> Result<Redelivered, ServiceError> {
    let r = redeliver(&s.delivery, id, "admin")
        .await?
        .ok_or_else(|| ServiceError::NotFound(format!("no webhook delivery '{id}'")))?;
    Ok(Redelivered { details: delivery(s, id).await?, delivered: r.succeeded() })
}
