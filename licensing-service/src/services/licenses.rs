//! The operator's licenses: issue by hand, list, search, details, suspend /
//! unsuspend / revoke, and the seats (machines) they hold. Each change is one
//! transaction with its audit record and its outbox event; the validation
//! cache learns of it through `Licensing::commit_change`.

use std::collections::HashMap;

use serde_json::json;
use uuid::Uuid;

use super::fulfillment::{issue_in, IssueRequest, Source};
use super::views::{AuditEntry, CatalogNames, LicenseDetails, LicenseView, MachineView, ValidationView};
use super::{audit, products, Core, ServiceError};
use crate::db::licenses::License;
use crate::db::{self, audit::NewAudit};
use crate::delivery::events::license_event;
use crate::delivery::EventType;
use crate::domain::license::{parse_email, parse_fingerprint, LicenseStatus, StatusAction};
use crate::domain::npub::Npub;
use crate::domain::slug::Slug;
use crate::domain::{now_unix, optional_text, DomainError};

/// The catalogue's slugs and names by id, read once per answer.
#[derive(Default)]
pub struct Names {
    products: HashMap<Uuid, (Slug, String)>,
    policies: HashMap<Uuid, (Slug, String)>,
}

impl CatalogNames for Names {
    fn product(&self, id: Uuid) -> Option<(&Slug, &str)> {
        self.products.get(&id).map(|(s, n)| (s, n.as_str()))
    }
    fn policy(&self, id: Uuid) -> Option<(&Slug, &str)> {
        self.policies.get(&id).map(|(s, n)| (s, n.as_str()))
    }
}

impl Names {
    /// Every product and policy (the catalogue is small).
    pub async fn load(s: &Core) -> Result<Names, sqlx::Error> {
        let mut names = Names::default();
        let mut conn = s.db.read.acquire().await?;
        for p in db::products::list(&mut *conn, false).await? {
            for pol in db::policies::for_product(&mut *conn, p.id).await? {
                names.policies.insert(pol.id, (pol.slug, pol.name));
            }
            names.products.insert(p.id, (p.slug, p.name));
        }
        Ok(names)
    }

    /// Just what one license is of.
    async fn of(s: &Core, l: &License) -> Result<Names, sqlx::Error> {
        let mut names = Names::default();
        if let Some(p) = db::products::by_id(&s.db.read, l.product_id).await? {
            names.products.insert(p.id, (p.slug, p.name));
        }
        if let Some(p) = db::policies::by_id(&s.db.read, l.policy_id).await? {
            names.policies.insert(p.id, (p.slug, p.name));
        }
        Ok(names)
    }
}

/// One license in its one shape.
pub async fn view(s: &Core, l: &License) -> Result<LicenseView, ServiceError> {
    let mut v = [LicenseView::new(l, &Names::of(s, l).await?)];
    super::sales::attach(s, &mut v).await?;
    let [v] = v;
    Ok(v)
}

/// A license issued by the operator.
pub struct IssueInput {
    pub product_slug: String,
    pub policy_slug: Option<String>,
    pub buyer_email: Option<String>,
    pub buyer_npub: Option<String>,
    pub note: Option<String>,
    pub fingerprint: Option<String>,
}

pub async fn issue(s: &Core, input: IssueInput) -> Result<LicenseView, ServiceError> {
    let product = products::find(s, &input.product_slug).await?;
    let policy = products::find_policy(s, &product, input.policy_slug.as_deref().unwrap_or("default")).await?;
    if policy.archived {
        return Err(DomainError::conflict("policy_archived", format!("policy '{}' is archived", policy.slug)).into());
    }
    let buyer_email = optional_text("buyer_email", input.buyer_email, 254)?.map(|e| parse_email(&e)).transpose()?;
    let buyer_npub = optional_text("buyer_npub", input.buyer_npub, 100)?.map(|n| Npub::parse(&n)).transpose()?;
    let fingerprint = input.fingerprint.filter(|f| !f.is_empty()).map(|f| parse_fingerprint(&f)).transpose()?;
    let note = optional_text("note", input.note, 2000)?;
    let signer = s.signer.clone();
    let (of, tier) = (product.clone(), policy.clone());
    let issued = s
        .writer
        .run(move |tx| {
            let (of, tier, signer) = (of.clone(), tier.clone(), signer.clone());
            let buyer_email = buyer_email.clone();
            let (note, fingerprint) = (note.clone(), fingerprint.clone());
            Box::pin(async move {
                let request = IssueRequest {
                    product: &of,
                    policy: &tier,
                    buyer_email,
                    buyer_npub,
                    note,
                    fingerprint,
                    source: Source::Admin,
                    invoice_id: None,
                    actor: "admin",
                };
                issue_in(tx, &signer, request, now_unix()).await
            })
        })
        .await
        .map_err(|e| anyhow::anyhow!(e))?;
    let mut names = Names::default();
    names.products.insert(product.id, (product.slug, product.name));
    names.policies.insert(policy.id, (policy.slug, policy.name));
    Ok(LicenseView::new(&issued.license, &names))
}

/// A page of licenses, newest first.
pub struct Page {
    pub licenses: Vec<LicenseView>,
    /// Give it back as `cursor` for the next page; none on the last.
    pub next_cursor: Option<String>,
}

/// Which licenses to list; `product` is a slug.
pub struct ListInput {
    pub product: Option<String>,
    pub status: Option<String>,
    pub created_from: Option<i64>,
    pub created_to: Option<i64>,
    pub before_rowid: Option<i64>,
    pub limit: i64,
}

pub async fn list(s: &Core, q: ListInput) -> Result<Page, ServiceError> {
    let product_id = match &q.product {
        Some(slug) => Some(products::find(s, slug).await?.id),
        None => None,
    };
    let filter = db::licenses::ListFilter {
        product_id,
        status: q.status.as_deref().map(LicenseStatus::parse).transpose()?,
        created_from: q.created_from,
        created_to: q.created_to,
        before_rowid: q.before_rowid,
        limit: q.limit,
    };
    let rows = db::licenses::list(&s.db.read, &filter).await?;
    let next_cursor = (rows.len() as i64 == q.limit).then(|| rows.last().map(|l| l.rowid.to_string())).flatten();
    let names = Names::load(s).await?;
    let mut licenses: Vec<LicenseView> = rows.iter().map(|l| LicenseView::new(l, &names)).collect();
    super::sales::attach(s, &mut licenses).await?;
    Ok(Page { licenses, next_cursor })
}

pub async fn search(s: &Core, term: &str, limit: i64) -> Result<Vec<LicenseView>, ServiceError> {
    let term = term.trim();
    if term.is_empty() || term.len() > 1000 {
        return Err(ServiceError::bad_input("invalid_request", "q: give 1 to 1000 characters to search for"));
    }
    let npub = Npub::parse(term).ok().map(|n| n.to_hex());
    let rows = db::search::licenses(&s.db.read, term, npub.as_deref(), limit).await?;
    let names = Names::load(s).await?;
    let mut found: Vec<LicenseView> = rows.iter().map(|l| LicenseView::new(l, &names)).collect();
    super::sales::attach(s, &mut found).await?;
    Ok(found)
}

fn parse_id(id: &str) -> Result<Uuid, ServiceError> {
    Uuid::parse_str(id).map_err(|_| no_license(id))
}

fn no_license(id: impl std::fmt::Display) -> ServiceError {
    ServiceError::NotFound(format!("no license '{id}'"))
}

pub async fn details(s: &Core, id: &str) -> Result<LicenseDetails, ServiceError> {
    let id = parse_id(id)?;
    let l = db::licenses::by_id(&s.db.read, id).await?.ok_or_else(|| no_license(id))?;
    let machines = db::machines::for_license(&s.db.read, id).await?;
    let audit = db::audit::list(
        &s.db.read,
        &db::audit::AuditFilter { target_id: Some(id.to_string()), limit: 200, ..Default::default() },
    )
    .await?;
    let events = db::events::for_license(&s.db.read, id, 50).await?;
    let nostr = db::nostr::for_license(&s.db.read, id).await?;
    let email = db::email::latest_for_license(&s.db.read, id).await?;
    Ok(LicenseDetails {
        license: view(s, &l).await?,
        active_machines: machines.iter().filter(|m| m.active).count(),
        machines: machines.iter().map(MachineView::from).collect(),
        audit: audit.iter().map(AuditEntry::from).collect(),
        nostr_delivery: nostr.as_ref().map(Into::into),
        email_delivery: email.as_ref().map(Into::into),
        recent_validations: events.iter().map(ValidationView::from).collect(),
        subscription: super::subscriptions::of_license(s, id).await?,
    })
}

/// Suspends, unsuspends or revokes (a reason is required to revoke).
pub async fn change_status(
    s: &Core,
    id: &str,
    action: StatusAction,
    reason: Option<String>,
) -> Result<LicenseView, ServiceError> {
    let id = parse_id(id)?;
    let reason = optional_text("reason", reason, 500)?;
    if action == StatusAction::Revoke && reason.is_none() {
        return Err(DomainError::invalid("reason", "is required to revoke").into());
    }
    let now = now_unix();
    let mut tx = s.db.begin().await?;
    let l = db::licenses::by_id(&mut *tx, id).await?.ok_or_else(|| no_license(id))?;
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
    let details = json!({ "from": l.status, "to": next, "reason": reason });
    audit(&mut tx, now, "admin", action.audit_action(), ("license", id), details).await?;
    s.licensing.commit_change(tx, id).await?;
    let l = db::licenses::by_id(&s.db.write, id).await?.ok_or_else(|| anyhow::anyhow!("license {id} vanished"))?;
    view(s, &l).await
}

/// Machines of one license (all, active first) or, without one, the most
/// recently seen active machines.
pub async fn machines(s: &Core, license_id: Option<&str>, limit: i64) -> Result<Vec<MachineView>, ServiceError> {
    let machines = match license_id {
        Some(id) => {
            let id = Uuid::parse_str(id)
                .map_err(|_| ServiceError::bad_input("invalid_request", "license_id: not a license id"))?;
            if db::licenses::by_id(&s.db.read, id).await?.is_none() {
                return Err(no_license(id));
            }
            db::machines::for_license(&s.db.read, id).await?
        }
        None => db::machines::recent(&s.db.read, limit).await?,
    };
    Ok(machines.iter().map(MachineView::from).collect())
}

/// Frees the seat a machine holds.
pub async fn free_machine(s: &Core, id: &str, reason: Option<String>) -> Result<MachineView, ServiceError> {
    let no_machine = || ServiceError::NotFound(format!("no machine '{id}'"));
    let id = Uuid::parse_str(id).map_err(|_| no_machine())?;
    let reason = optional_text("reason", reason, 500)?.unwrap_or_else(|| "deactivated by the operator".into());
    let m = db::machines::by_id(&s.db.read, id).await?.ok_or_else(no_machine)?;
    let audit = NewAudit {
        actor: "admin",
        action: "machine.deactivate",
        target_type: "machine",
        target_id: id.to_string(),
        details: json!({ "license_id": m.license_id, "fingerprint": m.fingerprint, "reason": reason }),
    };
    if s.licensing.free_seat(id, m.license_id, &reason, Some(audit)).await?.is_none() {
        return Err(DomainError::conflict("already_inactive", "the machine holds no seat").into());
    }
    let m = db::machines::by_id(&s.db.write, id).await?.ok_or_else(|| anyhow::anyhow!("machine {id} vanished"))?;
    Ok(MachineView::from(&m))
}
