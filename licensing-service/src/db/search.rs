//! License search: every form the operator may type, each answered by an
//! index (ids, keys, fingerprints, npubs, invoice ids, hostnames) or the
//! trigram index `license_text` (parts of keys, e-mail addresses, notes).

use sqlx::{QueryBuilder, Sqlite, SqlitePool};

use super::licenses::License;

const COLUMNS: &str = "rowid, id, product_id, policy_id, license_key, status, issued_at, expires_at, \
    grace_seconds, max_machines, entitlements, is_trial, fingerprint, buyer_email, buyer_npub, note, source, \
    invoice_id, revoked_reason, version, created_at, updated_at";

/// Shortest part of an e-mail address or note searched for.
pub const MIN_TEXT: usize = 3;
/// Shortest part of a key searched for.
pub const MIN_KEY_FRAGMENT: usize = 12;
/// Shortest prefix of a license id searched for.
pub const MIN_ID_PREFIX: usize = 8;

/// A phrase for FTS5: the text in double quotes, its own quotes doubled.
fn phrase(term: &str) -> String {
    format!("\"{}\"", term.replace('"', "\"\""))
}

/// Licenses matching `term` in any form; `npub_hex` when it parsed as an npub. Newest first.
pub async fn licenses(
    pool: &SqlitePool,
    term: &str,
    npub_hex: Option<&str>,
    limit: i64,
) -> Result<Vec<License>, sqlx::Error> {
    let lower = term.to_ascii_lowercase();
    let mut q: QueryBuilder<Sqlite> = QueryBuilder::new(format!("SELECT {COLUMNS} FROM licenses WHERE rowid IN ("));
    q.push("SELECT rowid FROM licenses WHERE id = ").push_bind(lower.clone());
    q.push(" UNION SELECT rowid FROM licenses WHERE invoice_id = ").push_bind(lower.clone());
    // A whole key through its fixed-size hash (the unique index), then compared whole.
    let key = term.to_ascii_uppercase();
    q.push(" UNION SELECT rowid FROM licenses WHERE key_hash = ").push_bind(super::licenses::key_hash(&key));
    q.push(" AND license_key = ").push_bind(key);
    q.push(" UNION SELECT rowid FROM licenses WHERE fingerprint = ").push_bind(term.to_string());
    q.push(
        " UNION SELECT l.rowid FROM invoices i JOIN licenses l ON l.invoice_id = i.id WHERE i.provider_invoice_id = ",
    );
    q.push_bind(term.to_string());
    q.push(" UNION SELECT l.rowid FROM machines m JOIN licenses l ON l.id = m.license_id WHERE m.fingerprint = ");
    q.push_bind(term.to_string());
    q.push(" UNION SELECT l.rowid FROM machines m JOIN licenses l ON l.id = m.license_id WHERE m.hostname = ");
    q.push_bind(term.to_string()).push(" COLLATE NOCASE");
    if let Some(hex) = npub_hex {
        q.push(" UNION SELECT rowid FROM licenses WHERE buyer_npub = ").push_bind(hex.to_string());
    }
    let id_like = lower.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-');
    if id_like && (MIN_ID_PREFIX..36).contains(&lower.len()) {
        // A prefix as a range on the primary key ('~' sorts after hex digits and '-').
        q.push(" UNION SELECT rowid FROM licenses WHERE id >= ").push_bind(lower.clone());
        q.push(" AND id < ").push_bind(format!("{lower}~"));
    }
    if term.chars().count() >= MIN_KEY_FRAGMENT {
        q.push(" UNION SELECT rowid FROM license_text WHERE license_text MATCH ");
        q.push_bind(format!("{{license_key buyer_email note}} : {}", phrase(term)));
    } else if term.chars().count() >= MIN_TEXT {
        q.push(" UNION SELECT rowid FROM license_text WHERE license_text MATCH ");
        q.push_bind(format!("{{buyer_email note}} : {}", phrase(term)));
    }
    q.push(") ORDER BY rowid DESC LIMIT ").push_bind(limit);
    q.build_query_as().fetch_all(pool).await
}
