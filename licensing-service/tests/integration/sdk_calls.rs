//! The published Python SDK (PyPI `keysat-licensing-client` 0.3.0) keeps
//! working: its calls, with exactly the bodies it sends (`None` fields left
//! out, no `nonce`), get answers carrying every field it reads, with the
//! JSON types it reads them as — and nothing it does not know changes them
//! (no `signature` without a nonce, no lease fields, no lapse time on a
//! tier without floating seats).

use serde_json::{json, Value};

use crate::common::*;

/// The fields `_to_machine_response` reads: `ok` (bool), `reason`,
/// `machine_id` (string or absent), `active_count`, `max_machines` (ints).
#[track_caller]
fn machine_response(body: &Value) {
    assert!(body["ok"].is_boolean(), "{body}");
    assert!(body["active_count"].is_u64() && body["max_machines"].is_u64(), "{body}");
    if body["ok"] == true {
        assert!(body["machine_id"].is_string(), "{body}");
    } else {
        assert!(body["reason"].is_string(), "{body}");
    }
    for field in ["signature", "seat_lapses_at", "lease", "freed", "resets_left"] {
        assert!(body.get(field).is_none(), "{field} appeared: {body}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_python_sdks_calls_are_answered_as_it_reads_them() {
    let app = spawn_with(|c| c.code_rate_per_minute = 1_000).await;
    app.create_product("app", json!({"entitlements_catalog": [{"slug": "pro", "name": "Pro"}]})).await;
    app.create_policy("app", json!({"slug": "default", "max_machines": 2, "entitlements": ["pro"]})).await;
    let (_, key) = app.issue_license("app", "default").await;

    // validate(key, product_slug=None, fingerprint=None, hostname=None, platform=None)
    let v = app.post("/v1/validate", json!({"key": key, "product_slug": "app", "fingerprint": "f1"})).await.expect(200);
    assert_eq!(v["ok"], true);
    for field in ["license_id", "product_id", "product_slug", "issued_at", "status", "machine_id"] {
        assert!(v[field].is_string(), "{field}: {v}");
    }
    assert!(v["entitlements"].is_array() && v["max_machines"].is_u64() && v["is_trial"].is_boolean(), "{v}");
    assert!(v.get("signature").is_none(), "{v}");
    let bad = app.post("/v1/validate", json!({"key": "LIC1-AAAA-BBBB"})).await.expect(200);
    assert_eq!((&bad["ok"], &bad["reason"]), (&json!(false), &json!("bad_format")));

    // activate(key, fingerprint, hostname=None, platform=None), heartbeat, deactivate(key, fingerprint, reason=None)
    let a =
        app.post("/v1/machines/activate", json!({"key": key, "fingerprint": "f2", "hostname": "h"})).await.expect(200);
    machine_response(&a);
    machine_response(&app.post("/v1/machines/heartbeat", json!({"key": key, "fingerprint": "f2"})).await.expect(200));
    machine_response(&app.post("/v1/machines/heartbeat", json!({"key": key, "fingerprint": "zz"})).await.expect(200));
    machine_response(&app.post("/v1/machines/activate", json!({"key": key, "fingerprint": "f3"})).await.expect(200));
    let d = app
        .post("/v1/machines/deactivate", json!({"key": key, "fingerprint": "f2", "reason": "bye"}))
        .await
        .expect(200);
    machine_response(&d);
    assert_eq!(d["ok"], true);
    machine_response(&app.post("/v1/machines/deactivate", json!({"key": key, "fingerprint": "f2"})).await.expect(200));

    // get_pubkey()
    assert!(app.get("/v1/pubkey").await.expect(200)["public_key_pem"].is_string());

    // redeem_free_license(product_slug, code, opts) → license_id, license_key, invoice_id, redemption_id
    let code = app.create_code(json!({"kind": "free_license"})).await;
    let r = app
        .post("/v1/redeem", json!({"product": "app", "code": code, "buyer_email": "a@example.com"}))
        .await
        .expect(200);
    for field in ["license_id", "license_key", "invoice_id", "redemption_id"] {
        assert!(r[field].is_string(), "{field}: {r}");
    }
    // poll_purchase(invoice_id) → invoice_id, status, product_id, amount_sats, license_key, license_id
    let p = app.get(&format!("/v1/purchase/{}", r["invoice_id"].as_str().unwrap())).await.expect(200);
    assert!(p["invoice_id"].is_string() && p["status"] == "settled" && p["amount_sats"].is_i64(), "{p}");
    assert_eq!(p["license_key"], r["license_key"]);
    app.stop().await;
}
