//! E-mail to buyers against a real SMTP conversation (the in-process sink of
//! `delivery_support::smtp`), parsed back with a MIME parser: the key on
//! issue with its `.lic` attached, a server down and back, dead letters,
//! recovery and resend by e-mail, the test mail, the settings' checks and
//! nothing at all while e-mail is off.

use std::time::Duration;

use keysat::domain::outbox::RetrySchedule;
use mail_parser::MimeHeaders;
use serde_json::{json, Value};

use crate::common::{poll, spawn_with, TestApp};
use crate::delivery_support::smtp::SmtpSink;

const SELLER: &str = "Ada Software";

async fn app_with(tweak: impl FnOnce(&mut keysat::config::Config)) -> TestApp {
    spawn_with(|c| {
        c.email_retry = RetrySchedule::parse("1s,1s,1s").unwrap();
        tweak(c);
    })
    .await
}

fn smtp(sink: &SmtpSink) -> Value {
    json!({"host": "127.0.0.1", "port": sink.port, "security": "none", "from": "shop@example.com"})
}

/// An app with a product, e-mail on through `sink`.
async fn shop(sink: &SmtpSink, tweak: impl FnOnce(&mut keysat::config::Config)) -> TestApp {
    let app = app_with(tweak).await;
    app.product_with_policy("app", json!({"max_machines": 2})).await;
    app.admin_put("/settings", json!({"operator_name": SELLER, "smtp": smtp(sink)})).await.expect(200);
    app
}

async fn issue_to(app: &TestApp, email: &str) -> (String, String) {
    let l = app.issue(json!({"product_slug": "app", "buyer_email": email})).await;
    (l["license_id"].as_str().unwrap().to_string(), l["license_key"].as_str().unwrap().to_string())
}

/// Waits until the license's latest e-mail is in `state`.
async fn email_state(app: &TestApp, id: &str, state: &str) -> Value {
    let found = poll(Duration::from_secs(20), || async {
        let l = app.license(id).await;
        (l["email_delivery"]["state"] == state).then(|| l["email_delivery"].clone())
    })
    .await;
    match found {
        Some(d) => d,
        None => panic!("the e-mail never became {state}: {}", app.license(id).await["email_delivery"]),
    }
}

async fn metrics(app: &TestApp) -> String {
    let r = app.client.get(format!("{}/metrics", app.admin_base)).bearer_auth(&app.admin_key).send().await.unwrap();
    r.text().await.unwrap()
}

#[tokio::test]
async fn the_key_mail_arrives_with_its_lic_file_and_a_key_that_verifies() {
    let sink = SmtpSink::start().await;
    let app = shop(&sink, |_| {}).await;
    let (id, key) = issue_to(&app, "Ann@Example.com").await;
    let mails = sink.wait_for("ann@example.com", 1).await;
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].from, "shop@example.com");
    let m = mails[0].parsed();
    let from = m.from().unwrap().first().unwrap();
    assert_eq!(from.name(), Some(SELLER));
    assert_eq!(from.address(), Some("shop@example.com"));
    assert_eq!(m.subject(), Some(format!("Your license key from {SELLER}").as_str()));
    let text = m.body_text(0).unwrap();
    assert!(text.contains(&key), "{text}");
    assert!(text.contains(&format!("Your license from {SELLER}")), "{text}");
    assert!(text.contains("/recover"), "{text}");
    let html = m.body_html(0).unwrap();
    assert!(html.contains(&key) && html.contains(SELLER), "{html}");
    assert!(!html.contains("<img"), "no tracking pixel: {html}");
    let file = m.attachments().next().expect("the .lic attached");
    assert_eq!(file.attachment_name(), Some("app.lic"));
    let content = String::from_utf8(file.contents().to_vec()).unwrap();
    // The key on the first line, then comments: the order, how it stands, how to find it again.
    assert_eq!(content.lines().next(), Some(key.as_str()), "{content}");
    assert!(content.lines().skip(1).all(|l| l.starts_with("# ")), "{content}");
    assert!(content.contains("# Valid until: ") && content.contains("/recover with the order number"), "{content}");
    let in_file = keysat_client::key_in_file(&content).expect("a key in the file");
    let payload = keysat_client::verify(in_file, &app.public_key().await).expect("the attached key verifies");
    assert_eq!(payload.license_id.to_string(), id);
    // Its state on the license and in the support view.
    let d = email_state(&app, &id, "delivered").await;
    assert_eq!(d["to"], "Ann@Example.com");
    assert!(d["server_reply"].as_str().unwrap().starts_with("250"), "{d}");
    let support = app.admin_get(&format!("/licenses/{id}/support")).await.expect(200);
    assert_eq!(support["email_deliveries"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn a_server_down_gets_the_mail_once_it_is_back_and_the_last_attempt_dead_letters() {
    let sink = SmtpSink::start().await;
    let app = shop(&sink, |_| {}).await;
    sink.refuse();
    let (id, key) = issue_to(&app, "bob@example.com").await;
    let pending = poll(Duration::from_secs(20), || async {
        let d = app.license(&id).await["email_delivery"].clone();
        (d["attempts"].as_i64() >= Some(1)).then_some(d)
    })
    .await
    .expect("an attempt was made");
    assert_eq!(pending["state"], "pending");
    assert!(pending["last_error"].as_str().unwrap().contains("the SMTP server"), "{pending}");
    assert!(sink.refused() >= 1);
    assert!(metrics(&app).await.contains("keysat_email_messages{state=\"pending\"} 1"));
    sink.accept();
    let mails = sink.wait_for("bob@example.com", 1).await;
    assert!(mails[0].parsed().body_text(0).unwrap().contains(&key));
    email_state(&app, &id, "delivered").await;

    // Down for longer than the schedule: dead-lettered after the last attempt.
    sink.refuse();
    let (id, _) = issue_to(&app, "carl@example.com").await;
    let failed = email_state(&app, &id, "failed").await;
    assert_eq!(failed["attempts"], 4, "the first try and three retries: {failed}");
    assert!(metrics(&app).await.contains("keysat_email_messages{state=\"failed\"} 1"));
    sink.accept();
    assert!(sink.mails_to("carl@example.com").is_empty());
}

#[tokio::test]
async fn nothing_is_mailed_while_email_is_off() {
    let sink = SmtpSink::start().await;
    let app = app_with(|_| {}).await;
    app.product_with_policy("app", json!({})).await;
    assert_eq!(app.admin_get("/settings").await.expect(200)["smtp"], Value::Null);
    let (quiet, _) = issue_to(&app, "dora@example.com").await;
    assert_eq!(app.license(&quiet).await["email_delivery"], Value::Null, "nothing queued while e-mail is off");
    app.post("/v1/recover/email", json!({"email": "dora@example.com"})).await.expect_error(409, "email_off");
    app.admin_post("/email/test", json!({"to": "dora@example.com"})).await.expect_error(409, "email_off");
    app.admin_post(&format!("/licenses/{quiet}/resend"), json!({"channel": "email"}))
        .await
        .expect_error(409, "email_off");
    let page = app.get("/recover").await.text;
    assert!(!page.contains("/recover/email"), "no e-mail form while e-mail is off");

    // On: the next license is mailed, the earlier one was never queued.
    app.admin_put("/settings", json!({"smtp": smtp(&sink)})).await.expect(200);
    let (loud, _) = issue_to(&app, "dora@example.com").await;
    sink.wait_for("dora@example.com", 1).await;
    assert_eq!(app.license(&quiet).await["email_delivery"], Value::Null);
    email_state(&app, &loud, "delivered").await;
    // And off again.
    app.admin_put("/settings", json!({"smtp": null})).await.expect(200);
    let (after, _) = issue_to(&app, "dora@example.com").await;
    assert_eq!(app.license(&after).await["email_delivery"], Value::Null);
}

#[tokio::test]
async fn smtp_settings_are_checked_and_the_password_never_shown() {
    let sink = SmtpSink::start().await;
    let app = app_with(|_| {}).await;
    let audits = app.audit_count().await;
    let good = json!({"host": "127.0.0.1", "port": sink.port, "security": "none", "username": "shop",
                      "password": "s3cret-pass", "from": "shop@example.com"});
    let bad = |patch: Value| {
        let mut b = good.clone();
        crate::common::merge(&mut b, patch);
        json!({"smtp": b})
    };
    for (patch, field) in [
        (json!({"port": 0}), "smtp.port"),
        (json!({"port": 70000}), "smtp.port"),
        (json!({"host": ""}), "smtp.host"),
        (json!({"from": "not an address"}), "smtp.from"),
        (json!({"password": null}), "smtp.username"),
    ] {
        let e = app.admin_put("/settings", bad(patch.clone())).await.expect(422);
        assert!(e.to_string().contains(field), "{patch}: {e}");
    }
    app.admin_put("/settings", bad(json!({"security": "ssl"}))).await;
    assert_eq!(app.admin_get("/settings").await.expect(200)["smtp"], Value::Null, "nothing changed");
    assert_eq!(app.audit_count().await, audits);

    let shown = app.admin_put("/settings", json!({"smtp": good})).await.expect(200);
    assert_eq!(
        shown["smtp"],
        json!({"host": "127.0.0.1", "port": sink.port, "security": "none", "username": "shop",
               "password_set": true, "from": "shop@example.com"})
    );
    let get = app.admin_get("/settings").await;
    assert!(!get.text.contains("s3cret-pass"), "{}", get.text);
    let audit = app.admin_get("/audit").await;
    assert!(audit.text.contains("\"smtp\"") && !audit.text.contains("s3cret-pass"), "{}", audit.text);
    // Left out for the same username, the password is kept; it is used.
    let mut again = good.clone();
    again.as_object_mut().unwrap().remove("password");
    let shown = app.admin_put("/settings", json!({"smtp": again})).await.expect(200);
    assert_eq!(shown["smtp"]["password_set"], true);
    app.admin_post("/email/test", json!({"to": "ops@example.com"})).await.expect(200);
    let mails = sink.wait_for("ops@example.com", 1).await;
    assert_eq!(mails[0].auth.as_deref(), Some("shop\0s3cret-pass"));
    // Off.
    let off = app.admin_put("/settings", json!({"smtp": null})).await.expect(200);
    assert_eq!(off["smtp"], Value::Null);
}

#[tokio::test]
async fn the_test_mail_says_what_the_server_said() {
    let sink = SmtpSink::start().await;
    let app = shop(&sink, |_| {}).await;
    let r = app.admin_post("/email/test", json!({"to": "ops@example.com"})).await.expect(200);
    assert_eq!(r["sent"], true);
    assert!(r["server_reply"].as_str().unwrap().starts_with("250 2.0.0 Ok: queued as SINK"), "{r}");
    let m = sink.wait_for("ops@example.com", 1).await;
    assert!(m[0].parsed().subject().unwrap().contains(SELLER));
    app.admin_post("/email/test", json!({"to": "nobody"})).await.expect(422);
    sink.refuse();
    let e = app.admin_post("/email/test", json!({"to": "ops@example.com"})).await.expect_error(503, "smtp_failed");
    assert!(e["error"]["message"].as_str().unwrap_or(&e.to_string()).contains("not sent"), "{e}");
}

async fn recovery_mails(app: &TestApp) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM email_messages WHERE kind = 'recovery'")
        .fetch_one(&app.state.db.read)
        .await
        .unwrap()
}

#[tokio::test]
async fn recovery_by_email_sends_every_key_with_the_same_answer_and_limits() {
    let sink = SmtpSink::start().await;
    let app = shop(&sink, |c| {
        c.recover_per_email_per_hour = 1;
        c.recover_rate_per_hour = 4;
    })
    .await;
    let (_, k1) = issue_to(&app, "eve@example.com").await;
    let (_, k2) = issue_to(&app, "EVE@example.com").await;
    let (revoked, k3) = issue_to(&app, "eve@example.com").await;
    app.admin_post(&format!("/licenses/{revoked}/revoke"), json!({"reason": "refunded"})).await.expect(200);
    sink.wait_for("eve@example.com", 3).await; // the three key mails

    let unknown = app.post("/v1/recover/email", json!({"email": "nobody@example.com"})).await.expect(202);
    let known = app.post("/v1/recover/email", json!({"email": "Eve@Example.com"})).await.expect(202);
    assert_eq!(unknown, known, "the same answer whether or not anything was found");
    let mails = sink.wait_for("eve@example.com", 4).await;
    let m = mails.iter().find(|m| m.parsed().subject().unwrap().contains("license keys")).expect("the recovery mail");
    let text = m.parsed().body_text(0).unwrap().to_string();
    assert!(text.contains(&k1) && text.contains(&k2), "{text}");
    assert!(!text.contains(&k3), "a revoked key is not sent: {text}");
    assert!(text.contains("only this address received it"), "{text}");

    // Per address: one recovery mail an hour; the answer does not change.
    app.post("/v1/recover/email", json!({"email": "eve@example.com"})).await.expect(202);
    assert_eq!(recovery_mails(&app).await, 1);
    app.post("/v1/recover/email", json!({"email": "not-an-address"})).await.expect(422);
    // Per client address: the fifth request of the hour waits.
    app.post("/v1/recover/email", json!({"email": "eve@example.com"})).await.expect(429);

    // The page offers it while e-mail is on.
    let page = app.get("/recover").await.text;
    assert!(page.contains("action=\"/recover/email\""), "{page}");
}

#[tokio::test]
async fn the_recover_page_sends_keys_by_email() {
    let sink = SmtpSink::start().await;
    let app = shop(&sink, |_| {}).await;
    let (_, key) = issue_to(&app, "fay@example.com").await;
    sink.wait_for("fay@example.com", 1).await;
    let r = app
        .client
        .post(format!("{}/recover/email", app.base))
        .header("origin", app.base.clone())
        .form(&[("email", "fay@example.com")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert!(r.text().await.unwrap().contains("an e-mail listing them is on its way"));
    let mails = sink.wait_for("fay@example.com", 2).await;
    assert!(mails[1].parsed().body_text(0).unwrap().contains(&key));
}

#[tokio::test]
async fn support_resends_by_email_and_new_keys_are_mailed() {
    let sink = SmtpSink::start().await;
    let app = shop(&sink, |_| {}).await;
    let (id, key) = issue_to(&app, "gus@example.com").await;
    sink.wait_for("gus@example.com", 1).await;
    let r = app.admin_post(&format!("/licenses/{id}/resend"), json!({"channel": "email"})).await.expect(200);
    assert_eq!(r["channel"], "email");
    assert_eq!(r["recipient"], "gus@example.com");
    // Without a channel: e-mail, as the license has no npub.
    let r = app.admin_post_raw(&format!("/licenses/{id}/resend"), "").await.expect(200);
    assert_eq!(r["channel"], "email");
    app.admin_post(&format!("/licenses/{id}/resend"), json!({"channel": "nostr"}))
        .await
        .expect_error(409, "no_channel");
    app.admin_post(&format!("/licenses/{id}/resend"), json!({"channel": "fax"})).await;
    let mails = sink.wait_for("gus@example.com", 3).await;
    assert!(mails.iter().all(|m| m.parsed().body_text(0).unwrap().contains(&key)));
    let support = app.admin_get(&format!("/licenses/{id}/support")).await.expect(200);
    assert_eq!(support["email_deliveries"].as_array().unwrap().len(), 3);

    // A change by the seller, told to the buyer: the new key by e-mail too.
    let changed =
        app.admin_post(&format!("/licenses/{id}/adjust"), json!({"max_machines": 5, "notify": true})).await.expect(200);
    let new_key = changed["license_key"].as_str().unwrap().to_string();
    let mails = sink.wait_for("gus@example.com", 4).await;
    let last = mails.iter().find(|m| m.parsed().subject().unwrap().contains("new license key")).expect("the new key");
    let parsed = last.parsed();
    assert!(parsed.body_text(0).unwrap().contains(&new_key));
    let file = String::from_utf8(parsed.attachments().next().unwrap().contents().to_vec()).unwrap();
    assert_eq!(keysat_client::key_in_file(&file), Some(new_key.as_str()), "{file}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bought_key_and_its_refund_are_mailed_in_the_words_of_the_dm() {
    let sink = SmtpSink::start().await;
    let (app, sim) = crate::stripe_cards::stripe_shop().await;
    app.admin_put("/settings", json!({"operator_name": SELLER, "smtp": smtp(&sink)})).await.expect(200);
    let (invoice, session) = crate::stripe_cards::buy_by_card(&app, json!({"buyer_email": "hal@example.com"})).await;
    sim.pay(&session).await;
    let key = app.poll(&invoice).await["license_key"].as_str().unwrap().to_string();
    let mails = sink.wait_for("hal@example.com", 1).await;
    assert!(mails[0].parsed().body_text(0).unwrap().contains(&key));
    app.admin_post(&format!("/invoices/{invoice}/refund"), json!({"reason": "asked by the buyer"})).await.expect(200);
    let mails = sink.wait_for("hal@example.com", 2).await;
    let refund = mails[1].parsed();
    assert_eq!(refund.subject(), Some(format!("About your purchase from {SELLER}").as_str()));
    let text = refund.body_text(0).unwrap();
    assert!(text.contains("was refunded: 49.00 USD") && text.contains("no longer works"), "{text}");
    assert!(text.contains(&format!("order {invoice}")), "{text}");
    app.stop().await;
}
