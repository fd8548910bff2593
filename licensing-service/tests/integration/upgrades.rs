//! The tier ladder and the operator's changes of terms, through the BTCPay
//! simulator: an upgrade is quoted with a credit for unused time, paid like
//! a purchase and keeps the license id, seats and machines while a new key
//! carries the new entitlements (the old key validates with them); a trial
//! converts with no credit; a downgrade takes effect at the renewal; the
//! operator changes a tier as a comp or by a checkout, and adjusts a
//! license (expiry, seats, entitlements), each re-signed and told.

use crate::common::*;
use crate::delivery_support::*;
use crate::subscriptions::{shop, PERIOD};
use serde_json::json;

#[tokio::test(flavor = "multi_thread")]
async fn an_upgrade_is_credited_paid_and_keeps_the_license_and_its_machines() {
    let shop = shop().await;
    let app = &shop.app;
    let bought = shop.buy("monthly", None).await;
    let (id, key1) = (bought["license_id"].as_str().unwrap(), bought["license_key"].as_str().unwrap());
    assert_ok(&app.activate(key1, "machine-a").await);
    assert_ok(&app.activate(key1, "machine-b").await);
    assert_refused(&app.activate(key1, "machine-c").await, "too_many_machines");

    let q = app.post("/v1/upgrade-quote", json!({"key": key1, "to_policy_slug": "pro"})).await.expect(200);
    assert_eq!(q["direction"], "upgrade", "{q}");
    assert_eq!(q["price_sats"], 20_000);
    let credit = q["credit_sats"].as_i64().unwrap();
    assert!((1..=5000).contains(&credit), "part of the 5,000 sats paid is credited: {q}");
    assert_eq!(q["amount_sats"].as_i64().unwrap(), 20_000 - credit);
    assert!(q["expires_at"].is_string() && q["currency"].is_null(), "{q}");

    let checkout = app.post("/v1/upgrade", json!({"key": key1, "to_policy_slug": "pro"})).await.expect(200);
    let amount = checkout["amount_sats"].as_i64().unwrap();
    assert!(amount >= 20_000 - credit && amount < 20_000, "{checkout}");
    assert_eq!(checkout["base_price_sats"], 20_000);
    let paid = shop.pay(&checkout).await;
    let key2 = paid["license_key"].as_str().unwrap();
    assert_eq!(paid["license_id"], id, "the same license");
    assert_ne!(key2, key1);
    let payload = keysat_client::verify_at(key2, &app.public_key().await, now() as u64).unwrap();
    assert_eq!(payload.entitlements, vec!["pro".to_string(), "sync".to_string()]);
    assert_eq!(payload.license_id.to_string(), id);

    // Same license, same machines, the new tier's seats; the old key sees the new entitlements.
    let details = app.license(id).await;
    assert_eq!(details["policy_slug"], "pro");
    assert_eq!(details["max_machines"], 5);
    assert_eq!(details["active_machines"], 2, "{details}");
    let v = app.validate(json!({"key": key1, "fingerprint": "machine-a"})).await;
    assert_ok(&v);
    assert_eq!(v["entitlements"], json!(["pro", "sync"]), "{v}");
    assert_ok(&app.activate(key1, "machine-c").await);
    assert_eq!(details["subscription"]["policy_slug"], "pro");
    let updated = shop.event("license.updated", id).await;
    assert_eq!(updated["data"]["change"], "upgraded");
    assert_eq!(updated["data"]["license_key"], key2);
    assert_eq!(updated["data"]["previous"]["max_machines"], 2);

    // Not upward, not on sale, not a key: clear refusals.
    let same = app.post("/v1/upgrade-quote", json!({"key": key2, "to_policy_slug": "pro"})).await;
    same.expect_error(409, "same_tier");
    app.post("/v1/upgrade-quote", json!({"key": key2, "to_policy_slug": "nope"})).await.expect_error(404, "not_found");
    app.post("/v1/upgrade-quote", json!({"key": key2, "to_policy_slug": "trial"})).await.expect_error(404, "not_found");
    shop.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_trial_converts_with_no_credit_for_trial_time() {
    let shop = shop().await;
    let app = &shop.app;
    let (id, trial_key) = app.issue_license("app", "trial").await;
    let q = app.post("/v1/upgrade-quote", json!({"key": trial_key, "to_policy_slug": "monthly"})).await.expect(200);
    assert_eq!(q["direction"], "conversion");
    assert_eq!((q["credit_sats"].as_i64(), q["amount_sats"].as_i64()), (Some(0), Some(5000)), "{q}");
    let checkout = app.post("/v1/upgrade", json!({"key": trial_key, "to_policy_slug": "monthly"})).await.expect(200);
    let paid = shop.pay(&checkout).await;
    let payload = keysat_client::verify(paid["license_key"].as_str().unwrap(), &app.public_key().await).unwrap();
    assert!(!payload.is_trial(), "no longer a trial");
    let details = app.license(&id).await;
    assert_eq!((details["is_trial"].as_bool(), details["policy_slug"].as_str()), (Some(false), Some("monthly")));
    assert_eq!(details["subscription"]["state"], "active", "a subscription now: {details}");
    shop.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_downgrade_takes_effect_at_the_renewal() {
    let shop = shop().await;
    let app = &shop.app;
    let bought = shop.buy("pro", None).await;
    let (id, key) = (bought["license_id"].as_str().unwrap(), bought["license_key"].as_str().unwrap());
    let end1 = unix(&bought["expires_at"]);
    let q = app.post("/v1/upgrade-quote", json!({"key": key, "to_policy_slug": "monthly"})).await.expect(200);
    assert_eq!((q["direction"].as_str(), q["amount_sats"].as_i64()), (Some("downgrade"), Some(0)), "{q}");
    assert_eq!(unix(&q["effective_at"]), end1);
    let scheduled = app.post("/v1/upgrade", json!({"key": key, "to_policy_slug": "monthly"})).await.expect(200);
    assert_eq!(scheduled["direction"], "downgrade", "{scheduled}");
    assert_eq!(unix(&scheduled["effective_at"]), end1);
    // Nothing changes until then.
    assert_eq!(app.license(id).await["policy_slug"], "pro");
    assert_eq!(shop.subscription(id).await["next_policy_slug"], "monthly");
    // The renewal is priced at, and moves the license to, the lower tier.
    let checkout = app.post("/v1/renew", json!({"key": key})).await.expect(200);
    assert_eq!(checkout["amount_sats"], 5000, "{checkout}");
    let renewed = shop.pay(&checkout).await;
    assert_eq!(unix(&renewed["expires_at"]), end1 + PERIOD);
    let details = app.license(id).await;
    assert_eq!((details["policy_slug"].as_str(), details["max_machines"].as_i64()), (Some("monthly"), Some(2)));
    assert_eq!(details["entitlements"], json!(["sync"]));
    assert_eq!(details["subscription"]["next_policy_slug"], json!(null));
    assert_eq!(details["subscription"]["policy_slug"], "monthly");
    // A perpetual license cannot move down at a renewal it never has.
    let (_, lifetime) = app.issue_license("app", "lifetime").await;
    app.post("/v1/upgrade", json!({"key": lifetime, "to_policy_slug": "pro"}))
        .await
        .expect_error(409, "downgrade_at_renewal");
    shop.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_operator_changes_a_tier_as_a_comp_or_by_a_checkout() {
    let shop = shop().await;
    let app = &shop.app;
    let buyer = NostrUser::new(&shop.relay.url).await;
    let bought = shop.buy("monthly", Some(&buyer.npub())).await;
    let (id, key) = (bought["license_id"].as_str().unwrap(), bought["license_key"].as_str().unwrap());
    assert_ok(&app.activate(key, "machine-a").await);

    // A comp: at once, nothing to pay.
    let comp = app
        .admin_post(
            &format!("/licenses/{id}/change-tier"),
            json!({"to_policy_slug": "pro", "skip_payment": true,
            "reason": "beta tester"}),
        )
        .await
        .expect(200);
    assert_eq!(comp["status"], "applied", "{comp}");
    assert_eq!(comp["license"]["license_id"], id);
    assert_eq!(comp["license"]["policy_slug"], "pro");
    let payload = keysat_client::verify(comp["license"]["license_key"].as_str().unwrap(), &app.public_key().await);
    assert_eq!(payload.unwrap().entitlements, vec!["pro".to_string(), "sync".to_string()]);
    assert_eq!(app.validate(json!({"key": key})).await["entitlements"], json!(["pro", "sync"]));
    assert_eq!(app.license(id).await["active_machines"], 1);
    let audit = app.admin_get(&format!("/audit?target={id}&action=license.change_tier")).await.expect(200);
    assert_eq!(audit["entries"][0]["details"]["reason"], "beta tester", "{audit}");
    // The buyer gets the new key.
    let dms = buyer.wait_for_dms(2, WAIT).await;
    assert!(dms.iter().any(|d| d.content.contains("is upgraded")), "{dms:?}");

    // Otherwise a checkout to forward to the buyer; paying it moves the license.
    let ask = app.admin_post(&format!("/licenses/{id}/change-tier"), json!({"to_policy_slug": "lifetime"})).await;
    let ask = ask.expect(200);
    assert_eq!(ask["status"], "checkout", "{ask}");
    assert!(ask["checkout"]["checkout_url"].as_str().unwrap().starts_with("http"), "{ask}");
    assert_eq!(ask["checkout"]["amount_sats"], 100_000, "a comp period credits nothing");
    assert_eq!(app.license(id).await["policy_slug"], "pro", "nothing changes before payment");
    shop.pay(&ask["checkout"]).await;
    let details = app.license(id).await;
    assert_eq!((details["policy_slug"].as_str(), details["expires_at"].as_str()), (Some("lifetime"), None));
    assert_eq!(details["subscription"]["state"], "canceled", "a perpetual tier renews no more");
    app.admin_post(&format!("/licenses/{id}/change-tier"), json!({"to_policy_slug": "lifetime"}))
        .await
        .expect_error(409, "same_tier");
    buyer.stop().await;
    shop.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_operator_adjusts_a_license_and_each_change_is_signed_and_told() {
    let shop = shop().await;
    let app = &shop.app;
    let buyer = NostrUser::new(&shop.relay.url).await;
    let bought = shop.buy("monthly", Some(&buyer.npub())).await;
    let (id, key) = (bought["license_id"].as_str().unwrap(), bought["license_key"].as_str().unwrap());
    let end = unix(&bought["expires_at"]);
    let adjusted = app
        .admin_post(
            &format!("/licenses/{id}/adjust"),
            json!({"extend_seconds": 3600, "max_machines": 7,
            "add_entitlements": ["pro"], "remove_entitlements": ["sync"], "reason": "support ticket 42",
            "notify": true}),
        )
        .await
        .expect(200);
    assert_eq!(unix(&adjusted["expires_at"]), end + 3600, "{adjusted}");
    assert_eq!(adjusted["max_machines"], 7);
    assert_eq!(adjusted["entitlements"], json!(["pro"]));
    let new_key = adjusted["license_key"].as_str().unwrap();
    let payload = keysat_client::verify(new_key, &app.public_key().await).unwrap();
    assert_eq!((payload.expires_at as i64, payload.entitlements.clone()), (end + 3600, vec!["pro".to_string()]));
    // Online, the old key already sees it.
    let v = app.validate(json!({"key": key})).await;
    assert_eq!((unix(&v["expires_at"]), v["max_machines"].as_i64()), (end + 3600, Some(7)), "{v}");
    let updated = shop.event("license.updated", id).await;
    assert_eq!(updated["data"]["change"], "updated");
    let audit = app.admin_get(&format!("/audit?target={id}&action=license.adjust")).await.expect(200);
    assert_eq!(audit["entries"][0]["details"]["reason"], "support ticket 42");
    let dms = buyer.wait_for_dms(2, WAIT).await;
    let dm = dms.iter().find(|d| d.content.contains("changed by the seller")).expect("the new key by DM");
    assert_eq!(keys_in(&dm.content), vec![new_key.to_string()]);
    // The subscription follows the new expiry.
    assert_eq!(unix(&shop.subscription(id).await["current_period_end"]), end + 3600);
    // Bad adjustments change nothing.
    let path = format!("/licenses/{id}/adjust");
    app.admin_post(&path, json!({})).await.expect_error(422, "invalid_field");
    app.admin_post(&path, json!({"add_entitlements": ["nope"]})).await.expect_error(422, "invalid_field");
    app.admin_post(&path, json!({"extend_seconds": -5})).await.expect_error(422, "invalid_field");
    app.admin_post(&path, json!({"max_machines": 3, "bogus": 1})).await.expect(400);
    assert_eq!(app.license(id).await["license_key"], new_key);
    buyer.stop().await;
    shop.stop().await;
}
