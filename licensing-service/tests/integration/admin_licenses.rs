//! The operator's license work: issuing, listing, searching, details,
//! suspend / unsuspend / revoke, freeing seats, and the audit log.

use std::collections::HashSet;

use crate::common::*;
use keysat_client::fingerprint_hash;
use serde_json::{json, Value};

// NIP-19's published example pair.
const NPUB: &str = "npub180cvv07tjdrrgpa0j7j7tmnyl2yr6yr7l8j4s3evf6u64th6gkwsyjh6w6";
const NPUB_HEX: &str = "3bf0c63fcb93463407af97a5e5ee64fa883d107ef9e558472c4eb9aaaefa459d";

async fn catalogue(app: &TestApp) {
    app.create_product(
        "app",
        json!({"entitlements_catalog": [{"slug": "pro", "name": "Pro"}, {"slug": "sync", "name": "Sync"}]}),
    )
    .await;
    app.create_policy("app", json!({"slug": "default", "max_machines": 2, "entitlements": ["sync", "pro"]})).await;
    app.create_policy(
        "app",
        json!({"slug": "trial", "duration_seconds": 7 * 86_400, "grace_seconds": 3600, "is_trial": true,
               "max_machines": 1, "entitlements": ["pro"]}),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn issued_keys_carry_the_policy_terms() {
    let app = spawn_app().await;
    catalogue(&app).await;
    let pk = app.public_key().await;
    let product_id = app.admin_get("/products/app").await.expect(200)["id"].as_str().unwrap().to_string();

    // Perpetual, unbound, not a trial; `default` is the policy when none is named.
    let l = app.issue(json!({"product_slug": "app", "buyer_email": "ann@example.com"})).await;
    assert_eq!(l["policy_slug"], "default");
    assert_eq!(l["product_slug"], "app");
    assert_eq!(l["product_id"], product_id);
    assert_eq!(l["expires_at"], json!(null));
    assert_eq!(l["max_machines"], 2);
    assert_eq!(l["is_trial"], false);
    assert_eq!(l["entitlements"], json!(["pro", "sync"]));
    let p = keysat_client::verify(l["license_key"].as_str().unwrap(), &pk).expect("verifies");
    assert_eq!(p.version, 2);
    assert_eq!(p.license_id.to_string(), l["license_id"].as_str().unwrap());
    assert_eq!(p.product_id.to_string(), product_id);
    assert_eq!(p.issued_at as i64, unix(&l["issued_at"]));
    assert!((p.issued_at as i64 - now()).abs() < 60);
    assert_eq!(p.expires_at, 0);
    assert!(p.is_perpetual());
    assert!(!p.is_trial());
    assert!(!p.is_fingerprint_bound());
    assert_eq!(p.fingerprint_hash, [0; 32]);
    assert_eq!(p.entitlements, ["pro", "sync"]);

    // A trial, bound to a fingerprint: expiry is issued_at + duration.
    let l = app.issue(json!({"product_slug": "app", "policy_slug": "trial", "fingerprint": "machine-1"})).await;
    let p = keysat_client::verify(l["license_key"].as_str().unwrap(), &pk).expect("verifies");
    assert!(p.is_trial());
    assert_eq!(l["is_trial"], true);
    assert_eq!(p.expires_at, p.issued_at + 7 * 86_400);
    assert_eq!(unix(&l["expires_at"]), p.expires_at as i64);
    assert!(p.is_fingerprint_bound());
    assert_eq!(p.fingerprint_hash, fingerprint_hash("machine-1"));
    assert!(p.fingerprint_matches("machine-1") && !p.fingerprint_matches("machine-2"));
    assert_eq!(p.entitlements, ["pro"]);
    let detail = app.license(l["license_id"].as_str().unwrap()).await;
    assert_eq!(detail["fingerprint"], "machine-1");
    assert_eq!(detail["grace_seconds"], 3600);
    assert_eq!(detail["source"], "admin");

    // Policy changes apply to licenses issued afterwards only.
    app.admin_patch("/products/app/policies/default", json!({"entitlements": ["pro"], "duration_seconds": 3600}))
        .await
        .expect(200);
    let l2 = app.issue(json!({"product_slug": "app"})).await;
    let p2 = keysat_client::verify(l2["license_key"].as_str().unwrap(), &pk).unwrap();
    assert_eq!(p2.entitlements, ["pro"]);
    assert_eq!(p2.expires_at, p2.issued_at + 3600);

    // Refusals.
    app.admin_post("/licenses", json!({"product_slug": "nope"})).await.expect_error(404, "not_found");
    app.admin_post("/licenses", json!({"product_slug": "app", "policy_slug": "nope"}))
        .await
        .expect_error(404, "not_found");
    app.admin_post("/licenses", json!({"product_slug": "app", "buyer_email": "not-an-email"}))
        .await
        .expect_error(422, "invalid_field");
    app.admin_post("/licenses", json!({"product_slug": "app", "buyer_npub": "npub1nope"}))
        .await
        .expect_error(422, "invalid_field");
    app.admin_patch("/products/app/policies/trial", json!({"archived": true})).await.expect(200);
    app.admin_post("/licenses", json!({"product_slug": "app", "policy_slug": "trial"}))
        .await
        .expect_error(409, "policy_archived");
    assert_eq!(app.stats().await["licenses"], 3);
    app.stop().await;
}

/// Every page of `/licenses?{query}`, walking the cursor; returns the ids.
async fn walk(app: &TestApp, query: &str, page: usize) -> Vec<String> {
    let mut ids = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..100 {
        let mut url = format!("/licenses?limit={page}&{query}");
        if let Some(c) = &cursor {
            url.push_str(&format!("&cursor={c}"));
        }
        let body = app.admin_get(&url).await.expect(200);
        let rows = body["licenses"].as_array().unwrap();
        assert!(rows.len() <= page);
        ids.extend(rows.iter().map(|l| l["license_id"].as_str().unwrap().to_string()));
        match &body["next_cursor"] {
            Value::Null => return ids,
            Value::String(c) => cursor = Some(c.clone()),
            other => panic!("bad cursor {other}"),
        }
    }
    panic!("pagination did not end");
}

#[tokio::test(flavor = "multi_thread")]
async fn list_filters_and_paginates() {
    let app = spawn_app().await;
    catalogue(&app).await;
    app.product_with_policy("other", json!({})).await;
    let start = now();
    let mut app_ids = Vec::new();
    for _ in 0..7 {
        app_ids.push(app.issue_license("app", "default").await.0);
    }
    let mut other_ids = Vec::new();
    for _ in 0..3 {
        other_ids.push(app.issue_license("other", "default").await.0);
    }
    let end = now();
    app.admin_post(&format!("/licenses/{}/suspend", app_ids[1]), json!({})).await.expect(200);
    app.admin_post(&format!("/licenses/{}/revoke", app_ids[2]), json!({"reason": "refund"})).await.expect(200);

    // Newest first, every license exactly once across pages of 3.
    let all = walk(&app, "", 3).await;
    let mut expected: Vec<String> = app_ids.iter().chain(&other_ids).cloned().collect();
    expected.reverse();
    assert_eq!(all, expected);
    assert_eq!(walk(&app, "", 500).await, expected);
    assert_eq!(walk(&app, "", 1).await, expected);

    let mut by_product = walk(&app, "product=app", 2).await;
    by_product.reverse();
    assert_eq!(by_product, app_ids);
    assert_eq!(walk(&app, "product=other", 2).await.len(), 3);
    app.admin_get("/licenses?product=nope").await.expect_error(404, "not_found");

    assert_eq!(walk(&app, "status=suspended", 2).await, [app_ids[1].clone()]);
    assert_eq!(walk(&app, "status=revoked", 2).await, [app_ids[2].clone()]);
    assert_eq!(walk(&app, "status=active", 2).await.len(), 8);
    assert_eq!(walk(&app, "product=other&status=revoked", 2).await.len(), 0);
    app.admin_get("/licenses?status=lost").await.expect_error(422, "invalid_field");

    // Creation time range: unix seconds or RFC 3339; `to` is exclusive.
    assert_eq!(walk(&app, &format!("created_from={}&created_to={}", start, end + 1), 4).await.len(), 10);
    assert_eq!(walk(&app, &format!("created_from={}", end + 1), 4).await.len(), 0);
    assert_eq!(walk(&app, &format!("created_to={start}"), 4).await.len(), 0);
    let from = chrono::DateTime::from_timestamp(start - 10, 0).unwrap().to_rfc3339();
    let to = chrono::DateTime::from_timestamp(end + 10, 0).unwrap().to_rfc3339();
    let q = format!("product=app&created_from={}&created_to={}", urlencode(&from), urlencode(&to));
    assert_eq!(walk(&app, &q, 4).await.len(), 7);
    app.admin_get("/licenses?created_from=yesterday").await.expect(400);
    app.admin_get("/licenses?cursor=abc").await.expect(400);
    app.admin_get("/licenses?bogus=1").await.expect(400);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn search_finds_licenses_every_way() {
    let app = spawn_app().await;
    catalogue(&app).await;
    let by_email = app.issue(json!({"product_slug": "app", "buyer_email": "Alice.Buyer@example.com"})).await;
    let by_npub = app.issue(json!({"product_slug": "app", "buyer_npub": NPUB})).await;
    let bound = app.issue(json!({"product_slug": "app", "fingerprint": "bound-fp-123"})).await;
    let seated = app.issue(json!({"product_slug": "app"})).await;
    let _noise = app.issue(json!({"product_slug": "app", "buyer_email": "bob@example.org"})).await;
    let seated_key = seated["license_key"].as_str().unwrap();
    assert_ok(&app.activate(seated_key, "seat-fp-456").await);

    let find = |q: String| {
        let app = &app;
        async move {
            let body = app.admin_get(&format!("/licenses/search?q={}", urlencode(&q))).await.expect(200);
            body["licenses"]
                .as_array()
                .unwrap()
                .iter()
                .map(|l| l["license_id"].as_str().unwrap().to_string())
                .collect::<Vec<_>>()
        }
    };
    let id = |l: &Value| l["license_id"].as_str().unwrap().to_string();

    assert_eq!(find("Alice.Buyer@example.com".into()).await, [id(&by_email)]);
    assert_eq!(find("alice.buyer".into()).await, [id(&by_email)], "part of the address, any case");
    assert_eq!(find(NPUB.into()).await, [id(&by_npub)]);
    assert_eq!(find(NPUB_HEX.into()).await, [id(&by_npub)]);
    assert_eq!(find(NPUB.to_uppercase()).await, [id(&by_npub)]);
    assert_eq!(find(id(&bound)).await, [id(&bound)]);
    assert_eq!(find(bound["license_key"].as_str().unwrap().to_string()).await, [id(&bound)]);
    assert_eq!(
        find(bound["license_key"].as_str().unwrap().to_ascii_lowercase()).await,
        [id(&bound)],
        "keys are case-insensitive"
    );
    assert_eq!(find("bound-fp-123".into()).await, [id(&bound)]);
    assert_eq!(find("seat-fp-456".into()).await, [id(&seated)]);
    assert!(find("nobody-matches-this".into()).await.is_empty());
    let both: HashSet<String> = find("example".into()).await.into_iter().collect();
    assert_eq!(both.len(), 2);

    // The npub comes back in its bech32 form.
    let l = app.license(&id(&by_npub)).await;
    assert_eq!(l["buyer_npub"], NPUB);

    app.admin_get("/licenses/search?q=").await.expect(400);
    app.admin_get("/licenses/search").await.expect(400);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn search_takes_wildcards_literally() {
    let app = spawn_app().await;
    catalogue(&app).await;
    let plain = app.issue(json!({"product_slug": "app", "buyer_email": "firstxlast@example.com"})).await;
    let underscore = app.issue(json!({"product_slug": "app", "buyer_email": "first_last@example.com"})).await;
    let find = |q: &'static str| {
        let app = &app;
        async move {
            let body = app.admin_get(&format!("/licenses/search?q={}", q.replace('%', "%25"))).await.expect(200);
            body["licenses"].as_array().unwrap().iter().map(|l| l["license_id"].clone()).collect::<Vec<_>>()
        }
    };
    assert_eq!(find("first_last").await, [underscore["license_id"].clone()]);
    assert!(find("%%%").await.is_empty(), "'%' is not a wildcard");
    assert!(find("___").await.is_empty(), "'_' is not a wildcard");
    assert!(find("x%t").await.is_empty());
    assert_eq!(find("firstx").await, [plain["license_id"].clone()]);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn details_show_machines_and_audit() {
    let app = spawn_app().await;
    catalogue(&app).await;
    let l = app.issue(json!({"product_slug": "app", "buyer_email": "ann@example.com", "note": "comp"})).await;
    let id = l["license_id"].as_str().unwrap();
    let key = l["license_key"].as_str().unwrap();
    assert_ok(
        &app.post(
            "/v1/machines/activate",
            json!({"key": key, "fingerprint": "fp-1", "hostname": "box", "platform": "linux"}),
        )
        .await
        .expect(200),
    );
    assert_ok(&app.activate(key, "fp-2").await);
    assert_ok(&app.deactivate(key, "fp-2").await);

    let d = app.license(id).await;
    for field in [
        "license_id",
        "product_slug",
        "policy_slug",
        "license_key",
        "product_id",
        "policy_id",
        "status",
        "issued_at",
        "expires_at",
        "max_machines",
        "entitlements",
        "is_trial",
        "buyer_email",
        "note",
        "source",
        "active_machines",
        "machines",
        "audit",
        "recent_validations",
    ] {
        assert!(d.get(field).is_some(), "{field} missing: {d}");
    }
    // One license shape everywhere: `license_id`, never a second `id`.
    assert!(d.get("id").is_none(), "{d}");
    assert_eq!((d["product_slug"].as_str(), d["policy_slug"].as_str()), (Some("app"), Some("default")), "{d}");
    assert_eq!(d["license_key"], key);
    assert_eq!(d["status"], "active");
    assert_eq!(d["note"], "comp");
    assert_eq!(d["active_machines"], 1);
    let machines = d["machines"].as_array().unwrap();
    assert_eq!(machines.len(), 2, "freed seats stay as history");
    assert_eq!(machines[0]["fingerprint"], "fp-1");
    assert_eq!(machines[0]["active"], true);
    assert_eq!(machines[0]["hostname"], "box");
    assert_eq!(machines[0]["platform"], "linux");
    assert_eq!(machines[1]["fingerprint"], "fp-2");
    assert_eq!(machines[1]["active"], false);
    assert!(machines[1]["deactivated_at"].is_string());
    let actions: Vec<&str> = d["audit"].as_array().unwrap().iter().map(|a| a["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["license.issue"]);

    app.admin_get("/licenses/00000000-0000-0000-0000-000000000000").await.expect_error(404, "not_found");
    app.admin_get("/licenses/not-a-uuid").await.expect_error(404, "not_found");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn suspend_unsuspend_revoke() {
    let app = spawn_app().await;
    catalogue(&app).await;
    let (id, key) = app.issue_license("app", "default").await;
    let path = |action: &str| format!("/licenses/{id}/{action}");

    // Suspend without a body, then with a reason.
    let l = app.send(app.admin(reqwest::Method::POST, &path("suspend"))).await.expect(200);
    assert_eq!(l["status"], "suspended");
    assert_refused(&app.validate(json!({"key": key})).await, "suspended");
    app.admin_post(&path("suspend"), json!({"reason": "again"})).await.expect_error(409, "already_suspended");
    let l = app.admin_post(&path("unsuspend"), json!({"reason": "paid"})).await.expect(200);
    assert_eq!(l["status"], "active");
    assert_ok(&app.validate(json!({"key": key})).await);
    app.admin_post(&path("unsuspend"), json!({})).await.expect_error(409, "not_suspended");

    // Revoking needs a reason, and is final.
    app.admin_post(&path("revoke"), json!({})).await.expect_error(422, "invalid_field");
    app.admin_post(&path("revoke"), json!({"reason": "   "})).await.expect_error(422, "invalid_field");
    assert_eq!(app.license(&id).await["status"], "active", "a refused revoke changes nothing");
    let l = app.admin_post(&path("revoke"), json!({"reason": "chargeback"})).await.expect(200);
    assert_eq!(l["status"], "revoked");
    assert_eq!(l["revoked_reason"], "chargeback");
    assert_refused(&app.validate(json!({"key": key})).await, "revoked");
    app.admin_post(&path("revoke"), json!({"reason": "twice"})).await.expect_error(409, "already_revoked");
    app.admin_post(&path("unsuspend"), json!({})).await.expect_error(409, "license_revoked");
    app.admin_post(&path("suspend"), json!({})).await.expect_error(409, "license_revoked");
    assert_eq!(app.license(&id).await["revoked_reason"], "chargeback");

    let unknown = "/licenses/00000000-0000-0000-0000-000000000000/revoke";
    app.admin_post(unknown, json!({"reason": "x"})).await.expect_error(404, "not_found");
    app.admin_post("/licenses/nope/suspend", json!({})).await.expect_error(404, "not_found");

    // Each change is audited with before, after and reason.
    let d = app.license(&id).await;
    let audit = d["audit"].as_array().unwrap();
    let actions: Vec<&str> = audit.iter().map(|a| a["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["license.revoke", "license.unsuspend", "license.suspend", "license.issue"]);
    assert_eq!(audit[0]["details"], json!({"from": "active", "to": "revoked", "reason": "chargeback"}));
    assert_eq!(audit[1]["details"]["reason"], "paid");
    assert_eq!(audit[0]["actor"], "admin");
    assert_eq!(audit[0]["target_type"], "license");
    assert_eq!(audit[0]["target_id"], id);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn admin_machines_list_and_free_a_seat() {
    let app = spawn_app().await;
    catalogue(&app).await;
    let (id, key) = app.issue_license("app", "default").await;
    let (other_id, other_key) = app.issue_license("app", "default").await;
    assert_ok(&app.activate(&key, "fp-a").await);
    assert_ok(&app.activate(&key, "fp-b").await);
    assert_ok(&app.activate(&other_key, "fp-c").await);
    assert_refused(&app.activate(&key, "fp-z").await, "too_many_machines");

    let list = app.admin_get(&format!("/machines?license_id={id}")).await.expect(200);
    let machines = list["machines"].as_array().unwrap();
    assert_eq!(machines.len(), 2);
    assert!(machines.iter().all(|m| m["license_id"] == id.as_str() && m["active"] == true));
    let recent = app.admin_get("/machines").await.expect(200);
    assert_eq!(recent["machines"].as_array().unwrap().len(), 3);
    assert_eq!(app.admin_get("/machines?limit=1").await.expect(200)["machines"].as_array().unwrap().len(), 1);
    app.admin_get("/machines?license_id=nope").await.expect(400);
    app.admin_get("/machines?license_id=00000000-0000-0000-0000-000000000000").await.expect_error(404, "not_found");

    // Free fp-a's seat: a new machine can take it.
    let m = machines.iter().find(|m| m["fingerprint"] == "fp-a").unwrap();
    let mid = m["id"].as_str().unwrap();
    let freed =
        app.admin_post(&format!("/machines/{mid}/deactivate"), json!({"reason": "laptop stolen"})).await.expect(200);
    assert_eq!(freed["active"], false);
    assert_eq!(freed["deactivation_reason"], "laptop stolen");
    app.admin_post(&format!("/machines/{mid}/deactivate"), json!({})).await.expect_error(409, "already_inactive");
    assert_refused(&app.heartbeat(&key, "fp-a").await, "not_activated");
    assert_ok(&app.activate(&key, "fp-z").await);

    // Without a body the reason is a default one.
    let other = app.admin_get(&format!("/machines?license_id={other_id}")).await.expect(200);
    let oid = other["machines"][0]["id"].as_str().unwrap().to_string();
    let freed = app.send(app.admin(reqwest::Method::POST, &format!("/machines/{oid}/deactivate"))).await.expect(200);
    assert!(freed["deactivation_reason"].as_str().is_some_and(|r| !r.is_empty()));
    let d = app.license(&other_id).await;
    assert_eq!(d["active_machines"], 0);

    let unknown = "/machines/00000000-0000-0000-0000-000000000000/deactivate";
    app.admin_post(unknown, json!({})).await.expect_error(404, "not_found");
    app.admin_post("/machines/nope/deactivate", json!({})).await.expect_error(404, "not_found");

    let audit = app.admin_get(&format!("/audit?action=machine.deactivate&target={mid}")).await.expect(200);
    let entries = audit["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0]["details"]["fingerprint"], "fp-a");
    assert_eq!(entries[0]["details"]["reason"], "laptop stolen");
    assert_eq!(entries[0]["details"]["license_id"], id);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn audit_filters_by_action_target_and_time() {
    let app = spawn_app().await;
    let start = now();
    catalogue(&app).await;
    let (id, _) = app.issue_license("app", "default").await;
    let (id2, _) = app.issue_license("app", "default").await;
    app.admin_post(&format!("/licenses/{id}/suspend"), json!({})).await.expect(200);
    let end = now();

    let all = app.admin_get("/audit").await.expect(200);
    let entries = all["entries"].as_array().unwrap();
    // product.create, 2 × policy.create, 2 × license.issue, license.suspend.
    assert_eq!(entries.len(), 6);
    let ids: Vec<i64> = entries.iter().map(|e| e["id"].as_i64().unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[0] > w[1]), "newest first: {ids:?}");
    for e in entries {
        assert_eq!(keys(e), sorted(&["id", "at", "actor", "action", "target_type", "target_id", "details"]));
    }
    assert_eq!(entries[0]["action"], "license.suspend");

    let issues = app.admin_get("/audit?action=license.issue").await.expect(200);
    let targets: HashSet<&str> =
        issues["entries"].as_array().unwrap().iter().map(|e| e["target_id"].as_str().unwrap()).collect();
    assert_eq!(targets, HashSet::from([id.as_str(), id2.as_str()]));

    let on_id = app.admin_get(&format!("/audit?target={id}")).await.expect(200);
    let actions: Vec<&str> =
        on_id["entries"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["license.suspend", "license.issue"]);
    let policies = app.admin_get("/audit?target_type=policy").await.expect(200);
    assert_eq!(policies["entries"].as_array().unwrap().len(), 2);

    let count = |q: String| {
        let app = &app;
        async move { app.admin_get(&format!("/audit?{q}")).await.expect(200)["entries"].as_array().unwrap().len() }
    };
    assert_eq!(count(format!("since={start}&until={}", end + 1)).await, 6);
    assert_eq!(count(format!("since={}", end + 1)).await, 0);
    assert_eq!(count(format!("until={start}")).await, 0);
    let since = urlencode(&chrono::DateTime::from_timestamp(start - 5, 0).unwrap().to_rfc3339());
    assert_eq!(count(format!("action=license.issue&since={since}")).await, 2);
    app.admin_get("/audit?since=soon").await.expect(400);
    app.admin_get("/audit?colour=red").await.expect(400);

    // Paging with the cursor.
    let page = app.admin_get("/audit?limit=4").await.expect(200);
    assert_eq!(page["entries"].as_array().unwrap().len(), 4);
    let cursor = page["next_cursor"].as_i64().expect("a cursor");
    let rest = app.admin_get(&format!("/audit?limit=4&cursor={cursor}")).await.expect(200);
    assert_eq!(rest["entries"].as_array().unwrap().len(), 2);
    assert_eq!(rest["next_cursor"], json!(null));
    app.stop().await;
}
