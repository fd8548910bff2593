//! Subscriptions, time-compressed (periods of twelve seconds) through the
//! BTCPay simulator: a purchase starts one; the scheduler reminds the buyer
//! by DM (and by e-mail, through a real SMTP conversation, when they bought
//! with an address) and the seller's systems by webhook; a renewal is bought like a
//! purchase and, once paid, moves the expiry one period on with a new key
//! that `keysat-client` verifies, while the old key validates with the new
//! expiry; replays extend once; late payment inside grace keeps the dates;
//! never paying lapses; a canceled subscription is reminded no more; a
//! restart between the reminder and the renewal reminds once.

use crate::common::btcpay_sim::BtcpaySim;
use crate::common::*;
use crate::delivery_support::*;
use crate::internals::{Config, RetrySchedule};
use serde_json::{json, Value};
use tempfile::TempDir;

/// A period, its reminder and its grace, in seconds.
pub const PERIOD: i64 = 12;
pub const NOTICE: i64 = 9;
pub const GRACE: i64 = 6;

pub struct Shop {
    pub app: TestApp,
    pub sim: BtcpaySim,
    pub relay: TestRelay,
    pub receiver: Receiver,
}

pub fn fast(c: &mut Config) {
    c.nostr_retry = RetrySchedule::parse("1s,1s,1s,1s,1s").unwrap();
    c.webhook_retry = RetrySchedule::parse("1s,1s").unwrap();
    c.reconcile_min_age_seconds = 0;
}

/// A shop selling `app` on a ladder: `monthly` (rank 1, a subscription),
/// `pro` (rank 2, a subscription) and `lifetime` (rank 3, perpetual), plus a
/// 60-second `trial`.
pub async fn shop() -> Shop {
    let app = spawn_with(fast).await;
    let sim = BtcpaySim::start(&[("StoreA1", "Satoshi Software")]).await;
    app.connect_btcpay(&sim, &["StoreA1"]).await;
    stock(&app).await;
    let relay = start_relay(None).await;
    app.admin_put("/nostr", json!({"relays": [relay.url]})).await.expect(200);
    let receiver = start_receiver(None).await;
    app.admin_post("/webhook-endpoints", json!({"url": receiver.url, "events": ["*"]})).await.expect(201);
    Shop { app, sim, relay, receiver }
}

async fn stock(app: &TestApp) {
    let catalog = json!([{"slug": "sync", "name": "Sync"}, {"slug": "pro", "name": "Pro tools"}]);
    app.create_product("app", json!({"price_sats": 5000, "entitlements_catalog": catalog})).await;
    let sub = json!({"is_recurring": true, "duration_seconds": PERIOD, "renewal_notice_seconds": NOTICE,
        "grace_seconds": GRACE});
    let mut monthly = json!({"slug": "monthly", "name": "Monthly", "price_sats": 5000, "tier_rank": 1,
        "max_machines": 2, "entitlements": ["sync"]});
    merge(&mut monthly, sub.clone());
    app.create_policy("app", monthly).await;
    let mut pro = json!({"slug": "pro", "name": "Pro", "price_sats": 20_000, "tier_rank": 2, "max_machines": 5,
        "entitlements": ["pro", "sync"]});
    merge(&mut pro, sub);
    app.create_policy("app", pro).await;
    app.create_policy(
        "app",
        json!({"slug": "lifetime", "name": "Lifetime", "price_sats": 100_000, "tier_rank": 3,
               "entitlements": ["pro", "sync"]}),
    )
    .await;
    app.create_policy(
        "app",
        json!({"slug": "trial", "name": "Trial", "price_sats": 0, "is_trial": true, "duration_seconds": 60,
               "public": false}),
    )
    .await;
}

impl Shop {
    pub async fn stop(self) -> TempDir {
        let dir = self.app.stop().await;
        self.receiver.stop().await;
        self.relay.stop();
        dir
    }

    /// The first event of `event_type` about `license_id`.
    pub async fn event(&self, event_type: &'static str, license_id: &str) -> Value {
        let id = license_id.to_string();
        self.receiver
            .wait_for(1, WAIT, move |r| r.json["type"] == event_type && r.json["data"]["license_id"] == id.as_str())
            .await
            .remove(0)
            .json
    }

    /// Pays a checkout answer's BTCPay invoice in full and returns the poll answer.
    pub async fn pay(&self, checkout: &Value) -> Value {
        self.sim.pay_and_settle(checkout["btcpay_invoice_id"].as_str().expect("a checkout")).await;
        let polled = self.app.poll(checkout["invoice_id"].as_str().unwrap()).await;
        assert_eq!(polled["status"], "settled", "{polled}");
        polled
    }

    /// Buys `tier` (optionally for an npub) and pays; the poll answer.
    pub async fn buy(&self, tier: &str, npub: Option<&str>) -> Value {
        let mut body = json!({"product": "app", "policy_slug": tier});
        if let Some(n) = npub {
            body["buyer_npub"] = json!(n);
        }
        let checkout = self.app.purchase(body).await.expect(200);
        self.pay(&checkout).await
    }

    pub async fn subscription(&self, license_id: &str) -> Value {
        let list = self.app.admin_get(&format!("/subscriptions?license_id={license_id}")).await.expect(200);
        list["subscriptions"][0].clone()
    }
}

/// Renewal reminders queued for license `id`.
pub async fn reminders(app: &TestApp, id: &str) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM nostr_messages WHERE license_id = ? AND notice = 'renewal_due'")
        .bind(id)
        .fetch_one(&app.state.db.read)
        .await
        .unwrap()
}

/// Renewals recorded for license `id`.
pub async fn renewals(app: &TestApp, id: &str) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM license_changes WHERE license_id = ? AND kind = 'renewal'")
        .bind(id)
        .fetch_one(&app.state.db.read)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_subscription_is_reminded_renewed_in_bitcoin_and_its_new_key_verifies() {
    let shop = shop().await;
    let app = &shop.app;
    let buyer = NostrUser::new(&shop.relay.url).await;
    let bought = shop.buy("monthly", Some(&buyer.npub())).await;
    let (id, key1) = (bought["license_id"].as_str().unwrap(), bought["license_key"].as_str().unwrap());
    let end1 = unix(&bought["expires_at"]);
    let sub = shop.subscription(id).await;
    assert_eq!(sub["state"], "active", "{sub}");
    assert_eq!(sub["policy_slug"], "monthly");
    assert_eq!(unix(&sub["current_period_end"]), end1);
    assert_eq!(unix(&sub["renewal_notice_at"]), end1 - NOTICE);
    assert_eq!(app.license(id).await["subscription"]["subscription_id"], sub["subscription_id"]);

    // At notice time: the seller's systems and the buyer hear of it, with the renew link.
    let due = shop.event("subscription.renewal_due", id).await;
    assert_eq!(due["data"]["state"], "notice");
    let link = due["data"]["renew_url"].as_str().unwrap().to_string();
    assert!(link.starts_with(&format!("{}/renew?license={id}&t=", app.base)), "{link}");
    let dms = buyer.wait_for_dms(2, WAIT).await;
    let reminder = dms.iter().find(|d| d.content.contains("renew for")).expect("a reminder DM");
    assert!(reminder.content.contains("Product app (Monthly)"), "{}", reminder.content);
    assert!(reminder.content.contains("5,000 sats"), "{}", reminder.content);
    assert!(reminder.content.contains(&link), "{}", reminder.content);
    assert_eq!(shop.subscription(id).await["state"], "notice");
    // The link opens the renew page on this license, no key needed.
    let page = app.get(link.strip_prefix(&app.base).unwrap()).await;
    assert_eq!(page.status.as_u16(), 200);
    assert!(page.text.contains("id=\"renew-price\">5,000 sats<"), "{}", page.text);

    // Renewing is a purchase: a checkout, paid through the same path.
    let checkout = app.post("/v1/renew", json!({"key": key1})).await.expect(200);
    assert_eq!(checkout["amount_sats"], 5000, "{checkout}");
    let renewed = shop.pay(&checkout).await;
    let key2 = renewed["license_key"].as_str().unwrap();
    assert_ne!(key2, key1, "a fresh key");
    assert_eq!(renewed["license_id"], id, "the same license");
    let end2 = unix(&renewed["expires_at"]);
    assert_eq!(end2, end1 + PERIOD, "one period past the period's end (renewing early loses nothing)");

    // keysat-client verifies the new key and reads the new expiry from it.
    let pk = app.public_key().await;
    let payload = keysat_client::verify_at(key2, &pk, now() as u64).expect("the new key verifies");
    assert_eq!(payload.expires_at as i64, end2);
    assert_eq!(payload.license_id.to_string(), id);
    assert_eq!(payload.entitlements, vec!["sync".to_string()]);
    // The old key still verifies (its own, older expiry) and validates online with the new one.
    assert_eq!(keysat_client::verify(key1, &pk).unwrap().expires_at as i64, end1);
    let v = app.validate(json!({"key": key1})).await;
    assert_ok(&v);
    assert_eq!(unix(&v["expires_at"]), end2, "{v}");

    // The buyer gets the new key by DM; the seller's systems hear of it.
    let dms = buyer.wait_for_dms(3, WAIT).await;
    let new_key_dm = dms.iter().find(|d| d.content.contains("is renewed")).expect("the renewed key by DM");
    assert_eq!(keys_in(&new_key_dm.content), vec![key2.to_string()]);
    let event = shop.event("subscription.renewed", id).await;
    assert_eq!(event["data"]["license_key"], key2);
    assert_eq!(unix(&event["data"]["current_period_end"]), end2);
    let updated = shop.event("license.updated", id).await;
    assert_eq!(updated["data"]["license_key"], key2);
    let sub = shop.subscription(id).await;
    assert_eq!((sub["state"].as_str(), sub["renewals"].as_i64()), (Some("active"), Some(1)), "{sub}");
    // The renewal invoice is a sale of the same license.
    let inv = app.admin_get(&format!("/invoices/{}", checkout["invoice_id"].as_str().unwrap())).await.expect(200);
    assert_eq!(inv["license_id"], id, "{inv}");
    buyer.stop().await;
    shop.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_renewal_paid_twice_or_replayed_extends_once() {
    let shop = shop().await;
    let app = &shop.app;
    let bought = shop.buy("monthly", None).await;
    let (id, key) = (bought["license_id"].as_str().unwrap(), bought["license_key"].as_str().unwrap());
    let end1 = unix(&bought["expires_at"]);
    let checkout = app.post("/v1/renew", json!({"key": key})).await.expect(200);
    let renewed = shop.pay(&checkout).await;
    let btcpay_id = checkout["btcpay_invoice_id"].as_str().unwrap();
    // BTCPay says it again, reconciliation asks again, the webhooks are replayed.
    shop.sim.settle(btcpay_id).await;
    shop.sim.pay_and_settle(btcpay_id).await;
    app.reconcile().await;
    app.reconcile().await;
    let again = app.poll(checkout["invoice_id"].as_str().unwrap()).await;
    assert_eq!(again["license_key"], renewed["license_key"]);
    assert_eq!(unix(&again["expires_at"]), end1 + PERIOD, "extended once");
    assert_eq!(renewals(app, id).await, 1);
    assert_eq!(written_events(&app.state.db.read, "subscription.renewed").await, 1);
    assert_eq!(shop.subscription(id).await["renewals"], 1);
    assert_eq!(unix(&app.license(id).await["expires_at"]), end1 + PERIOD);
    shop.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_renewal_paid_late_inside_grace_keeps_the_dates() {
    let shop = shop().await;
    let app = &shop.app;
    let bought = shop.buy("monthly", None).await;
    let (id, key) = (bought["license_id"].as_str().unwrap(), bought["license_key"].as_str().unwrap());
    let end1 = unix(&bought["expires_at"]);
    let past_due = shop.event("subscription.past_due", id).await;
    assert_eq!(past_due["data"]["state"], "past_due");
    // Past the period, inside grace: the key still validates.
    let v = app.validate(json!({"key": key})).await;
    assert_ok(&v);
    assert_eq!(v["in_grace_period"], true, "{v}");
    let checkout = app.post("/v1/renew", json!({"key": key})).await.expect(200);
    let renewed = shop.pay(&checkout).await;
    assert_eq!(unix(&renewed["expires_at"]), end1 + PERIOD, "the period runs on from where it ended");
    let v = app.validate(json!({"key": key})).await;
    assert_ok(&v);
    assert_eq!(v["in_grace_period"], false, "{v}");
    assert_eq!(shop.subscription(id).await["state"], "active");
    shop.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn never_paid_goes_past_due_then_lapses_and_validation_says_expired() {
    let shop = shop().await;
    let app = &shop.app;
    let bought = shop.buy("monthly", None).await;
    let (id, key) = (bought["license_id"].as_str().unwrap(), bought["license_key"].as_str().unwrap());
    shop.event("subscription.renewal_due", id).await;
    shop.event("subscription.past_due", id).await;
    let lapsed = shop.event("subscription.lapsed", id).await;
    assert_eq!(lapsed["data"]["state"], "lapsed");
    assert_refused(&app.validate(json!({"key": key})).await, "expired");
    assert_eq!(shop.subscription(id).await["state"], "lapsed");
    let lapsed_list = app.admin_get("/subscriptions?state=lapsed&product=app").await.expect(200);
    assert_eq!(lapsed_list["subscriptions"].as_array().unwrap().len(), 1);
    for t in ["subscription.renewal_due", "subscription.past_due", "subscription.lapsed"] {
        assert_eq!(written_events(&app.state.db.read, t).await, 1, "{t} once");
    }
    // A lapsed subscription renews from now.
    // Bracketed by the clock before the checkout and after the payment, whatever the load.
    let before = now();
    let checkout = app.post("/v1/renew", json!({"key": key})).await.expect(200);
    let renewed = shop.pay(&checkout).await;
    let end = unix(&renewed["expires_at"]);
    assert!((before + PERIOD..=now() + PERIOD).contains(&end), "{end}");
    assert_ok(&app.validate(json!({"key": key})).await);
    shop.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_canceled_subscription_is_reminded_no_more_and_runs_to_its_end() {
    let shop = shop().await;
    let app = &shop.app;
    let buyer = NostrUser::new(&shop.relay.url).await;
    let bought = shop.buy("monthly", Some(&buyer.npub())).await;
    let (id, key) = (bought["license_id"].as_str().unwrap(), bought["license_key"].as_str().unwrap());
    let end = unix(&bought["expires_at"]);
    let canceled = app.post("/v1/subscriptions/cancel", json!({"key": key, "reason": "too pricey"})).await.expect(200);
    assert_eq!(canceled["state"], "canceled", "{canceled}");
    assert_eq!(canceled["canceled_by"], "buyer");
    let event = shop.event("subscription.canceled", id).await;
    assert_eq!(event["data"]["reason"], "too pricey");
    app.post("/v1/subscriptions/cancel", json!({"key": key})).await.expect_error(409, "already_canceled");
    // It still works until its paid period (and grace) ends …
    assert_ok(&app.validate(json!({"key": key})).await);
    // … and after the end and the grace nothing was said to anyone.
    poll(WAIT, || async { (now() > end + GRACE).then_some(()) }).await.unwrap();
    assert_refused(&app.validate(json!({"key": key})).await, "expired");
    assert_eq!(reminders(app, id).await, 0);
    for t in ["subscription.renewal_due", "subscription.past_due", "subscription.lapsed"] {
        assert_eq!(written_events(&app.state.db.read, t).await, 0, "{t}");
    }
    assert_eq!(shop.subscription(id).await["state"], "canceled");
    assert_eq!(buyer.dms().await.len(), 1, "only the key");
    // The operator cancels by id (here: already canceled).
    let sub_id = shop.subscription(id).await["subscription_id"].as_str().unwrap().to_string();
    app.admin_post(&format!("/subscriptions/{sub_id}/cancel"), json!({})).await.expect_error(409, "already_canceled");
    buyer.stop().await;
    shop.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_restart_between_the_reminder_and_the_renewal_reminds_once() {
    let shop = shop().await;
    let buyer = NostrUser::new(&shop.relay.url).await;
    let bought = shop.buy("monthly", Some(&buyer.npub())).await;
    let (id, key) = (bought["license_id"].as_str().unwrap().to_string(), bought["license_key"].as_str().unwrap());
    shop.event("subscription.renewal_due", &id).await;
    assert_eq!(reminders(&shop.app, &id).await, 1);
    let Shop { app, sim, relay, receiver } = shop;
    let dir = app.stop().await;
    let app = spawn_in(dir, fast).await;
    let shop = Shop { app, sim, relay, receiver };
    // The scheduler runs again after the restart (it moves the period on) …
    shop.event("subscription.past_due", &id).await;
    // … and the reminder was not written again.
    assert_eq!(reminders(&shop.app, &id).await, 1);
    assert_eq!(written_events(&shop.app.state.db.read, "subscription.renewal_due").await, 1);
    let dms = buyer.wait_for_dms(2, WAIT).await;
    assert_eq!(dms.iter().filter(|d| d.content.contains("renew for")).count(), 1);
    // Renewing after the restart works as ever; BTCPay's webhook still goes to
    // the address before the restart, so reconciliation brings the payment.
    let checkout = shop.app.post("/v1/renew", json!({"key": key})).await.expect(200);
    shop.sim.pay_and_settle(checkout["btcpay_invoice_id"].as_str().unwrap()).await;
    assert_eq!(shop.app.reconcile().await["settled"], 1);
    assert_eq!(shop.subscription(&id).await["state"], "active");
    assert_eq!(renewals(&shop.app, &id).await, 1);
    buyer.stop().await;
    shop.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_free_code_renews_at_once_and_idempotency_keys_are_honoured() {
    let shop = shop().await;
    let app = &shop.app;
    let code = app.create_code(json!({"kind": "free_license", "policies": ["monthly"]})).await;
    let bought = shop.buy("monthly", None).await;
    let (id, key) = (bought["license_id"].as_str().unwrap(), bought["license_key"].as_str().unwrap());
    let end1 = unix(&bought["expires_at"]);
    let send = || {
        app.send(
            app.client
                .post(format!("{}/v1/renew", app.base))
                .header("idempotency-key", "renew-once")
                .json(&json!({"key": key, "code": code})),
        )
    };
    let first = send().await.expect(200);
    assert_eq!(first["license_id"], id, "{first}");
    assert_eq!(first["amount_sats"], 0);
    let second = send().await;
    assert_eq!(second.headers["idempotent-replayed"], "true");
    assert_eq!(second.json, first);
    assert_eq!(renewals(app, id).await, 1);
    let payload = keysat_client::verify(first["license_key"].as_str().unwrap(), &app.public_key().await).unwrap();
    assert_eq!(payload.expires_at as i64, end1 + PERIOD);
    // Not a subscription, not a key: clear refusals.
    let (_, lifetime_key) = app.issue_license("app", "lifetime").await;
    app.post("/v1/renew", json!({"key": lifetime_key})).await.expect_error(409, "not_a_subscription");
    app.post("/v1/renew", json!({"key": "LIC1-NOPE"})).await.expect_error(422, "bad_format");
    app.post("/v1/renew", json!({"key": key, "extra": 1})).await.expect(400);
    shop.stop().await;
}

/// A buyer who bought with an e-mail address is reminded by e-mail too
/// (through a real SMTP conversation), in the DM's words, with the renew
/// link the webhook names; the link opens the renew page; one mail per
/// reminder, however many scheduler ticks pass before the period ends.
#[tokio::test(flavor = "multi_thread")]
async fn the_renewal_reminder_is_mailed_once_with_a_renew_link_that_opens() {
    use crate::delivery_support::smtp::SmtpSink;
    let sink = SmtpSink::start().await;
    let shop = shop().await;
    let app = &shop.app;
    let smtp = json!({"host": "127.0.0.1", "port": sink.port, "security": "none", "from": "shop@example.com"});
    app.admin_put("/settings", json!({"operator_name": "Ada Software", "smtp": smtp})).await.expect(200);
    let body = json!({"product": "app", "policy_slug": "monthly", "buyer_email": "ann@example.com"});
    let checkout = app.purchase(body).await.expect(200);
    let bought = shop.pay(&checkout).await;
    let id = bought["license_id"].as_str().unwrap();

    let due = shop.event("subscription.renewal_due", id).await;
    let link = due["data"]["renew_url"].as_str().unwrap().to_string();
    // The key on purchase, then the reminder.
    let mails = sink.wait_for("ann@example.com", 2).await;
    let reminders: Vec<_> = mails.iter().filter(|m| m.parsed().body_text(0).unwrap().contains("renew for")).collect();
    assert_eq!(reminders.len(), 1, "one reminder among {} mails", mails.len());
    let mail = reminders[0].parsed();
    assert_eq!(mail.subject(), Some("Your subscription from Ada Software: time to renew"));
    let text = mail.body_text(0).unwrap();
    assert!(text.contains("Product app (Monthly) from Ada Software runs until"), "{text}");
    assert!(text.contains("renew for 5,000 sats here: ") && text.contains(&link), "{text}");
    assert!(text.contains("Nothing is charged automatically"), "{text}");
    let page = app.get(link.strip_prefix(&app.base).unwrap()).await;
    assert_eq!(page.status.as_u16(), 200);
    assert!(page.text.contains("id=\"renew-price\">5,000 sats<"), "{}", page.text);

    // Past the period's end (into grace) the scheduler has ticked many times: still one reminder mailed
    // before the end (the one after it, if any, says the subscription ended).
    let end = unix(&bought["expires_at"]);
    while crate::common::now() < end {
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    let before_end: Vec<_> = sink
        .mails_to("ann@example.com")
        .into_iter()
        .filter(|m| {
            let text = m.parsed().body_text(0).unwrap().into_owned();
            text.contains("renew for") && text.contains("runs until")
        })
        .collect();
    assert_eq!(before_end.len(), 1);
    shop.stop().await;
}
