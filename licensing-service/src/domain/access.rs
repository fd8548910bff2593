//! What an admin API key may do. Every admin route needs one [`Scope`]; a
//! key holds a set of them, and a scope covers the routes of its own and of
//! the scopes it includes: `full` everything, `support` also `read-only`.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::DomainError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Scope {
    /// Every GET: catalogue, licenses, sales, customers, exports, status.
    ReadOnly,
    /// Day-to-day support: search and read, suspend and unsuspend, free
    /// seats, resend keys.
    Support,
    /// Create licenses and discount codes (a website after its own checkout,
    /// a reseller); nothing else.
    Issuer,
    /// Everything, as the startup admin key.
    Full,
}

impl Scope {
    pub const ALL: [Scope; 4] = [Scope::ReadOnly, Scope::Support, Scope::Issuer, Scope::Full];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::ReadOnly => "read-only",
            Scope::Support => "support",
            Scope::Issuer => "issuer",
            Scope::Full => "full",
        }
    }

    pub fn parse(s: &str) -> Result<Scope, DomainError> {
        Scope::ALL.into_iter().find(|x| x.as_str() == s).ok_or_else(|| {
            DomainError::invalid("scopes", format!("'{s}' is not one of read-only, support, issuer, full"))
        })
    }

    /// Whether holding `self` allows a route that needs `need`.
    pub fn covers(self, need: Scope) -> bool {
        match self {
            Scope::Full => true,
            Scope::Support => matches!(need, Scope::Support | Scope::ReadOnly),
            Scope::ReadOnly => need == Scope::ReadOnly,
            Scope::Issuer => need == Scope::Issuer,
        }
    }
}

/// Whether a key holding `held` may use a route that needs `need`.
pub fn allowed(held: &[Scope], need: Scope) -> bool {
    held.iter().any(|s| s.covers(need))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_cover_what_they_promise() {
        use Scope::*;
        assert!(allowed(&[Full], Full) && allowed(&[Full], Issuer));
        assert!(allowed(&[Support], ReadOnly) && allowed(&[Support], Support) && !allowed(&[Support], Issuer));
        assert!(!allowed(&[ReadOnly], Support));
        assert!(allowed(&[Issuer], Issuer) && !allowed(&[Issuer], ReadOnly));
        assert!(allowed(&[Issuer, ReadOnly], ReadOnly));
        assert!(!allowed(&[], ReadOnly));
        assert_eq!(Scope::parse("read-only").unwrap(), ReadOnly);
        assert!(Scope::parse("admin").is_err());
    }
}
