//! Import of licenses from another system: a CSV checked whole before
//! anything is written, a dry run that changes nothing, idempotent re-runs,
//! and Keysat's own export imported into a fresh Keysat (keys re-issued).

use crate::common::*;
use crate::desk_export::{export, parse_csv};
use crate::desk_sales::shop;
use reqwest::Method;
use serde_json::{json, Value};

async fn import(app: &TestApp, csv: &str, dry_run: bool) -> Reply {
    let path = format!("/import/licenses?dry_run={dry_run}");
    app.send(app.admin(Method::POST, &path).header("content-type", "text/csv").body(csv.to_string())).await
}

/// The columns that make a license the same license, by note (unique here).
fn terms_by_note(csv: &str) -> Vec<Vec<String>> {
    let rows = parse_csv(csv);
    let col = |name: &str| rows[0].iter().position(|c| c == name).unwrap();
    let keep = ["note", "product_slug", "policy_slug", "buyer_email", "buyer_npub", "status", "expires_at"];
    let keep = keep.iter().chain(["max_machines", "entitlements", "fingerprint", "revoked_reason"].iter());
    let idx: Vec<usize> = keep.map(|c| col(c)).collect();
    let mut out: Vec<Vec<String>> = rows[1..].iter().map(|r| idx.iter().map(|i| r[*i].clone()).collect()).collect();
    out.sort();
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn an_export_imports_into_a_fresh_keysat_with_new_keys() {
    let old = shop().await;
    let npub = "npub1sg6plzptd64u62a878hep2kev88swjh3tw00gjsfl8f237lmu63q0uf63m";
    old.issue(json!({"product_slug": "app", "buyer_email": "ann@example.com", "note": "=cmd|' /C calc'!A0"})).await;
    old.issue(json!({"product_slug": "app", "policy_slug": "pro", "buyer_npub": npub, "note": "two, \"quoted\""}))
        .await;
    old.issue(json!({"product_slug": "tool", "fingerprint": "machine-7", "note": "bound"})).await;
    let gone = old.issue(json!({"product_slug": "tool", "buyer_email": "bob@example.com", "note": "revoked"})).await;
    let id = gone["license_id"].as_str().unwrap();
    old.admin_post(&format!("/licenses/{id}/revoke"), json!({"reason": "chargeback"})).await.expect(200);
    let (_, exported) = export(&old, "licenses.csv").await;

    let new = shop().await;
    let dry = import(&new, &exported, true).await.expect(200);
    assert_eq!(
        (dry["dry_run"].clone(), dry["rows"].clone(), dry["created"].clone()),
        (json!(true), json!(4), json!(4))
    );
    assert!(dry["results"].as_array().unwrap().iter().all(|r| r["outcome"] == "would_create"), "{dry}");
    assert!(dry["ignored_columns"].as_array().unwrap().contains(&json!("license_key")), "{dry}");
    assert_eq!(new.stats().await["licenses"], 0, "a dry run writes nothing");
    let audit_before = new.audit_count().await;

    let done = import(&new, &exported, false).await.expect(200);
    assert_eq!((done["created"].clone(), done["already_imported"].clone()), (json!(4), json!(0)), "{done}");
    let (_, imported) = export(&new, "licenses.csv").await;
    assert_eq!(terms_by_note(&imported), terms_by_note(&exported), "the same licenses");
    assert!(new.audit_count().await >= audit_before + 8, "each license audited as issued and imported");

    // Fresh keys, signed by the new Keysat, carrying the imported terms.
    let rows = parse_csv(&imported);
    let col = |name: &str| rows[0].iter().position(|c| c == name).unwrap();
    let old_keys = exported.clone();
    let pk = new.public_key().await;
    for r in &rows[1..] {
        let key = &r[col("license_key")];
        assert!(!old_keys.contains(key.as_str()), "keys are re-issued");
        let p = keysat_client::verify(key, &pk).expect("the new key verifies");
        assert_eq!(p.license_id.to_string(), r[col("license_id")]);
        assert_eq!(r[col("source")], "import");
    }
    let bound = rows.iter().find(|r| r[col("note")] == "bound").unwrap();
    let p = keysat_client::verify(&bound[col("license_key")], &pk).unwrap();
    assert_eq!(p.fingerprint_hash, keysat_client::fingerprint_hash("machine-7"));

    // The same file again: nothing twice.
    let again = import(&new, &exported, false).await.expect(200);
    assert_eq!((again["created"].clone(), again["already_imported"].clone()), (json!(0), json!(4)), "{again}");
    assert_eq!(new.stats().await["licenses"], 4);
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_rows_are_named_by_line_and_nothing_is_imported() {
    let app = shop().await;
    let csv = "email,product,tier,expires_at,seats,note\r\n\
               ann@example.com,app,pro,2099-01-01,3,fine\r\n\
               bob@example.com,nope,default,,,unknown product\r\n\
               not-an-address,app,,,,bad e-mail\r\n\
               cy@example.com,app,gold,,,unknown tier\r\n\
               dee@example.com,app,,next tuesday,,bad expiry\r\n\
               eve@example.com,tool,,,-1,bad seats\r\n";
    let before = app.audit_count().await;
    for dry_run in [true, false] {
        let r = import(&app, csv, dry_run).await;
        let body = r.expect_error(422, "import_invalid");
        let errors: Vec<(u64, Value)> = body["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| (e["line"].as_u64().unwrap(), e["field"].clone()))
            .collect();
        assert_eq!(
            errors,
            vec![
                (3, json!("product")),
                (4, json!("buyer_email")),
                (5, json!("tier")),
                (6, json!("expires_at")),
                (7, json!("seats"))
            ],
            "{body}"
        );
    }
    assert_eq!(app.stats().await["licenses"], 0);
    assert_eq!(app.audit_count().await, before, "nothing changed");

    import(&app, "email,tier\r\na@b.co,pro\r\n", false).await.expect_error(400, "invalid_csv");
    import(&app, "product,Product\r\napp,app\r\n", false).await.expect_error(400, "invalid_csv");
    let r = app.send(app.admin(Method::POST, "/import/licenses?dry_run=maybe").body("product\r\napp\r\n")).await;
    r.expect_error(400, "invalid_request");

    // Two identical rows are two licenses; a passed expiry is skipped; the
    // tier's term applies when no expiry is given; `never` is perpetual.
    let csv = "product,tier,email,expires_at\r\napp,pro,a@b.co,\r\napp,pro,a@b.co,\r\n\
               tool,,c@d.co,2001-01-01\r\ntool,,e@f.co,never\r\n";
    let r = import(&app, csv, false).await.expect(200);
    assert_eq!((r["created"].clone(), r["skipped_expired"].clone()), (json!(3), json!(1)), "{r}");
    let outcomes: Vec<Value> = r["results"].as_array().unwrap().iter().map(|x| x["outcome"].clone()).collect();
    assert_eq!(outcomes, vec![json!("created"), json!("created"), json!("skipped_expired"), json!("created")]);
    let never = app.license(r["results"][3]["license_id"].as_str().unwrap()).await;
    assert_eq!(never["expires_at"], Value::Null);
    assert_eq!(import(&app, csv, false).await.expect(200)["already_imported"], 3);
}

/// `keysat export` and `keysat import` on the command line, over the admin API.
#[tokio::test(flavor = "multi_thread")]
async fn the_command_line_exports_and_imports() {
    let old = shop().await;
    old.issue(json!({"product_slug": "app", "buyer_email": "ann@example.com", "note": "from the CLI"})).await;
    let new = shop().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("licenses.csv");
    let keysat = |app: &TestApp, args: &[&str]| {
        let mut cmd = std::process::Command::new(KEYSAT_BIN);
        cmd.args(args).env_clear().args(["--url", &app.admin_base]).env("KEYSAT_ADMIN_API_KEY", &app.admin_key);
        cmd.output().expect("run keysat")
    };
    let out = keysat(&old, &["export", "licenses.csv", "-o", file.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(std::fs::read_to_string(&file).unwrap().contains("from the CLI"));

    let out = keysat(&new, &["import", "licenses", file.to_str().unwrap(), "--dry-run"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("1 rows: would create 1"), "{out:?}");
    assert_eq!(new.stats().await["licenses"], 0);
    let out = keysat(&new, &["import", "licenses", file.to_str().unwrap()]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("created 1"), "{out:?}");
    assert_eq!(new.stats().await["licenses"], 1);

    // A bad row: a failing exit, the line named, nothing imported.
    std::fs::write(&file, "product,email\r\napp,ok@example.com\r\nnope,x@example.com\r\n").unwrap();
    let out = keysat(&new, &["import", "licenses", file.to_str().unwrap()]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("licenses.csv:3: product: no product 'nope'"), "{err}");
    assert_eq!(new.stats().await["licenses"], 1);
    let out = keysat(&new, &["export", "secrets.csv"]);
    assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("404"), "{out:?}");
}
