//! Sign → parse → verify round trips over arbitrary payloads, and the strict
//! payload decoder's rejections.

use keysat_client::ed25519_dalek::SigningKey;
use keysat_client::uuid::Uuid;
use keysat_client::{
    fingerprint_hash, sign, verify, Error, LicenseKey, Payload, PublicKey, FLAG_FINGERPRINT_BOUND, FLAG_TRIAL,
};
use proptest::prelude::*;

/// Ed25519 is slow in unoptimised test builds: 64 cases by default, more
/// with `PROPTEST_CASES=…`.
fn config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES").ok().and_then(|s| s.parse().ok()).unwrap_or(64);
    ProptestConfig::with_cases(cases)
}

fn arb_payload() -> impl Strategy<Value = Payload> {
    (
        0u8..=3,
        any::<[u8; 16]>(),
        any::<[u8; 16]>(),
        any::<u64>(),
        any::<u64>(),
        any::<[u8; 32]>(),
        prop::collection::vec("\\PC{1,40}", 0..20),
    )
        .prop_map(|(flags, product, license, issued_at, expires_at, fingerprint_hash, entitlements)| Payload {
            version: 2,
            flags,
            product_id: Uuid::from_bytes(product),
            license_id: Uuid::from_bytes(license),
            issued_at,
            expires_at,
            fingerprint_hash,
            entitlements,
        })
}

fn public_key(signing_key: &SigningKey) -> PublicKey {
    PublicKey::from(signing_key.verifying_key())
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn sign_parse_verify_round_trip(
        payload in arb_payload(),
        seed in any::<[u8; 32]>(),
        other_seed in any::<[u8; 32]>(),
    ) {
        prop_assume!(seed != other_seed);
        let signing_key = SigningKey::from_bytes(&seed);
        let pk = public_key(&signing_key);
        let other_pk = public_key(&SigningKey::from_bytes(&other_seed));

        let key_string = sign(&payload, &signing_key).unwrap();
        prop_assert!(key_string.starts_with("LIC1-"));
        let key = LicenseKey::parse(&key_string).unwrap();
        prop_assert_eq!(key.payload(), &payload);
        let encoded = payload.encode().unwrap();
        prop_assert_eq!(key.payload_bytes(), encoded.as_slice());
        prop_assert_eq!(key.to_key_string(), key_string.clone());
        prop_assert_eq!(&LicenseKey::sign(&payload, &signing_key).unwrap(), &key);
        prop_assert!(key.verify(&pk).is_ok());
        prop_assert_eq!(verify(&key_string, &pk).unwrap(), payload.clone());
        prop_assert_eq!(key.verify(&other_pk), Err(Error::BadSignature));
        prop_assert_eq!(verify(&key_string, &other_pk), Err(Error::BadSignature));
        // Lower-case spelling parses to the same key.
        prop_assert_eq!(LicenseKey::parse(&key_string.to_ascii_lowercase()).unwrap(), key);
    }

    #[test]
    fn encode_decode_round_trip(payload in arb_payload()) {
        let bytes = payload.encode().unwrap();
        prop_assert_eq!(Payload::decode(&bytes).unwrap(), payload);
    }

    #[test]
    fn decode_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        let _ = Payload::decode(&bytes);
    }

    #[test]
    fn decode_never_panics_on_v2_headers(mut bytes in prop::collection::vec(any::<u8>(), 83..300)) {
        bytes[0] = 2;
        bytes[1] &= 3;
        if let Ok(p) = Payload::decode(&bytes) {
            // Whatever decodes re-encodes to the same bytes (no empty slugs
            // can appear there unless present in the input).
            if p.entitlements.iter().all(|e| !e.is_empty()) {
                prop_assert_eq!(p.encode().unwrap(), bytes);
            }
        }
    }

    #[test]
    fn parse_never_panics(s in "\\PC{0,300}") {
        let _ = LicenseKey::parse(&s);
    }
}

fn sample() -> Payload {
    Payload {
        version: 2,
        flags: FLAG_FINGERPRINT_BOUND,
        product_id: Uuid::from_bytes([0x11; 16]),
        license_id: Uuid::from_bytes([0x22; 16]),
        issued_at: 1_700_000_000,
        expires_at: 1_900_000_000,
        fingerprint_hash: fingerprint_hash("machine"),
        entitlements: vec!["pro".into(), "multi-device".into(), "ünïcødé".into()],
    }
}

/// A hand-built version 1 payload (74 bytes).
fn v1_bytes(flags: u8) -> Vec<u8> {
    let mut b = vec![1, flags];
    b.extend_from_slice(&[0x33; 16]);
    b.extend_from_slice(&[0x44; 16]);
    b.extend_from_slice(&1_600_000_000u64.to_be_bytes());
    b.extend_from_slice(&fingerprint_hash("m"));
    assert_eq!(b.len(), 74);
    b
}

fn assert_bad_format(result: Result<Payload, Error>, what: &str) {
    match result {
        Err(Error::BadFormat(_)) => {}
        other => panic!("{what}: expected BadFormat, got {other:?}"),
    }
}

#[test]
fn v1_decodes() {
    let p = Payload::decode(&v1_bytes(FLAG_FINGERPRINT_BOUND)).unwrap();
    assert_eq!(p.version, 1);
    assert_eq!(p.product_id, Uuid::from_bytes([0x33; 16]));
    assert_eq!(p.license_id, Uuid::from_bytes([0x44; 16]));
    assert_eq!(p.issued_at, 1_600_000_000);
    assert_eq!(p.expires_at, 0);
    assert!(p.entitlements.is_empty());
    assert!(p.fingerprint_matches("m"));
    // Encoding a parsed v1 payload issues it as v2.
    let reencoded = Payload::decode(&p.encode().unwrap()).unwrap();
    assert_eq!(reencoded, Payload { version: 2, ..p });
}

#[test]
fn decode_rejects_trailing_bytes() {
    let mut bytes = sample().encode().unwrap();
    bytes.push(0);
    assert_bad_format(Payload::decode(&bytes), "one trailing byte");
    let mut bytes = sample().encode().unwrap();
    bytes.extend_from_slice(&[1, b'x']);
    assert_bad_format(Payload::decode(&bytes), "an extra, undeclared entitlement");
    let mut bytes = v1_bytes(0);
    bytes.push(0);
    assert_bad_format(Payload::decode(&bytes), "v1 with a trailing byte");
}

#[test]
fn decode_rejects_every_truncation() {
    for full in [sample().encode().unwrap(), v1_bytes(1)] {
        for len in 0..full.len() {
            assert_bad_format(Payload::decode(&full[..len]), &format!("truncated to {len}"));
        }
    }
}

#[test]
fn decode_rejects_unknown_versions() {
    for version in [0u8, 3, 4, 0x7f, 0xff] {
        for mut bytes in [sample().encode().unwrap(), v1_bytes(0)] {
            bytes[0] = version;
            assert_bad_format(Payload::decode(&bytes), &format!("version {version}"));
        }
    }
}

#[test]
fn unknown_flag_bits_are_rejected_by_decode_and_encode() {
    for bit in 2..8 {
        let unknown = 1u8 << bit;
        let mut bytes = sample().encode().unwrap();
        bytes[1] |= unknown;
        assert_bad_format(Payload::decode(&bytes), &format!("v2 flag bit {bit}"));
        assert_bad_format(Payload::decode(&v1_bytes(unknown | 1)), &format!("v1 flag bit {bit}"));
        let p = Payload { flags: FLAG_TRIAL | unknown, ..sample() };
        assert!(matches!(p.encode(), Err(Error::BadFormat(_))), "encode flag bit {bit}");
    }
}

#[test]
fn decode_rejects_v1_of_wrong_length() {
    let full = v1_bytes(1);
    assert_bad_format(Payload::decode(&full[..73]), "73 bytes");
    let mut long = full.clone();
    long.extend_from_slice(&[0; 9]);
    assert_bad_format(Payload::decode(&long), "83 bytes");
    // A v2-shaped body with a version-1 byte.
    let mut v2 = sample().encode().unwrap();
    v2[0] = 1;
    assert_bad_format(Payload::decode(&v2), "v2 layout labelled v1");
}

#[test]
fn decode_rejects_entitlement_count_mismatch() {
    let good = sample().encode().unwrap();
    assert_eq!(good[82], 3);
    let mut more = good.clone();
    more[82] = 4;
    assert_bad_format(Payload::decode(&more), "count higher than present");
    let mut fewer = good.clone();
    fewer[82] = 2;
    assert_bad_format(Payload::decode(&fewer), "count lower than present");
    let mut none = good.clone();
    none[82] = 0;
    assert_bad_format(Payload::decode(&none), "count zero with entitlements present");
    // A length byte running past the end.
    let mut long_len = good.clone();
    long_len[83] = 200;
    assert_bad_format(Payload::decode(&long_len), "entitlement length past the end");
}

#[test]
fn decode_rejects_non_utf8_entitlements() {
    let mut bytes = Payload { entitlements: vec!["ab".into()], ..sample() }.encode().unwrap();
    let n = bytes.len();
    bytes[n - 1] = 0xff;
    assert_bad_format(Payload::decode(&bytes), "0xff in a slug");
    // A truncated multi-byte sequence.
    let mut bytes = Payload { entitlements: vec!["é".into()], ..sample() }.encode().unwrap();
    bytes.pop();
    let n = bytes.len();
    bytes[n - 2] = 1; // length byte now 1: only the first byte of "é" left
    assert_bad_format(Payload::decode(&bytes), "half a UTF-8 sequence");
}

#[test]
fn encode_limits() {
    let ok = |entitlements: Vec<String>| Payload { entitlements, ..sample() }.encode();
    assert!(ok(vec!["x".repeat(255)]).is_ok());
    assert!(ok((0..255).map(|i| format!("e{i}")).collect()).is_ok());
    assert!(matches!(ok(vec!["x".repeat(256)]), Err(Error::BadFormat(_))));
    assert!(matches!(ok(vec![String::new()]), Err(Error::BadFormat(_))));
    assert!(matches!(ok((0..256).map(|i| format!("e{i}")).collect()), Err(Error::BadFormat(_))));
    let key = SigningKey::from_bytes(&[1; 32]);
    let p = Payload { entitlements: vec![String::new()], ..sample() };
    assert!(matches!(sign(&p, &key), Err(Error::BadFormat(_))));
}

#[test]
fn maximal_payload_round_trips() {
    let p = Payload {
        flags: FLAG_FINGERPRINT_BOUND | FLAG_TRIAL,
        issued_at: u64::MAX,
        expires_at: u64::MAX,
        entitlements: (0..255).map(|i| format!("{i:0>255}")).collect(),
        ..sample()
    };
    let key = SigningKey::from_bytes(&[9; 32]);
    let s = sign(&p, &key).unwrap();
    assert_eq!(verify(&s, &public_key(&key)).unwrap(), p);
}
