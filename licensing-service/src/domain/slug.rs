//! Slugs name products, policies and entitlements in URLs and keys.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::DomainError;

/// 1–64 characters of `a-z`, `0-9` and `-`, not starting or ending with `-`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct Slug(String);

impl Slug {
    /// Parses a slug, reporting problems against `field`.
    pub fn parse_field(field: &'static str, s: &str) -> Result<Slug, DomainError> {
        let ok_chars = s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if s.is_empty() || s.len() > 64 || !ok_chars || s.starts_with('-') || s.ends_with('-') {
            return Err(DomainError::invalid(
                field,
                format!("'{s}' is not a slug (1-64 of a-z, 0-9 and '-', not at either end)"),
            ));
        }
        Ok(Slug(s.to_string()))
    }

    pub fn parse(s: &str) -> Result<Slug, DomainError> {
        Self::parse_field("slug", s)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Slug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for Slug {
    type Error = DomainError;
    fn try_from(s: String) -> Result<Slug, DomainError> {
        Slug::parse(&s)
    }
}

/// What [`Slug::parse_field`] accepts.
impl schemars::JsonSchema for Slug {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Slug".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "pattern": "^[a-z0-9]([a-z0-9-]{0,62}[a-z0-9])?$",
            "description": "1-64 of a-z, 0-9 and '-', not at either end",
        })
    }
}

impl<'de> Deserialize<'de> for Slug {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Slug::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_and_rejects() {
        for ok in ["a", "pro", "multi-device", "v2-tier-10"] {
            assert!(Slug::parse(ok).is_ok(), "{ok}");
        }
        let long = "a".repeat(65);
        for bad in ["", "-a", "a-", "Pro", "a b", "a_b", "é", long.as_str()] {
            assert!(Slug::parse(bad).is_err(), "{bad}");
        }
    }
}
