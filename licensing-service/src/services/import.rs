//! Licenses brought in from another system: a CSV with a header row (the
//! columns below, in any order; others are ignored and named in the report).
//! Every row is checked before anything is written; a file with any bad row
//! imports nothing and names each bad row by its line. A dry run reports what
//! would happen. Each row becomes a license through fulfillment (a fresh key,
//! its audit record and `license.issued` event) and is remembered by its
//! reference, so running the same file again creates nothing twice.
//!
//! | column | aliases | meaning |
//! |---|---|---|
//! | `product` | `product_slug` | required: the product's slug |
//! | `tier` | `policy`, `policy_slug` | the tier's slug (default `default`) |
//! | `email` | `buyer_email` | the buyer's e-mail address |
//! | `npub` | `buyer_npub` | the buyer's npub (bech32 or hex) |
//! | `expires_at` | `expiry`, `expires` | RFC 3339, `YYYY-MM-DD` or unix seconds; `never` = perpetual; empty = the tier's term from now |
//! | `seats` | `max_machines` | machines allowed (0 = unlimited); empty = the tier's |
//! | `note` | | the operator's note |
//! | `status` | | `active` (default), `suspended` or `revoked` |
//! | `revoked_reason` | | why, for a revoked row |
//! | `fingerprint` | | binds the key to one machine |
//! | `external_id` | `license_id` | the row's id in the other system (makes re-runs match rows by it) |
//!
//! Keysat's own `licenses.csv` export has these columns, so an export imports
//! into another Keysat as it is (keys are re-issued). A cell the export
//! neutralised against spreadsheet formulas (`'=…`) is read back as it was.

use schemars::JsonSchema;
use std::collections::HashMap;

use serde::Serialize;
use serde_json::json;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::fulfillment::{issue_with_terms, IssueRequest, Source};
use super::{audit, Core, ServiceError};
use crate::db::{self, Tx};
use crate::delivery::events::license_event;
use crate::delivery::EventType;
use crate::domain::catalog::{Policy, Product};
use crate::domain::license::{parse_email, parse_fingerprint, LicenseStatus, Terms};
use crate::domain::npub::Npub;
use crate::domain::{now_unix, optional_text, DomainError};

/// Most rows one import takes.
pub const MAX_ROWS: usize = 100_000;
/// Rows written per transaction, so the one writer is never held long.
const CHUNK: usize = 200;
/// Most machines an imported row may allow.
const MAX_SEATS: i64 = 1_000_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Col {
    Product,
    Tier,
    Email,
    Npub,
    Expires,
    Seats,
    Note,
    Status,
    RevokedReason,
    Fingerprint,
    ExternalId,
}

fn column(name: &str) -> Option<Col> {
    Some(match name.trim().to_ascii_lowercase().as_str() {
        "product" | "product_slug" => Col::Product,
        "tier" | "policy" | "policy_slug" => Col::Tier,
        "email" | "buyer_email" => Col::Email,
        "npub" | "buyer_npub" => Col::Npub,
        "expires_at" | "expiry" | "expires" => Col::Expires,
        "seats" | "max_machines" => Col::Seats,
        "note" => Col::Note,
        "status" => Col::Status,
        "revoked_reason" => Col::RevokedReason,
        "fingerprint" => Col::Fingerprint,
        "external_id" | "license_id" => Col::ExternalId,
        _ => return None,
    })
}

/// What an import did (or, in a dry run, would do).
#[derive(Debug, Serialize, JsonSchema)]
pub struct ImportReport {
    pub dry_run: bool,
    /// Data rows read (the header not counted).
    pub rows: usize,
    /// Licenses created (a dry run: that would be created).
    pub created: usize,
    /// Rows a previous run already imported.
    pub already_imported: usize,
    /// Rows whose expiry has passed: not imported.
    pub skipped_expired: usize,
    /// Header columns Keysat does not read.
    pub ignored_columns: Vec<String>,
    /// Every bad row; when any, nothing was imported.
    pub errors: Vec<RowError>,
    pub results: Vec<RowResult>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct RowError {
    /// The line in the file (the header is line 1).
    pub line: u64,
    pub field: Option<&'static str>,
    pub message: String,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct RowResult {
    pub line: u64,
    pub reference: String,
    pub outcome: Outcome,
    pub license_id: Option<Uuid>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expiry {
    TierTerm,
    Never,
    At(i64),
}

/// One checked row.
struct Row {
    line: u64,
    reference: String,
    product: Product,
    policy: Policy,
    email: Option<String>,
    npub: Option<Npub>,
    expiry: Expiry,
    seats: Option<i64>,
    note: Option<String>,
    status: LicenseStatus,
    revoked_reason: Option<String>,
    fingerprint: Option<String>,
}

impl Row {
    fn terms(&self, now: i64) -> Terms {
        let mut terms = Terms::from_policy(&self.policy, now);
        match self.expiry {
            Expiry::TierTerm => {}
            Expiry::Never => terms.expires_at = 0,
            Expiry::At(t) => terms.expires_at = t,
        }
        if let Some(seats) = self.seats {
            terms.max_machines = seats;
        }
        terms
    }

    fn expired(&self, now: i64) -> bool {
        matches!(self.expiry, Expiry::At(t) if t <= now)
    }
}

/// Imports `csv` (or, with `dry_run`, only reports). `Err` is for a file
/// that cannot be read at all; bad rows are in the report's `errors`.
pub async fn licenses(s: &Core, csv: &[u8], dry_run: bool, actor: &str) -> Result<ImportReport, ServiceError> {
    let now = now_unix();
    let (rows, mut report) = check(s, csv, dry_run).await?;
    if !report.errors.is_empty() {
        return Ok(report);
    }
    for chunk in rows.chunks(CHUNK) {
        let mut tx = s.db.begin().await?;
        let mut outcomes = Vec::with_capacity(chunk.len());
        for row in chunk {
            let outcome = match db::imports::license_of(&mut *tx, &row.reference).await? {
                Some(id) => (Outcome::AlreadyImported, Some(id)),
                None if row.expired(now) => (Outcome::SkippedExpired, None),
                None if dry_run => (Outcome::WouldCreate, None),
                None => (Outcome::Created, Some(import_row(s, &mut tx, row, actor, now).await?)),
            };
            outcomes.push(outcome);
        }
        if dry_run {
            tx.rollback().await?;
        } else {
            tx.commit().await?;
        }
        for (row, (outcome, license_id)) in chunk.iter().zip(outcomes) {
            report.record(row, outcome, license_id);
        }
    }
    Ok(report)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Created,
    WouldCreate,
    AlreadyImported,
    SkippedExpired,
}

impl ImportReport {
    fn record(&mut self, row: &Row, outcome: Outcome, license_id: Option<Uuid>) {
        match outcome {
            Outcome::Created | Outcome::WouldCreate => self.created += 1,
            Outcome::AlreadyImported => self.already_imported += 1,
            Outcome::SkippedExpired => self.skipped_expired += 1,
        }
        self.results.push(RowResult { line: row.line, reference: row.reference.clone(), outcome, license_id });
    }
}

/// Issues one row's license, with its status and its import record.
async fn import_row(s: &Core, tx: &mut Tx, row: &Row, actor: &str, now: i64) -> Result<Uuid, ServiceError> {
    let req = IssueRequest {
        product: &row.product,
        policy: &row.policy,
        buyer_email: row.email.clone(),
        buyer_npub: row.npub,
        note: row.note.clone(),
        fingerprint: row.fingerprint.clone(),
        source: Source::Import,
        invoice_id: None,
        actor,
    };
    let issued = issue_with_terms(tx, &s.signer, req, row.terms(now), now).await.map_err(|e| anyhow::anyhow!(e))?;
    let license = issued.license;
    if row.status != LicenseStatus::Active {
        let reason = row.revoked_reason.as_deref().filter(|_| row.status == LicenseStatus::Revoked);
        db::licenses::set_status(tx, license.id, row.status, reason, now).await?;
        let event = match row.status {
            LicenseStatus::Revoked => EventType::LicenseRevoked,
            _ => EventType::LicenseSuspended,
        };
        let changed =
            db::licenses::License { status: row.status, revoked_reason: reason.map(str::to_owned), ..license.clone() };
        license_event(tx, now, event, &changed, json!({ "previous_status": "active", "reason": reason })).await?;
    }
    db::imports::record(tx, &row.reference, license.id, now).await?;
    let details = json!({ "line": row.line, "reference": row.reference, "status": row.status });
    audit(tx, now, actor, "license.import", ("license", license.id), details).await?;
    Ok(license.id)
}

/// Reads and checks every row; nothing is written.
async fn check(s: &Core, csv: &[u8], dry_run: bool) -> Result<(Vec<Row>, ImportReport), ServiceError> {
    let mut reader = csv::ReaderBuilder::new().flexible(false).from_reader(csv);
    let headers = reader
        .headers()
        .map_err(|e| ServiceError::bad_input("invalid_csv", format!("cannot read the header row: {e}")))?
        .clone();
    let mut cols: HashMap<Col, usize> = HashMap::new();
    let mut ignored = Vec::new();
    for (i, h) in headers.iter().enumerate() {
        match column(h) {
            Some(c) if cols.contains_key(&c) => {
                return Err(ServiceError::bad_input("invalid_csv", format!("the header names '{h}' twice")))
            }
            Some(c) => {
                cols.insert(c, i);
            }
            None => ignored.push(h.to_string()),
        }
    }
    if !cols.contains_key(&Col::Product) {
        return Err(ServiceError::bad_input("invalid_csv", "the header row has no 'product' column"));
    }
    let mut report = ImportReport {
        dry_run,
        rows: 0,
        created: 0,
        already_imported: 0,
        skipped_expired: 0,
        ignored_columns: ignored,
        errors: Vec::new(),
        results: Vec::new(),
    };
    let mut catalog = Catalog::default();
    let mut seen: HashMap<String, u64> = HashMap::new();
    let mut first_line: HashMap<String, u64> = HashMap::new();
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or(0, line_of);
                report.errors.push(RowError { line, field: None, message: format!("unreadable row: {e}") });
                continue;
            }
        };
        report.rows += 1;
        if report.rows > MAX_ROWS {
            return Err(ServiceError::bad_input(
                "too_many_rows",
                format!("at most {MAX_ROWS} rows per import; split the file"),
            ));
        }
        let line = record.position().map_or(0, line_of);
        let cell =
            |c: Col| cols.get(&c).and_then(|i| record.get(*i)).map(unneutralise).filter(|v| !v.trim().is_empty());
        match parse_row(s, &mut catalog, line, &cell).await {
            Ok(mut row) => {
                row.reference = reference(&row.reference, &record, &mut seen);
                match first_line.get(&row.reference) {
                    Some(first) => report.errors.push(RowError {
                        line,
                        field: Some("external_id"),
                        message: format!("the same row id as line {first}"),
                    }),
                    None => {
                        first_line.insert(row.reference.clone(), line);
                        rows.push(row);
                    }
                }
            }
            Err((field, message)) => report.errors.push(RowError { line, field, message }),
        }
    }
    Ok((rows, report))
}

/// The file's line of a record (1 = the header): the csv crate counts the
/// line breaks before it, so the first record after the header is its 1.
fn line_of(p: &csv::Position) -> u64 {
    p.line() + 1
}

/// The row's reference: `id:<external id>`, or a hash of its cells with the
/// number of identical rows before it (two identical purchases stay two).
fn reference(external: &str, record: &csv::StringRecord, seen: &mut HashMap<String, u64>) -> String {
    if !external.is_empty() {
        return format!("id:{external}");
    }
    let mut h = Sha256::new();
    for cell in record.iter() {
        h.update(cell.trim().as_bytes());
        h.update([0]);
    }
    let digest = hex::encode(&h.finalize()[..16]);
    let n = seen.entry(format!("hash:{digest}")).or_insert(0);
    *n += 1;
    format!("row:{digest}#{n}")
}

/// A cell the export wrote as `'=…` (against spreadsheet formulas) is `=…`.
fn unneutralise(v: &str) -> &str {
    match v.strip_prefix('\'') {
        Some(rest) if rest.starts_with(['=', '+', '-', '@', '\t', '\r']) => rest,
        _ => v,
    }
}

/// Products and tiers by slug, read once per import.
#[derive(Default)]
struct Catalog {
    products: HashMap<String, Option<Product>>,
    policies: HashMap<(Uuid, String), Option<Policy>>,
}

type Field = (Option<&'static str>, String);

fn field_error(e: DomainError) -> Field {
    match e {
        DomainError::Invalid { field, message } => (Some(field), message),
        other => (None, other.to_string()),
    }
}

async fn parse_row<'r>(
    s: &Core,
    catalog: &mut Catalog,
    line: u64,
    cell: &impl Fn(Col) -> Option<&'r str>,
) -> Result<Row, Field> {
    let db_err = |e: sqlx::Error| (None, format!("database error: {e}"));
    let slug = cell(Col::Product).map(str::trim).ok_or((Some("product"), "is required".to_string()))?;
    if !catalog.products.contains_key(slug) {
        let p = db::products::by_slug(&s.db.read, slug).await.map_err(db_err)?;
        catalog.products.insert(slug.to_string(), p);
    }
    let product = catalog.products[slug].clone().ok_or_else(|| (Some("product"), format!("no product '{slug}'")))?;
    let tier = cell(Col::Tier).map_or("default", str::trim);
    let key = (product.id, tier.to_string());
    if !catalog.policies.contains_key(&key) {
        let p = db::policies::by_slug(&s.db.read, product.id, tier).await.map_err(db_err)?;
        catalog.policies.insert(key.clone(), p);
    }
    let policy = catalog.policies[&key]
        .clone()
        .ok_or_else(|| (Some("tier"), format!("product '{slug}' has no tier '{tier}'")))?;
    let email = cell(Col::Email).map(parse_email).transpose().map_err(field_error)?;
    let npub = cell(Col::Npub).map(|n| Npub::parse(n.trim())).transpose().map_err(field_error)?;
    let expiry = match cell(Col::Expires).map(str::trim) {
        None => Expiry::TierTerm,
        Some(v) if v.eq_ignore_ascii_case("never") => Expiry::Never,
        Some(v) => {
            Expiry::At(crate::domain::time::parse_time(v).map_err(|why| (Some("expires_at"), format!("'{v}' {why}")))?)
        }
    };
    let seats = match cell(Col::Seats).map(str::trim) {
        None => None,
        Some(v) => Some(
            v.parse::<i64>()
                .ok()
                .filter(|n| (0..=MAX_SEATS).contains(n))
                .ok_or_else(|| (Some("seats"), format!("'{v}' is not a whole number from 0 to {MAX_SEATS}")))?,
        ),
    };
    let status =
        cell(Col::Status).map_or(Ok(LicenseStatus::Active), |v| LicenseStatus::parse(v.trim())).map_err(field_error)?;
    let text = |c: Col, name: &'static str, max: usize| {
        optional_text(name, cell(c).map(str::to_string), max).map_err(field_error)
    };
    let revoked_reason = text(Col::RevokedReason, "revoked_reason", 500)?;
    let fingerprint = cell(Col::Fingerprint).map(|f| parse_fingerprint(f.trim())).transpose().map_err(field_error)?;
    let external = text(Col::ExternalId, "external_id", 200)?.unwrap_or_default();
    Ok(Row {
        line,
        reference: external,
        product,
        policy,
        email,
        npub,
        expiry,
        seats,
        note: text(Col::Note, "note", 2000)?,
        status,
        revoked_reason,
        fingerprint,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_and_cells() {
        assert_eq!(column(" Buyer_Email "), Some(Col::Email));
        assert_eq!(column("policy_slug"), Some(Col::Tier));
        assert_eq!(column("amount_paid_sats"), None);
        assert_eq!(unneutralise("'=cmd|' /C calc'!A0"), "=cmd|' /C calc'!A0");
        assert_eq!(unneutralise("'quoted"), "'quoted");
        assert_eq!(unneutralise("plain"), "plain");
    }

    #[test]
    fn lines_count_from_the_header() {
        let mut r = csv::ReaderBuilder::new().from_reader("a,b\r\n1,2\r\n\"x\ny\",3\r\n4,5\r\n".as_bytes());
        let lines: Vec<u64> = r.records().map(|rec| line_of(rec.unwrap().position().unwrap())).collect();
        assert_eq!(lines, vec![2, 3, 5]);
    }

    #[test]
    fn identical_rows_stay_distinct_and_ids_win() {
        let rec = csv::StringRecord::from(vec!["app", "pro", "a@b.co"]);
        let mut seen = HashMap::new();
        let one = reference("", &rec, &mut seen);
        let two = reference("", &rec, &mut seen);
        assert_ne!(one, two);
        assert!(one.ends_with("#1") && two.ends_with("#2"));
        assert_eq!(reference("L-42", &rec, &mut seen), "id:L-42");
        // The same file read again gives the same references.
        let mut again = HashMap::new();
        assert_eq!(reference("", &rec, &mut again), one);
    }
}
