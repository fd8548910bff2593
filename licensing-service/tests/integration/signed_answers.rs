//! Signed answers (PROTOCOL.md §7) and offline leases (§8) as the server
//! gives them: checked by `keysat-client` and, independently, by Node's
//! Ed25519 (OpenSSL); a tampered answer or another nonce is refused.

use std::process::Command;

use keysat_client::uuid::Uuid;
use keysat_client::{
    answer_message, verify_answer, Answer, AnswerRequest, Endpoint, LicenseKey, Nonce, PublicKey, SignedLease,
};
use serde_json::{json, Value};

use crate::common::*;

fn fresh_nonce() -> Nonce {
    Nonce::from_bytes(Uuid::new_v4().as_bytes()).unwrap()
}

/// The answer as `keysat-client` reads it.
fn typed(body: &Value) -> Answer<'static> {
    serde_json::from_value::<Answer>(body.clone()).unwrap_or_else(|e| panic!("{e}: {body}")).into_owned()
}

/// Checks `body`'s signature for `request` and `nonce` with `keysat-client`.
fn check(body: &Value, request: &AnswerRequest<'_>, nonce: &Nonce, pk: &PublicKey) -> Result<(), String> {
    let answer = typed(body);
    let signature = answer.signature.clone().ok_or("no signature")?;
    verify_answer(&answer, request, nonce, &signature, pk).map_err(|e| e.code().to_string())
}

/// Runs Node's Ed25519 over (name, message, signature); returns its verdicts.
fn node_verify(pem: &str, items: &[(String, Vec<u8>, Vec<u8>)]) -> Vec<String> {
    let items: Vec<Value> = items
        .iter()
        .map(|(name, m, s)| json!({"name": name, "message_hex": hex(m), "signature_hex": hex(s)}))
        .collect();
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), json!({"public_key_pem": pem, "items": items}).to_string()).unwrap();
    let out = Command::new("node").arg(js_dir().join("verify-ed25519.mjs")).arg(file.path()).output().expect("node");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().lines().map(str::to_string).collect()
}

fn hex(b: &[u8]) -> String {
    hex::encode(b)
}

fn b64url(s: &str) -> Vec<u8> {
    data_encoding::BASE64URL_NOPAD.decode(s.as_bytes()).expect("base64url")
}

#[tokio::test(flavor = "multi_thread")]
async fn answers_with_a_nonce_are_signed_and_verify_two_ways() {
    let app = spawn_app().await;
    app.product_with_policy("app", json!({"max_machines": 2, "duration_seconds": 86_400 * 30})).await;
    let (id, key) = app.issue_license("app", "default").await;
    let pk = app.public_key().await;
    let pem = app.get("/v1/pubkey").await.expect(200)["public_key_pem"].as_str().unwrap().to_string();

    // Without a nonce nothing changes: no signature.
    let plain = app.validate(json!({"key": key})).await;
    assert!(plain.get("signature").is_none(), "{plain}");

    let n1 = fresh_nonce();
    let validate =
        app.validate(json!({"key": key, "product_slug": "app", "fingerprint": "fp-1", "nonce": n1.as_str()})).await;
    assert_ok(&validate);
    let req =
        AnswerRequest { endpoint: Endpoint::Validate, key: &key, product_slug: Some("app"), fingerprint: Some("fp-1") };
    check(&validate, &req, &n1, &pk).expect("keysat-client verifies the validate answer");

    // Another nonce, another endpoint, another fingerprint or a changed field: refused.
    assert_eq!(check(&validate, &req, &fresh_nonce(), &pk), Err("bad_signature".into()));
    let other_fp = AnswerRequest { fingerprint: Some("fp-2"), ..req };
    assert_eq!(check(&validate, &other_fp, &n1, &pk), Err("bad_signature".into()));
    let as_heartbeat = AnswerRequest { endpoint: Endpoint::Heartbeat, ..req };
    assert_eq!(check(&validate, &as_heartbeat, &n1, &pk), Err("bad_signature".into()));
    let mut tampered = validate.clone();
    tampered["entitlements"] = json!(["pro", "enterprise"]);
    assert_eq!(check(&tampered, &req, &n1, &pk), Err("bad_signature".into()));
    let mut forged = validate.clone();
    forged["expires_at"] = json!("2099-01-01T00:00:00Z");
    assert_eq!(check(&forged, &req, &n1, &pk), Err("bad_signature".into()));

    // Every machine endpoint signs too, its refusals included.
    let mut signed = vec![];
    for (endpoint, path, fp) in [
        (Endpoint::Activate, "/v1/machines/activate", "fp-2"),
        (Endpoint::Heartbeat, "/v1/machines/heartbeat", "fp-2"),
        (Endpoint::Heartbeat, "/v1/machines/heartbeat", "fp-unknown"),
        (Endpoint::Lease, "/v1/machines/lease", "fp-2"),
        (Endpoint::Deactivate, "/v1/machines/deactivate", "fp-2"),
    ] {
        let nonce = fresh_nonce();
        let body = app.post(path, json!({"key": key, "fingerprint": fp, "nonce": nonce.as_str()})).await.expect(200);
        let request = AnswerRequest { endpoint, key: &key, product_slug: None, fingerprint: Some(fp) };
        check(&body, &request, &nonce, &pk).unwrap_or_else(|e| panic!("{path}: {e}: {body}"));
        signed.push((path, body, request, nonce));
    }
    assert_refused(&signed[2].1, "not_activated");

    // A revoked license's refusal is signed: a network cannot answer "ok" for it.
    app.admin_post(&format!("/licenses/{id}/revoke"), json!({"reason": "chargeback"})).await.expect(200);
    let n2 = fresh_nonce();
    let revoked = app.validate(json!({"key": key, "nonce": n2.as_str()})).await;
    assert_refused(&revoked, "revoked");
    let req2 = AnswerRequest { endpoint: Endpoint::Validate, key: &key, product_slug: None, fingerprint: None };
    check(&revoked, &req2, &n2, &pk).expect("the refusal verifies");
    let mut flipped = revoked.clone();
    flipped["ok"] = json!(true);
    flipped.as_object_mut().unwrap().remove("reason");
    assert_eq!(check(&flipped, &req2, &n2, &pk), Err("bad_signature".into()));

    // The same signatures through an unrelated Ed25519 (Node's, OpenSSL's).
    let mut items = vec![];
    let mut add = |name: &str, body: &Value, request: &AnswerRequest<'_>, nonce: &Nonce| {
        let answer = typed(body);
        let sig = b64url(answer.signature.as_deref().unwrap());
        items.push((name.to_string(), answer_message(&answer, request, nonce).unwrap(), sig));
    };
    add("validate", &validate, &req, &n1);
    add("revoked", &revoked, &req2, &n2);
    for (i, (_, body, request, nonce)) in signed.iter().enumerate() {
        add(&format!("machine{i}"), body, request, nonce);
    }
    add("tampered", &tampered, &req, &n1);
    add("other-nonce", &validate, &req, &Nonce::parse("00112233445566778899aabbccddeeff").unwrap());
    let verdicts = node_verify(&pem, &items);
    assert_eq!(
        verdicts,
        [
            "validate valid",
            "revoked valid",
            "machine0 valid",
            "machine1 valid",
            "machine2 valid",
            "machine3 valid",
            "machine4 valid",
            "tampered invalid",
            "other-nonce invalid"
        ]
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bad_nonce_is_a_clear_error_and_an_empty_one_counts_as_absent() {
    let app = spawn_app().await;
    app.product_with_policy("app", json!({})).await;
    let (_, key) = app.issue_license("app", "default").await;
    for bad in ["short", "has spaces in it but is long enough", "padded-base64url-nonce-value==", &"a".repeat(129)] {
        app.post("/v1/validate", json!({"key": key, "nonce": bad})).await.expect_error(400, "invalid_request");
        app.post("/v1/machines/activate", json!({"key": key, "fingerprint": "f", "nonce": bad}))
            .await
            .expect_error(400, "invalid_request");
    }
    let empty = app.validate(json!({"key": key, "nonce": ""})).await;
    assert_ok(&empty);
    assert!(empty.get("signature").is_none());
    // Hex and base64url spellings are both taken, as sent.
    for good in ["00112233445566778899AABBCCDDEEFF", "ABEiM0RVZneImaq7zN3u_w"] {
        let body = app.validate(json!({"key": key, "nonce": good})).await;
        assert_eq!(body["signature"].as_str().map(str::len), Some(86), "{body}");
    }
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_lease_holds_a_seat_runs_offline_until_it_expires_and_is_denied_when_revoked() {
    let app = spawn_app().await;
    app.create_product("app", json!({"entitlements_catalog": [{"slug": "pro", "name": "Pro"}]})).await;
    app.create_policy(
        "app",
        json!({"slug": "default", "max_machines": 2, "entitlements": ["pro"], "lease_seconds": 3600}),
    )
    .await;
    app.create_policy("app", json!({"slug": "short", "duration_seconds": 600, "max_machines": 1})).await;
    let (id, key) = app.issue_license("app", "default").await;
    let pk = app.public_key().await;
    let license_id = LicenseKey::parse(&key).unwrap().payload().license_id;

    let t0 = now();
    let body = app
        .post("/v1/machines/lease", json!({"key": key, "fingerprint": "laptop-fp", "hostname": "laptop"}))
        .await
        .expect(200);
    assert_ok(&body);
    assert_eq!(body["active_count"], 1, "a lease takes a seat: {body}");
    let text = body["lease"].as_str().expect("a lease");
    assert!(text.starts_with("LEASE1-"), "{text}");
    let lease = SignedLease::parse(text).unwrap();
    let l = lease.lease();
    assert_eq!(l.license_id, license_id);
    assert_eq!(l.entitlements, ["pro"]);
    assert!(l.fingerprint_matches("laptop-fp"));
    let expires = l.expires_at as i64;
    assert!((t0 + 3600..=now() + 3600).contains(&expires), "lease_seconds: {expires}");
    assert_eq!(unix(&body["lease_expires_at"]), expires);

    // Offline: good on this machine until it expires, never on another.
    lease.verify_at(&pk, "laptop-fp", now() as u64).expect("valid now");
    lease.verify_at(&pk, "laptop-fp", (expires - 1) as u64).expect("valid until its last second");
    assert_eq!(lease.verify_at(&pk, "laptop-fp", expires as u64).unwrap_err().code(), "expired");
    assert_eq!(lease.verify_at(&pk, "desktop-fp", now() as u64).unwrap_err().code(), "fingerprint_mismatch");
    let mut tampered = text.to_string();
    let i = tampered.find('-').unwrap() + 10;
    tampered.replace_range(i..=i, if &tampered[i..=i] == "A" { "B" } else { "A" });
    assert!(SignedLease::parse(&tampered).and_then(|t| t.verify(&pk)).is_err());

    // Renewing is asking again: the same seat, a fresh lease.
    let again = app.post("/v1/machines/lease", json!({"key": key, "fingerprint": "laptop-fp"})).await.expect(200);
    assert_eq!(again["machine_id"], body["machine_id"]);
    assert_eq!(again["active_count"], 1);

    // A lease never outlives the license.
    let (_, short) = app.issue_license("app", "short").await;
    let s = app.post("/v1/machines/lease", json!({"key": short, "fingerprint": "fp"})).await.expect(200);
    let short_lease = SignedLease::parse(s["lease"].as_str().unwrap()).unwrap();
    let short_expiry = LicenseKey::parse(&short).unwrap().payload().expires_at;
    assert_eq!(short_lease.lease().expires_at, short_expiry);

    // Suspended or revoked: no new lease.
    app.admin_post(&format!("/licenses/{id}/suspend"), json!({})).await.expect(200);
    let refused = app.post("/v1/machines/lease", json!({"key": key, "fingerprint": "laptop-fp"})).await.expect(200);
    assert_refused(&refused, "suspended");
    assert!(refused.get("lease").is_none(), "{refused}");
    app.admin_post(&format!("/licenses/{id}/revoke"), json!({"reason": "refund"})).await.expect(200);
    let refused = app.post("/v1/machines/lease", json!({"key": key, "fingerprint": "laptop-fp"})).await.expect(200);
    assert_refused(&refused, "revoked");
    assert!(refused.get("lease").is_none(), "{refused}");
    app.post("/v1/machines/lease", json!({"key": key})).await.expect_error(400, "invalid_request");
    app.stop().await;
}
