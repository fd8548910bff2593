//! Malformed key strings are `bad_format`.

use keysat_client::ed25519_dalek::SigningKey;
use keysat_client::uuid::Uuid;
use keysat_client::{sign, verify, Error, LicenseKey, Payload, PublicKey};

/// A valid key made here, and its public key.
fn valid() -> (String, PublicKey) {
    let signing_key = SigningKey::from_bytes(&[5; 32]);
    let payload = Payload {
        version: 2,
        flags: 0,
        product_id: Uuid::from_bytes([1; 16]),
        license_id: Uuid::from_bytes([2; 16]),
        issued_at: 1,
        expires_at: 0,
        fingerprint_hash: [0; 32],
        entitlements: vec!["pro".into()],
    };
    (sign(&payload, &signing_key).unwrap(), PublicKey::from(signing_key.verifying_key()))
}

/// (prefix, payload part, signature part) of a valid key.
fn parts() -> (String, String, String) {
    let (key, _) = valid();
    let mut it = key.split('-').map(str::to_owned);
    (it.next().unwrap(), it.next().unwrap(), it.next().unwrap())
}

#[track_caller]
fn assert_bad_format(key: &str) {
    match LicenseKey::parse(key) {
        Err(e @ Error::BadFormat(_)) => {
            assert_eq!(e.code(), "bad_format");
            let (_, pk) = valid();
            assert_eq!(verify(key, &pk), Err(e));
        }
        other => panic!("{key:?}: expected BadFormat, got {other:?}"),
    }
}

#[test]
fn valid_key_parses() {
    let (key, pk) = valid();
    assert!(verify(&key, &pk).is_ok());
    let (prefix, _, sig) = parts();
    assert_eq!(prefix, "LIC1");
    assert_eq!(sig.len(), 103);
}

#[test]
fn empty_and_blank_strings() {
    assert_bad_format("");
    assert_bad_format("   \n\t ");
    assert_bad_format("-");
    assert_bad_format("--");
}

#[test]
fn wrong_prefix() {
    let (_, p, s) = parts();
    for prefix in ["LIC2", "LIC", "LIC11", "XLIC1", "", "L1C1", "LIC1 ", "LIC1\t"] {
        assert_bad_format(&format!("{prefix}-{p}-{s}"));
    }
    // The prefix is case-insensitive, like the base32 parts.
    assert!(LicenseKey::parse(&format!("lic1-{p}-{s}")).is_ok());
    assert!(LicenseKey::parse(&format!("Lic1-{p}-{s}")).is_ok());
}

#[test]
fn missing_parts() {
    let (prefix, p, s) = parts();
    assert_bad_format(&prefix);
    assert_bad_format(&format!("{prefix}-"));
    assert_bad_format(&format!("{prefix}-{p}"));
    assert_bad_format(&format!("{prefix}-{p}-"));
    assert_bad_format(&format!("{prefix}--{s}"));
    assert_bad_format(&format!("{prefix}-{s}"));
    assert_bad_format(&format!("{p}-{s}"));
    assert_bad_format(&format!("{prefix}{p}-{s}"));
}

#[test]
fn extra_parts() {
    let (prefix, p, s) = parts();
    assert_bad_format(&format!("{prefix}-{p}-{s}-"));
    assert_bad_format(&format!("{prefix}-{p}-{s}-AAAA"));
    assert_bad_format(&format!("{prefix}-{p}-{s}-{s}"));
    assert_bad_format(&format!("{prefix}-{p}--{s}"));
    assert_bad_format(&format!("{prefix}--{p}-{s}"));
    assert_bad_format(&format!("LIC1-LIC1-{p}-{s}"));
}

#[test]
fn bad_base32_characters() {
    let (prefix, p, s) = parts();
    for bad in ['0', '1', '8', '9', '=', ' ', '+', '/', '_', '.', 'é', '\n'] {
        let mut bad_p = p.clone();
        bad_p.replace_range(10..11, &bad.to_string());
        assert_bad_format(&format!("{prefix}-{bad_p}-{s}"));
        let mut bad_s = s.clone();
        bad_s.replace_range(50..51, &bad.to_string());
        assert_bad_format(&format!("{prefix}-{p}-{bad_s}"));
    }
    // Padding is not accepted.
    assert_bad_format(&format!("{prefix}-{p}=-{s}"));
    assert_bad_format(&format!("{prefix}-{p}-{s}====="));
    // Inner whitespace is not accepted.
    assert_bad_format(&format!("{prefix} -{p}-{s}"));
    assert_bad_format(&format!("{prefix}-{p} -{s}"));
}

#[test]
fn impossible_base32_lengths() {
    let (prefix, p, s) = parts();
    // Appending one symbol gives a length no byte string encodes to (or
    // extra bytes that the strict decoder rejects).
    for extra in ["A", "AA", "AAA"] {
        assert_bad_format(&format!("{prefix}-{p}{extra}-{s}"));
    }
    assert_bad_format(&format!("{prefix}-A-{s}"));
}

#[test]
fn signature_not_64_bytes() {
    let (prefix, p, s) = parts();
    let short = &s[..s.len() - 2]; // 101 chars
    assert_bad_format(&format!("{prefix}-{p}-{short}"));
    let shorter = &s[..96]; // 60 bytes exactly
    assert_bad_format(&format!("{prefix}-{p}-{shorter}"));
    assert_bad_format(&format!("{prefix}-{p}-{s}AAAAAAAA")); // 69 bytes
    assert_bad_format(&format!("{prefix}-{p}-A"));
    let sixty_five = data_encoding::BASE32_NOPAD.encode(&[0u8; 65]);
    assert_bad_format(&format!("{prefix}-{p}-{sixty_five}"));
    let sixty_three = data_encoding::BASE32_NOPAD.encode(&[0u8; 63]);
    assert_bad_format(&format!("{prefix}-{p}-{sixty_three}"));
}

#[test]
fn non_canonical_trailing_bits() {
    let (prefix, p, s) = parts();
    // 64 bytes = 512 bits = 102 symbols + 2 bits: the last symbol carries 3
    // unused bits, which must be zero.
    let last = s.as_bytes()[102];
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let value = alphabet.iter().position(|&c| c == last).unwrap();
    assert_eq!(value & 0b111, 0, "canonical encoding has zero trailing bits");
    let mut tweaked = s.clone();
    tweaked.replace_range(102..103, &(alphabet[value | 1] as char).to_string());
    assert_bad_format(&format!("{prefix}-{p}-{tweaked}"));
}

#[test]
fn payload_must_decode() {
    let (prefix, _, s) = parts();
    let b32 = |bytes: &[u8]| data_encoding::BASE32_NOPAD.encode(bytes);
    // Version 3, valid base32.
    let mut bytes = vec![3u8];
    bytes.extend_from_slice(&[0; 82]);
    assert_bad_format(&format!("{prefix}-{}-{s}", b32(&bytes)));
    // A single byte.
    assert_bad_format(&format!("{prefix}-{}-{s}", b32(&[2])));
}

#[test]
fn errors_display_their_detail() {
    let err = LicenseKey::parse("nope").unwrap_err();
    assert!(err.to_string().starts_with("bad key format: "), "{err}");
}
