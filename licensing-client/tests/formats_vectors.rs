//! The reference vectors of the signed formats
//! (`tests/vectors/{answer,lease,activation}.json`): each verifies and
//! decodes to its expected fields, its signed bytes are the documented ones,
//! and each listed refusal fails with its expected code.

mod formats;

use formats::{answer_from_json, hex, public_key, strings, unhex, uuid, vectors, with_changes, Request};
use keysat_client::{
    answer_message, verify_activation, verify_answer, verify_lease, ActivationChallenge, ActivationResponse, Error,
    SignedLease, ACTIVATION_CONTEXT, ANSWER_CONTEXT, CHALLENGE_CHECKSUM_CONTEXT, LEASE_CONTEXT,
    RESPONSE_CHECKSUM_CONTEXT,
};
use serde_json::Value;

fn code(result: Result<impl Sized, Error>) -> Value {
    match result {
        Ok(_) => Value::Null,
        Err(e) => Value::from(e.code()),
    }
}

#[test]
fn files_are_what_the_generator_writes() {
    for name in ["answer", "lease", "activation"] {
        let committed = std::fs::read_to_string(formats::path(name)).unwrap();
        assert_eq!(committed, formats::gen::generate(name), "{name}.json differs from what gen_vectors writes");
    }
}

#[test]
fn answer_vectors_verify_over_their_documented_bytes() {
    let root = formats::load("answer");
    let pk = public_key();
    for (name, v) in vectors(&root) {
        let request = Request::from_json(&v["request"]);
        let answer = answer_from_json(&v["answer"]);
        let message = answer_message(&answer, &request.as_request(), &request.nonce).unwrap();
        assert_eq!(hex(&message), v["signedMessageHex"], "{name}: signed bytes");
        assert!(message.starts_with(ANSWER_CONTEXT));
        let signature = v["answer"]["signature"].as_str().unwrap();
        verify_answer(&answer, &request.as_request(), &request.nonce, signature, &pk)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        // Unsigned fields may change; unknown fields are ignored.
        let reworded = with_changes(&v["answer"], Some(&serde_json::json!({"message": "x", "future_field": 1})));
        let same = answer_from_json(&reworded);
        assert!(verify_answer(&same, &request.as_request(), &request.nonce, signature, &pk).is_ok(), "{name}");
    }
}

#[test]
fn answer_refusals_fail_with_their_code() {
    let root = formats::load("answer");
    let pk = public_key();
    for refusal in root["refusals"].as_array().unwrap() {
        let name = refusal["name"].as_str().unwrap();
        let base = &root["vectors"][refusal["vector"].as_str().unwrap()];
        let request = Request::from_json(&with_changes(&base["request"], refusal.get("request")));
        let answer = answer_from_json(&with_changes(&base["answer"], refusal.get("answer")));
        let suffix = refusal.get("signatureSuffix").and_then(Value::as_str).unwrap_or("");
        let signature = format!("{}{suffix}", base["answer"]["signature"].as_str().unwrap());
        let result = verify_answer(&answer, &request.as_request(), &request.nonce, &signature, &pk);
        assert_eq!(code(result), refusal["expectedError"], "{name}");
    }
}

#[test]
fn lease_vectors_verify_and_decode() {
    let root = formats::load("lease");
    let pk = public_key();
    for (name, v) in vectors(&root) {
        let e = &v["expected"];
        let text = v["lease"].as_str().unwrap();
        let signed = SignedLease::parse(text).unwrap_or_else(|err| panic!("{name}: {err}"));
        assert_eq!(hex(&signed.signed_message()), v["signedMessageHex"], "{name}: signed bytes");
        assert!(signed.signed_message().starts_with(LEASE_CONTEXT));
        assert_eq!(signed.to_lease_string(), text, "{name}: canonical");
        let fingerprint = e["fingerprintRaw"].as_str().unwrap();
        let issued_at = e["issuedAt"].as_u64().unwrap();
        let lease = verify_lease(text, &pk, fingerprint, issued_at).unwrap_or_else(|err| panic!("{name}: {err}"));
        assert_eq!(lease.product_id, uuid(&e["productUuid"]), "{name}");
        assert_eq!(lease.license_id, uuid(&e["licenseUuid"]), "{name}");
        assert_eq!(lease.issued_at, issued_at, "{name}");
        assert_eq!(lease.expires_at, e["expiresAt"].as_u64().unwrap(), "{name}");
        assert_eq!(hex(&lease.fingerprint_hash), e["fingerprintHashHex"], "{name}");
        assert_eq!(lease.entitlements, strings(&e["entitlements"]), "{name}");
        assert_eq!(verify_lease(&text.to_lowercase(), &pk, fingerprint, issued_at).unwrap(), lease, "{name}");
    }
}

#[test]
fn lease_refusals_fail_with_their_code() {
    let root = formats::load("lease");
    let pk = public_key();
    for r in root["refusals"].as_array().unwrap() {
        let result = verify_lease(
            r["lease"].as_str().unwrap(),
            &pk,
            r["fingerprint"].as_str().unwrap(),
            r["now"].as_u64().unwrap(),
        );
        assert_eq!(code(result), r["expectedError"], "{}", r["name"]);
    }
}

#[test]
fn activation_vectors_verify_against_their_challenge() {
    let root = formats::load("activation");
    let pk = public_key();
    for (name, v) in vectors(&root) {
        let nonce: [u8; 10] = unhex(&v["nonceHex"]).try_into().unwrap();
        let fingerprint = v["fingerprintRaw"].as_str().unwrap();
        let built = ActivationChallenge::new(uuid(&v["licenseUuid"]), fingerprint, nonce);
        assert_eq!(built.to_code_string(), v["challenge"], "{name}: challenge string");
        assert_eq!(hex(&built.to_bytes()), v["challengeBytesHex"], "{name}: challenge bytes");
        let challenge = ActivationChallenge::parse(v["challenge"].as_str().unwrap()).unwrap();
        assert_eq!(challenge, built, "{name}");
        let text = v["response"].as_str().unwrap();
        let response = ActivationResponse::parse(text).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(response.to_code_string(), text, "{name}: canonical");
        let message = response.signed_message(&challenge);
        assert_eq!(hex(&message), v["signedMessageHex"], "{name}: signed bytes");
        assert!(message.starts_with(ACTIVATION_CONTEXT));
        let g = &v["grant"];
        let now = g["issuedAt"].as_u64().unwrap();
        let grant = verify_activation(text, &challenge, &pk, fingerprint, now).unwrap();
        assert_eq!(grant.issued_at, now, "{name}");
        assert_eq!(grant.expires_at, g["expiresAt"].as_u64().unwrap(), "{name}");
        assert_eq!(grant.entitlements, strings(&g["entitlements"]), "{name}");
    }
}

#[test]
fn activation_refusals_fail_with_their_code() {
    let root = formats::load("activation");
    let pk = public_key();
    for r in root["refusals"].as_array().unwrap() {
        let name = &r["name"];
        let challenge = ActivationChallenge::parse(r["challenge"].as_str().unwrap());
        let Some(response) = r.get("response").and_then(Value::as_str) else {
            assert_eq!(code(challenge), r["expectedError"], "{name}");
            continue;
        };
        let challenge = challenge.unwrap_or_else(|e| panic!("{name}: challenge: {e}"));
        let now = r["now"].as_u64().unwrap();
        let result = verify_activation(response, &challenge, &pk, r["fingerprint"].as_str().unwrap(), now);
        assert_eq!(code(result), r["expectedError"], "{name}");
    }
}

/// Every signed message starts with its own context, and no context is a
/// prefix of another or can start a `LIC1` payload (version byte 1 or 2),
/// so no signature of one format verifies as another.
#[test]
fn contexts_are_distinct_and_prefix_free() {
    let contexts = [ANSWER_CONTEXT, LEASE_CONTEXT, ACTIVATION_CONTEXT];
    for (i, a) in contexts.iter().enumerate() {
        assert_eq!(a.last(), Some(&0), "ends in a NUL byte");
        assert!(a.starts_with(b"keysat-") && a[..a.len() - 1].iter().all(|&b| b != 0));
        assert!(!matches!(a[0], 1 | 2));
        for b in &contexts[i + 1..] {
            assert!(!a.starts_with(b) && !b.starts_with(a));
        }
    }
    // The checksum contexts are not signature contexts.
    for c in [CHALLENGE_CHECKSUM_CONTEXT, RESPONSE_CHECKSUM_CONTEXT] {
        assert!(!contexts.contains(&c));
    }
}
