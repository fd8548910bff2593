//! Exports: CSV a spreadsheet reads safely (header, RFC 4180, no formulas)
//! and JSON Lines, of licenses, invoices, machines and the audit log.

use crate::common::*;
use crate::desk_sales::{buy, shop};
use serde_json::{json, Value};

/// RFC 4180: records of fields, quoted fields may hold commas, quotes ("") and line breaks.
pub(crate) fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let (mut rows, mut row, mut field) = (Vec::new(), Vec::new(), String::new());
    let (mut quoted, mut chars) = (false, text.chars().peekable());
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut field)),
            (false, '\r') => assert_eq!(chars.next(), Some('\n'), "records end in CRLF"),
            (false, '\n') => panic!("a bare LF ends a record"),
            (false, c) => field.push(c),
        }
        if !quoted && c == '\r' {
            row.push(std::mem::take(&mut field));
            rows.push(std::mem::take(&mut row));
        }
    }
    assert!(field.is_empty() && row.is_empty(), "the last record ends in CRLF");
    rows
}

pub(crate) async fn export(app: &TestApp, file: &str) -> (String, String) {
    let r = app.send(app.admin(reqwest::Method::GET, &format!("/export/{file}"))).await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.text);
    (r.headers["content-type"].to_str().unwrap().to_string(), r.text)
}

#[tokio::test(flavor = "multi_thread")]
async fn exports_are_spreadsheet_safe_csv_and_json_lines() {
    let app = shop().await;
    let hostile = "=cmd|' /C calc'!A0";
    let l = app.issue(json!({"product_slug": "app", "buyer_email": "ann@example.com", "note": hostile})).await;
    app.issue(json!({"product_slug": "tool", "note": "line one\nline \"two\", with a comma"})).await;
    buy(&app, json!({"product": "app", "buyer_note": "@SUM(1+1)", "code": "HALF-OFF"}), true).await;
    app.activate(l["license_key"].as_str().unwrap(), "-2+3").await;

    let (ctype, text) = export(&app, "licenses.csv").await;
    assert!(ctype.starts_with("text/csv; charset=utf-8"), "{ctype}");
    let rows = parse_csv(&text);
    assert_eq!(rows.len(), 4, "a header and three licenses");
    let col = |name: &str| rows[0].iter().position(|c| c == name).unwrap();
    assert!(rows.iter().all(|r| r.len() == rows[0].len()));
    let ann = rows.iter().find(|r| r[col("license_id")] == l["license_id"]).unwrap();
    assert_eq!(ann[col("note")], format!("'{hostile}"));
    assert_eq!(ann[col("product_name")], "Product app");
    assert!(rows.iter().any(|r| r[col("note")] == "line one\nline \"two\", with a comma"));
    let sold = rows.iter().find(|r| r[col("code")] == "HALF-OFF").unwrap();
    assert_eq!(sold[col("amount_paid_sats")], "5000");
    // No cell a spreadsheet would run.
    let cells = || rows.iter().flatten();
    assert!(cells().all(|c| !c.starts_with(['=', '+', '@', '\t', '\r']) && !c.starts_with('-')), "{rows:?}");

    let invoices = parse_csv(&export(&app, "invoices.csv").await.1);
    assert_eq!(invoices.len(), 2);
    assert!(invoices[1].contains(&"'@SUM(1+1)".to_string()), "{invoices:?}");
    let machines = parse_csv(&export(&app, "machines.csv").await.1);
    assert!(machines[1].contains(&"'-2+3".to_string()), "{machines:?}");

    let (ctype, text) = export(&app, "audit.jsonl").await;
    assert!(ctype.starts_with("application/x-ndjson"));
    let entries: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(entries.len(), app.audit_count().await);
    let (_, text) = export(&app, "licenses.jsonl").await;
    let notes: Vec<Value> = text.lines().map(|l| serde_json::from_str::<Value>(l).unwrap()["note"].clone()).collect();
    assert!(notes.contains(&json!(hostile)), "JSON keeps the text as it is");
    let future = now() + 3600;
    assert_eq!(parse_csv(&export(&app, &format!("licenses.csv?from={future}")).await.1).len(), 1);

    let customers = parse_csv(&export(&app, "customers.csv").await.1);
    let col = |name: &str| customers[0].iter().position(|c| c == name).unwrap();
    let ann = customers.iter().find(|r| r[col("emails")] == "ann@example.com").expect("ann is a customer");
    assert_eq!(ann[col("license_ids")], l["license_id"].as_str().unwrap());
    let (_, text) = export(&app, "customers.jsonl").await;
    let listed = app.admin_get("/customers?limit=500").await.expect(200)["customers"].as_array().unwrap().len();
    assert_eq!(text.lines().count(), listed, "every customer, once");

    app.admin_get("/export/secrets.csv").await.expect_error(404, "not_found");
    app.admin_get("/export/licenses.xlsx").await.expect_error(404, "not_found");
    app.admin_get("/export/licenses.csv?from=yesterday").await.expect_error(400, "invalid_request");
}

/// An operator who reaches the admin API only through StartOS actions gets a
/// file through a one-time link on the public listener.
#[tokio::test(flavor = "multi_thread")]
async fn a_one_time_link_downloads_an_export_once() {
    let app = shop().await;
    app.issue(json!({"product_slug": "app", "buyer_email": "ann@example.com", "note": "=1+1"})).await;
    let direct = export(&app, "licenses.csv").await.1;

    let link = app.admin_post("/export-links", json!({"file": "licenses.csv"})).await.expect(200);
    let path = link["path"].as_str().unwrap();
    assert!(path.starts_with("/download/") && path.len() > "/download/".len() + 40, "{link}");
    assert!(link["url"].as_str().unwrap().ends_with(path), "{link}");
    assert_eq!(link["file"], "licenses.csv");
    assert!(link["expires_at"].is_string(), "{link}");

    // The admin key is not needed: the link is the credential, once.
    let r = app.get(path).await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.text);
    assert!(r.headers["content-type"].to_str().unwrap().starts_with("text/csv"));
    assert_eq!(r.headers["cache-control"], "no-store");
    assert!(r.headers["content-disposition"].to_str().unwrap().contains("keysat-licenses.csv"));
    assert_eq!(r.text, direct, "the same file the admin API streams");

    let again = app.get(path).await;
    assert_eq!(again.status.as_u16(), 404, "a link answers once");
    assert!(again.text.contains("already used or has expired"), "{}", again.text);
    assert_eq!(app.get("/download/not-a-token").await.status.as_u16(), 404);

    // Filters travel with the link; a bad file or time changes nothing.
    let future = now() + 3600;
    let link = app.admin_post("/export-links", json!({"file": "licenses.jsonl", "from": future.to_string()})).await;
    let r = app.get(link.expect(200)["path"].as_str().unwrap()).await;
    assert_eq!((r.status.as_u16(), r.text.as_str()), (200, ""), "nothing created after the future");
    app.admin_post("/export-links", json!({"file": "secrets.csv"})).await.expect_error(422, "invalid_export");
    app.admin_post("/export-links", json!({"file": "audit.csv", "to": "soon"}))
        .await
        .expect_error(400, "invalid_request");
    let audit = app.admin_get("/audit?action=export.link").await.expect(200);
    assert_eq!(audit["entries"].as_array().map(Vec::len), Some(2), "{audit}");
}
