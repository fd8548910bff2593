//! Who the buyer is dealing with: the seller's contact, support and terms
//! (operator settings), and the checks on the web addresses a seller gives
//! (their own and a product's homepage and download).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::license::parse_email;
use super::npub::Npub;
use super::{optional_text, DomainError};

/// Longest web address accepted.
pub const URL_MAX: usize = 2000;
/// Longest refund policy text.
pub const REFUND_POLICY_MAX: usize = 4000;

/// The seller's identity as buyers see it; every part optional.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SellerIdentity {
    /// An e-mail address buyers can write to.
    pub contact_email: Option<String>,
    /// A Nostr public key buyers can write to (bech32 `npub1…`).
    pub contact_npub: Option<String>,
    /// The seller's support page (http or https).
    pub support_url: Option<String>,
    /// The seller's terms of sale (http or https).
    pub terms_url: Option<String>,
    /// The refund policy, shown before paying.
    pub refund_policy: Option<String>,
}

impl SellerIdentity {
    /// Some way to reach the seller is set.
    pub fn has_contact(&self) -> bool {
        self.contact_email.is_some() || self.contact_npub.is_some() || self.support_url.is_some()
    }

    /// How to reach the seller, in one line of plain text, if any way is set:
    /// "e-mail ada@example.com, Nostr npub1…, support https://…".
    pub fn contact_line(&self) -> Option<String> {
        let mut parts = Vec::new();
        if let Some(e) = &self.contact_email {
            parts.push(format!("e-mail {e}"));
        }
        if let Some(n) = &self.contact_npub {
            parts.push(format!("Nostr {n}"));
        }
        if let Some(u) = &self.support_url {
            parts.push(format!("support {u}"));
        }
        (!parts.is_empty()).then(|| parts.join(", "))
    }
}

/// A web address a buyer may be sent to: absolute http(s), with a host, no
/// credentials, at most [`URL_MAX`] characters. Blank means none.
pub fn web_url(field: &'static str, value: Option<String>) -> Result<Option<String>, DomainError> {
    let Some(v) = optional_text(field, value, URL_MAX)? else {
        return Ok(None);
    };
    let bad = |why: &str| DomainError::invalid(field, format!("'{}' {why}", super::clip(&v, 80)));
    let url = url::Url::parse(&v).map_err(|_| bad("is not a web address (https://…)"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(bad("must start with https:// or http://"));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(bad("has no host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad("must not hold a user name or password"));
    }
    Ok(Some(v))
}

/// The seller's contact e-mail, checked for shape; blank means none.
pub fn contact_email(value: Option<String>) -> Result<Option<String>, DomainError> {
    optional_text("contact_email", value, 254)?
        .map(|v| {
            parse_email(&v).map_err(|_| {
                DomainError::invalid("contact_email", format!("'{}' is not an e-mail address", super::clip(&v, 80)))
            })
        })
        .transpose()
}

/// The seller's contact npub (or 64-hex key), stored as bech32; blank means none.
pub fn contact_npub(value: Option<String>) -> Result<Option<String>, DomainError> {
    optional_text("contact_npub", value, 100)?
        .map(|v| {
            Npub::parse(&v).map(|n| n.to_bech32()).map_err(|_| {
                DomainError::invalid(
                    "contact_npub",
                    format!("'{}' is not an npub or a 64-character hex key", super::clip(&v, 80)),
                )
            })
        })
        .transpose()
}

/// The refund policy text; blank means none.
pub fn refund_policy(value: Option<String>) -> Result<Option<String>, DomainError> {
    optional_text("refund_policy", value, REFUND_POLICY_MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn web_addresses() {
        assert_eq!(web_url("u", Some(" https://a.example/x ".into())).unwrap().as_deref(), Some("https://a.example/x"));
        assert_eq!(web_url("u", Some("   ".into())).unwrap(), None);
        assert_eq!(web_url("u", None).unwrap(), None);
        for bad in ["javascript:alert(1)", "ftp://a.example", "a.example", "https://u:p@a.example/", "data:text/html,x"]
        {
            assert!(web_url("u", Some(bad.into())).is_err(), "{bad}");
        }
        assert!(web_url("u", Some(format!("https://a.example/{}", "x".repeat(URL_MAX)))).is_err());
    }

    #[test]
    fn contacts() {
        assert_eq!(contact_email(Some("ada@example.com".into())).unwrap().as_deref(), Some("ada@example.com"));
        assert!(contact_email(Some("ada".into())).is_err());
        let hex = "7e7e9c42a91bfef19fa929e5fda1b72e0ebc1a4c1141673e2794234d86addf4e";
        let npub = contact_npub(Some(hex.into())).unwrap().unwrap();
        assert!(npub.starts_with("npub1"), "{npub}");
        assert!(contact_npub(Some("npub1nope".into())).is_err());
        let s = SellerIdentity { contact_email: Some("a@b.example".into()), ..Default::default() };
        assert_eq!(s.contact_line().as_deref(), Some("e-mail a@b.example"));
        assert!(SellerIdentity::default().contact_line().is_none());
    }
}
