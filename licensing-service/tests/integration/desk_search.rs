//! The operator's desk, search: every form finds its license and nothing else.

use crate::common::*;
use crate::desk_sales::{buy, shop};
use serde_json::json;

// NIP-19's published example pair.
const NPUB: &str = "npub180cvv07tjdrrgpa0j7j7tmnyl2yr6yr7l8j4s3evf6u64th6gkwsyjh6w6";
const NPUB_HEX: &str = "3bf0c63fcb93463407af97a5e5ee64fa883d107ef9e558472c4eb9aaaefa459d";

async fn found(app: &TestApp, q: &str) -> Vec<String> {
    let body = app.admin_get(&format!("/licenses/search?q={}", urlencode(q))).await.expect(200);
    body["licenses"].as_array().unwrap().iter().map(|l| l["license_id"].as_str().unwrap().to_string()).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn every_search_form_finds_its_license_and_nothing_else() {
    let app = shop().await;
    // Others around them, alike in every way but the one searched for.
    for n in 0..5 {
        app.issue(json!({"product_slug": "app", "buyer_email": format!("other{n}@example.com"), "note": "regular"}))
            .await;
    }
    let invoice = buy(&app, json!({"product": "app", "buyer_email": "ann.smith@example.com"}), true).await;
    let sold = app.admin_get(&format!("/invoices/{invoice}")).await.expect(200);
    let paid = sold["license_id"].as_str().unwrap().to_string();
    let provider_invoice = sold["provider_invoice_id"].as_str().unwrap().to_string();
    let noted = app
        .issue(json!({"product_slug": "app", "buyer_npub": NPUB, "note": "Met at the Lisbon conference",
                      "fingerprint": "fp-bound-0042"}))
        .await;
    let noted_id = noted["license_id"].as_str().unwrap().to_string();
    let (seated, seated_key) = app.issue_license("app", "default").await;
    app.post(
        "/v1/machines/activate",
        json!({"key": seated_key, "fingerprint": "seat-fp-7777", "hostname": "Laptop-Of-Bob"}),
    )
    .await
    .expect(200);
    // Keys of one product share their start (version, product): a part of it finds them all.
    let key = noted["license_key"].as_str().unwrap();

    let cases: Vec<(String, &String)> = vec![
        ("ann.smi".into(), &paid),                                    // part of an e-mail address
        ("SMITH@EXAMPLE".into(), &paid),                              // in any case
        (NPUB.into(), &noted_id),                                     // npub
        (NPUB_HEX.into(), &noted_id),                                 // npub as hex
        (paid.clone(), &paid),                                        // license id
        (paid[..8].to_string(), &paid),                               // its first 8 characters
        (paid[..13].to_uppercase(), &paid),                           // a longer prefix, upper-case
        (key.to_string(), &noted_id),                                 // the whole key
        (key[key.len() - 32..key.len() - 20].to_string(), &noted_id), // 12 characters from its signature
        (key[key.len() - 20..].to_lowercase(), &noted_id),            // its tail, lower-case
        (invoice.clone(), &paid),                                     // our invoice id (the order number)
        (provider_invoice.clone(), &paid),                            // the provider's invoice id
        ("lisbon conf".into(), &noted_id),                            // note text
        ("fp-bound-0042".into(), &noted_id),                          // a fingerprint bound into the key
        ("seat-fp-7777".into(), &seated),                             // a fingerprint holding a seat
        ("laptop-of-bob".into(), &seated),                            // a machine's hostname
    ];
    for (q, want) in &cases {
        assert_eq!(found(&app, q).await, [want.as_str()], "searching {q:?}");
    }
    // Too short to be a part, or matching nothing: nothing.
    for q in
        ["an", &paid[..7], &key[key.len() - 32..key.len() - 21], "nobody@nowhere", "Laptop-Of", "\"quoted\" {col}: *"]
    {
        assert!(found(&app, q).await.is_empty(), "searching {q:?}");
    }
    assert_eq!(found(&app, "regular").await.len(), 5);
    app.admin_get("/licenses/search?q=%20").await.expect_error(400, "invalid_request");
}

/// The FTS5 index over e-mail addresses and notes (external content, kept
/// by triggers) must agree with the table after every change.
async fn index_is_exact(app: &TestApp) {
    sqlx::query("INSERT INTO license_text (license_text, rank) VALUES ('integrity-check', 1)")
        .execute(&app.state.db.write)
        .await
        .expect("license_text agrees with licenses");
}

/// The operator's note of a license changed in the table (no route edits it yet).
async fn set_note(app: &TestApp, license_id: &str, note: Option<&str>) {
    sqlx::query("UPDATE licenses SET note = ? WHERE id = ?")
        .bind(note)
        .bind(license_id)
        .execute(&app.state.db.write)
        .await
        .unwrap();
    index_is_exact(app).await;
}

/// Parts of keys are found by a scan of the keys (no index holds them),
/// notes and addresses by the trigram index, which follows every edit and deletion.
#[tokio::test(flavor = "multi_thread")]
async fn parts_of_keys_edited_notes_and_deleted_licenses() {
    let app = shop().await;
    let (plain, plain_key) = app.issue_license("app", "default").await;
    let noted = app.issue(json!({"product_slug": "app", "note": "first words"})).await;
    let noted_id = noted["license_id"].as_str().unwrap().to_string();
    let mailed = app.issue(json!({"product_slug": "app", "buyer_email": "zed@example.com"})).await;
    let mailed_id = mailed["license_id"].as_str().unwrap().to_string();
    index_is_exact(&app).await;

    // From the middle of the key (across the '-' between payload and
    // signature; keys of one product share much of their payload) and of the
    // signature, in either case; a fragment too short, or with characters no
    // key has, is no key part.
    let mid = plain_key.rfind('-').unwrap();
    assert_eq!(found(&app, &plain_key[mid - 6..mid + 6]).await, [plain.as_str()]);
    assert_eq!(found(&app, &plain_key[mid + 30..mid + 44].to_lowercase()).await, [plain.as_str()]);
    assert_eq!(found(&app, &plain_key[plain_key.len() - 40..plain_key.len() - 25]).await, [plain.as_str()]);
    assert_eq!(found(&app, &plain_key[..20]).await.len(), 3, "the start all keys of a product share");
    assert!(found(&app, &plain_key[mid - 5..mid + 6]).await.is_empty());
    assert!(found(&app, &format!("{}0", &plain_key[mid - 6..mid + 6])).await.is_empty());

    // A note edited: the old words find nothing, the new ones the license.
    assert_eq!(found(&app, "first wor").await, [noted_id.as_str()]);
    set_note(&app, &noted_id, Some("second thoughts")).await;
    assert!(found(&app, "first wor").await.is_empty());
    assert_eq!(found(&app, "d thought").await, [noted_id.as_str()]);
    // A note given to a license that had neither note nor address, then both taken away.
    set_note(&app, &plain, Some("late note")).await;
    assert_eq!(found(&app, "late note").await, [plain.as_str()]);
    set_note(&app, &plain, None).await;
    set_note(&app, &noted_id, None).await;
    assert!(found(&app, "late note").await.is_empty());
    assert!(found(&app, "thoughts").await.is_empty());

    // A license deleted (nothing else refers to it): its address finds nothing.
    assert_eq!(found(&app, "zed@exa").await, [mailed_id.as_str()]);
    let mailed_key = mailed["license_key"].as_str().unwrap();
    sqlx::query("DELETE FROM licenses WHERE id = ?").bind(&mailed_id).execute(&app.state.db.write).await.unwrap();
    index_is_exact(&app).await;
    assert!(found(&app, "zed@exa").await.is_empty());
    let mailed_mid = mailed_key.rfind('-').unwrap();
    assert!(found(&app, &mailed_key[mailed_mid - 6..mailed_mid + 14]).await.is_empty());
    assert_eq!(found(&app, &plain_key[mid - 6..mid + 6]).await, [plain.as_str()]);
}
