//! Admin query values: timestamps (the typed answers are `services::views`
//! and, for the public side, beside their handlers in `http/public/`).

/// RFC 3339 (or unix seconds) query value → unix seconds.
/// An admin timestamp: RFC 3339 or unix seconds, between the years 2000
/// and 9999 (a number beyond would be stored, then shown as another date).
pub fn parse_time(field: &'static str, v: &str) -> Result<i64, super::error::ApiError> {
    const EARLIEST: i64 = 946_684_800; // 2000-01-01T00:00:00Z
    const LATEST: i64 = 253_402_300_799; // 9999-12-31T23:59:59Z
    let bad = |why: &str| super::error::ApiError::bad_request("invalid_request", format!("{field}: '{v}' {why}"));
    let t = match v.trim().parse::<i64>() {
        Ok(n) => n,
        Err(_) => chrono::DateTime::parse_from_rfc3339(v.trim())
            .map(|d| d.timestamp())
            .map_err(|_| bad("is not an RFC 3339 time"))?,
    };
    if !(EARLIEST..=LATEST).contains(&t) {
        return Err(bad("is outside the years 2000 to 9999"));
    }
    Ok(t)
}

#[cfg(test)]
mod tests {
    #[test]
    fn timestamps() {
        assert_eq!(super::parse_time("t", "2023-11-14T22:13:20Z").unwrap(), 1_700_000_000);
        assert!(super::parse_time("t", "yesterday").is_err());
    }
}
