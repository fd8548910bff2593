//! The single path from "this buyer is entitled" to "a license exists": paid
//! invoices, free codes and operator comps all come through [`issue_in`].
//! One transaction writes the license, its audit record, its
//! `license.issued` event and (with a buyer npub) the DM that delivers it; a
//! license tied to an invoice is created at most once. The short
//! transactions here (the operator's issue, a free order, news about an
//! invoice) run as jobs of the group-committing writer (`services::writer`).

use ed25519_dalek::SigningKey;
use serde_json::json;
use uuid::Uuid;

use crate::db::codes::DiscountCode;
use crate::db::invoices::Invoice;
use crate::db::licenses::License;
use crate::db::nostr::OperatorWatch;
use crate::db::{self, Tx};
use crate::delivery::events::{code_redeemed, invoice_event, license_event_of};
use crate::delivery::{enqueue_license_delivery, operator, EventType, NoticeKind};
use crate::domain::catalog::{Policy, Product};
use crate::domain::discount::Refusal;
use crate::domain::invoice::{check_charged, transition, Asked, Charged, InvoiceStatus, Observed, Transition};
use crate::domain::license::{LicenseStatus, Terms};
use crate::domain::now_unix;
use crate::domain::npub::Npub;
use crate::domain::subscription::Purpose;
use crate::domain::time::ts;
use crate::domain::validation::LicenseSnapshot;
use crate::licensing::seats;
use crate::services::Core;

/// Where a license came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Admin,
    Purchase,
    Redeem,
    Import,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Admin => "admin",
            Source::Purchase => "purchase",
            Source::Redeem => "redeem",
            Source::Import => "import",
        }
    }
}

/// Everything needed to issue one license.
pub struct IssueRequest<'a> {
    pub product: &'a Product,
    pub policy: &'a Policy,
    pub buyer_email: Option<String>,
    pub buyer_npub: Option<Npub>,
    pub note: Option<String>,
    /// Binds the key to this machine fingerprint (signed into the key).
    pub fingerprint: Option<String>,
    pub source: Source,
    /// The invoice this license pays out; at most one license per invoice.
    pub invoice_id: Option<String>,
    pub actor: &'a str,
}

/// The license (created now, or the one the invoice already had).
pub struct Issued {
    pub license: License,
}

#[derive(Debug, thiserror::Error)]
pub enum IssueError {
    #[error("could not build the key: {0}")]
    Key(#[from] keysat_client::Error),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

/// A v2 key for `terms` of license `license_id` (bound to `fingerprint`
/// when given): at issue, and again whenever the terms change (renewal,
/// upgrade, adjustment) — the license id stays, so the old key keeps
/// naming the same license.
pub fn sign_key(
    signer: &SigningKey,
    product_id: Uuid,
    license_id: Uuid,
    terms: &Terms,
    fingerprint: Option<&str>,
) -> Result<String, keysat_client::Error> {
    let payload = keysat_client::Payload {
        version: 2,
        flags: if fingerprint.is_some() { keysat_client::FLAG_FINGERPRINT_BOUND } else { 0 }
            | if terms.is_trial { keysat_client::FLAG_TRIAL } else { 0 },
        product_id,
        license_id,
        issued_at: terms.issued_at as u64,
        expires_at: terms.expires_at as u64,
        fingerprint_hash: fingerprint.map(keysat_client::fingerprint_hash).unwrap_or([0; 32]),
        entitlements: terms.entitlements.clone(),
    };
    keysat_client::sign(&payload, signer)
}

/// Issues a license with the policy's terms inside the caller's transaction.
pub async fn issue_in(tx: &mut Tx, signer: &SigningKey, req: IssueRequest<'_>, now: i64) -> Result<Issued, IssueError> {
    let terms = Terms::from_policy(req.policy, now);
    issue_with_terms(tx, signer, req, terms, now).await
}

/// [`issue_in`] with terms other than the policy's own (an import keeps the
/// expiry and seats the license had elsewhere).
#[tracing::instrument(skip_all, fields(product = %req.product.slug, policy = %req.policy.slug, invoice = ?req.invoice_id, source = req.source.as_str()))]
pub async fn issue_with_terms(
    tx: &mut Tx,
    signer: &SigningKey,
    req: IssueRequest<'_>,
    terms: Terms,
    now: i64,
) -> Result<Issued, IssueError> {
    let license_id = Uuid::new_v4();
    let key = sign_key(signer, req.product.id, license_id, &terms, req.fingerprint.as_deref())?;
    let mut license = License {
        rowid: 0,
        id: license_id,
        product_id: req.product.id,
        policy_id: req.policy.id,
        license_key: key,
        status: LicenseStatus::Active,
        issued_at: terms.issued_at,
        expires_at: terms.expires_at,
        grace_seconds: terms.grace_seconds,
        max_machines: terms.max_machines,
        entitlements: terms.entitlements,
        is_trial: terms.is_trial,
        fingerprint: req.fingerprint,
        buyer_email: req.buyer_email,
        buyer_npub: req.buyer_npub.as_ref().map(|n| n.to_hex()),
        note: req.note,
        source: req.source.as_str().to_string(),
        invoice_id: req.invoice_id,
        revoked_reason: None,
        version: 0,
        created_at: now,
        updated_at: now,
    };
    // The invoice's license, if it has one already, is answered instead.
    let Some(rowid) = db::licenses::insert(tx, &license).await? else {
        let invoice = license.invoice_id.as_deref().unwrap_or_default();
        let existing = db::licenses::by_invoice(&mut **tx, invoice).await?;
        return Ok(Issued { license: existing.ok_or(sqlx::Error::RowNotFound)? });
    };
    license.rowid = rowid;
    let details = issue_details(req.product, req.policy, req.source, &license);
    super::audit(tx, now, req.actor, "license.issue", ("license", license_id), details).await?;
    if db::outbox::may_be_wanted(EventType::LicenseIssued) {
        let extra = json!({"license_key": license.license_key, "policy_slug": req.policy.slug});
        let slug = req.product.slug.as_str();
        license_event_of(tx, now, EventType::LicenseIssued, &license, slug, extra).await?;
    }
    if let Some(npub) = &req.buyer_npub {
        enqueue_license_delivery(tx, now, license_id, npub).await?;
    }
    if let Some(to) = &license.buyer_email {
        crate::delivery::email::enqueue_key(tx, now, license_id, to, None).await?;
    }
    if req.policy.is_recurring && license.expires_at > 0 {
        super::subscriptions::start_in(tx, &license, req.policy, req.actor, now).await?;
    }
    Ok(Issued { license })
}

/// What the audit log keeps of an issue: product, tier and source, and only
/// those terms that are not the default (an invoice, an expiry, a seat cap,
/// entitlements other than the tier's, a trial, a bound machine).
fn issue_details(product: &Product, policy: &Policy, source: Source, l: &License) -> serde_json::Value {
    let mut d = serde_json::Map::new();
    d.insert("product".into(), json!(product.slug));
    d.insert("policy".into(), json!(policy.slug));
    d.insert("source".into(), json!(source.as_str()));
    let mut put = |key: &str, keep: bool, value: serde_json::Value| {
        if keep {
            d.insert(key.into(), value);
        }
    };
    put("invoice_id", l.invoice_id.is_some(), json!(l.invoice_id));
    put("expires_at", l.expires_at > 0, json!(l.expires_at));
    put("max_machines", l.max_machines > 0, json!(l.max_machines));
    let tiers_own = l.entitlements.iter().map(String::as_str).eq(policy.entitlements.iter().map(|e| e.as_str()));
    put("entitlements", !tiers_own, json!(l.entitlements));
    put("is_trial", l.is_trial, json!(true));
    put("fingerprint_bound", l.fingerprint.is_some(), json!(true));
    serde_json::Value::Object(d)
}

/// Why news about an invoice could not be applied.
#[derive(Debug, thiserror::Error)]
pub enum FulfillError {
    #[error(transparent)]
    Issue(#[from] IssueError),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
    #[error("invoice {0} refers to a product or tier that no longer exists")]
    Dangling(Uuid),
    #[error("invoice {0}: {1}")]
    Change(Uuid, String),
}

impl From<keysat_client::Error> for FulfillError {
    fn from(e: keysat_client::Error) -> Self {
        FulfillError::Issue(IssueError::Key(e))
    }
}

/// A provider delivery being applied, recorded once in the same transaction.
pub struct Delivery<'a> {
    pub provider: &'a str,
    pub delivery_id: &'a str,
    pub event_type: &'a str,
}

/// What applying news did.
#[derive(Debug)]
pub enum Outcome {
    /// Already seen, or nothing to change.
    Unchanged,
    /// A delivery about an invoice that is not ours (recorded, ignored).
    NotOurs,
    Processing,
    /// Paid: the invoice's license (created now or before).
    Settled(Box<License>),
    Closed(InvoiceStatus),
    /// The provider invoice is not what we asked for: recorded, not settled.
    Mismatch(String),
}

/// Brings our invoice to what the provider reports, in one transaction:
/// the delivery is recorded once, the invoice only moves forward, a settled
/// invoice gets exactly one license (with its audit record), and a closed
/// one gives back its reserved code use. The transaction is a job of the
/// group-committing writer; the validation cache learns of a renewed or
/// upgraded license once it is committed.
#[tracing::instrument(skip_all, err, fields(invoice = ?invoice_id, observed = ?observed, actor))]
pub async fn apply_invoice_news(
    s: &Core,
    invoice_id: Option<Uuid>,
    observed: Option<Observed>,
    charged: Option<&Charged>,
    delivery: Option<Delivery<'_>>,
    actor: &str,
) -> Result<Outcome, FulfillError> {
    let news = News {
        invoice_id,
        observed,
        charged: charged.cloned(),
        delivery: delivery.map(|d| (d.provider.to_owned(), d.delivery_id.to_owned(), d.event_type.to_owned())),
        actor: actor.to_owned(),
    };
    let (signer, watch) = (s.signer.clone(), s.db.operator.clone());
    let (outcome, changed) = s
        .writer
        .run(move |tx| {
            let (news, signer, watch) = (news.clone(), signer.clone(), watch.clone());
            Box::pin(async move { news.apply(tx, &signer, &watch).await })
        })
        .await?;
    if let Some(snap) = changed {
        s.licensing.cache.store(snap);
    }
    Ok(outcome)
}

/// [`apply_invoice_news`]'s input, owned by its job.
#[derive(Clone)]
struct News {
    invoice_id: Option<Uuid>,
    observed: Option<Observed>,
    charged: Option<Charged>,
    /// Provider, delivery id, event type.
    delivery: Option<(String, String, String)>,
    actor: String,
}

impl News {
    /// The outcome, and the snapshot of a license the hot path may hold
    /// that changed (a renewal or an upgrade), to publish after the commit.
    async fn apply(
        self,
        tx: &mut Tx,
        signer: &SigningKey,
        watch: &OperatorWatch,
    ) -> Result<(Outcome, Option<LicenseSnapshot>), FulfillError> {
        let now = now_unix();
        let actor = self.actor.as_str();
        let (invoice, goods) = match self.invoice_id {
            Some(id) => match db::invoices::pinned(tx, id).await? {
                Some(p) => (Some(p.invoice), p.product.zip(p.policy)),
                None => (None, None),
            },
            None => (None, None),
        };
        if let Some((provider, delivery_id, event_type)) = &self.delivery {
            let ours = invoice.as_ref().map(|i| i.id);
            if !db::invoices::record_event(tx, provider, delivery_id, event_type, ours, now).await? {
                return Ok((Outcome::Unchanged, None));
            }
        }
        let (Some(invoice), Some(observed)) = (invoice, self.observed) else {
            let outcome = if self.invoice_id.is_some() { Outcome::Unchanged } else { Outcome::NotOurs };
            return Ok((outcome, None));
        };
        let outcome = match transition(invoice.status, invoice.processing, observed) {
            Transition::None => Outcome::Unchanged,
            Transition::MarkProcessing => {
                db::invoices::mark_processing(tx, invoice.id, now).await?;
                Outcome::Processing
            }
            Transition::Settle => match mismatch(tx, &invoice, self.charged.as_ref()).await? {
                Some(why) => refuse_mismatch(tx, &invoice, why, actor, now).await?,
                None => {
                    let (product, policy) = goods.ok_or(FulfillError::Dangling(invoice.id))?;
                    let sale = Sale { invoice: &invoice, product: &product, policy: &policy, actor, now };
                    Outcome::Settled(Box::new(sale.settle(tx, signer, watch).await?))
                }
            },
            Transition::Close(status) => {
                if db::invoices::mark_closed(tx, invoice.id, status, now).await? {
                    db::codes::release_for_invoice(tx, &invoice.id.to_string(), now).await?;
                    if status == InvoiceStatus::Expired {
                        let closed = Invoice { status, closed_at: Some(now), ..invoice.clone() };
                        invoice_event(tx, now, EventType::InvoiceExpired, &closed, json!({})).await?;
                    }
                    let details = json!({ "status": status.as_str() });
                    audit_invoice(tx, actor, "invoice.close", &invoice, details, now).await?;
                }
                Outcome::Closed(status)
            }
        };
        let changed = match (&outcome, invoice.purpose) {
            // A renewal or an upgrade changed a license the hot path may hold.
            (Outcome::Settled(l), Purpose::Renewal | Purpose::Upgrade) => seats::bumped(tx, l.id).await?,
            _ => None,
        };
        Ok((outcome, changed))
    }
}

/// Why the provider's invoice may not settle ours, if it may not.
async fn mismatch(tx: &mut Tx, invoice: &Invoice, charged: Option<&Charged>) -> Result<Option<String>, sqlx::Error> {
    let Some(charged) = charged else {
        return Ok(None);
    };
    let connection = db::payments::connection(&mut **tx).await?;
    let asked = Asked {
        store_id: connection.as_ref().filter(|c| c.provider == invoice.provider).and_then(|c| c.store_id.as_deref()),
        amount_sats: invoice.amount_sats,
        fiat: invoice.price_amount.as_deref().zip(invoice.price_currency.as_deref()),
    };
    Ok(check_charged(asked, charged).err())
}

/// A paid provider invoice that is not the one we asked for: recorded on
/// ours with an audit record, once; no license (the operator can still
/// issue one by hand after looking).
async fn refuse_mismatch(
    tx: &mut Tx,
    invoice: &Invoice,
    why: String,
    actor: &str,
    now: i64,
) -> Result<Outcome, FulfillError> {
    if db::invoices::set_mismatch(tx, invoice.id, &why, now).await? {
        tracing::warn!(invoice = %invoice.id, reason = %why, "a provider invoice did not match ours; not settled");
        if invoice.status == InvoiceStatus::Pending
            && db::invoices::mark_closed(tx, invoice.id, InvoiceStatus::Invalid, now).await?
        {
            db::codes::release_for_invoice(tx, &invoice.id.to_string(), now).await?;
        }
        audit_invoice(tx, actor, "invoice.mismatch", invoice, json!({ "reason": why }), now).await?;
    }
    Ok(Outcome::Mismatch(why))
}

/// A paid invoice being settled, with the product and tier it pins.
struct Sale<'a> {
    invoice: &'a Invoice,
    product: &'a Product,
    policy: &'a Policy,
    actor: &'a str,
    now: i64,
}

impl Sale<'_> {
    /// The invoice settled and its license issued (or renewed, or upgraded),
    /// with their audit records, events and the operator's notice.
    async fn settle(&self, tx: &mut Tx, signer: &SigningKey, watch: &OperatorWatch) -> Result<License, FulfillError> {
        let Sale { invoice, product, policy, actor, now } = *self;
        let from = invoice.status;
        db::invoices::mark_settled(tx, invoice.id, now).await?;
        let license = match invoice.purpose {
            Purpose::Purchase => {
                let request = IssueRequest {
                    product,
                    policy,
                    buyer_email: invoice.buyer_email.clone(),
                    buyer_npub: invoice.buyer_npub.as_deref().and_then(|n| Npub::parse(n).ok()),
                    note: invoice.buyer_note.clone(),
                    fingerprint: None,
                    source: Source::Purchase,
                    invoice_id: Some(invoice.id.to_string()),
                    actor,
                };
                issue_in(tx, signer, request, now).await?.license
            }
            // The same license, paid for again or moved up: applied once per invoice.
            Purpose::Renewal => super::subscriptions::apply_renewal_invoice(tx, signer, invoice, actor, now).await?,
            Purpose::Upgrade => super::upgrades::apply_upgrade_invoice(tx, signer, invoice, actor, now).await?,
        };
        // Only an invoice with a code has a code use reserved (`orders`).
        if invoice.code_id.is_some() {
            db::codes::consume_for_invoice(tx, &invoice.id.to_string(), license.id, now).await?;
        }
        let details = json!({ "from": from.as_str(), "license_id": license.id, "amount_sats": invoice.amount_sats,
            "purpose": invoice.purpose.as_str() });
        audit_invoice(tx, actor, "invoice.settle", invoice, details, now).await?;
        let settled = Invoice { status: InvoiceStatus::Settled, settled_at: Some(now), ..invoice.clone() };
        let extra = json!({ "license_id": license.id, "settled_at": ts(now), "purpose": invoice.purpose.as_str() });
        invoice_event(tx, now, EventType::InvoiceSettled, &settled, extra).await?;
        if let Some(code_id) = invoice.code_id {
            code_redeemed(tx, now, code_id, &settled, license.id, None).await?;
        }
        let sale = operator::sale_text(&product.name, &policy.name, invoice.amount_sats, &invoice.id.to_string());
        operator::notify_in(tx, watch, now, NoticeKind::Sale, &sale).await?;
        Ok(license)
    }
}

async fn audit_invoice(
    tx: &mut Tx,
    actor: &str,
    action: &str,
    invoice: &Invoice,
    details: serde_json::Value,
    now: i64,
) -> Result<(), sqlx::Error> {
    super::audit(tx, now, actor, action, ("invoice", invoice.id), details).await
}

/// Takes a use of `code` for `policy_slug` inside the caller's transaction:
/// the rules and the count of uses are checked by the single writer, so uses
/// can never be oversold. With the license already issued (a free order)
/// the use is consumed; else it is reserved until the invoice settles.
#[allow(clippy::too_many_arguments)]
pub async fn claim_code(
    tx: &mut Tx,
    code: &DiscountCode,
    policy_slug: &str,
    buyer: Option<&str>,
    invoice_id: Option<&str>,
    license_id: Option<Uuid>,
    sats: i64,
    hold_seconds: i64,
    now: i64,
) -> Result<Result<Uuid, Refusal>, sqlx::Error> {
    let usage = db::codes::usage(tx, code.id, buyer, now - hold_seconds).await?;
    if let Err(r) = code.rules.check(now, policy_slug, usage) {
        return Ok(Err(r));
    }
    let state = if license_id.is_some() { "consumed" } else { "reserved" };
    let id = db::codes::insert_use(
        tx,
        db::codes::NewUse { code_id: code.id, state, buyer, invoice_id, license_id, sats },
        now,
    )
    .await?;
    Ok(Ok(id))
}

/// The buyer a per-buyer code limit counts: the npub, else the e-mail.
pub fn buyer_key(email: Option<&str>, npub: Option<&Npub>) -> Option<String> {
    npub.map(Npub::to_hex).or_else(|| email.map(str::to_lowercase))
}
