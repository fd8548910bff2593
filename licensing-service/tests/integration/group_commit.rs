//! Group commit through HTTP: the short write transactions (the operator's
//! issue, free orders, payments through fulfillment) run many to one
//! transaction on the single writer, each job in its own savepoint. Many at
//! once all land, each with its own key and audit record; one that fails
//! (a code already used up) is undone alone and does not fail the others;
//! the same invoice paid many times at once gets exactly one license.

use std::collections::HashSet;

use crate::common::*;
use serde_json::{json, Value};

async fn shop() -> TestApp {
    let app = spawn_with(|c| {
        c.demo = true;
        unthrottled(c);
    })
    .await;
    app.product_with_policy("app", json!({"price_sats": 5000, "max_machines": 1})).await;
    app
}

/// Sends `n` requests at once; answers (status, body) in the order asked.
async fn at_once(n: usize, send: impl Fn(usize) -> reqwest::RequestBuilder) -> Vec<(u16, Value)> {
    let all = (0..n).map(|i| {
        let req = send(i);
        tokio::spawn(async move {
            let r = req.send().await.unwrap();
            let status = r.status().as_u16();
            (status, r.json::<Value>().await.unwrap_or(Value::Null))
        })
    });
    futures::future::join_all(all).await.into_iter().map(Result::unwrap).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn many_issues_at_once_all_land_with_their_own_key_and_audit_record() {
    let app = shop().await;
    let issued = at_once(200, |i| {
        app.admin(reqwest::Method::POST, "/licenses")
            .json(&json!({"product_slug": "app", "buyer_email": format!("b{i}@example.com"), "note": format!("n{i}")}))
    })
    .await;
    let pk = app.public_key().await;
    let mut keys = HashSet::new();
    let mut ids = HashSet::new();
    for (i, (status, l)) in issued.iter().enumerate() {
        assert_eq!(*status, 201, "{l}");
        // Each caller got its own license back, as committed.
        assert_eq!(l["buyer_email"], json!(format!("b{i}@example.com")), "{l}");
        assert_eq!(l["note"], json!(format!("n{i}")));
        keysat_client::verify(l["license_key"].as_str().unwrap(), &pk).expect("a valid key");
        assert!(keys.insert(l["license_key"].as_str().unwrap().to_string()));
        assert!(ids.insert(l["license_id"].as_str().unwrap().to_string()));
        // The license is stored as answered.
        if i % 50 == 0 {
            let stored = app.license(l["license_id"].as_str().unwrap()).await;
            assert_eq!(stored["license_key"], l["license_key"]);
        }
    }
    assert_eq!(app.stats().await["licenses"], json!(200));
    let audit = app.admin_get("/audit?action=license.issue&limit=500").await.expect(200);
    let entries = audit["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 200, "one audit record per license");
    let audited: HashSet<String> = entries.iter().map(|e| e["target_id"].as_str().unwrap().to_string()).collect();
    assert_eq!(audited, ids);
    // Compact: what was issued, without the defaults.
    let details = &entries[0]["details"];
    assert_eq!(details["product"], "app");
    assert_eq!(details["policy"], "default");
    assert_eq!(details["source"], "admin");
    assert_eq!(details["max_machines"], 1);
    assert!(details.get("invoice_id").is_none() && details.get("expires_at").is_none(), "{details}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_code_used_up_in_a_group_fails_alone_and_leaves_nothing() {
    let app = shop().await;
    let code = app.create_code(json!({"kind": "free_license", "max_uses": 1})).await;
    // Redemptions of a one-use code and issues by the operator, all at once.
    let results = at_once(60, |i| {
        if i % 2 == 0 {
            app.client
                .post(format!("{}/v1/redeem", app.base))
                .json(&json!({"product": "app", "code": code, "buyer_email": format!("r{i}@example.com")}))
        } else {
            app.admin(reqwest::Method::POST, "/licenses").json(&json!({"product_slug": "app"}))
        }
    })
    .await;
    let (mut redeemed, mut refused, mut issued) = (Vec::new(), 0, 0);
    for (i, (status, body)) in results.iter().enumerate() {
        match (i % 2, status) {
            (0, 200) => redeemed.push(body.clone()),
            (0, 422) if body["error"] == json!("unknown_code") => refused += 1,
            (1, 201) => issued += 1,
            other => panic!("unexpected {other:?}: {body}"),
        }
    }
    assert_eq!((redeemed.len(), refused, issued), (1, 29, 30), "exactly one redemption wins, every issue lands");
    assert_eq!(app.stats().await["licenses"], json!(31), "a refused redemption leaves no license");
    let invoices = app.admin_get("/invoices?limit=500").await.expect(200);
    let invoices = invoices["invoices"].as_array().unwrap();
    assert_eq!(invoices.len(), 1, "a refused redemption leaves no invoice: {invoices:?}");
    assert_eq!(invoices[0]["invoice_id"], redeemed[0]["invoice_id"]);
    let stats = app.admin_get(&format!("/discount-codes/{code}")).await.expect(200)["stats"].clone();
    assert_eq!((stats["uses"].clone(), stats["licenses_issued"].clone()), (json!(1), json!(1)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_invoice_paid_many_times_at_once_gets_exactly_one_license() {
    let app = shop().await;
    let mut checkouts = Vec::new();
    for i in 0..5 {
        let p = app.purchase(json!({"product": "app", "buyer_email": format!("p{i}@example.com")})).await.expect(200);
        checkouts
            .push((p["invoice_id"].as_str().unwrap().to_string(), p["checkout_url"].as_str().unwrap().to_string()));
    }
    let no_redirects = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    // Each invoice paid eight times at once, all five invoices together.
    let paid = at_once(40, |i| no_redirects.post(format!("{}/pay", checkouts[i % 5].1)));
    for (status, body) in paid.await {
        assert_eq!(status, 303, "{body}");
    }
    for (invoice, _) in &checkouts {
        assert_eq!(app.licenses_for(invoice).await, 1, "one license for invoice {invoice}");
        assert_eq!(app.poll(invoice).await["status"], "settled");
    }
    assert_eq!(app.stats().await["licenses"], json!(5));
    let settles = app.admin_get("/audit?action=invoice.settle&limit=500").await.expect(200);
    assert_eq!(settles["entries"].as_array().unwrap().len(), 5, "each invoice settled once");
}
