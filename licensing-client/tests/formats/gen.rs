//! The generator of `tests/vectors/{answer,lease,activation}.json`: the
//! inputs of every vector, signed with the RFC 8032 test key (Ed25519
//! signatures are deterministic, so the output never changes unless a format
//! does).

use keysat_client::uuid::Uuid;
use keysat_client::{
    answer_message, fingerprint_hash, sign_answer, ActivationChallenge, ActivationGrant, ActivationResponse, Lease,
    Nonce, SignedLease,
};
use serde_json::{json, Value};

use super::{answer_from_json, hex, public_key, signing_key, with_changes, Request, SEED_HEX};

const KEY: &str = "LIC1-AIBW6RVE6YGS6SRIW2VD5D57N4UPBKVKVKVLXO6MZTO533XO53XO53QAAAAAAZKT6EAAAAAAABYT7MYA2NCGD73DC4G6MM5VVISRFTROCWWBECY4GJNM3LNGPQBOLFF2HM6QEA3QOJXQY3LVNR2GSLLEMV3GSY3F-QPSJIDYL6Y5TFCKXQ2SN43EDJIZIRJZCEROM2I4MJHODT6KO4KDPW6AJ3HMYJERYPD34CF2Z46PXPYFKSRZS7BDZKVKWE57UBJSTEBI";
const PRODUCT: &str = "6f46a4f6-0d2f-4a28-b6aa-3e8fbf6f28f0";
const LICENSE: &str = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee";
const MACHINE: &str = "5b3c7f0e-2c1d-4e8a-9f00-1234567890ab";
const FINGERPRINT: &str = "test-machine-fingerprint";

fn header() -> serde_json::Map<String, Value> {
    let mut root = serde_json::Map::new();
    root.insert("signingKeySeedHex".into(), json!(SEED_HEX));
    root.insert("publicKeyPem".into(), json!(public_key().to_pem()));
    root
}

/// The generated file `name`.json as text.
pub fn generate(name: &str) -> String {
    let root = match name {
        "answer" => answers(),
        "lease" => leases(),
        "activation" => activations(),
        other => panic!("no vector file {other}"),
    };
    serde_json::to_string_pretty(&root).unwrap() + "\n"
}

fn answer_cases() -> Vec<(&'static str, Value, Value)> {
    let hex16 = "00112233445566778899aabbccddeeff";
    let b64_32 = Nonce::from_bytes(&[0xab, 0xcd, 0xef, 0x01, 0x23, 0x45, 0x67, 0x89].repeat(4)).unwrap();
    let req = |endpoint: &str, slug: Value, fp: Value, nonce: &str| json!({"endpoint": endpoint, "key": KEY, "product_slug": slug, "fingerprint": fp, "nonce": nonce});
    vec![
        (
            "validate_ok",
            req("/v1/validate", json!("demo-app"), json!(FINGERPRINT), hex16),
            json!({"ok": true, "status": "active", "license_id": LICENSE, "product_id": PRODUCT,
                   "product_slug": "demo-app", "issued_at": "2023-11-14T22:13:20Z", "expires_at": null,
                   "in_grace_period": false, "is_trial": false, "entitlements": ["pro", "multi-device"],
                   "machine_id": MACHINE, "max_machines": 3}),
        ),
        (
            "validate_in_grace",
            req("/v1/validate", Value::Null, Value::Null, b64_32.as_str()),
            json!({"ok": true, "status": "active", "license_id": LICENSE, "product_id": PRODUCT,
                   "product_slug": "demo-app", "issued_at": "2023-11-14T22:13:20Z",
                   "expires_at": "2030-03-17T17:46:40Z", "grace_until": "2030-03-24T17:46:40Z",
                   "in_grace_period": true, "is_trial": true, "entitlements": [], "max_machines": 0}),
        ),
        (
            "validate_refused",
            req("/v1/validate", Value::Null, Value::Null, hex16),
            json!({"ok": false, "reason": "revoked", "message": "the license has been revoked"}),
        ),
        (
            "activate_ok",
            req("/v1/machines/activate", Value::Null, json!(FINGERPRINT), b64_32.as_str()),
            json!({"ok": true, "machine_id": MACHINE, "active_count": 1, "max_machines": 3}),
        ),
        (
            "heartbeat_refused",
            req("/v1/machines/heartbeat", Value::Null, json!("another-machine"), hex16),
            json!({"ok": false, "reason": "not_activated", "message": "this machine holds no seat of the license",
                   "active_count": 1, "max_machines": 3}),
        ),
        (
            "deactivate_ok",
            req("/v1/machines/deactivate", Value::Null, json!(FINGERPRINT), hex16),
            json!({"ok": true, "active_count": 0, "max_machines": 3}),
        ),
    ]
}

fn answer_refusals() -> Value {
    json!([
        {"name": "seat_limit_raised", "vector": "activate_ok", "answer": {"max_machines": 30}, "expectedError": "bad_signature"},
        {"name": "refusal_turned_ok", "vector": "validate_refused", "answer": {"ok": true}, "expectedError": "bad_signature"},
        {"name": "expiry_removed", "vector": "validate_in_grace", "answer": {"expires_at": null}, "expectedError": "bad_signature"},
        {"name": "entitlement_added", "vector": "validate_ok", "answer": {"entitlements": ["pro", "multi-device", "max"]}, "expectedError": "bad_signature"},
        {"name": "other_nonce", "vector": "validate_ok", "request": {"nonce": "ffeeddccbbaa99887766554433221100"}, "expectedError": "bad_signature"},
        {"name": "nonce_in_other_case", "vector": "validate_ok", "request": {"nonce": "00112233445566778899AABBCCDDEEFF"}, "expectedError": "bad_signature"},
        {"name": "other_fingerprint", "vector": "activate_ok", "request": {"fingerprint": "another-machine"}, "expectedError": "bad_signature"},
        {"name": "fingerprint_dropped", "vector": "validate_ok", "request": {"fingerprint": null}, "expectedError": "bad_signature"},
        {"name": "other_product", "vector": "validate_ok", "request": {"product_slug": "other-app"}, "expectedError": "bad_signature"},
        {"name": "other_key", "vector": "validate_refused", "request": {"key": KEY.to_lowercase()}, "expectedError": "bad_signature"},
        {"name": "other_endpoint", "vector": "activate_ok", "request": {"endpoint": "/v1/machines/heartbeat"}, "expectedError": "bad_signature"},
        {"name": "padded_signature", "vector": "validate_ok", "signatureSuffix": "==", "expectedError": "bad_format"}
    ])
}

fn answers() -> Value {
    let mut vectors = serde_json::Map::new();
    for (name, request, answer) in answer_cases() {
        let r = Request::from_json(&request);
        let typed = answer_from_json(&answer);
        let message = answer_message(&typed, &r.as_request(), &r.nonce).unwrap();
        let signature = sign_answer(&typed, &r.as_request(), &r.nonce, &signing_key()).unwrap();
        let answer = with_changes(&answer, Some(&json!({ "signature": signature })));
        vectors.insert(name.into(), json!({"request": request, "answer": answer, "signedMessageHex": hex(&message)}));
    }
    let mut root = header();
    root.insert("vectors".into(), vectors.into());
    root.insert("refusals".into(), answer_refusals());
    root.into()
}

fn lease(issued_at: u64, expires_at: u64, entitlements: &[&str]) -> Lease {
    Lease {
        product_id: Uuid::parse_str(PRODUCT).unwrap(),
        license_id: Uuid::parse_str(LICENSE).unwrap(),
        issued_at,
        expires_at,
        fingerprint_hash: fingerprint_hash(FINGERPRINT),
        entitlements: entitlements.iter().map(|s| s.to_string()).collect(),
    }
}

fn lease_vector(lease: &Lease) -> Value {
    let signed = SignedLease::sign(lease, &signing_key()).unwrap();
    json!({
        "lease": signed.to_lease_string(),
        "signedMessageHex": hex(&signed.signed_message()),
        "expected": {
            "productUuid": lease.product_id.to_string(), "licenseUuid": lease.license_id.to_string(),
            "issuedAt": lease.issued_at, "expiresAt": lease.expires_at,
            "fingerprintRaw": FINGERPRINT, "fingerprintHashHex": hex(&lease.fingerprint_hash),
            "entitlements": lease.entitlements,
        }
    })
}

/// `signed`'s string with its body replaced by `body` (signature kept).
fn resigned_body(signed: &str, body: &[u8]) -> String {
    let parts: Vec<&str> = signed.split('-').collect();
    format!("{}-{}-{}", parts[0], data_encoding::BASE32_NOPAD.encode(body), parts[2])
}

fn leases() -> Value {
    let week = lease(1_700_000_000, 1_700_604_800, &["pro", "multi-device"]);
    let hour = lease(1_700_000_000, 1_700_003_600, &[]);
    let week_text = SignedLease::sign(&week, &signing_key()).unwrap().to_lease_string();
    let longer = lease(1_700_000_000, 1_731_536_000, &["pro", "multi-device"]);
    let refusals = json!([
        {"name": "valid", "lease": week_text, "fingerprint": FINGERPRINT, "now": 1_700_000_100, "expectedError": null},
        {"name": "clock_slightly_behind", "lease": week_text, "fingerprint": FINGERPRINT, "now": 1_699_999_700, "expectedError": null},
        {"name": "other_machine", "lease": week_text, "fingerprint": "another-machine", "now": 1_700_000_100, "expectedError": "fingerprint_mismatch"},
        {"name": "not_yet_valid", "lease": week_text, "fingerprint": FINGERPRINT, "now": 1_699_999_699, "expectedError": "not_yet_valid"},
        {"name": "expired", "lease": week_text, "fingerprint": FINGERPRINT, "now": 1_700_604_800, "expectedError": "expired"},
        {"name": "extended_by_hand", "lease": resigned_body(&week_text, &longer.encode().unwrap()), "fingerprint": FINGERPRINT, "now": 1_700_000_100, "expectedError": "bad_signature"},
        {"name": "license_key_is_not_a_lease", "lease": KEY, "fingerprint": FINGERPRINT, "now": 1_700_000_100, "expectedError": "bad_format"},
        {"name": "truncated", "lease": &week_text[..week_text.len() - 1], "fingerprint": FINGERPRINT, "now": 1_700_000_100, "expectedError": "bad_format"}
    ]);
    let mut root = header();
    root.insert(
        "vectors".into(),
        json!({"week_pro": lease_vector(&week), "hour_no_entitlements": lease_vector(&hour)}),
    );
    root.insert("refusals".into(), refusals);
    root.into()
}

fn challenge(nonce: [u8; 10]) -> ActivationChallenge {
    ActivationChallenge::new(Uuid::parse_str(LICENSE).unwrap(), FINGERPRINT, nonce)
}

fn activation_vector(nonce: [u8; 10], grant: &ActivationGrant) -> Value {
    let challenge = challenge(nonce);
    let response = ActivationResponse::sign(&challenge, grant, &signing_key()).unwrap();
    json!({
        "licenseUuid": LICENSE, "fingerprintRaw": FINGERPRINT, "nonceHex": hex(&nonce),
        "challenge": challenge.to_code_string(),
        "challengeBytesHex": hex(&challenge.to_bytes()),
        "response": response.to_code_string(),
        "signedMessageHex": hex(&response.signed_message(&challenge)),
        "grant": {"issuedAt": grant.issued_at, "expiresAt": grant.expires_at, "entitlements": grant.entitlements},
    })
}

/// `code` with the character at `index` replaced by another symbol.
fn typo(code: &str, index: usize) -> String {
    let mut bytes = code.as_bytes().to_vec();
    bytes[index] = if bytes[index] == b'7' { b'8' } else { b'7' };
    String::from_utf8(bytes).unwrap()
}

fn activations() -> Value {
    let year =
        ActivationGrant { issued_at: 1_700_000_000, expires_at: 1_731_536_000, entitlements: vec!["pro".into()] };
    let day = ActivationGrant { issued_at: 1_700_000_000, expires_at: 1_700_086_400, entitlements: vec![] };
    let nonce = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
    let c = challenge(nonce).to_code_string();
    let r = ActivationResponse::sign(&challenge(nonce), &year, &signing_key()).unwrap().to_code_string();
    let other = challenge([10, 9, 8, 7, 6, 5, 4, 3, 2, 1]).to_code_string();
    let refusals = json!([
        {"name": "valid", "challenge": c, "response": r, "fingerprint": FINGERPRINT, "now": 1_700_000_100, "expectedError": null},
        {"name": "challenge_typo", "challenge": typo(&c, 7), "expectedError": "bad_checksum"},
        {"name": "challenge_character_missing", "challenge": format!("{}{}", &c[..5], &c[6..]), "expectedError": "bad_format"},
        {"name": "response_typo", "challenge": c, "response": typo(&r, 22), "fingerprint": FINGERPRINT, "now": 1_700_000_100, "expectedError": "bad_checksum"},
        {"name": "response_to_another_challenge", "challenge": other, "response": r, "fingerprint": FINGERPRINT, "now": 1_700_000_100, "expectedError": "bad_signature"},
        {"name": "other_machine", "challenge": c, "response": r, "fingerprint": "another-machine", "now": 1_700_000_100, "expectedError": "fingerprint_mismatch"},
        {"name": "not_yet_valid", "challenge": c, "response": r, "fingerprint": FINGERPRINT, "now": 1_699_999_699, "expectedError": "not_yet_valid"},
        {"name": "expired", "challenge": c, "response": r, "fingerprint": FINGERPRINT, "now": 1_731_536_000, "expectedError": "expired"}
    ]);
    let mut root = header();
    root.insert(
        "vectors".into(),
        json!({"year_pro": activation_vector(nonce, &year), "day_no_entitlements": activation_vector([0xee; 10], &day)}),
    );
    root.insert("refusals".into(), refusals);
    root.into()
}
