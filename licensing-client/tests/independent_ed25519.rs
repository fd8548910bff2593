//! An independent check of every reference vector: nothing here calls
//! `keysat_client`, `ed25519-dalek`, `sha2` or `data-encoding`. The signed
//! bytes are rebuilt from the vector's JSON fields by the rules of
//! PROTOCOL.md §6–§9 with the small decoders below; SHA-256 and Ed25519 are
//! `ring`'s (BoringSSL's code, sharing nothing with the dalek crates); the
//! public key is compared with the one RFC 8032 publishes for the test seed.
//! `ring` also signs each message again: Ed25519 is deterministic, so its
//! signature must be the vector's, byte for byte.

use ring::digest::{digest, SHA256};
use ring::signature::{Ed25519KeyPair, KeyPair, UnparsedPublicKey, ED25519};
use serde_json::Value;

/// RFC 8032 §7.1 TEST 1: secret key and public key.
const SEED_HEX: &str = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
const PUBLIC_HEX: &str = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";

fn load(name: &str) -> Value {
    let path = format!("{}/tests/vectors/{name}.json", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn unhex(text: &str) -> Vec<u8> {
    let digit = |c: u8| (c as char).to_digit(16).expect("hex digit") as u8;
    text.as_bytes().chunks(2).map(|p| digit(p[0]) << 4 | digit(p[1])).collect()
}

/// Big-endian bit-string decoding of `symbols` over `alphabet` (5 bits a
/// symbol), skipping `-`; whole bytes only.
fn base32(symbols: &str, alphabet: &[u8; 32]) -> Vec<u8> {
    let (mut acc, mut bits, mut out) = (0u32, 0, Vec::new());
    for c in symbols.bytes().filter(|&c| c != b'-') {
        let value = alphabet.iter().position(|&a| a == c.to_ascii_uppercase()).expect("base32 symbol");
        acc = (acc << 5 | value as u32) & 0xfff;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out
}

const RFC4648: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

fn base64(text: &str) -> Vec<u8> {
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let (mut acc, mut bits, mut out) = (0u32, 0, Vec::new());
    for c in text.bytes().filter(|&c| c != b'=' && !c.is_ascii_whitespace()) {
        let value = match c {
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            _ => alphabet.iter().position(|&a| a == c).expect("base64 symbol") as u32,
        };
        acc = (acc << 6 | value) & 0xffff;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out
}

fn sha256(bytes: &[u8]) -> Vec<u8> {
    digest(&SHA256, bytes).as_ref().to_vec()
}

/// The raw key of an Ed25519 SPKI PEM: the last 32 of its 44 DER bytes.
fn pem_key(pem: &str) -> Vec<u8> {
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    let der = base64(&body);
    assert_eq!(der.len(), 44);
    der[12..].to_vec()
}

/// Checks the vector file's key against RFC 8032 and returns it.
fn test_key(root: &Value) -> Vec<u8> {
    let key = pem_key(root["publicKeyPem"].as_str().unwrap());
    assert_eq!(key, unhex(PUBLIC_HEX), "the vector key is RFC 8032's TEST 1 key");
    assert_eq!(root["signingKeySeedHex"], SEED_HEX);
    key
}

/// `ring` verifies, then signs again and must get the same signature.
fn check(public_key: &[u8], message: &[u8], signature: &[u8], what: &str) {
    UnparsedPublicKey::new(&ED25519, public_key)
        .verify(message, signature)
        .unwrap_or_else(|_| panic!("{what}: ring rejects the signature"));
    let pair = Ed25519KeyPair::from_seed_unchecked(&unhex(SEED_HEX)).unwrap();
    assert_eq!(pair.public_key().as_ref(), public_key);
    assert_eq!(pair.sign(message).as_ref(), signature, "{what}: ring signs the same bytes differently");
}

fn rejects(public_key: &[u8], message: &[u8], signature: &[u8]) -> bool {
    UnparsedPublicKey::new(&ED25519, public_key).verify(message, signature).is_err()
}

/// Unix seconds of `YYYY-MM-DDTHH:MM:SSZ`, by counting days year by year.
fn unix(ts: &str) -> u64 {
    let n = |a: usize, b: usize| ts[a..b].parse::<u64>().unwrap();
    assert!(ts.len() == 20 && ts.ends_with('Z'));
    let (year, month, day) = (n(0, 4), n(5, 7), n(8, 10));
    let leap = |y: u64| y.is_multiple_of(4) && (!y.is_multiple_of(100) || y.is_multiple_of(400));
    let mut days: u64 = (1970..year).map(|y| if leap(y) { 366 } else { 365 }).sum();
    let lengths = [31, if leap(year) { 29 } else { 28 }, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    days += lengths[..month as usize - 1].iter().sum::<u64>() + day - 1;
    days * 86_400 + n(11, 13) * 3600 + n(14, 16) * 60 + n(17, 19)
}

fn put(m: &mut Vec<u8>, bytes: &[u8]) {
    m.extend_from_slice(&(bytes.len() as u32).to_be_bytes());
    m.extend_from_slice(bytes);
}

/// One answer field: `0` if absent or null, else `1` and the value.
fn put_field(m: &mut Vec<u8>, answer: &Value, name: &str, kind: &str) {
    let value = answer.get(name).filter(|v| !v.is_null());
    m.push(value.is_some() as u8);
    let Some(v) = value else { return };
    match kind {
        "text" => put(m, v.as_str().unwrap().as_bytes()),
        "uuid" => m.extend(unhex(&v.as_str().unwrap().replace('-', ""))),
        "time" => m.extend(unix(v.as_str().unwrap()).to_be_bytes()),
        "u64" => m.extend(v.as_u64().unwrap().to_be_bytes()),
        "bool" => m.push(v.as_bool().unwrap() as u8),
        "list" => {
            let items = v.as_array().unwrap();
            m.extend((items.len() as u32).to_be_bytes());
            items.iter().for_each(|s| put(m, s.as_str().unwrap().as_bytes()));
        }
        other => panic!("kind {other}"),
    }
}

/// PROTOCOL.md §7.3, from the JSON request and answer.
fn answer_message(request: &Value, answer: &Value) -> Vec<u8> {
    let text = |name: &str| request.get(name).and_then(Value::as_str).filter(|s| !s.is_empty());
    let mut m = b"keysat-answer-v1\0".to_vec();
    put(&mut m, text("nonce").unwrap().as_bytes());
    put(&mut m, text("endpoint").unwrap().as_bytes());
    m.extend(sha256(text("key").unwrap().as_bytes()));
    // Only /v1/validate reads product_slug.
    let slug = text("product_slug").filter(|_| text("endpoint") == Some("/v1/validate"));
    m.push(slug.is_some() as u8);
    if let Some(slug) = slug {
        put(&mut m, slug.as_bytes());
    }
    m.push(text("fingerprint").is_some() as u8);
    if let Some(fp) = text("fingerprint") {
        m.extend(sha256(fp.as_bytes()));
    }
    m.push(answer["ok"].as_bool().unwrap() as u8);
    for (name, kind) in [
        ("reason", "text"),
        ("status", "text"),
        ("license_id", "uuid"),
        ("product_id", "uuid"),
        ("product_slug", "text"),
        ("issued_at", "time"),
        ("expires_at", "time"),
        ("grace_until", "time"),
        ("in_grace_period", "bool"),
        ("is_trial", "bool"),
        ("entitlements", "list"),
        ("machine_id", "uuid"),
        ("active_count", "u64"),
        ("max_machines", "u64"),
    ] {
        put_field(&mut m, answer, name, kind);
    }
    m
}

fn merged(base: &Value, changes: Option<&Value>) -> Value {
    let mut out = base.as_object().unwrap().clone();
    for (k, v) in changes.and_then(Value::as_object).into_iter().flatten() {
        out.insert(k.clone(), v.clone());
    }
    Value::Object(out)
}

#[test]
fn answers_verify_with_ring_and_tampered_ones_do_not() {
    let root = load("answer");
    let key = test_key(&root);
    for (name, v) in root["vectors"].as_object().unwrap() {
        let message = answer_message(&v["request"], &v["answer"]);
        assert_eq!(message, unhex(v["signedMessageHex"].as_str().unwrap()), "{name}: signed bytes");
        let signature = base64(v["answer"]["signature"].as_str().unwrap());
        check(&key, &message, &signature, name);
    }
    for r in root["refusals"].as_array().unwrap().iter().filter(|r| r["expectedError"] == "bad_signature") {
        let base = &root["vectors"][r["vector"].as_str().unwrap()];
        let message =
            answer_message(&merged(&base["request"], r.get("request")), &merged(&base["answer"], r.get("answer")));
        assert!(rejects(&key, &message, &base64(base["answer"]["signature"].as_str().unwrap())), "{}", r["name"]);
    }
}

#[test]
fn leases_verify_with_ring_over_the_documented_layout() {
    let root = load("lease");
    let key = test_key(&root);
    for (name, v) in root["vectors"].as_object().unwrap() {
        let parts: Vec<&str> = v["lease"].as_str().unwrap().split('-').collect();
        assert_eq!(parts.len(), 3);
        assert_eq!(parts[0], "LEASE1");
        let (body, signature) = (base32(parts[1], RFC4648), base32(parts[2], RFC4648));
        let e = &v["expected"];
        let mut expected = vec![1];
        expected.extend(unhex(&e["productUuid"].as_str().unwrap().replace('-', "")));
        expected.extend(unhex(&e["licenseUuid"].as_str().unwrap().replace('-', "")));
        expected.extend(e["issuedAt"].as_u64().unwrap().to_be_bytes());
        expected.extend(e["expiresAt"].as_u64().unwrap().to_be_bytes());
        expected.extend(sha256(e["fingerprintRaw"].as_str().unwrap().as_bytes()));
        let entitlements = e["entitlements"].as_array().unwrap();
        expected.push(entitlements.len() as u8);
        for slug in entitlements.iter().map(|s| s.as_str().unwrap()) {
            expected.push(slug.len() as u8);
            expected.extend(slug.as_bytes());
        }
        assert_eq!(body, expected, "{name}: body layout");
        let message = [&b"keysat-lease-v1\0"[..], &body].concat();
        assert_eq!(message, unhex(v["signedMessageHex"].as_str().unwrap()), "{name}");
        check(&key, &message, &signature, name);
    }
}

#[test]
fn activations_verify_with_ring_over_the_documented_layout() {
    let root = load("activation");
    let key = test_key(&root);
    for (name, v) in root["vectors"].as_object().unwrap() {
        let challenge = base32(v["challenge"].as_str().unwrap().strip_prefix("ACT1-").unwrap(), CROCKFORD);
        assert_eq!(challenge.len(), 40, "{name}");
        let (id, check_bytes) = challenge.split_at(36);
        let mut expected = unhex(&v["licenseUuid"].as_str().unwrap().replace('-', ""));
        expected.extend(&sha256(v["fingerprintRaw"].as_str().unwrap().as_bytes())[..10]);
        expected.extend(unhex(v["nonceHex"].as_str().unwrap()));
        assert_eq!(id, expected, "{name}: challenge layout");
        assert_eq!(check_bytes, &sha256(&[&b"keysat-challenge-v1\0"[..], id].concat())[..4], "{name}: checksum");

        let response = base32(v["response"].as_str().unwrap().strip_prefix("ACTR1-").unwrap(), CROCKFORD);
        let (checked, check_bytes) = response.split_at(response.len() - 4);
        assert_eq!(check_bytes, &sha256(&[&b"keysat-activation-checksum-v1\0"[..], checked].concat())[..4]);
        let (grant, signature) = checked.split_at(checked.len() - 64);
        let g = &v["grant"];
        let mut expected = g["issuedAt"].as_u64().unwrap().to_be_bytes().to_vec();
        expected.extend(g["expiresAt"].as_u64().unwrap().to_be_bytes());
        let entitlements = g["entitlements"].as_array().unwrap();
        expected.push(entitlements.len() as u8);
        for slug in entitlements.iter().map(|s| s.as_str().unwrap()) {
            expected.push(slug.len() as u8);
            expected.extend(slug.as_bytes());
        }
        assert_eq!(grant, expected, "{name}: grant layout");
        let message = [&b"keysat-activation-v1\0"[..], id, grant].concat();
        assert_eq!(message, unhex(v["signedMessageHex"].as_str().unwrap()), "{name}");
        check(&key, &message, signature, name);
    }
}

#[test]
fn license_keys_verify_with_ring() {
    let root = load("lic1");
    let key = pem_key(root["publicKeyPem"].as_str().unwrap());
    for (name, v) in root.as_object().unwrap().iter().filter(|(k, _)| *k != "publicKeyPem") {
        let parts: Vec<&str> = v["licenseKey"].as_str().unwrap().split('-').collect();
        let (payload, signature) = (base32(parts[1], RFC4648), base32(parts[2], RFC4648));
        UnparsedPublicKey::new(&ED25519, &key)
            .verify(&payload, &signature)
            .unwrap_or_else(|_| panic!("{name}: ring rejects the key"));
    }
}
