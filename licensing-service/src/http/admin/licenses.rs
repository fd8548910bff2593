//! `/v1/admin/licenses`: issue, list, search, details, suspend / unsuspend / revoke.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::db::licenses::License;
use crate::db::{self, audit::NewAudit};
use crate::delivery::events::license_event;
use crate::delivery::EventType;
use crate::domain::license::{parse_email, parse_fingerprint, LicenseStatus, StatusAction};
use crate::domain::npub::Npub;
use crate::domain::{now_unix, optional_text, DomainError};
use crate::http::error::ApiError;
use crate::http::extract::{parse_json, Json as JsonBody, RawBody};
use crate::http::state::AppState;
use crate::http::views::{self, parse_time, ts_or_null};
use crate::services::fulfillment::{issue_license, IssueRequest, Source};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IssueBody {
    product_slug: String,
    policy_slug: Option<String>,
    buyer_email: Option<String>,
    buyer_npub: Option<String>,
    note: Option<String>,
    fingerprint: Option<String>,
}

pub async fn issue(
    State(s): State<AppState>,
    JsonBody(b): JsonBody<IssueBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let product = super::products::find(&s, &b.product_slug).await?;
    let policy = super::policies::find(&s, &product, b.policy_slug.as_deref().unwrap_or("default")).await?;
    if policy.archived {
        return Err(DomainError::conflict("policy_archived", format!("policy '{}' is archived", policy.slug)).into());
    }
    let buyer_email = optional_text("buyer_email", b.buyer_email, 254)?.map(|e| parse_email(&e)).transpose()?;
    let buyer_npub = optional_text("buyer_npub", b.buyer_npub, 100)?.map(|n| Npub::parse(&n)).transpose()?;
    let fingerprint = b.fingerprint.filter(|f| !f.is_empty()).map(|f| parse_fingerprint(&f)).transpose()?;
    let issued = issue_license(
        &s.db,
        &s.signer,
        IssueRequest {
            product: &product,
            policy: &policy,
            buyer_email,
            buyer_npub,
            note: optional_text("note", b.note, 2000)?,
            fingerprint,
            source: Source::Admin,
            invoice_id: None,
            actor: "admin",
        },
    )
    .await
    .map_err(|e| anyhow::anyhow!(e))?;
    let l = issued.license;
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "license_id": l.id,
            "license_key": l.license_key,
            "product_id": l.product_id,
            "product_slug": product.slug,
            "policy_slug": policy.slug,
            "issued_at": views::ts(l.issued_at),
            "expires_at": ts_or_null(l.expires_at),
            "entitlements": l.entitlements,
            "is_trial": l.is_trial,
            "max_machines": l.max_machines,
        })),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    product: Option<String>,
    status: Option<String>,
    created_from: Option<String>,
    created_to: Option<String>,
    cursor: Option<String>,
    limit: Option<i64>,
}

pub async fn list(State(s): State<AppState>, Query(q): Query<ListQuery>) -> Result<Json<Value>, ApiError> {
    let product_id = match &q.product {
        Some(slug) => Some(super::products::find(&s, slug).await?.id),
        None => None,
    };
    let limit = super::page_size(q.limit);
    let filter = db::licenses::ListFilter {
        product_id,
        status: q.status.as_deref().map(LicenseStatus::parse).transpose()?,
        created_from: q.created_from.as_deref().map(|v| parse_time("created_from", v)).transpose()?,
        created_to: q.created_to.as_deref().map(|v| parse_time("created_to", v)).transpose()?,
        before_rowid: super::parse_cursor(q.cursor.as_deref())?,
        limit,
    };
    let rows = db::licenses::list(&s.db.read, &filter).await?;
    let next_cursor = (rows.len() as i64 == limit).then(|| rows.last().map(|l| l.rowid.to_string())).flatten();
    Ok(Json(json!({
        "licenses": rows.iter().map(views::license).collect::<Vec<_>>(),
        "next_cursor": next_cursor,
    })))
}

#[derive(Deserialize)]
pub struct SearchQuery {
    q: String,
    limit: Option<i64>,
}

pub async fn search(State(s): State<AppState>, Query(q): Query<SearchQuery>) -> Result<Json<Value>, ApiError> {
    let term = q.q.trim();
    if term.is_empty() || term.len() > 1000 {
        return Err(ApiError::bad_request("invalid_request", "q: give 1 to 1000 characters to search for"));
    }
    let npub = Npub::parse(term).ok().map(|n| n.to_hex());
    let rows = db::licenses::search(&s.db.read, term, npub.as_deref(), super::page_size(q.limit)).await?;
    Ok(Json(json!({ "licenses": rows.iter().map(views::license).collect::<Vec<_>>() })))
}

fn parse_id(id: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(id).map_err(|_| ApiError::not_found(format!("no license '{id}'")))
}

pub async fn get(State(s): State<AppState>, Path(id): Path<String>) -> Result<Json<Value>, ApiError> {
    let id = parse_id(&id)?;
    let l =
        db::licenses::by_id(&s.db.read, id).await?.ok_or_else(|| ApiError::not_found(format!("no license '{id}'")))?;
    let machines = db::machines::for_license(&s.db.read, id).await?;
    let audit = db::audit::list(
        &s.db.read,
        &db::audit::AuditFilter { target_id: Some(id.to_string()), limit: 200, ..Default::default() },
    )
    .await?;
    let events = db::events::for_license(&s.db.read, id, 50).await?;
    let nostr = db::nostr::for_license(&s.db.read, id).await?;
    let mut v = views::license(&l);
    v["active_machines"] = json!(machines.iter().filter(|m| m.active).count());
    v["machines"] = machines.iter().map(views::machine).collect();
    v["audit"] = audit.iter().map(super::audit::entry).collect();
    v["nostr_delivery"] = nostr.as_ref().map_or(Value::Null, views::nostr_delivery);
    v["recent_validations"] = events
        .iter()
        .map(|e| {
            json!({"at": views::ts(e.at), "fingerprint": e.fingerprint, "client_ip": e.client_ip,
                   "result": e.result, "count": e.count, "distinct_addresses": e.ip_count})
        })
        .collect();
    Ok(Json(v))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct ReasonBody {
    reason: Option<String>,
}

async fn change_status(
    s: &AppState,
    id: &str,
    action: StatusAction,
    reason: Option<String>,
) -> Result<Json<Value>, ApiError> {
    let id = parse_id(id)?;
    let reason = optional_text("reason", reason, 500)?;
    if action == StatusAction::Revoke && reason.is_none() {
        return Err(DomainError::invalid("reason", "is required to revoke").into());
    }
    let now = now_unix();
    let mut tx = s.db.begin().await?;
    let l =
        db::licenses::by_id(&mut *tx, id).await?.ok_or_else(|| ApiError::not_found(format!("no license '{id}'")))?;
    let next = l.status.transition(action)?;
    let revoked_reason = (action == StatusAction::Revoke).then_some(reason.as_deref()).flatten();
    db::licenses::set_status(&mut tx, id, next, revoked_reason, now).await?;
    let changed = License { status: next, revoked_reason: revoked_reason.map(str::to_owned), ..l.clone() };
    let event = match action {
        StatusAction::Suspend => EventType::LicenseSuspended,
        StatusAction::Unsuspend => EventType::LicenseUnsuspended,
        StatusAction::Revoke => EventType::LicenseRevoked,
    };
    license_event(&mut tx, now, event, &changed, json!({ "previous_status": l.status, "reason": reason })).await?;
    db::audit::record(
        &mut tx,
        now,
        NewAudit {
            actor: "admin",
            action: action.audit_action(),
            target_type: "license",
            target_id: id.to_string(),
            details: json!({ "from": l.status, "to": next, "reason": reason }),
        },
    )
    .await?;
    s.licensing.commit_change(tx, id).await?;
    let l = db::licenses::by_id(&s.db.write, id).await?.ok_or_else(ApiError::internal)?;
    Ok(Json(views::license(&l)))
}

/// Optional JSON body: absent or empty is fine for suspend / unsuspend.
fn reason_of(body: &[u8]) -> Result<Option<String>, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    Ok(parse_json::<ReasonBody>(body)?.reason)
}

pub async fn suspend(
    State(s): State<AppState>,
    Path(id): Path<String>,
    RawBody(body): RawBody,
) -> Result<Json<Value>, ApiError> {
    change_status(&s, &id, StatusAction::Suspend, reason_of(&body)?).await
}

pub async fn unsuspend(
    State(s): State<AppState>,
    Path(id): Path<String>,
    RawBody(body): RawBody,
) -> Result<Json<Value>, ApiError> {
    change_status(&s, &id, StatusAction::Unsuspend, reason_of(&body)?).await
}

pub async fn revoke(
    State(s): State<AppState>,
    Path(id): Path<String>,
    JsonBody(b): JsonBody<ReasonBody>,
) -> Result<Json<Value>, ApiError> {
    change_status(&s, &id, StatusAction::Revoke, b.reason).await
}
