//! RFC 3339 timestamps of the JSON API, as the unix seconds that signed
//! answers carry.

use std::fmt;

use crate::Error;

/// Writes unix seconds as the server does in the JSON API: RFC 3339 UTC in
/// whole seconds, `2023-11-14T22:13:20Z`, the inverse of
/// [`parse_timestamp`]. (Years past 9999 are written with a `+` and five or
/// more digits, as the server's formatter does; `parse_timestamp` refuses
/// them.)
///
/// ```
/// use keysat_client::{format_timestamp, parse_timestamp};
///
/// assert_eq!(format_timestamp(1_700_000_000), "2023-11-14T22:13:20Z");
/// assert_eq!(format_timestamp(0), "1970-01-01T00:00:00Z");
/// assert_eq!(parse_timestamp(&format_timestamp(951_782_400))?, 951_782_400);
/// # Ok::<(), keysat_client::Error>(())
/// ```
pub fn format_timestamp(unix: u64) -> String {
    Rfc3339(unix).to_string()
}

/// Unix seconds shown as RFC 3339 UTC, formatted without allocating (what
/// the JSON answers write through `collect_str`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Rfc3339(pub u64);

impl Rfc3339 {
    /// The 20 bytes of `YYYY-MM-DDTHH:MM:SSZ`, for years up to 9999 (every
    /// time the server writes today; the hot path's answers carry three).
    fn short(self) -> Option<[u8; 20]> {
        let days = i64::try_from(self.0 / 86_400).ok()?;
        let (year, month, day) = civil_from_days(days);
        if year > 9999 {
            return None;
        }
        let secs = self.0 % 86_400;
        let mut out = *b"0000-00-00T00:00:00Z";
        let two = |out: &mut [u8; 20], at: usize, v: u64| {
            out[at] = b'0' + (v / 10) as u8;
            out[at + 1] = b'0' + (v % 10) as u8;
        };
        let year = year as u64;
        two(&mut out, 0, year / 100);
        two(&mut out, 2, year % 100);
        two(&mut out, 5, month as u64);
        two(&mut out, 8, day as u64);
        two(&mut out, 11, secs / 3600);
        two(&mut out, 14, secs / 60 % 60);
        two(&mut out, 17, secs % 60);
        Some(out)
    }
}

impl fmt::Display for Rfc3339 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(short) = self.short() {
            // Only ASCII digits and separators were written.
            return f.write_str(std::str::from_utf8(&short).map_err(|_| fmt::Error)?);
        }
        // A u64 of seconds is fewer than 2^48 days: no overflow below.
        let days = i64::try_from(self.0 / 86_400).map_err(|_| fmt::Error)?;
        let secs = self.0 % 86_400;
        let (year, month, day) = civil_from_days(days);
        let (hour, minute, second) = (secs / 3600, secs / 60 % 60, secs % 60);
        write!(f, "+{year}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}Z")
    }
}

#[cfg(feature = "serde")]
impl serde::Serialize for Rfc3339 {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.short() {
            Some(short) => s.serialize_str(std::str::from_utf8(&short).map_err(serde::ser::Error::custom)?),
            None => s.collect_str(self),
        }
    }
}

/// Serde for an optional timestamp that is always written: RFC 3339 or
/// `null` (`#[serde(with = "crate::time::nullable")]`).
#[cfg(feature = "serde")]
pub(crate) mod nullable {
    use serde::{de::Error as _, Deserialize, Deserializer, Serializer};

    use super::{parse_timestamp, Rfc3339};

    pub fn serialize<S: Serializer>(t: &Option<u64>, s: S) -> Result<S::Ok, S::Error> {
        match t {
            Some(t) => serde::Serialize::serialize(&Rfc3339(*t), s),
            None => s.serialize_none(),
        }
    }

    /// Absent (with `#[serde(default)]`) and `null` are `None`.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
        Option::<String>::deserialize(d)?.map(|t| parse_timestamp(&t).map_err(D::Error::custom)).transpose()
    }
}

/// Reads an RFC 3339 timestamp of the public API (`2023-11-14T22:13:20Z`,
/// as the server writes them) as unix seconds, the form in which a signed
/// answer covers it.
///
/// Accepts `YYYY-MM-DDTHH:MM:SS` followed by `Z` or a numeric offset
/// `±HH:MM` (`T` and `Z` in either case). Fractional seconds are refused
/// (signed answers cover whole seconds and the server never writes them),
/// as are leap seconds, impossible dates and times before 1970. Errors
/// with [`Error::BadFormat`].
///
/// ```
/// use keysat_client::parse_timestamp;
///
/// assert_eq!(parse_timestamp("2023-11-14T22:13:20Z")?, 1_700_000_000);
/// assert_eq!(parse_timestamp("2023-11-15T00:13:20+02:00")?, 1_700_000_000);
/// assert_eq!(parse_timestamp("1970-01-01T00:00:00Z")?, 0);
/// assert!(parse_timestamp("2023-02-29T00:00:00Z").is_err());
/// assert!(parse_timestamp("2023-11-14T22:13:20.5Z").is_err());
/// # Ok::<(), keysat_client::Error>(())
/// ```
pub fn parse_timestamp(text: &str) -> Result<u64, Error> {
    let bad = || Error::bad_format(format!("not an RFC 3339 timestamp in whole seconds: {text:?}"));
    let b = text.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't') || b[13] != b':' || b[16] != b':' {
        return Err(bad());
    }
    let num = |from: usize, to: usize| -> Result<i64, Error> {
        let digits = &b[from..to];
        if !digits.iter().all(u8::is_ascii_digit) {
            return Err(bad());
        }
        Ok(digits.iter().fold(0i64, |acc, d| acc * 10 + i64::from(d - b'0')))
    };
    let (year, month, day) = (num(0, 4)?, num(5, 7)?, num(8, 10)?);
    let (hour, minute, second) = (num(11, 13)?, num(14, 16)?, num(17, 19)?);
    let offset = match &b[19..] {
        [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), _, _, b':', _, _] => {
            let (h, m) = (num(20, 22)?, num(23, 25)?);
            if h > 23 || m > 59 {
                return Err(bad());
            }
            let magnitude = h * 3600 + m * 60;
            if *sign == b'+' {
                magnitude
            } else {
                -magnitude
            }
        }
        _ => return Err(bad()),
    };
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return Err(bad());
    }
    if hour > 23 || minute > 59 || second > 59 {
        return Err(bad());
    }
    let unix = days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second - offset;
    u64::try_from(unix).map_err(|_| bad())
}

fn is_leap(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// The date of the proleptic Gregorian calendar `days` after 1970-01-01
/// (the inverse of [`days_from_civil`]).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    // Count from 0000-03-01, in eras of 400 years (146,097 days).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let m = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * m + 2) / 5 + 1;
    let month = if m < 10 { m + 3 } else { m - 9 };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Days from 1970-01-01 to the given date of the proleptic Gregorian
/// calendar: whole years, then whole months, then days.
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    // Count from 0000-03-01 so that the leap day ends each counted year.
    let y = if month <= 2 { year - 1 } else { year };
    let m = if month <= 2 { month + 9 } else { month - 3 };
    let leap_days = y / 4 - y / 100 + y / 400;
    let days_before_month = (153 * m + 2) / 5;
    // 719_468 days lie between 0000-03-01 and 1970-01-01.
    365 * y + leap_days + days_before_month + day - 1 - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_instants() {
        let cases = [
            ("1970-01-01T00:00:00Z", 0),
            ("1970-01-01T00:00:01z", 1),
            ("2000-02-29T00:00:00Z", 951_782_400),
            ("2000-03-01T00:00:00Z", 951_868_800),
            ("2023-11-14T22:13:20Z", 1_700_000_000),
            ("2030-03-17T17:46:40Z", 1_900_000_000),
            ("2100-03-01t00:00:00Z", 4_107_542_400),
            ("1970-01-01T01:00:00+01:00", 0),
            ("1969-12-31T23:00:00-01:00", 0),
        ];
        for (text, unix) in cases {
            assert_eq!(parse_timestamp(text), Ok(unix), "{text}");
        }
    }

    #[test]
    fn formatting_is_the_inverse_of_parsing() {
        let cases = [
            (0, "1970-01-01T00:00:00Z"),
            (951_782_400, "2000-02-29T00:00:00Z"),
            (1_700_000_000, "2023-11-14T22:13:20Z"),
            (4_107_542_399, "2100-02-28T23:59:59Z"),
            (253_402_300_799, "9999-12-31T23:59:59Z"),
            (253_402_300_800, "+10000-01-01T00:00:00Z"),
        ];
        for (unix, text) in cases {
            assert_eq!(format_timestamp(unix), text);
        }
        let mut t: u64 = 1;
        while t < 253_402_300_800 {
            assert_eq!(parse_timestamp(&format_timestamp(t)), Ok(t), "{t}");
            t = t * 3 + 7_919;
        }
        assert!(format_timestamp(u64::MAX).starts_with('+'));
    }

    #[test]
    fn refusals() {
        for text in [
            "",
            "2023-11-14",
            "2023-11-14T22:13:20",
            "2023-11-14 22:13:20Z",
            "2023-11-14T22:13:20.000Z",
            "2023-11-14T22:13:60Z",
            "2023-11-14T24:00:00Z",
            "2023-13-01T00:00:00Z",
            "2023-00-01T00:00:00Z",
            "2023-04-31T00:00:00Z",
            "2100-02-29T00:00:00Z",
            "1969-12-31T23:59:59Z",
            "+023-11-14T22:13:20Z",
            "2023-11-14T22:13:20+0200",
            "2023-11-14T22:13:20+24:00",
            "2023-11-14T22:13:20Zx",
        ] {
            assert!(parse_timestamp(text).is_err(), "{text:?} must be refused");
        }
    }
}
