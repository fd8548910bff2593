//! Pure types and rules: no I/O. Values here can only hold valid data, so a
//! handler never checks a raw string twice.

pub mod access;
pub mod catalog;
pub mod discount;
pub mod email;
pub mod invoice;
pub mod license;
pub mod machine_rules;
pub mod npub;
pub mod origin;
pub mod outbox;
pub mod proration;
pub mod proxies;
pub mod seller;
pub mod slug;
pub mod subscription;
pub mod time;
pub mod validation;

pub use slug::Slug;

/// Seconds an `Idempotency-Key`'s first answer is replayed.
pub const IDEMPOTENCY_WINDOW_SECONDS: i64 = 24 * 3600;

/// A rule was broken; maps to a 4xx with a precise code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    #[error("{field}: {message}")]
    Invalid { field: &'static str, message: String },
    #[error("{0}")]
    NotFound(String),
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
}

impl DomainError {
    pub fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        DomainError::Invalid { field, message: message.into() }
    }
    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        DomainError::Conflict { code, message: message.into() }
    }
    /// The machine-readable error code.
    pub fn code(&self) -> &'static str {
        match self {
            DomainError::Invalid { .. } => "invalid_field",
            DomainError::NotFound(_) => "not_found",
            DomainError::Conflict { code, .. } => code,
        }
    }
}

/// Trimmed free text with a length limit; empty → `None`.
pub fn optional_text(
    field: &'static str,
    value: Option<String>,
    max_chars: usize,
) -> Result<Option<String>, DomainError> {
    match value.map(|v| v.trim().to_string()).filter(|v| !v.is_empty()) {
        Some(v) if v.chars().count() > max_chars => {
            Err(DomainError::invalid(field, format!("must be at most {max_chars} characters")))
        }
        other => Ok(other),
    }
}

/// Trimmed, non-empty text with a length limit.
pub fn required_text(field: &'static str, value: &str, max_chars: usize) -> Result<String, DomainError> {
    optional_text(field, Some(value.to_string()), max_chars)?
        .ok_or_else(|| DomainError::invalid(field, "must not be empty"))
}

/// Distinguishes "absent" from "explicitly null" in a patch body.
pub fn nullable<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    <Option<T> as serde::Deserialize>::deserialize(d).map(Some)
}

/// Unix seconds now.
pub fn now_unix() -> i64 {
    chrono::Utc::now().timestamp()
}

/// At most `max` characters of untrusted text, for echoing in a message.
pub fn clip(s: &str, max: usize) -> String {
    let s = s.trim();
    match s.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}
