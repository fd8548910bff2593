//! `/metrics`: Prometheus text on the admin listener only, read back with a
//! real Prometheus parser.

use crate::common::*;
use crate::desk_sales::buy;
use prometheus_parse::{Scrape, Value as Sample};
use serde_json::json;

pub(crate) fn parse(text: &str) -> Scrape {
    Scrape::parse(text.lines().map(|l| Ok(l.to_string()))).expect("Prometheus text")
}

/// The value of `name` with these labels.
pub(crate) fn value(s: &Scrape, name: &str, labels: &[(&str, &str)]) -> f64 {
    let found = s
        .samples
        .iter()
        .find(|x| x.metric == name && labels.iter().all(|(k, v)| x.labels.get(k) == Some(*v)))
        .unwrap_or_else(|| panic!("no {name} {labels:?}"));
    match found.value {
        Sample::Counter(v) | Sample::Gauge(v) | Sample::Untyped(v) => v,
        ref other => panic!("{name}: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn metrics_are_prometheus_text_on_the_admin_listener_only() {
    let app = spawn_with(|c| {
        c.demo = true;
        c.admin_bind = Some("127.0.0.1:0".parse().unwrap());
    })
    .await;
    app.product_with_policy("app", json!({"price_sats": 2_100, "max_machines": 3})).await;
    buy(&app, json!({"product": "app"}), true).await;
    buy(&app, json!({"product": "app"}), true).await;
    buy(&app, json!({"product": "app"}), false).await;
    let (id, key) = app.issue_license("app", "default").await;
    app.admin_post(&format!("/licenses/{id}/suspend"), json!({})).await.expect(200);
    let (_, key2) = app.issue_license("app", "default").await;
    app.activate(&key2, "machine-1").await;
    app.validate(json!({"key": key})).await;

    // Not on the public listener; not without the admin key.
    let public = app.client.get(format!("{}/metrics", app.base)).bearer_auth(&app.admin_key).send().await.unwrap();
    assert_eq!(public.status().as_u16(), 404);
    let anonymous = app.client.get(format!("{}/metrics", app.admin_base)).send().await.unwrap();
    assert_eq!(anonymous.status().as_u16(), 401);

    let r = app.client.get(format!("{}/metrics", app.admin_base)).bearer_auth(&app.admin_key).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert!(r.headers()["content-type"].to_str().unwrap().starts_with("text/plain; version=0.0.4"));
    let s = parse(&r.text().await.unwrap());
    assert_eq!(value(&s, "keysat_build_info", &[("version", env!("CARGO_PKG_VERSION"))]), 1.0);
    assert_eq!(value(&s, "keysat_licenses", &[("status", "active")]), 3.0);
    assert_eq!(value(&s, "keysat_licenses", &[("status", "suspended")]), 1.0);
    assert_eq!(value(&s, "keysat_licenses", &[("status", "revoked")]), 0.0);
    assert_eq!(value(&s, "keysat_seats_active", &[]), 1.0);
    assert_eq!(value(&s, "keysat_sales_total", &[]), 2.0);
    assert_eq!(value(&s, "keysat_sats_settled_total", &[]), 4_200.0);
    assert_eq!(value(&s, "keysat_invoices", &[("status", "pending")]), 1.0);
    assert_eq!(value(&s, "keysat_webhook_deliveries", &[("state", "dead")]), 0.0);
    assert_eq!(value(&s, "keysat_nostr_messages", &[("state", "pending")]), 0.0);
    assert!(value(&s, "keysat_reconcile_lag_seconds", &[]) >= -1.0);
    let helped = ["keysat_licenses", "keysat_sales_total", "keysat_validations", "keysat_webhook_deliveries"];
    assert!(helped.iter().all(|m| s.docs.contains_key(*m)), "{:?}", s.docs);
    // Validations reach the log in batches: counted once written.
    let validated = poll(WAIT, || async {
        let t = app.client.get(format!("{}/metrics", app.admin_base)).bearer_auth(&app.admin_key).send().await;
        let s = parse(&t.unwrap().text().await.unwrap());
        let n: f64 = s
            .samples
            .iter()
            .filter(|x| x.metric == "keysat_validations")
            .map(|x| match x.value {
                Sample::Gauge(v) => v,
                _ => 0.0,
            })
            .sum();
        (n >= 1.0).then_some(())
    })
    .await;
    assert!(validated.is_some(), "the validation was never counted");
}

#[tokio::test(flavor = "multi_thread")]
async fn with_one_listener_metrics_need_the_admin_key() {
    let app = spawn_app().await;
    let anonymous = app.client.get(format!("{}/metrics", app.base)).send().await.unwrap();
    assert_eq!(anonymous.status().as_u16(), 401);
    let r = app.client.get(format!("{}/metrics", app.base)).bearer_auth(&app.admin_key).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let s = parse(&r.text().await.unwrap());
    assert_eq!(value(&s, "keysat_licenses", &[("status", "active")]), 0.0);
}
