//! `POST /v1/validate`: the success shape and every failure reason of
//! PROTOCOL.md, each answered with HTTP 200, in the protocol's order.

use std::time::Duration;

use crate::common::*;
use crate::internals::TrustedProxies;
use keysat_client::ed25519_dalek::SigningKey;
use keysat_client::uuid::Uuid;
use serde_json::{json, Value};

/// The refusal body is exactly `{ok, reason, message}`.
#[track_caller]
fn assert_refusal_shape(body: &Value, reason: &str) {
    assert_refused(body, reason);
    assert_eq!(keys(body), sorted(&["ok", "reason", "message"]), "{body}");
    assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()));
}

#[tokio::test(flavor = "multi_thread")]
async fn success_has_every_protocol_field() {
    let app = spawn_app().await;
    let product = app.create_product("app", json!({"entitlements_catalog": [{"slug": "pro", "name": "Pro"}]})).await;
    app.create_policy("app", json!({"slug": "default", "max_machines": 3, "entitlements": ["pro"]})).await;
    let (id, key) = app.issue_license("app", "default").await;

    // Without a fingerprint: no seat is taken.
    let body = app.validate(json!({"key": key})).await;
    assert_ok(&body);
    assert_eq!(body["status"], "active");
    assert_eq!(body["license_id"], id);
    assert_eq!(body["product_id"], product["id"]);
    assert_eq!(body["product_slug"], "app");
    assert!((unix(&body["issued_at"]) - now()).abs() < 60);
    assert_eq!(body["expires_at"], json!(null), "perpetual");
    assert_eq!(body["in_grace_period"], false);
    assert!(body.get("grace_until").is_none());
    assert_eq!(body["is_trial"], false);
    assert_eq!(body["entitlements"], json!(["pro"]));
    assert_eq!(body["max_machines"], 3);
    assert!(body.get("machine_id").is_none());
    assert_eq!(app.license(&id).await["active_machines"], 0);

    // With a fingerprint (and surrounding whitespace on the key): a seat.
    let body = app
        .validate(json!({"key": format!("  {key}\n"), "product_slug": "app", "fingerprint": "fp-1",
                         "hostname": "host", "platform": "linux"}))
        .await;
    assert_ok(&body);
    let machine_id = body["machine_id"].as_str().expect("machine_id").to_string();
    let again = app.validate(json!({"key": key, "fingerprint": "fp-1"})).await;
    assert_eq!(again["machine_id"], machine_id.as_str(), "the same machine keeps its seat");
    let d = app.license(&id).await;
    assert_eq!(d["active_machines"], 1);
    assert_eq!(d["machines"][0]["id"], machine_id.as_str());
    assert_eq!(d["machines"][0]["hostname"], "host");

    // A lower-case key is the same key.
    assert_ok(&app.validate(json!({"key": key.to_ascii_lowercase()})).await);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn expired_and_in_grace() {
    let app = spawn_app().await;
    app.create_product("app", json!({})).await;
    app.create_policy("app", json!({"slug": "short", "duration_seconds": 1, "grace_seconds": 0})).await;
    app.create_policy(
        "app",
        json!({"slug": "graced", "duration_seconds": 1, "grace_seconds": 3600, "is_trial": true, "max_machines": 1}),
    )
    .await;
    let (_, short) = app.issue_license("app", "short").await;
    let (graced_id, graced) = app.issue_license("app", "graced").await;
    let issued = app.license(&graced_id).await;
    let expires_at = unix(&issued["expires_at"]);

    // Poll rather than sleep: the key expires within about two seconds.
    let expired = poll(Duration::from_secs(4), || async {
        let b = app.validate(json!({"key": short})).await;
        (b["ok"] == false).then_some(b)
    })
    .await
    .expect("the 1-second license expires");
    assert_refusal_shape(&expired, "expired");
    // The two licenses may have been issued in different seconds: wait until
    // the graced one, too, is past its own end (a poll on the clock, not a
    // sleep), so the grace period has begun.
    poll(Duration::from_secs(4), || async { (now() > expires_at).then_some(()) })
        .await
        .expect("the graced license's second passes");

    let body = app.validate(json!({"key": graced, "product_slug": "app", "fingerprint": "fp"})).await;
    assert_ok(&body);
    // Every field of the success shape is present here.
    assert_eq!(
        keys(&body),
        sorted(&[
            "ok",
            "license_id",
            "product_id",
            "product_slug",
            "issued_at",
            "expires_at",
            "grace_until",
            "in_grace_period",
            "is_trial",
            "entitlements",
            "status",
            "machine_id",
            "max_machines"
        ])
    );
    assert_eq!(body["in_grace_period"], true);
    assert_eq!(unix(&body["expires_at"]), expires_at);
    assert_eq!(unix(&body["grace_until"]), expires_at + 3600);
    assert_eq!(body["is_trial"], true);
    assert_eq!(body["status"], "active");

    // Expiry is checked before the fingerprint, and on the machine endpoints too.
    assert_refused(&app.validate(json!({"key": short, "fingerprint": "any"})).await, "expired");
    assert_refused(&app.activate(&short, "any").await, "expired");
    assert_ok(&app.heartbeat(&graced, "fp").await);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_format_and_bad_signature() {
    let app = spawn_app().await;
    let product = app.product_with_policy("app", json!({})).await;
    let (_, key) = app.issue_license("app", "default").await;

    for bad in ["", "hello", "LIC1-AAAA-BBBB", "LIC2-AAAA-AAAA", &key[..key.len() - 10], &format!("{key}-X")] {
        assert_refusal_shape(&app.validate(json!({"key": bad})).await, "bad_format");
    }

    // A well-formed key signed by someone else's key.
    let stranger = SigningKey::from_bytes(&rand::random::<[u8; 32]>());
    let product_id: Uuid = product["id"].as_str().unwrap().parse().unwrap();
    let forged = sign_key(&stranger, product_id, Uuid::new_v4());
    assert_refusal_shape(&app.validate(json!({"key": forged, "product_slug": "app"})).await, "bad_signature");

    // A genuine key whose signature was tampered with.
    let (head, sig) = key.rsplit_once('-').unwrap();
    let mut sig: Vec<u8> = sig.bytes().collect();
    sig[10] = if sig[10] == b'A' { b'B' } else { b'A' };
    let tampered = format!("{head}-{}", String::from_utf8(sig).unwrap());
    assert_refusal_shape(&app.validate(json!({"key": tampered})).await, "bad_signature");

    // A genuine signature over a changed payload.
    let mut parts: Vec<String> = key.split('-').map(str::to_string).collect();
    let other = sign_key(&app.signer, product_id, Uuid::new_v4());
    parts[1] = other.split('-').nth(1).unwrap().to_string();
    assert_refusal_shape(&app.validate(json!({"key": parts.join("-")})).await, "bad_signature");

    // Machines endpoints use the same codes.
    assert_refused(&app.activate("nope", "fp").await, "bad_format");
    assert_refused(&app.activate(&forged, "fp").await, "bad_signature");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn not_found_for_keys_this_server_signed_but_never_issued() {
    let app = spawn_app().await;
    let product = app.product_with_policy("app", json!({})).await;
    let product_id: Uuid = product["id"].as_str().unwrap().parse().unwrap();
    let (id, _) = app.issue_license("app", "default").await;

    let unknown_license = app.forge_key(product_id, Uuid::new_v4());
    assert_refusal_shape(&app.validate(json!({"key": unknown_license})).await, "not_found");
    // The right license id under another product id is not that license either.
    let wrong_product = app.forge_key(Uuid::new_v4(), id.parse().unwrap());
    assert_refusal_shape(&app.validate(json!({"key": wrong_product})).await, "not_found");

    let r = app.activate(&unknown_license, "fp").await;
    assert_refused(&r, "not_found");
    assert_eq!((r["active_count"].as_u64(), r["max_machines"].as_i64()), (Some(0), Some(0)));
    assert_refused(&app.heartbeat(&unknown_license, "fp").await, "not_found");
    assert_refused(&app.deactivate(&unknown_license, "fp").await, "not_found");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn not_found_does_not_depend_on_what_the_server_has_cached() {
    let app = spawn_app().await;
    app.product_with_policy("app", json!({})).await;
    let (id, genuine) = app.issue_license("app", "default").await;
    let wrong_product = app.forge_key(Uuid::new_v4(), id.parse().unwrap());
    // Validating the genuine key first puts its license in memory.
    assert_ok(&app.validate(json!({"key": genuine})).await);
    assert_refusal_shape(&app.validate(json!({"key": wrong_product})).await, "not_found");
    assert_refused(&app.activate(&wrong_product, "fp").await, "not_found");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn revoked_and_suspended_beat_later_reasons() {
    let app = spawn_app().await;
    app.product_with_policy("app", json!({"max_machines": 1})).await;
    app.product_with_policy("other", json!({})).await;
    let (rid, revoked) = app.issue_license("app", "default").await;
    let (sid, suspended) = app.issue_license("app", "default").await;
    assert_ok(&app.validate(json!({"key": revoked, "fingerprint": "fp-1"})).await);
    assert_ok(&app.validate(json!({"key": suspended, "fingerprint": "fp-1"})).await);
    app.admin_post(&format!("/licenses/{rid}/revoke"), json!({"reason": "fraud"})).await.expect(200);
    app.admin_post(&format!("/licenses/{sid}/suspend"), json!({})).await.expect(200);

    assert_refusal_shape(&app.validate(json!({"key": revoked})).await, "revoked");
    assert_refusal_shape(&app.validate(json!({"key": suspended})).await, "suspended");
    // Wrong product and wrong machine too: status still comes first.
    let worse = |k: &str| json!({"key": k, "product_slug": "other", "fingerprint": "fp-2"});
    assert_refused(&app.validate(worse(&revoked)).await, "revoked");
    assert_refused(&app.validate(worse(&suspended)).await, "suspended");
    assert_refused(&app.activate(&revoked, "fp-1").await, "revoked");
    assert_refused(&app.heartbeat(&suspended, "fp-1").await, "suspended");

    app.admin_post(&format!("/licenses/{sid}/unsuspend"), json!({})).await.expect(200);
    assert_ok(&app.validate(json!({"key": suspended, "fingerprint": "fp-1"})).await);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn product_mismatch() {
    let app = spawn_app().await;
    app.product_with_policy("alpha", json!({"duration_seconds": 1})).await;
    app.product_with_policy("beta", json!({})).await;
    let (_, key) = app.issue_license("beta", "default").await;
    assert_ok(&app.validate(json!({"key": key, "product_slug": "beta"})).await);
    assert_refusal_shape(&app.validate(json!({"key": key, "product_slug": "alpha"})).await, "product_mismatch");
    assert_refused(&app.validate(json!({"key": key, "product_slug": "no-such-product"})).await, "product_mismatch");
    // A mismatch takes no seat.
    assert_refused(
        &app.validate(json!({"key": key, "product_slug": "alpha", "fingerprint": "fp"})).await,
        "product_mismatch",
    );
    assert_refused(&app.heartbeat(&key, "fp").await, "not_activated");

    // Product is checked before expiry.
    let (_, short) = app.issue_license("alpha", "default").await;
    let expired = poll(Duration::from_secs(4), || async {
        let b = app.validate(json!({"key": short, "product_slug": "alpha"})).await;
        (b["ok"] == false).then_some(b)
    })
    .await
    .expect("the 1-second license expires");
    assert_refused(&expired, "expired");
    assert_refused(&app.validate(json!({"key": short, "product_slug": "beta"})).await, "product_mismatch");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn licenses_outlive_their_product_leaving_the_shop() {
    let app = spawn_app().await;
    app.product_with_policy("app", json!({})).await;
    let (_, key) = app.issue_license("app", "default").await;
    app.admin_patch("/products/app", json!({"active": false})).await.expect(200);
    app.admin_patch("/products/app/policies/default", json!({"archived": true})).await.expect(200);
    app.get("/v1/products/app").await.expect_error(404, "not_found");
    // Buyers who already paid keep a working license.
    assert_ok(&app.validate(json!({"key": key, "product_slug": "app", "fingerprint": "fp"})).await);
    assert_ok(&app.heartbeat(&key, "fp").await);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn fingerprint_mismatch_for_bound_keys_and_single_seats() {
    let app = spawn_app().await;
    app.product_with_policy("app", json!({"max_machines": 1})).await;
    app.create_policy("app", json!({"slug": "multi", "max_machines": 3})).await;

    // Bound at issue: the key itself carries the fingerprint.
    let bound = app.issue(json!({"product_slug": "app", "policy_slug": "multi", "fingerprint": "fp-owner"})).await;
    let bound = bound["license_key"].as_str().unwrap();
    assert_refusal_shape(&app.validate(json!({"key": bound, "fingerprint": "fp-other"})).await, "fingerprint_mismatch");
    assert_refused(&app.activate(bound, "fp-other").await, "fingerprint_mismatch");
    assert_ok(&app.validate(json!({"key": bound, "fingerprint": "fp-owner"})).await);
    // A bound key must name its machine: without a fingerprint it is refused too.
    assert_refused(&app.validate(json!({"key": bound})).await, "fingerprint_mismatch");

    // One seat, bound by first use.
    let (_, key) = app.issue_license("app", "default").await;
    assert_ok(&app.validate(json!({"key": key, "fingerprint": "first"})).await);
    assert_refusal_shape(&app.validate(json!({"key": key, "fingerprint": "second"})).await, "fingerprint_mismatch");
    let r = app.activate(&key, "second").await;
    assert_refused(&r, "fingerprint_mismatch");
    assert_eq!((r["active_count"].as_u64(), r["max_machines"].as_i64()), (Some(1), Some(1)));
    assert_ok(&app.validate(json!({"key": key, "fingerprint": "first"})).await);
    // Freeing the seat lets the next machine bind.
    assert_ok(&app.deactivate(&key, "first").await);
    assert_ok(&app.validate(json!({"key": key, "fingerprint": "second"})).await);
    assert_refused(&app.validate(json!({"key": key, "fingerprint": "first"})).await, "fingerprint_mismatch");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn too_many_machines() {
    let app = spawn_app().await;
    app.product_with_policy("app", json!({"max_machines": 2})).await;
    let (_, key) = app.issue_license("app", "default").await;
    assert_ok(&app.validate(json!({"key": key, "fingerprint": "fp-1"})).await);
    assert_ok(&app.validate(json!({"key": key, "fingerprint": "fp-2"})).await);
    assert_refusal_shape(&app.validate(json!({"key": key, "fingerprint": "fp-3"})).await, "too_many_machines");
    // Seated machines and fingerprint-less checks still pass.
    assert_ok(&app.validate(json!({"key": key, "fingerprint": "fp-1"})).await);
    assert_ok(&app.validate(json!({"key": key})).await);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn rate_limited_per_address() {
    let app = spawn_with(|c| c.validate_rate_per_minute = 3).await;
    app.product_with_policy("app", json!({})).await;
    let (_, key) = app.issue_license("app", "default").await;
    for _ in 0..2 {
        assert_ok(&app.validate(json!({"key": key})).await);
    }
    // Refusals count too.
    assert_refused(&app.validate(json!({"key": "garbage"})).await, "bad_format");
    let r = app.post("/v1/validate", json!({"key": key})).await;
    assert_eq!(r.status, 200);
    let retry: u64 = r.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!(retry >= 1);
    assert_refusal_shape(&r.json, "rate_limited");
    // Before anything else, even a malformed body.
    assert_refused(&app.post_raw("/v1/validate", "{oops").await.expect(200), "rate_limited");
    // The machine endpoints share the budget.
    assert_refused(&app.activate(&key, "fp").await, "rate_limited");
    assert_refused(&app.heartbeat(&key, "fp").await, "rate_limited");
    // Admin calls are not limited.
    app.admin_get("/products").await.expect(200);
    let stats = app.stats().await;
    assert_eq!(stats["rate_limited_addresses_tracked"], 1);
    app.stop().await;
}

/// A validate call that claims to come from `forwarded_for`.
async fn validate_via(app: &TestApp, key: &str, forwarded_for: &str) -> Value {
    let req = app.client.post(format!("{}/v1/validate", app.base)).header("x-forwarded-for", forwarded_for);
    app.send(req.json(&json!({"key": key}))).await.expect(200)
}

#[tokio::test(flavor = "multi_thread")]
async fn forwarded_for_cannot_dodge_the_limit_from_an_untrusted_peer() {
    let app = spawn_with(|c| c.validate_rate_per_minute = 2).await;
    app.product_with_policy("app", json!({})).await;
    let (id, key) = app.issue_license("app", "default").await;
    assert_ok(&validate_via(&app, &key, "1.1.1.1").await);
    assert_ok(&validate_via(&app, &key, "2.2.2.2").await);
    assert_refused(&validate_via(&app, &key, "3.3.3.3").await, "rate_limited");
    let logged = poll(Duration::from_secs(3), || async {
        let d = app.license(&id).await;
        (!d["recent_validations"].as_array().unwrap().is_empty()).then_some(d["recent_validations"].clone())
    })
    .await
    .expect("events written");
    assert!(logged.as_array().unwrap().iter().all(|e| e["client_ip"] == "127.0.0.1"), "{logged}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_trusted_proxy_forwards_the_client_address() {
    let app = spawn_with(|c| {
        c.validate_rate_per_minute = 2;
        c.trusted_proxies = TrustedProxies::parse("127.0.0.1").unwrap();
    })
    .await;
    app.product_with_policy("app", json!({})).await;
    let (id, key) = app.issue_license("app", "default").await;
    assert_ok(&validate_via(&app, &key, "203.0.113.7").await);
    assert_ok(&validate_via(&app, &key, "198.51.100.1, 203.0.113.7").await);
    assert_refused(&validate_via(&app, &key, "203.0.113.7").await, "rate_limited");
    // Another client behind the same proxy has its own budget.
    assert_ok(&validate_via(&app, &key, "203.0.113.8").await);
    let logged = poll(Duration::from_secs(3), || async {
        let d = app.license(&id).await;
        let ips: Vec<String> = d["recent_validations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["client_ip"].as_str().unwrap_or_default().to_string())
            .collect();
        ips.contains(&"203.0.113.8".to_string()).then_some(ips)
    })
    .await
    .expect("events written");
    assert!(!logged.contains(&"127.0.0.1".to_string()), "{logged:?}");
    assert_eq!(app.stats().await["rate_limited_addresses_tracked"], 2);
    app.stop().await;
}
