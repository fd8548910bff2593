//! The single path from "this buyer is entitled" to "a license exists": paid
//! invoices, free codes, operator comps and renewals all come through
//! [`issue_license`]. One transaction writes the license and its audit record;
//! a license tied to an invoice is created at most once.

use ed25519_dalek::SigningKey;
use serde_json::json;
use uuid::Uuid;

use crate::db::licenses::License;
use crate::db::{self, Db};
use crate::domain::catalog::{Policy, Product};
use crate::domain::license::{LicenseStatus, Terms};
use crate::domain::now_unix;
use crate::domain::npub::Npub;

/// Where a license came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Admin,
    Purchase,
    Redeem,
    Renewal,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Admin => "admin",
            Source::Purchase => "purchase",
            Source::Redeem => "redeem",
            Source::Renewal => "renewal",
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

/// The license, and whether this call created it (false: it already existed).
pub struct Issued {
    pub license: License,
    pub created: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum IssueError {
    #[error("could not build the key: {0}")]
    Key(#[from] keysat_client::Error),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

/// Signs a v2 key for the terms and writes the license with its audit record.
pub async fn issue_license(db: &Db, signer: &SigningKey, req: IssueRequest<'_>) -> Result<Issued, IssueError> {
    let now = now_unix();
    let mut tx = db.begin().await?;
    if let Some(invoice) = &req.invoice_id {
        if let Some(existing) = db::licenses::by_invoice(&mut *tx, invoice).await? {
            return Ok(Issued { license: existing, created: false });
        }
    }
    let terms = Terms::from_policy(req.policy, now);
    let license_id = Uuid::new_v4();
    let payload = keysat_client::Payload {
        version: 2,
        flags: if req.fingerprint.is_some() { keysat_client::FLAG_FINGERPRINT_BOUND } else { 0 }
            | if terms.is_trial { keysat_client::FLAG_TRIAL } else { 0 },
        product_id: req.product.id,
        license_id,
        issued_at: terms.issued_at as u64,
        expires_at: terms.expires_at as u64,
        fingerprint_hash: req.fingerprint.as_deref().map(keysat_client::fingerprint_hash).unwrap_or([0; 32]),
        entitlements: terms.entitlements.clone(),
    };
    let key = keysat_client::sign(&payload, signer)?;
    let license = License {
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
        buyer_npub: req.buyer_npub.map(|n| n.to_hex()),
        note: req.note,
        source: req.source.as_str().to_string(),
        invoice_id: req.invoice_id,
        revoked_reason: None,
        version: 0,
        created_at: now,
        updated_at: now,
    };
    db::licenses::insert(&mut tx, &license).await?;
    db::audit::record(
        &mut tx,
        now,
        db::audit::NewAudit {
            actor: req.actor,
            action: "license.issue",
            target_type: "license",
            target_id: license_id.to_string(),
            details: json!({
                "product": req.product.slug,
                "policy": req.policy.slug,
                "source": req.source.as_str(),
                "invoice_id": license.invoice_id,
                "expires_at": license.expires_at,
                "max_machines": license.max_machines,
            }),
        },
    )
    .await?;
    tx.commit().await?;
    let license = db::licenses::by_id(&db.write, license_id).await?.unwrap_or(license);
    Ok(Issued { license, created: true })
}
