//! License search: every form the operator may type, each answered by an
//! index (ids, keys, fingerprints, npubs, invoice ids, hostnames), the
//! trigram index `license_text` (parts of e-mail addresses and notes), or a
//! scan of the keys (parts of keys; see [`key_fragment`]).

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

/// `term` as it would appear inside a stored key (upper case), if it could:
/// at least [`MIN_KEY_FRAGMENT`] characters of a `LIC1` key's alphabet (RFC
/// 4648 base32 letters and digits 2-7, the `1` of its prefix, `-`).
///
/// Such a part is found by a scan of `licenses.license_key` (GLOB), not an
/// index: a trigram index over the 242-character keys cost 1.1 KB per
/// license (most of a license's bytes) and much of issuance's time, for a
/// search the operator makes rarely. Measured at 100,000 licenses on the
/// shared 2-core machine at load 10-11 (so several times slower than idle):
/// the scan alone 100-120 ms (GLOB; `instr` 145-155, reading the rows
/// without matching 95-100), a key-part search over HTTP (release,
/// bench/search, with `instr`, a release build running beside it) p50 184 ms. Whole keys skip it (`key_hash` answers them).
pub fn key_fragment(term: &str) -> Option<String> {
    let upper = term.to_ascii_uppercase();
    let keyish = upper.bytes().all(|b| b.is_ascii_uppercase() || (b'1'..=b'7').contains(&b) || b == b'-');
    (keyish && upper.len() >= MIN_KEY_FRAGMENT && !whole_key(&upper)).then_some(upper)
}

/// Base32 characters of an Ed25519 signature (64 bytes), the last part of a key.
const SIGNATURE_CHARS: usize = 103;

/// A whole key (`LIC1-<payload>-<signature>`, the signature complete): no
/// other key can contain it, so `key_hash` alone answers it.
fn whole_key(upper: &str) -> bool {
    let Some(rest) = upper.strip_prefix(keysat_client::KEY_PREFIX).and_then(|r| r.strip_prefix('-')) else {
        return false;
    };
    matches!(rest.split_once('-'), Some((payload, sig)) if !payload.is_empty() && sig.len() == SIGNATURE_CHARS)
}

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
    // Machines filed by their fingerprints' last 8 characters, then compared whole,
    // and those still queued to be filed (db::machines::fold_tails).
    q.push(" UNION SELECT l.rowid FROM machine_tails t JOIN machines m ON m.rowid = t.machine ");
    q.push("JOIN licenses l ON l.id = m.license_id WHERE t.tail = substr(").push_bind(term.to_string());
    q.push(", -8) AND m.fingerprint = ").push_bind(term.to_string());
    q.push(" UNION SELECT l.rowid FROM machine_tails_new n JOIN machines m ON m.rowid = n.machine ");
    q.push("JOIN licenses l ON l.id = m.license_id WHERE m.fingerprint = ").push_bind(term.to_string());
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
    if let Some(fragment) = key_fragment(term) {
        // GLOB, case-sensitive, on the upper-cased part (which has none of GLOB's `*?[`):
        // it skips to the part's first character, quicker than `instr`'s compare at every offset.
        q.push(" UNION SELECT rowid FROM licenses WHERE license_key GLOB ").push_bind(format!("*{fragment}*"));
    }
    if term.chars().count() >= MIN_TEXT {
        q.push(" UNION SELECT rowid FROM license_text WHERE license_text MATCH ");
        q.push_bind(format!("{{buyer_email note}} : {}", phrase(term)));
    }
    q.push(") ORDER BY rowid DESC LIMIT ").push_bind(limit);
    q.build_query_as().fetch_all(pool).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_key_shaped_terms_are_key_fragments() {
        assert_eq!(key_fragment("abcdef234567").as_deref(), Some("ABCDEF234567"));
        assert_eq!(key_fragment("LIC1-AEBAGBAF").as_deref(), Some("LIC1-AEBAGBAF"));
        assert_eq!(key_fragment("ABCDEF23456"), None, "too short");
        assert_eq!(key_fragment("ABCDEF2345670"), None, "0 is no base32 digit");
        assert_eq!(key_fragment("ann@example.com"), None);
        assert_eq!(key_fragment("ÄBCDEF234567"), None);
        let sig = "A".repeat(SIGNATURE_CHARS);
        assert_eq!(key_fragment(&format!("lic1-AEBA-{sig}")), None, "a whole key goes through key_hash");
        assert!(key_fragment(&format!("LIC1-AEBA-{}", &sig[1..])).is_some(), "a cut signature is a part");
    }
}
