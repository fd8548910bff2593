//! Licenses: their states, the terms a policy grants, buyer contact values.

use schemars::JsonSchema;
use serde::Serialize;

use super::catalog::Policy;
use super::DomainError;

/// Lifecycle of a license. Suspension is reversible; revocation is final.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum LicenseStatus {
    Active,
    Suspended,
    Revoked,
}

impl LicenseStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            LicenseStatus::Active => "active",
            LicenseStatus::Suspended => "suspended",
            LicenseStatus::Revoked => "revoked",
        }
    }

    pub fn parse(s: &str) -> Result<LicenseStatus, DomainError> {
        match s {
            "active" => Ok(LicenseStatus::Active),
            "suspended" => Ok(LicenseStatus::Suspended),
            "revoked" => Ok(LicenseStatus::Revoked),
            other => Err(DomainError::invalid("status", format!("'{other}' is not one of active, suspended, revoked"))),
        }
    }

    /// The state a suspend / unsuspend / revoke moves to, or why it cannot.
    pub fn transition(self, action: StatusAction) -> Result<LicenseStatus, DomainError> {
        use LicenseStatus::*;
        use StatusAction::*;
        match (self, action) {
            (Revoked, Revoke) => Err(DomainError::conflict("already_revoked", "the license is already revoked")),
            (Revoked, _) => Err(DomainError::conflict("license_revoked", "a revoked license cannot change state")),
            (Suspended, Suspend) => Err(DomainError::conflict("already_suspended", "the license is already suspended")),
            (Active, Unsuspend) => Err(DomainError::conflict("not_suspended", "the license is not suspended")),
            (_, Suspend) => Ok(Suspended),
            (_, Unsuspend) => Ok(Active),
            (_, Revoke) => Ok(Revoked),
        }
    }
}

impl TryFrom<String> for LicenseStatus {
    type Error = DomainError;
    fn try_from(s: String) -> Result<LicenseStatus, DomainError> {
        LicenseStatus::parse(&s)
    }
}

/// An operator's status change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusAction {
    Suspend,
    Unsuspend,
    Revoke,
}

impl StatusAction {
    /// The audit action name.
    pub fn audit_action(self) -> &'static str {
        match self {
            StatusAction::Suspend => "license.suspend",
            StatusAction::Unsuspend => "license.unsuspend",
            StatusAction::Revoke => "license.revoke",
        }
    }
}

/// What a policy grants a license issued at `issued_at`; signed into the key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Terms {
    pub issued_at: i64,
    /// 0 = perpetual.
    pub expires_at: i64,
    pub grace_seconds: i64,
    /// 0 = unlimited.
    pub max_machines: i64,
    pub entitlements: Vec<String>,
    pub is_trial: bool,
}

impl Terms {
    pub fn from_policy(policy: &Policy, issued_at: i64) -> Terms {
        Terms {
            issued_at,
            expires_at: if policy.duration_seconds == 0 { 0 } else { issued_at + policy.duration_seconds },
            grace_seconds: policy.grace_seconds,
            max_machines: policy.max_machines,
            entitlements: policy.entitlements.iter().map(|s| s.to_string()).collect(),
            is_trial: policy.is_trial,
        }
    }
}

/// The content of a key's `.lic` file, as the thank-you page's download and
/// the key's e-mail attachment give it: the key alone on the first line,
/// then one `# ` comment line per note (PROTOCOL.md §1;
/// `keysat_client::key_in_file` reads it). A line break inside a note (the
/// seller's own text) becomes a space, so no note can start a key line.
pub fn lic_file(license_key: &str, notes: &[String]) -> String {
    let mut text = format!("{license_key}\n");
    for note in notes {
        text.push_str("# ");
        text.push_str(&note.replace(['\r', '\n'], " "));
        text.push('\n');
    }
    text
}

/// A buyer's e-mail address, trimmed; checked for shape, not deliverability.
pub fn parse_email(value: &str) -> Result<String, DomainError> {
    let v = value.trim();
    let bad = || DomainError::invalid("buyer_email", format!("'{v}' is not an e-mail address"));
    let (local, domain) = v.split_once('@').ok_or_else(bad)?;
    if v.len() > 254
        || local.is_empty()
        || domain.len() < 3
        || !domain.contains('.')
        || domain.starts_with('.')
        || domain.ends_with('.')
        || domain.contains('@')
        || v.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(bad());
    }
    Ok(v.to_string())
}

/// A machine fingerprint as the application sends it: opaque, 1–256 printable characters.
pub fn parse_fingerprint(value: &str) -> Result<String, DomainError> {
    if value.is_empty() || value.len() > 256 || value.chars().any(|c| c.is_control()) {
        return Err(DomainError::invalid("fingerprint", "must be 1 to 256 printable characters"));
    }
    Ok(value.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transitions() {
        use LicenseStatus::*;
        use StatusAction::*;
        assert_eq!(Active.transition(Suspend), Ok(Suspended));
        assert_eq!(Suspended.transition(Unsuspend), Ok(Active));
        assert_eq!(Suspended.transition(Revoke), Ok(Revoked));
        assert_eq!(Revoked.transition(Revoke).unwrap_err().code(), "already_revoked");
        assert_eq!(Revoked.transition(Unsuspend).unwrap_err().code(), "license_revoked");
        assert_eq!(Active.transition(Unsuspend).unwrap_err().code(), "not_suspended");
    }

    #[test]
    fn emails() {
        assert!(parse_email(" a@b.co ").is_ok());
        for bad in ["", "a", "@b.co", "a@b", "a b@c.de", "a@.de", "a@b@c.de"] {
            assert!(parse_email(bad).is_err(), "{bad}");
        }
    }
}
