//! Time on the wire: unix seconds as RFC 3339 UTC strings.

use serde_json::Value;

/// Unix seconds → RFC 3339 UTC, by the one formatter the shared protocol
/// types also write with (`keysat_client`). Times before 1970 are never
/// stored; one would show as 1970.
pub fn ts(t: i64) -> String {
    keysat_client::format_timestamp(unix(t))
}

/// 0 (never / perpetual) → null.
pub fn ts_or_null(t: i64) -> Value {
    if t == 0 {
        Value::Null
    } else {
        Value::String(ts(t))
    }
}

/// Unix seconds that go on the wire as an RFC 3339 UTC string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(pub i64);

impl Timestamp {
    /// 0 means never (a perpetual license, a field not set): `None`, shown as null.
    pub fn or_never(t: i64) -> Option<Timestamp> {
        (t != 0).then_some(Timestamp(t))
    }
}

impl serde::Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&ts(self.0))
    }
}

/// An RFC 3339 UTC string in whole seconds (what [`ts`] writes).
impl schemars::JsonSchema for Timestamp {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Timestamp".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({ "type": "string", "format": "date-time" })
    }
}

/// Unix seconds as the shared protocol types carry them (`keysat_client`'s
/// answers: `u64`, written as RFC 3339 by the same formatter as [`ts`]).
pub fn unix(t: i64) -> u64 {
    u64::try_from(t).unwrap_or(0)
}

/// 0 (never / perpetual) → `None`, shown as null (as [`Timestamp::or_never`]).
pub fn unix_or_never(t: i64) -> Option<u64> {
    (t != 0).then(|| unix(t))
}

/// Earliest and latest time an operator may give: the years 2000 to 9999
/// (a number beyond would be stored, then shown as another date).
const EARLIEST: i64 = 946_684_800; // 2000-01-01T00:00:00Z
const LATEST: i64 = 253_402_300_799; // 9999-12-31T23:59:59Z

/// An operator's time: RFC 3339, a date (`2027-01-31`, midnight UTC) or unix
/// seconds, between the years 2000 and 9999. The error says why, to follow
/// the field's name.
pub fn parse_time(v: &str) -> Result<i64, &'static str> {
    let v = v.trim();
    let t = if let Ok(n) = v.parse::<i64>() {
        n
    } else if let Ok(d) = chrono::DateTime::parse_from_rfc3339(v) {
        d.timestamp()
    } else if let Ok(d) = chrono::NaiveDate::parse_from_str(v, "%Y-%m-%d") {
        d.and_hms_opt(0, 0, 0).expect("midnight exists").and_utc().timestamp()
    } else {
        return Err("is not an RFC 3339 time or a YYYY-MM-DD date");
    };
    if !(EARLIEST..=LATEST).contains(&t) {
        return Err("is outside the years 2000 to 9999");
    }
    Ok(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operator_times() {
        assert_eq!(parse_time("2023-11-14T22:13:20Z"), Ok(1_700_000_000));
        assert_eq!(parse_time(" 1700000000 "), Ok(1_700_000_000));
        assert_eq!(parse_time("2026-01-01"), Ok(1_767_225_600));
        assert!(parse_time("yesterday").is_err());
        assert!(parse_time("5").is_err());
    }

    #[test]
    fn timestamps_are_rfc_3339_utc_and_zero_is_never() {
        assert_eq!(serde_json::to_string(&Timestamp(1_767_225_600)).unwrap(), "\"2026-01-01T00:00:00Z\"");
        assert_eq!(Timestamp::or_never(0), None);
        assert_eq!(serde_json::to_value(Timestamp::or_never(0)).unwrap(), ts_or_null(0));
        assert_eq!(serde_json::to_value(Timestamp::or_never(5)).unwrap(), ts_or_null(5));
    }

    #[test]
    fn times_are_written_as_rfc_3339_utc_to_the_year_9999() {
        assert_eq!(ts(0), "1970-01-01T00:00:00Z");
        assert_eq!(ts(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(ts(1_700_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(ts(253_402_300_799), "9999-12-31T23:59:59Z");
        assert_eq!((unix_or_never(0), unix_or_never(7), unix(-1)), (None, Some(7), 0));
    }

    /// The one formatter agrees with chrono's RFC 3339 to the last year we accept.
    #[test]
    fn the_formatter_writes_what_chrono_writes() {
        let chrono_ts =
            |t: i64| chrono::DateTime::from_timestamp(t, 0).unwrap().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let mut t: i64 = 0;
        while t <= 253_402_300_799 {
            assert_eq!(ts(t), chrono_ts(t), "{t}");
            t = t * 5 / 3 + 86_399;
        }
        for t in [951_782_400, 4_107_542_400, 253_402_300_799, 253_402_300_800] {
            assert_eq!(ts(t), chrono_ts(t), "{t}");
        }
    }
}
