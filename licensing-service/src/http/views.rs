//! Admin query values: timestamps (the typed answers are `services::views`
//! and, for the public side, beside their handlers in `http/public/`).

/// An admin timestamp query value (see [`crate::domain::time::parse_time`])
/// → unix seconds.
pub fn parse_time(field: &'static str, v: &str) -> Result<i64, super::error::ApiError> {
    crate::domain::time::parse_time(v)
        .map_err(|why| super::error::ApiError::bad_request("invalid_request", format!("{field}: '{v}' {why}")))
}

#[cfg(test)]
mod tests {
    #[test]
    fn timestamps() {
        assert_eq!(super::parse_time("t", "2023-11-14T22:13:20Z").unwrap(), 1_700_000_000);
        assert!(super::parse_time("t", "yesterday").is_err());
    }
}
