//! Every reference vector in `tests/vectors/lic1.json` must parse, verify
//! and decode to its expected fields.

mod common;

use keysat_client::uuid::Uuid;
use keysat_client::{fingerprint_hash, verify, verify_at, Error, LicenseKey, PublicKey};
use serde_json::Value;

fn public_key(v: &common::Vectors) -> PublicKey {
    PublicKey::from_pem(&v.public_key_pem).expect("vector PEM loads")
}

fn hex(bytes: &[u8]) -> String {
    data_encoding::HEXLOWER.encode(bytes)
}

fn u64_field(expected: &Value, field: &str, name: &str) -> u64 {
    expected[field].as_u64().unwrap_or_else(|| panic!("{name}: expected.{field} is an unsigned integer"))
}

fn bool_field(expected: &Value, field: &str, name: &str) -> bool {
    expected[field].as_bool().unwrap_or_else(|| panic!("{name}: expected.{field} is a boolean"))
}

fn uuid_field(expected: &Value, field: &str, name: &str) -> Uuid {
    let s = expected[field].as_str().unwrap_or_else(|| panic!("{name}: expected.{field} is a string"));
    Uuid::parse_str(s).unwrap_or_else(|e| panic!("{name}: expected.{field} is a UUID: {e}"))
}

#[test]
fn every_vector_parses_verifies_and_decodes_to_expected_fields() {
    let vectors = common::load();
    let pk = public_key(&vectors);
    for v in &vectors.vectors {
        let name = v.name.as_str();
        let e = &v.expected;

        let key = LicenseKey::parse(&v.key).unwrap_or_else(|err| panic!("{name}: parse: {err}"));
        key.verify(&pk).unwrap_or_else(|err| panic!("{name}: verify: {err}"));
        let p = key.payload();

        assert_eq!(u64::from(p.version), u64_field(e, "version", name), "{name}: version");
        assert_eq!(p.product_id, uuid_field(e, "productUuid", name), "{name}: product id");
        assert_eq!(p.license_id, uuid_field(e, "licenseUuid", name), "{name}: license id");
        assert_eq!(p.issued_at, u64_field(e, "issuedAt", name), "{name}: issuedAt");
        assert_eq!(p.expires_at, u64_field(e, "expiresAt", name), "{name}: expiresAt");
        assert_eq!(u64::from(p.flags), u64_field(e, "flags", name), "{name}: flags");
        assert_eq!(p.is_fingerprint_bound(), bool_field(e, "isFingerprintBound", name), "{name}: isFingerprintBound");
        assert_eq!(p.is_trial(), bool_field(e, "isTrial", name), "{name}: isTrial");
        assert_eq!(p.is_perpetual(), p.expires_at == 0, "{name}: is_perpetual");
        let entitlements: Vec<&str> = e["entitlements"]
            .as_array()
            .unwrap_or_else(|| panic!("{name}: expected.entitlements is an array"))
            .iter()
            .map(|s| s.as_str().expect("entitlement is a string"))
            .collect();
        assert_eq!(p.entitlements, entitlements, "{name}: entitlements");
        let hash_hex = e["fingerprintHashHex"]
            .as_str()
            .unwrap_or_else(|| panic!("{name}: expected.fingerprintHashHex is a string"));
        assert_eq!(hex(&p.fingerprint_hash), hash_hex, "{name}: fingerprint hash");

        match &e["fingerprintRaw"] {
            Value::Null => {
                assert!(!p.fingerprint_matches(""), "{name}: unbound key matches nothing");
            }
            Value::String(raw) => {
                assert_eq!(hex(&fingerprint_hash(raw)), hash_hex, "{name}: fingerprint_hash(raw)");
                assert!(p.fingerprint_matches(raw), "{name}: fingerprint_matches(raw)");
                assert!(!p.fingerprint_matches(&format!("{raw}x")), "{name}: another fingerprint must not match");
            }
            other => panic!("{name}: expected.fingerprintRaw is {other}"),
        }

        // The free functions agree with the method form.
        assert_eq!(&verify(&v.key, &pk).unwrap(), p, "{name}: verify()");
        // The vector is already in canonical form.
        assert_eq!(key.to_key_string(), v.key, "{name}: to_key_string");
        assert_eq!(key.to_string(), v.key, "{name}: Display");
    }
}

#[test]
fn to_pem_reproduces_the_published_pem() {
    let vectors = common::load();
    let pk = public_key(&vectors);
    assert_eq!(pk.to_pem(), vectors.public_key_pem);
    assert_eq!(PublicKey::from_pem(&pk.to_pem()).unwrap(), pk);
    assert_eq!(PublicKey::from_bytes(pk.as_bytes()).unwrap(), pk);
    assert_eq!(PublicKey::from_spki_der(&pk.to_spki_der()).unwrap(), pk);
    assert_eq!(PublicKey::from(*pk.verifying_key()), pk);
}

#[test]
fn pem_with_crlf_and_surrounding_whitespace_loads() {
    let vectors = common::load();
    let pk = public_key(&vectors);
    let crlf = format!("\r\n  \t{}\r\n\r\n", vectors.public_key_pem.trim_end().replace('\n', "\r\n"));
    assert_eq!(PublicKey::from_pem(&crlf).unwrap(), pk);
}

#[test]
fn lower_case_and_surrounding_whitespace_still_verify() {
    let vectors = common::load();
    let pk = public_key(&vectors);
    for v in &vectors.vectors {
        let expected = verify(&v.key, &pk).unwrap();
        let lower = v.key.to_ascii_lowercase();
        assert_eq!(verify(&lower, &pk).unwrap(), expected, "{}: lower case", v.name);
        // Only the base32 parts lower-cased, prefix kept.
        let mixed = format!("LIC1{}", &lower[4..]);
        assert_eq!(verify(&mixed, &pk).unwrap(), expected, "{}: mixed case", v.name);
        let padded = format!("  \n\t{}\r\n ", v.key);
        assert_eq!(verify(&padded, &pk).unwrap(), expected, "{}: whitespace", v.name);
        // Lower-case input still gives the canonical upper-case string.
        assert_eq!(LicenseKey::parse(&lower).unwrap().to_key_string(), v.key);
    }
}

#[test]
fn expiry_is_checked_after_the_signature() {
    let vectors = common::load();
    let pk = public_key(&vectors);
    let mut saw_expiring = false;
    let mut saw_perpetual = false;
    for v in &vectors.vectors {
        let key = LicenseKey::parse(&v.key).unwrap();
        let expires_at = key.payload().expires_at;
        if expires_at == 0 {
            saw_perpetual = true;
            for now in [0, 1_700_000_000, 4_000_000_000, u64::MAX] {
                assert!(key.verify_at(&pk, now).is_ok(), "{}: perpetual at {now}", v.name);
                assert!(verify_at(&v.key, &pk, now).is_ok());
                assert!(!key.payload().is_expired_at(now));
            }
        } else {
            saw_expiring = true;
            assert!(key.verify_at(&pk, 0).is_ok());
            assert!(key.verify_at(&pk, expires_at - 1).is_ok(), "{}: just before", v.name);
            assert_eq!(verify_at(&v.key, &pk, expires_at - 1).unwrap(), *key.payload());
            for now in [expires_at, expires_at + 1, u64::MAX] {
                let err = key.verify_at(&pk, now).unwrap_err();
                assert_eq!(err, Error::Expired { expires_at }, "{}: at {now}", v.name);
                assert_eq!(err.code(), "expired");
                assert_eq!(verify_at(&v.key, &pk, now).unwrap_err(), err);
            }
        }
    }
    assert!(saw_expiring && saw_perpetual, "vectors cover both cases");
}

#[test]
fn a_different_public_key_is_a_bad_signature_not_expired() {
    let vectors = common::load();
    let other = PublicKey::from(keysat_client::ed25519_dalek::SigningKey::from_bytes(&[7; 32]).verifying_key());
    for v in &vectors.vectors {
        // Signature is checked before expiry, even long after expiry.
        let err = verify_at(&v.key, &other, u64::MAX).unwrap_err();
        assert_eq!(err, Error::BadSignature, "{}", v.name);
        assert_eq!(err.code(), "bad_signature");
    }
}
