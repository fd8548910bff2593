//! `Stripe-Signature: t=<unix seconds>,v1=<hex>[,v1=<hex>…]`: the hex is
//! HMAC-SHA256, keyed with the endpoint's signing secret (the whole `whsec_…`
//! string), over `<t>.<raw body>`. Several `v1` appear while a secret is
//! being rolled; any one matching is enough. Other schemes (`v0`) are ignored.
//! Checked on the raw bytes before anything is parsed, in constant time.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// How far `t` may be from our clock (Stripe's libraries default to 300 s).
pub const TOLERANCE_SECONDS: i64 = 300;

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("no Stripe-Signature header, or one without t= and v1=")]
    Missing,
    #[error("the Stripe-Signature timestamp is more than 5 minutes from now")]
    Stale,
    #[error("no v1 signature in Stripe-Signature matches the body")]
    Mismatch,
}

/// The `v1` signature of `body` at `timestamp` (what a test sender writes).
pub fn sign(secret: &str, timestamp: i64, body: &[u8]) -> String {
    hex::encode(mac(secret, timestamp, body))
}

fn mac(secret: &str, timestamp: i64, body: &[u8]) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac.finalize().into_bytes().to_vec()
}

/// Checks the header against the raw body at `now`; answers the signed timestamp.
pub fn verify(secret: &str, header: Option<&str>, body: &[u8], now: i64) -> Result<i64, SignatureError> {
    let header = header.ok_or(SignatureError::Missing)?;
    let mut timestamps: Vec<&str> = Vec::new();
    let mut candidates: Vec<Vec<u8>> = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", v)) => timestamps.push(v),
            Some(("v1", v)) => candidates.extend(hex::decode(v).ok().filter(|b| b.len() == 32)),
            _ => {}
        }
    }
    // Exactly one timestamp: two would make the header ambiguous.
    let [timestamp] = timestamps[..] else {
        return Err(SignatureError::Missing);
    };
    let timestamp: i64 = timestamp.parse().map_err(|_| SignatureError::Missing)?;
    if candidates.is_empty() {
        return Err(SignatureError::Missing);
    }
    let expected = mac(secret, timestamp, body);
    // Every candidate is compared, whether or not an earlier one matched.
    let matched = candidates.iter().fold(subtle::Choice::from(0), |acc, c| acc | expected.as_slice().ct_eq(c));
    if !bool::from(matched) {
        return Err(SignatureError::Mismatch);
    }
    if (now - timestamp).abs() > TOLERANCE_SECONDS {
        return Err(SignatureError::Stale);
    }
    Ok(timestamp)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_test_secret";
    const BODY: &[u8] = br#"{"id":"evt_1","type":"checkout.session.completed"}"#;

    #[test]
    fn a_matching_signature_within_tolerance_passes() {
        let h = format!("t=1000,v1={}", sign(SECRET, 1000, BODY));
        assert_eq!(verify(SECRET, Some(&h), BODY, 1000), Ok(1000));
        assert_eq!(verify(SECRET, Some(&h), BODY, 1300), Ok(1000));
        assert_eq!(verify(SECRET, Some(&h), BODY, 1301), Err(SignatureError::Stale));
        assert_eq!(verify(SECRET, Some(&h), BODY, 699), Err(SignatureError::Stale));
    }

    #[test]
    fn any_of_several_v1_may_match_and_v0_is_ignored() {
        let good = sign(SECRET, 5, BODY);
        let h = format!("t=5,v1={},v0={good},v1={good}", "ab".repeat(32));
        assert_eq!(verify(SECRET, Some(&h), BODY, 5), Ok(5));
        let only_v0 = format!("t=5,v0={good}");
        assert_eq!(verify(SECRET, Some(&only_v0), BODY, 5), Err(SignatureError::Missing));
    }

    #[test]
    fn forgeries_fail() {
        let h = format!("t=5,v1={}", sign(SECRET, 5, BODY));
        assert_eq!(verify("whsec_other", Some(&h), BODY, 5), Err(SignatureError::Mismatch));
        assert_eq!(verify(SECRET, Some(&h), b"{}", 5), Err(SignatureError::Mismatch));
        // The timestamp is signed: changing it breaks the signature.
        let moved = h.replace("t=5", "t=6");
        assert_eq!(verify(SECRET, Some(&moved), BODY, 6), Err(SignatureError::Mismatch));
        assert_eq!(verify(SECRET, None, BODY, 5), Err(SignatureError::Missing));
        assert_eq!(verify(SECRET, Some("v1=zz"), BODY, 5), Err(SignatureError::Missing));
        assert_eq!(verify(SECRET, Some("t=5,t=5,v1=00"), BODY, 5), Err(SignatureError::Missing));
    }
}
