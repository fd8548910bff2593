//! Public key loading: PEM, SPKI DER and raw bytes, and their errors.

use keysat_client::ed25519_dalek::SigningKey;
use keysat_client::{Error, PublicKey, SPKI_DER_LEN};

const PREFIX: [u8; 12] = [0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00];

fn key() -> PublicKey {
    PublicKey::from(SigningKey::from_bytes(&[3; 32]).verifying_key())
}

fn pem_of(der: &[u8]) -> String {
    format!("-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n", data_encoding::BASE64.encode(der))
}

#[track_caller]
fn assert_bad_public_key(result: Result<PublicKey, Error>) {
    match result {
        Err(e @ Error::BadPublicKey(_)) => assert_eq!(e.code(), "bad_public_key"),
        other => panic!("expected BadPublicKey, got {other:?}"),
    }
}

#[test]
fn pem_round_trip_and_layout() {
    let pk = key();
    let pem = pk.to_pem();
    assert!(pem.starts_with("-----BEGIN PUBLIC KEY-----\n"));
    assert!(pem.ends_with("\n-----END PUBLIC KEY-----\n"));
    assert!(pem.lines().all(|l| l.len() <= 64));
    assert_eq!(pem.lines().count(), 3);
    assert_eq!(PublicKey::from_pem(&pem).unwrap(), pk);
    assert_eq!(pem.parse::<PublicKey>().unwrap(), pk);
    let der = pk.to_spki_der();
    assert_eq!(der.len(), SPKI_DER_LEN);
    assert_eq!(&der[..12], &PREFIX);
    assert_eq!(&der[12..], pk.as_bytes());
    assert_eq!(pem, pem_of(&der));
}

#[test]
fn pem_tolerates_line_breaks_and_whitespace() {
    let pk = key();
    let b64 = data_encoding::BASE64.encode(&pk.to_spki_der());
    let wrapped: Vec<&str> = vec![&b64[..20], &b64[20..40], &b64[40..]];
    let pem =
        format!("\r\n   -----BEGIN PUBLIC KEY-----\r\n{}\r\n-----END PUBLIC KEY-----   \r\n\r\n", wrapped.join("\r\n"));
    assert_eq!(PublicKey::from_pem(&pem).unwrap(), pk);
    let no_newline = format!("-----BEGIN PUBLIC KEY-----{b64}-----END PUBLIC KEY-----");
    assert_eq!(PublicKey::from_pem(&no_newline).unwrap(), pk);
}

#[test]
fn not_pem() {
    let pk = key();
    let b64 = data_encoding::BASE64.encode(&pk.to_spki_der());
    assert_bad_public_key(PublicKey::from_pem(""));
    assert_bad_public_key(PublicKey::from_pem("hello"));
    assert_bad_public_key(PublicKey::from_pem(&b64));
    // Missing footer / header.
    assert_bad_public_key(PublicKey::from_pem(&format!("-----BEGIN PUBLIC KEY-----\n{b64}\n")));
    assert_bad_public_key(PublicKey::from_pem(&format!("{b64}\n-----END PUBLIC KEY-----\n")));
    // Another PEM label.
    assert_bad_public_key(PublicKey::from_pem(&format!(
        "-----BEGIN PRIVATE KEY-----\n{b64}\n-----END PRIVATE KEY-----\n"
    )));
    assert_bad_public_key(PublicKey::from_pem(&format!(
        "-----BEGIN RSA PUBLIC KEY-----\n{b64}\n-----END RSA PUBLIC KEY-----\n"
    )));
    // Text outside the block.
    assert_bad_public_key(PublicKey::from_pem(&format!("comment\n{}", pk.to_pem())));
    // Invalid base64 inside.
    assert_bad_public_key(PublicKey::from_pem(&pem_of(&pk.to_spki_der()).replace('A', "*")));
    assert_bad_public_key(PublicKey::from_pem("-----BEGIN PUBLIC KEY-----\nnot base64!\n-----END PUBLIC KEY-----\n"));
    // Empty body.
    assert_bad_public_key(PublicKey::from_pem("-----BEGIN PUBLIC KEY-----\n-----END PUBLIC KEY-----\n"));
}

#[test]
fn wrong_der_prefix() {
    let pk = key();
    for i in 0..PREFIX.len() {
        let mut der = pk.to_spki_der();
        der[i] ^= 0x01;
        assert_bad_public_key(PublicKey::from_pem(&pem_of(&der)));
        assert_bad_public_key(PublicKey::from_spki_der(&der));
    }
    // An X25519 key (OID 1.3.101.110) is not an Ed25519 key.
    let mut x25519 = pk.to_spki_der();
    x25519[8] = 0x6e;
    assert_bad_public_key(PublicKey::from_pem(&pem_of(&x25519)));
}

#[test]
fn wrong_length() {
    let pk = key();
    let der = pk.to_spki_der();
    assert_bad_public_key(PublicKey::from_pem(&pem_of(&der[..43])));
    let mut long = der.to_vec();
    long.push(0);
    assert_bad_public_key(PublicKey::from_pem(&pem_of(&long)));
    assert_bad_public_key(PublicKey::from_pem(&pem_of(&PREFIX)));
    assert_bad_public_key(PublicKey::from_spki_der(&[]));
    assert_bad_public_key(PublicKey::from_bytes(&[]));
    assert_bad_public_key(PublicKey::from_bytes(&pk.as_bytes()[..31]));
    assert_bad_public_key(PublicKey::from_bytes(&der));
}

#[test]
fn invalid_and_weak_points() {
    // The identity point (small order) is rejected.
    let mut identity = [0u8; 32];
    identity[0] = 1;
    assert_bad_public_key(PublicKey::from_bytes(&identity));
    let mut der = [0u8; SPKI_DER_LEN];
    der[..12].copy_from_slice(&PREFIX);
    der[12..].copy_from_slice(&identity);
    assert_bad_public_key(PublicKey::from_pem(&pem_of(&der)));
    // y = 2 is not on the curve.
    let mut off_curve = [0u8; 32];
    off_curve[0] = 2;
    assert_bad_public_key(PublicKey::from_bytes(&off_curve));
}

#[test]
fn errors_display_their_detail() {
    let err = PublicKey::from_pem("x").unwrap_err();
    assert!(err.to_string().starts_with("bad public key: "), "{err}");
}
