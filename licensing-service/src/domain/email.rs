//! E-mail settings: the operator's SMTP server (Keysat has no mail server of
//! its own), checked whole before anything is stored.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::license::parse_email;
use super::DomainError;

/// How the connection to the SMTP server is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Security {
    /// Plain SMTP (a relay on the same machine or network).
    None,
    /// Plain, then upgraded with STARTTLS (usually port 587); refused if the server cannot.
    Starttls,
    /// TLS from the first byte (SMTPS, usually port 465).
    Tls,
}

/// The stored SMTP settings (settings key `smtp`); the password never leaves
/// the server in an answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Smtp {
    pub host: String,
    pub port: u16,
    pub security: Security,
    pub username: Option<String>,
    pub password: Option<String>,
    /// The sender's address; the seller's name is its display name.
    pub from: String,
}

/// The SMTP settings as given (`PUT /v1/admin/settings {"smtp": …}`).
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SmtpInput {
    /// The SMTP server's host name or address.
    pub host: String,
    /// 1–65535 (587 for STARTTLS, 465 for TLS, 25 for none are usual).
    pub port: i64,
    pub security: Security,
    pub username: Option<String>,
    /// Write-only: never shown back.
    pub password: Option<String>,
    /// The sender's address, e.g. `shop@example.com`.
    pub from: String,
}

/// An address checked for shape, named after the field it came in.
pub fn parse_address(field: &'static str, value: &str) -> Result<String, DomainError> {
    parse_email(value).map_err(|e| match e {
        DomainError::Invalid { message, .. } => DomainError::Invalid { field, message },
        other => other,
    })
}

impl SmtpInput {
    /// Checks every field; the first fault is the error.
    pub fn check(self) -> Result<Smtp, DomainError> {
        let host = self.host.trim().to_string();
        if host.is_empty()
            || host.len() > 253
            || host.chars().any(|c| c.is_whitespace() || c.is_control() || matches!(c, '/' | '@' | '?' | '#'))
        {
            return Err(DomainError::invalid("smtp.host", "must be a host name or an IP address"));
        }
        let port = u16::try_from(self.port)
            .ok()
            .filter(|p| *p > 0)
            .ok_or_else(|| DomainError::invalid("smtp.port", format!("{} is not a port (1-65535)", self.port)))?;
        let from = parse_address("smtp.from", &self.from)?;
        let username = super::optional_text("smtp.username", self.username, 254)?;
        let password = self.password.filter(|p| !p.is_empty());
        if password.as_ref().is_some_and(|p| p.len() > 1024 || p.chars().any(char::is_control)) {
            return Err(DomainError::invalid("smtp.password", "must be at most 1024 printable characters"));
        }
        if password.is_some() != username.is_some() {
            return Err(DomainError::invalid("smtp.username", "give both a username and a password, or neither"));
        }
        Ok(Smtp { host, port, security: self.security, username, password, from })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> SmtpInput {
        SmtpInput {
            host: "smtp.example.com".into(),
            port: 587,
            security: Security::Starttls,
            username: Some("shop".into()),
            password: Some("secret".into()),
            from: "shop@example.com".into(),
        }
    }

    #[test]
    fn settings_are_checked_field_by_field() {
        assert_eq!(input().check().unwrap().port, 587);
        let field = |i: SmtpInput| match i.check().unwrap_err() {
            DomainError::Invalid { field, .. } => field,
            e => panic!("{e:?}"),
        };
        assert_eq!(field(SmtpInput { host: " ".into(), ..input() }), "smtp.host");
        assert_eq!(field(SmtpInput { host: "http://x".into(), ..input() }), "smtp.host");
        assert_eq!(field(SmtpInput { port: 0, ..input() }), "smtp.port");
        assert_eq!(field(SmtpInput { port: 70_000, ..input() }), "smtp.port");
        assert_eq!(field(SmtpInput { from: "shop".into(), ..input() }), "smtp.from");
        assert_eq!(field(SmtpInput { password: None, ..input() }), "smtp.username");
    }
}
