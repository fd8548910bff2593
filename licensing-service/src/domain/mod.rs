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

/// A new id for a row written often (an invoice, a queued message or
/// event): the time in milliseconds first, then 74 random bits (a UUIDv7
/// without a counter). Rows written one after another sit beside each other
/// in the index on their id, where a random (v4) id costs a random page
/// write per insert (paying 5,000 invoices beside 100,000 licenses went a
/// fifth to a quarter faster); and the random part keeps an id that is also
/// a capability (an invoice's id reads its license key) beyond guessing.
/// License ids stay random: their first 8 characters name a license to the
/// operator (the desk's search, the StartOS pickers), which ids sharing
/// their time prefix could not.
pub fn new_id() -> uuid::Uuid {
    let millis = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis());
    uuid::Builder::from_unix_timestamp_millis(millis as u64, &rand::random()).into_uuid()
}

#[cfg(test)]
mod tests {
    #[test]
    fn new_ids_are_time_ordered_v7_with_74_random_bits() {
        let first = super::new_id();
        std::thread::sleep(std::time::Duration::from_millis(2));
        let ids: Vec<uuid::Uuid> = (0..1000).map(|_| super::new_id()).collect();
        assert_eq!(first.get_version_num(), 7);
        assert_eq!(first.get_variant(), uuid::Variant::RFC4122);
        // A later millisecond sorts after, as text too (the ids' indexes are on TEXT).
        assert!(ids.iter().all(|id| id.to_string() > first.to_string()), "{first} then {ids:?}");
        // Within one millisecond nothing counts up: the 74 bits after the
        // time are random, so ids made together share no more than the time.
        let distinct: std::collections::HashSet<u128> = ids.iter().map(|id| id.as_u128() & ((1 << 74) - 1)).collect();
        assert_eq!(distinct.len(), ids.len());
        let low_bits_set = ids.iter().filter(|id| id.as_u128() & 1 == 1).count();
        assert!((350..650).contains(&low_bits_set), "the last bit is random: {low_bits_set} of 1000 set");
    }
}
