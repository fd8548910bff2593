//! Exports of licenses, invoices, customers, machines and the audit log, as CSV a
//! spreadsheet reads (UTF-8, a header row, RFC 4180 quoting, no cell a
//! spreadsheet would take for a formula) or as JSON Lines; produced a page at
//! a time, so any size streams in bounded memory.

use std::collections::HashMap;
use std::sync::Mutex;

use rand::RngCore;
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::licenses::Names;
use super::views::{AuditEntry, InvoiceView, LicenseView, MachineView};
use super::{audit, customers, sales, Core, ServiceError};
use crate::db;
use crate::domain::now_unix;
use crate::domain::time::Timestamp;

const PAGE: i64 = 500;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Licenses,
    Invoices,
    Machines,
    Audit,
    Customers,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Jsonl,
}

impl Kind {
    /// `licenses.csv`, `audit.jsonl`, …
    pub fn parse(file: &str) -> Result<(Kind, Format), ServiceError> {
        let bad = || {
            ServiceError::NotFound(format!(
                "no export '{file}' (licenses, invoices, customers, machines, audit; .csv or .jsonl)"
            ))
        };
        let (name, ext) = file.rsplit_once('.').ok_or_else(bad)?;
        let format = match ext {
            "csv" => Format::Csv,
            "jsonl" => Format::Jsonl,
            _ => return Err(bad()),
        };
        let kind = match name {
            "licenses" => Kind::Licenses,
            "invoices" => Kind::Invoices,
            "machines" => Kind::Machines,
            "audit" => Kind::Audit,
            "customers" => Kind::Customers,
            _ => return Err(bad()),
        };
        Ok((kind, format))
    }
}

/// How long a download link lives.
pub const LINK_LIFETIME_SECONDS: i64 = 600;
/// Most links waiting at once; the oldest is dropped past it.
const MAX_LINKS: usize = 64;

/// One-time download links to exports, for an operator whose only way into
/// the admin API is a StartOS action (which can show text but not hand over
/// a file). A link is 256 random bits in the URL, kept here only as its
/// SHA-256, answers once and lives [`LINK_LIFETIME_SECONDS`]; links do not
/// survive a restart (the operator asks for a new one).
#[derive(Default)]
pub struct Links(Mutex<HashMap<[u8; 32], Pending>>);

/// What a link will download.
#[derive(Debug, Clone)]
pub struct Pending {
    pub file: String,
    pub kind: Kind,
    pub format: Format,
    pub from: Option<i64>,
    pub to: Option<i64>,
    pub expires_at: i64,
}

/// A link just made: the only time its token is seen.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Link {
    /// The path on the public listener (`/download/<token>`).
    pub path: String,
    /// The path under the service's public URL.
    pub url: String,
    pub file: String,
    pub expires_at: Timestamp,
}

fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

impl Links {
    /// Makes a link to `file` (`licenses.csv`, …) created in `[from, to)`;
    /// audited, since it hands data to whoever holds the URL.
    pub async fn create(
        &self,
        core: &Core,
        file: &str,
        from: Option<i64>,
        to: Option<i64>,
    ) -> Result<Link, ServiceError> {
        let (kind, format) =
            Kind::parse(file).map_err(|e| ServiceError::Invalid { code: "invalid_export", message: e.to_string() })?;
        let now = now_unix();
        let mut secret = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut secret);
        let token = data_encoding::BASE64URL_NOPAD.encode(&secret);
        let expires_at = now + LINK_LIFETIME_SECONDS;
        let mut tx = core.db.begin().await?;
        let details = serde_json::json!({ "file": file, "from": from, "to": to, "expires_at": expires_at });
        audit(&mut tx, now, "admin", "export.link", ("export", file), details).await?;
        tx.commit().await?;
        {
            let mut links = self.0.lock().expect("links lock");
            links.retain(|_, p| p.expires_at > now);
            if links.len() >= MAX_LINKS {
                let oldest = links.iter().min_by_key(|(_, p)| p.expires_at).map(|(k, _)| *k);
                if let Some(k) = oldest {
                    links.remove(&k);
                }
            }
            let pending = Pending { file: file.to_string(), kind, format, from, to, expires_at };
            links.insert(digest(&token), pending);
        }
        let path = format!("/download/{token}");
        Ok(Link {
            url: format!("{}{path}", core.public_url),
            path,
            file: file.to_string(),
            expires_at: Timestamp(expires_at),
        })
    }

    /// Uses a link up: what it downloads, or `None` for an unknown, used or
    /// expired token.
    pub fn take(&self, token: &str) -> Option<Pending> {
        let pending = self.0.lock().expect("links lock").remove(&digest(token))?;
        (pending.expires_at > now_unix()).then_some(pending)
    }
}

/// Where an export stands between pages.
pub struct Export {
    core: Core,
    kind: Kind,
    format: Format,
    /// Created in `[from, to)` (licenses, invoices; the audit log by time).
    pub from: Option<i64>,
    pub to: Option<i64>,
    cursor: Option<i64>,
    columns: Vec<String>,
    started: bool,
    pub done: bool,
}

impl Export {
    pub fn new(core: Core, kind: Kind, format: Format, from: Option<i64>, to: Option<i64>) -> Export {
        Export { core, kind, format, from, to, cursor: None, columns: Vec::new(), started: false, done: false }
    }

    /// The next chunk of text; empty once done.
    pub async fn next_chunk(&mut self) -> Result<String, ServiceError> {
        if self.done {
            return Ok(String::new());
        }
        let (rows, cursor) = self.page().await?;
        self.done = rows.len() < PAGE as usize || self.kind == Kind::Customers;
        self.cursor = cursor;
        let mut out = String::new();
        if !self.started {
            self.started = true;
            self.columns = columns(self.kind);
            if self.format == Format::Csv {
                out.push_str(&csv_line(self.columns.iter().map(|c| Value::String(c.clone()))));
            }
        }
        for row in rows {
            match self.format {
                Format::Jsonl => {
                    out.push_str(&row.to_string());
                    out.push('\n');
                }
                Format::Csv => out.push_str(&csv_line(self.columns.iter().map(|c| row[c].clone()))),
            }
        }
        Ok(out)
    }

    async fn page(&self) -> Result<(Vec<Value>, Option<i64>), ServiceError> {
        let s = &self.core;
        Ok(match self.kind {
            Kind::Licenses => {
                let f = db::licenses::ListFilter {
                    created_from: self.from,
                    created_to: self.to,
                    before_rowid: self.cursor,
                    limit: PAGE,
                    ..Default::default()
                };
                let rows = db::licenses::list(&s.db.read, &f).await?;
                let names = Names::load(s).await?;
                let mut views: Vec<LicenseView> = rows.iter().map(|l| LicenseView::new(l, &names)).collect();
                sales::attach(s, &mut views).await?;
                (values(&views), rows.last().map(|l| l.rowid))
            }
            Kind::Invoices => {
                let f = db::sales::InvoiceFilter {
                    created_from: self.from,
                    created_to: self.to,
                    before_rowid: self.cursor,
                    limit: PAGE,
                    ..Default::default()
                };
                let rows = db::sales::list(&s.db.read, &f).await?;
                let names = Names::load(s).await?;
                let views: Vec<InvoiceView> = rows.iter().map(|r| InvoiceView::new(r, &names)).collect();
                (values(&views), rows.last().map(|r| r.rowid))
            }
            Kind::Machines => {
                let rows = db::export::machines(&s.db.read, self.cursor.unwrap_or(i64::MAX), PAGE).await?;
                let views: Vec<MachineView> = rows.iter().map(|(_, m)| MachineView::from(m)).collect();
                (values(&views), rows.last().map(|r| r.0))
            }
            Kind::Audit => {
                let f = db::audit::AuditFilter {
                    since: self.from,
                    until: self.to,
                    before_id: self.cursor,
                    limit: PAGE,
                    ..Default::default()
                };
                let rows = db::audit::list(&s.db.read, &f).await?;
                let views: Vec<AuditEntry> = rows.iter().map(AuditEntry::from).collect();
                (values(&views), rows.last().map(|a| a.id))
            }
            // Customers are grouped whole (see `customers`): one page of all.
            Kind::Customers if self.cursor.is_some() => (Vec::new(), None),
            Kind::Customers => (values(&customers::all(s).await?), Some(0)),
        })
    }
}

fn values<T: Serialize>(rows: &[T]) -> Vec<Value> {
    rows.iter().map(|r| serde_json::to_value(r).expect("views serialise")).collect()
}

/// The columns of each kind, in the order of its view.
fn columns(kind: Kind) -> Vec<String> {
    let names: &[&str] = match kind {
        Kind::Licenses => &[
            "license_id",
            "license_key",
            "product_slug",
            "product_name",
            "policy_slug",
            "policy_name",
            "status",
            "issued_at",
            "expires_at",
            "max_machines",
            "entitlements",
            "is_trial",
            "fingerprint",
            "buyer_email",
            "buyer_npub",
            "note",
            "source",
            "invoice_id",
            "amount_paid_sats",
            "amount_paid_fiat",
            "paid_currency",
            "code",
            "revoked_reason",
            "created_at",
            "updated_at",
        ],
        Kind::Invoices => &[
            "invoice_id",
            "status",
            "provider",
            "provider_invoice_id",
            "product_slug",
            "policy_slug",
            "amount_sats",
            "base_price_sats",
            "discount_sats",
            "price_amount",
            "price_currency",
            "code",
            "buyer_email",
            "buyer_npub",
            "buyer_note",
            "license_id",
            "created_at",
            "settled_at",
            "closed_at",
        ],
        Kind::Machines => &[
            "id",
            "license_id",
            "fingerprint",
            "hostname",
            "platform",
            "active",
            "activated_at",
            "last_seen_at",
            "deactivated_at",
            "deactivation_reason",
        ],
        Kind::Audit => &["id", "at", "actor", "action", "target_type", "target_id", "details"],
        Kind::Customers => &[
            "customer_id",
            "emails",
            "npubs",
            "license_ids",
            "sales",
            "total_paid_sats",
            "total_paid_fiat",
            "first_purchase_at",
            "last_purchase_at",
        ],
    };
    names.iter().map(|n| n.to_string()).collect()
}

/// One CSV record (RFC 4180, CRLF-terminated).
pub fn csv_line(cells: impl Iterator<Item = Value>) -> String {
    let cells: Vec<String> = cells.map(|v| csv_cell(&v)).collect();
    format!("{}\r\n", cells.join(","))
}

/// A cell: text neutralised against formulas, quoted when it must be.
pub fn csv_cell(v: &Value) -> String {
    let text = match v {
        Value::Null => return String::new(),
        Value::Bool(b) => return b.to_string(),
        Value::Number(n) => return n.to_string(),
        Value::String(s) => neutralise(s),
        Value::Array(items) => neutralise(
            &items
                .iter()
                .map(|i| i.as_str().map_or_else(|| i.to_string(), str::to_string))
                .collect::<Vec<_>>()
                .join(";"),
        ),
        Value::Object(_) => neutralise(&v.to_string()),
    };
    if text.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text
    }
}

/// Text a spreadsheet would run as a formula (`=`, `+`, `-`, `@`, tab, CR
/// first) gets a leading apostrophe (OWASP's advice).
fn neutralise(s: &str) -> String {
    match s.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{s}"),
        _ => s.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_expired_link_downloads_nothing() {
        let links = Links::default();
        let pending = |expires_at| Pending {
            file: "audit.csv".into(),
            kind: Kind::Audit,
            format: Format::Csv,
            from: None,
            to: None,
            expires_at,
        };
        links.0.lock().unwrap().insert(digest("old"), pending(now_unix() - 1));
        links.0.lock().unwrap().insert(digest("new"), pending(now_unix() + 60));
        assert!(links.take("old").is_none());
        assert!(links.take("new").is_some());
        assert!(links.take("new").is_none(), "once");
    }

    #[test]
    fn cells_are_quoted_and_never_formulas() {
        assert_eq!(csv_cell(&json!("=cmd|' /C calc'!A0")), "'=cmd|' /C calc'!A0");
        assert_eq!(csv_cell(&json!("+1, \"two\"")), "\"'+1, \"\"two\"\"\"");
        assert_eq!(csv_cell(&json!("@SUM(A1)")), "'@SUM(A1)");
        assert_eq!(csv_cell(&json!("line\nbreak")), "\"line\nbreak\"");
        assert_eq!(csv_cell(&json!(-5)), "-5");
        assert_eq!(csv_cell(&json!(null)), "");
        assert_eq!(csv_cell(&json!(["pro", "sync"])), "pro;sync");
        assert_eq!(csv_line([json!("a"), json!(1)].into_iter()), "a,1\r\n");
    }
}
