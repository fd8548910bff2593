//! The typed JSON answers (`serde` feature): each reads the server's JSON
//! and writes it back exactly, `null` and absent fields included.
#![cfg(feature = "serde")]

mod formats;

use formats::{answer_from_json, vectors};
use keysat_client::{Answer, ErrorEnvelope, PurchaseAnswer, PurchaseStatus, RedeemAnswer};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{json, Value};

/// `value` read as `T` and written again is `value` (same fields, same
/// nulls), and writing is stable from there on.
fn round_trip<T: DeserializeOwned + Serialize>(value: &Value) -> T {
    let typed: T = serde_json::from_value(value.clone()).unwrap_or_else(|e| panic!("{value}: {e}"));
    let written = serde_json::to_string(&typed).unwrap();
    assert_eq!(serde_json::from_str::<Value>(&written).unwrap(), *value);
    let again: T = serde_json::from_str(&written).unwrap();
    assert_eq!(serde_json::to_string(&again).unwrap(), written);
    typed
}

#[test]
fn answer_vectors_read_and_write_back_exactly() {
    let root = formats::load("answer");
    for (name, v) in vectors(&root) {
        let answer: Answer = round_trip(&v["answer"]);
        let by_hand = answer_from_json(&v["answer"]);
        let unsigned = Answer { message: None, signature: None, ..answer.clone() };
        assert_eq!(unsigned, by_hand, "{name}");
        assert_eq!(answer.signature.as_deref(), v["answer"]["signature"].as_str(), "{name}");
        assert_eq!(answer.message.as_deref(), v["answer"]["message"].as_str(), "{name}");
    }
}

#[test]
fn a_perpetual_license_has_a_null_expiry_and_a_refusal_none() {
    let valid = Answer { ok: true, issued_at: Some(1_700_000_000), ..Answer::default() };
    assert_eq!(
        serde_json::to_string(&valid).unwrap(),
        r#"{"ok":true,"issued_at":"2023-11-14T22:13:20Z","expires_at":null}"#
    );
    let machines = Answer { ok: true, active_count: Some(0), max_machines: Some(0), ..Answer::default() };
    assert_eq!(serde_json::to_string(&machines).unwrap(), r#"{"ok":true,"active_count":0,"max_machines":0}"#);
    // Reading: absent and null are the same; unknown fields are ignored.
    let read: Answer = serde_json::from_str(r#"{"ok":true,"expires_at":null,"future":[1]}"#).unwrap();
    assert_eq!(read, Answer { ok: true, ..Answer::default() });
    assert!(serde_json::from_str::<Answer>(r#"{"ok":true,"issued_at":"yesterday"}"#).is_err());
    assert!(serde_json::from_str::<Answer>(r#"{"reason":"revoked"}"#).is_err(), "ok is required");
}

#[test]
fn purchase_answers_are_told_apart_by_status() {
    let checkout = json!({
        "status": "pending", "invoice_id": "6f46a4f6-0d2f-4a28-b6aa-3e8fbf6f28f0", "btcpay_invoice_id": "B1",
        "checkout_url": "https://pay.example/i/B1", "amount_sats": 5000, "base_price_sats": 6000,
        "discount_applied_sats": 1000, "price_amount": null, "price_currency": null,
        "poll_url": "https://shop.example/v1/purchase/6f46a4f6-0d2f-4a28-b6aa-3e8fbf6f28f0",
    });
    let a: PurchaseAnswer = round_trip(&checkout);
    assert!(matches!(&a, PurchaseAnswer::Checkout(c) if c.btcpay_invoice_id == "B1"));
    assert_eq!((a.license_key(), a.checkout_url()), (None, "https://pay.example/i/B1"));
    let fiat = json!({"price_amount": "9.50", "price_currency": "EUR"});
    let mut fiat_checkout = checkout.clone();
    fiat_checkout.as_object_mut().unwrap().extend(fiat.as_object().unwrap().clone());
    round_trip::<PurchaseAnswer>(&fiat_checkout);

    let issued = json!({
        "status": "settled", "invoice_id": "6f46a4f6-0d2f-4a28-b6aa-3e8fbf6f28f0", "btcpay_invoice_id": null,
        "checkout_url": "https://shop.example/thank-you?invoice=6f46a4f6-0d2f-4a28-b6aa-3e8fbf6f28f0",
        "amount_sats": 0, "base_price_sats": 5000, "discount_applied_sats": 5000,
        "poll_url": "https://shop.example/v1/purchase/6f46a4f6-0d2f-4a28-b6aa-3e8fbf6f28f0",
        "license_id": "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee", "license_key": "LIC1-A-B", "redemption_id": null,
    });
    let a: PurchaseAnswer = round_trip(&issued);
    assert_eq!(a.license_key(), Some("LIC1-A-B"));
    assert_eq!(a.invoice_id().to_string(), "6f46a4f6-0d2f-4a28-b6aa-3e8fbf6f28f0");
    assert!(serde_json::from_value::<PurchaseAnswer>(json!({"status": "refunded"})).is_err());
}

#[test]
fn status_redemption_and_errors_keep_their_nulls() {
    let waiting = json!({
        "invoice_id": "6f46a4f6-0d2f-4a28-b6aa-3e8fbf6f28f0", "status": "pending", "stage": "waiting_for_payment",
        "product_id": "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee", "amount_sats": 5000, "license_key": null,
        "license_id": null, "expires_at": null, "max_machines": null, "checkout_url": "https://pay.example/i/B1",
    });
    round_trip::<PurchaseStatus>(&waiting);
    let mut paid = waiting.clone();
    for (k, v) in [
        ("status", json!("settled")),
        ("stage", json!("paid")),
        ("license_key", json!("LIC1-A-B")),
        ("license_id", json!("aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee")),
        ("expires_at", json!("2030-03-17T17:46:40Z")),
        ("max_machines", json!(3)),
        ("checkout_url", Value::Null),
    ] {
        paid[k] = v;
    }
    let status: PurchaseStatus = round_trip(&paid);
    assert_eq!(status.expires_at, Some(1_900_000_000));

    let redeemed = json!({
        "license_id": "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee", "license_key": "LIC1-A-B",
        "invoice_id": "6f46a4f6-0d2f-4a28-b6aa-3e8fbf6f28f0", "redemption_id": "5b3c7f0e-2c1d-4e8a-9f00-1234567890ab",
        "product_id": "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee", "expires_at": null, "max_machines": 1,
    });
    round_trip::<RedeemAnswer>(&redeemed);

    let error = json!({"ok": false, "error": "not_found", "message": "no such invoice"});
    let e: ErrorEnvelope = round_trip(&error);
    assert_eq!(e.error, "not_found");
}
