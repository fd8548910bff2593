//! Time on the wire: unix seconds as RFC 3339 UTC strings.

use serde_json::Value;

/// Unix seconds → RFC 3339 UTC.
pub fn ts(t: i64) -> String {
    chrono::DateTime::from_timestamp(t, 0).unwrap_or_default().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// 0 (never / perpetual) → null.
pub fn ts_or_null(t: i64) -> Value {
    if t == 0 {
        Value::Null
    } else {
        Value::String(ts(t))
    }
}
