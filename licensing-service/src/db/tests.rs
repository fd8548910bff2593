//! Rows read back as they were written: UUIDs stored as hyphenated text,
//! statuses, JSON lists, and the columns read as one field or grouped into one.

use serde_json::json;
use sqlx::{ConnectOptions, Connection};
use uuid::Uuid;

use super::*;
use crate::domain::catalog::{FiatPrice, Policy, Product};
use crate::domain::discount::{Code, Kind, Rules};
use crate::domain::invoice::InvoiceStatus;
use crate::domain::license::LicenseStatus;
use crate::domain::validation::{fp_hash, key_digest, HeldSeat, LicenseSnapshot};

const NOW: i64 = 1_800_000_000;

/// A new database in a directory of its own (kept while the directory is).
pub(crate) async fn open() -> (tempfile::TempDir, Db) {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path()).await.unwrap();
    (dir, db)
}

/// A product with one entitlement and a fiat-priced policy granting it, stored.
async fn catalog(db: &Db) -> (Product, Policy) {
    let product = json!({"slug": "app", "name": "App", "price_sats": 1000,
        "entitlements_catalog": [{"slug": "pro", "name": "Pro"}]});
    let product = Product::create(serde_json::from_value(product).unwrap(), NOW).unwrap();
    let policy = json!({"slug": "std", "name": "Std", "entitlements": ["pro"], "tier_rank": 2,
        "price_amount": "9.50", "price_currency": "EUR"});
    let policy = Policy::create(&product, serde_json::from_value(policy).unwrap(), NOW).unwrap();
    let mut tx = db.begin().await.unwrap();
    products::insert(&mut tx, &product).await.unwrap();
    policies::upsert(&mut tx, &policy).await.unwrap();
    tx.commit().await.unwrap();
    (product, policy)
}

fn license(policy: &Policy) -> licenses::License {
    licenses::License {
        rowid: 0,
        id: Uuid::new_v4(),
        product_id: policy.product_id,
        policy_id: policy.id,
        license_key: "KEY-1".into(),
        status: LicenseStatus::Suspended,
        issued_at: NOW,
        expires_at: NOW + 100,
        grace_seconds: 10,
        max_machines: 2,
        entitlements: vec!["pro".into()],
        is_trial: true,
        fingerprint: None,
        buyer_email: Some("a@b.co".into()),
        buyer_npub: None,
        note: None,
        source: "admin".into(),
        invoice_id: None,
        revoked_reason: None,
        version: 1,
        created_at: NOW,
        updated_at: NOW,
    }
}

/// The stored type and text of a row's id.
async fn stored_id(db: &Db, table: &str, id: Uuid) -> (String, String) {
    sqlx::query_as(&format!("SELECT typeof(id), id FROM {table} WHERE id = ?"))
        .bind(id.to_string())
        .fetch_one(&db.read)
        .await
        .unwrap()
}

/// SQLite as built for Keysat keeps no memory statistics (see
/// `.cargo/config.toml`): with them, its every allocation took one
/// process-wide mutex, on which sqlx's worker thread and the tasks reading
/// its rows met. It has FTS5, which the search uses, and not the FTS3 and
/// R*Tree extensions, which nothing uses (left out for the binary's size).
#[tokio::test]
async fn sqlite_is_built_without_memory_statistics_or_unused_extensions() {
    let (_dir, db) = open().await;
    let options: Vec<String> = sqlx::query_scalar("PRAGMA compile_options").fetch_all(&db.read).await.unwrap();
    assert!(options.iter().any(|o| o == "DEFAULT_MEMSTATUS=0"), "{options:?}");
    assert!(options.iter().any(|o| o == "ENABLE_FTS5"), "{options:?}");
    assert!(!options.iter().any(|o| o.starts_with("ENABLE_FTS3") || o == "ENABLE_RTREE"), "{options:?}");
}

/// A database Keysat creates has its pages of `PAGE_SIZE`; one made before
/// with SQLite's default keeps its own, and opens and writes as before.
#[tokio::test]
async fn a_new_database_has_small_pages_and_an_old_one_keeps_its_own() {
    let (_dir, db) = open().await;
    let size: i64 = sqlx::query_scalar("PRAGMA page_size").fetch_one(&db.read).await.unwrap();
    assert_eq!(size, i64::from(PAGE_SIZE));
    assert_ne!(PAGE_SIZE, 4096, "the default, which needs no setting");

    let old = tempfile::tempdir().unwrap();
    let made = SqliteConnectOptions::new()
        .filename(old.path().join("keysat.db"))
        .create_if_missing(true)
        .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal);
    let mut conn = made.connect().await.unwrap();
    sqlx::query("CREATE TABLE before_keysat (x INTEGER)").execute(&mut conn).await.unwrap();
    conn.close().await.unwrap();
    let db = Db::open(old.path()).await.unwrap();
    let size: i64 = sqlx::query_scalar("PRAGMA page_size").fetch_one(&db.read).await.unwrap();
    assert_eq!(size, 4096);
    let (product, _) = catalog(&db).await;
    assert_eq!(products::by_id(&db.read, product.id).await.unwrap(), Some(product));
    let ok: String = sqlx::query_scalar("PRAGMA integrity_check").fetch_one(&db.read).await.unwrap();
    assert_eq!(ok, "ok");
    db.close().await;
}

#[tokio::test]
async fn products_and_policies_read_back() {
    let (_dir, db) = open().await;
    let (product, policy) = catalog(&db).await;
    assert_eq!(products::by_id(&db.read, product.id).await.unwrap(), Some(product.clone()));
    assert_eq!(products::by_slug(&db.read, "app").await.unwrap(), Some(product.clone()));
    assert_eq!(products::list(&db.read, true).await.unwrap(), vec![product.clone()]);
    assert_eq!(policies::by_id(&db.read, policy.id).await.unwrap(), Some(policy.clone()));
    assert_eq!(policies::for_product(&db.read, product.id).await.unwrap(), vec![policy.clone()]);
    assert_eq!(policy.fiat_price, Some(FiatPrice { amount: "9.50".into(), currency: "EUR".into() }));
    assert_eq!(policies::entitlements_in_use(&db.read, product.id).await.unwrap(), vec!["pro".to_string()]);
    let text = ("text".to_string(), policy.id.hyphenated().to_string());
    assert_eq!(stored_id(&db, "policies", policy.id).await, text);
}

#[tokio::test]
async fn licenses_machines_and_snapshots_read_back() {
    let (_dir, db) = open().await;
    let (_, policy) = catalog(&db).await;
    let l = license(&policy);
    let m = machines::Machine { hostname: Some("host".into()), ..seat(&l, "fp-1") };
    let mut tx = db.begin().await.unwrap();
    licenses::insert(&mut tx, &l).await.unwrap();
    machines::insert_many(&mut tx, &[(m.clone(), 0)], false).await.unwrap();
    let snap = licenses::snapshot(&mut tx, l.id).await.unwrap().unwrap();
    assert_eq!(
        (snap.license_id, snap.terms.product_id, snap.terms.status),
        (l.id, l.product_id, LicenseStatus::Suspended)
    );
    assert_eq!((snap.terms.product_slug.as_str(), snap.terms.entitlements.clone()), ("app", l.entitlements.clone()));
    assert_eq!(snap.seats.as_slice(), &[HeldSeat { fp: fp_hash("fp-1"), id: m.id }]);
    assert_eq!(snap.key, key_digest(&l.license_key));
    assert!(machines::deactivate(&mut tx, m.id, "test", NOW + 1).await.unwrap());
    licenses::bump_version(&mut tx, l.id).await.unwrap();
    let pairs = [(l.id, "fp-1"), (l.id, "fp-2")];
    let (views, freed) = licenses::seat_group(&mut tx, false, [l.id, Uuid::new_v4()], &pairs).await.unwrap();
    assert_eq!(freed.into_iter().collect::<Vec<_>>(), vec![((l.id, fp_hash("fp-1")), (m.id, NOW + 1))]);
    assert_eq!(views.len(), 1, "a license that does not exist is left out");
    let view = &views[0];
    assert_eq!((view.snap.version, view.snap.seats.len()), (snap.version + 1, 0), "bumped, and the freed seat gone");
    assert_eq!(view.rules, crate::domain::machine_rules::MachineRules::default());
    tx.commit().await.unwrap();

    let got = licenses::by_id(&db.read, l.id).await.unwrap().unwrap();
    assert!(got.rowid > 0);
    assert_eq!((got.id, got.product_id, got.policy_id), (l.id, l.product_id, l.policy_id));
    assert_eq!((got.status, got.entitlements, got.is_trial), (l.status, l.entitlements, true));
    assert_eq!((got.buyer_email, got.source), (l.buyer_email, l.source));
    let seat = machines::by_id(&db.read, m.id).await.unwrap().unwrap();
    assert_eq!((seat.id, seat.license_id, seat.active), (m.id, l.id, false));
    assert_eq!(seat.deactivation_reason.as_deref(), Some("test"));
    assert_eq!(stored_id(&db, "licenses", l.id).await.0, "text");
    assert_eq!(stored_id(&db, "machines", m.id).await.0, "text");
}

/// Last-seen times written in one statement: a floating seat's always, any
/// other's only once it lags by the resolution; the answer is every seat
/// that never lapses among those asked for, written now or not, with the
/// time it now has (floating seats and unknown machines left out).
#[tokio::test]
async fn last_seen_times_are_written_when_due_and_steady_seats_answered() {
    let (_dir, db) = open().await;
    let (_, policy) = catalog(&db).await;
    let l = license(&policy);
    let (lagging, recent, floating) = (seat(&l, "fp-1"), seat(&l, "fp-2"), seat(&l, "fp-3"));
    let mut tx = db.begin().await.unwrap();
    licenses::insert(&mut tx, &l).await.unwrap();
    machines::insert_many(&mut tx, &[(lagging.clone(), 0), (recent.clone(), 0), (floating.clone(), 30)], false)
        .await
        .unwrap();
    // insert_many writes last_seen_at = activated_at; set the recent one's own.
    sqlx::query("UPDATE machines SET last_seen_at = ? WHERE id = ?")
        .bind(NOW + 50)
        .bind(recent.id.to_string())
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let asked = [lagging.id, recent.id, floating.id, Uuid::new_v4()].map(|id| (id, NOW + 100));
    let mut steady = machines::touch_many(&db.write, &asked, 60).await.unwrap();
    steady.sort();
    let mut expected = vec![(lagging.id, NOW + 100), (recent.id, NOW + 50)];
    expected.sort();
    assert_eq!(steady, expected);
    let seen =
        |id: Uuid| sqlx::query_scalar::<_, i64>("SELECT last_seen_at FROM machines WHERE id = ?").bind(id.to_string());
    assert_eq!(seen(floating.id).fetch_one(&db.write).await.unwrap(), NOW + 100, "a floating seat always");
    // A time never goes back.
    assert_eq!(machines::touch_many(&db.write, &[(lagging.id, NOW)], 0).await.unwrap(), vec![(lagging.id, NOW + 100)]);
    // Each at its own second: one written at NOW + 170; one heard at NOW + 105, not due.
    let mut own =
        machines::touch_many(&db.write, &[(lagging.id, NOW + 170), (recent.id, NOW + 105)], 60).await.unwrap();
    own.sort();
    let mut expected = vec![(lagging.id, NOW + 170), (recent.id, NOW + 50)];
    expected.sort();
    assert_eq!(own, expected);
    assert!(machines::touch_many(&db.write, &[], 60).await.unwrap().is_empty());
}

/// An active seat of `l`, taken at `NOW`.
fn seat(l: &licenses::License, fingerprint: &str) -> machines::Machine {
    machines::Machine {
        id: Uuid::new_v4(),
        license_id: l.id,
        fingerprint: fingerprint.into(),
        hostname: None,
        platform: None,
        active: true,
        activated_at: NOW,
        last_seen_at: NOW,
        deactivated_at: None,
        deactivation_reason: None,
    }
}

fn code(product_id: Uuid) -> codes::DiscountCode {
    codes::DiscountCode {
        id: Uuid::new_v4(),
        code: Code::parse("SPRING-24").unwrap(),
        product_id,
        kind: Kind::PercentOff(20),
        rules: Rules {
            active: true,
            valid_from: Some(NOW),
            valid_until: None,
            policies: vec!["std".into()],
            max_uses: Some(5),
            max_uses_per_buyer: None,
        },
        featured: true,
        referrer: Some("ref".into()),
        created_at: NOW,
        updated_at: NOW,
    }
}

fn invoice(policy: &Policy, code_id: Option<Uuid>) -> invoices::Invoice {
    invoices::Invoice {
        id: Uuid::new_v4(),
        product_id: policy.product_id,
        policy_id: policy.id,
        status: InvoiceStatus::Pending,
        processing: false,
        provider: "btcpay".into(),
        provider_invoice_id: None,
        checkout_url: None,
        amount_sats: 800,
        base_price_sats: 1000,
        discount_sats: 200,
        price_amount: None,
        price_currency: None,
        code_id,
        buyer_email: None,
        buyer_npub: None,
        buyer_note: None,
        redirect_url: None,
        created_at: NOW,
        updated_at: NOW,
        settled_at: None,
        closed_at: None,
        purpose: crate::domain::subscription::Purpose::Purchase,
        target_license_id: None,
    }
}

#[tokio::test]
async fn codes_and_invoices_read_back() {
    let (_dir, db) = open().await;
    let (product, policy) = catalog(&db).await;
    let c = code(product.id);
    let (with_code, without) = (invoice(&policy, Some(c.id)), invoice(&policy, None));
    let mut tx = db.begin().await.unwrap();
    codes::upsert(&mut tx, &c).await.unwrap();
    invoices::insert(&mut tx, &with_code).await.unwrap();
    invoices::insert(&mut tx, &without).await.unwrap();
    invoices::mark_processing(&mut tx, with_code.id, NOW).await.unwrap();
    tx.commit().await.unwrap();

    let got = codes::by_code(&db.read, &c.code).await.unwrap().unwrap();
    assert_eq!((got.id, got.code.clone(), got.product_id, got.kind), (c.id, c.code.clone(), product.id, c.kind));
    assert_eq!((got.rules, got.featured, got.referrer), (c.rules, true, c.referrer));
    assert_eq!(codes::featured(&db.read, product.id).await.unwrap().map(|f| f.id), Some(c.id));
    let seen = invoices::by_id(&db.read, with_code.id).await.unwrap().unwrap();
    assert_eq!((seen.status, seen.processing, seen.code_id), (InvoiceStatus::Pending, true, Some(c.id)));
    let fresh = invoices::by_id(&db.read, without.id).await.unwrap().unwrap();
    assert_eq!((fresh.processing, fresh.code_id, fresh.discount_sats), (false, None, 200));
    assert_eq!(stored_id(&db, "invoices", with_code.id).await.0, "text");
}

#[tokio::test]
async fn endpoints_read_back() {
    let (_dir, db) = open().await;
    let e = webhooks::Endpoint {
        id: Uuid::new_v4(),
        url: "https://example.com/hook".into(),
        description: None,
        events: vec!["license.created".into(), "*".into()],
        secret: "s".into(),
        active: true,
        created_at: NOW,
        updated_at: NOW,
    };
    let mut tx = db.begin().await.unwrap();
    webhooks::insert(&mut tx, &e).await.unwrap();
    tx.commit().await.unwrap();
    let got = webhooks::by_id(&db.read, e.id).await.unwrap().unwrap();
    assert_eq!((got.id, got.events, got.url), (e.id, e.events, e.url));
    assert_eq!(webhooks::list(&db.read).await.unwrap().len(), 1);
}

#[tokio::test]
async fn corrupt_rows_are_decode_errors() {
    let (_dir, db) = open().await;
    let (product, policy) = catalog(&db).await;
    let l = license(&policy);
    let mut tx = db.begin().await.unwrap();
    licenses::insert(&mut tx, &l).await.unwrap();
    tx.commit().await.unwrap();
    // The schema's checks would refuse these rows; only a damaged file holds them.
    for pragma in ["PRAGMA foreign_keys = OFF", "PRAGMA ignore_check_constraints = ON"] {
        sqlx::query(pragma).execute(&db.write).await.unwrap();
    }
    for sql in [
        "UPDATE licenses SET status = 'lost'",
        "UPDATE licenses SET status = 'active', entitlements = 'not json'",
        "UPDATE licenses SET entitlements = '[]', product_id = 'not-a-uuid'",
    ] {
        sqlx::query(sql).execute(&db.write).await.unwrap();
        assert!(licenses::by_id(&db.read, l.id).await.is_err(), "{sql}");
    }
    sqlx::query("UPDATE products SET slug = 'Not A Slug'").execute(&db.write).await.unwrap();
    assert!(products::by_id(&db.read, product.id).await.is_err());
}

/// The counts `/v1/admin/stats` shows, kept by triggers and id spans, equal
/// the rows through inserts, seat changes, pruning and deletes.
#[tokio::test]
async fn maintained_counts_equal_the_rows() {
    let (_dir, db) = open().await;
    let (_, policy) = catalog(&db).await;
    let mut tx = db.begin().await.unwrap();
    let mut seats = vec![];
    for i in 0..3 {
        let l = licenses::License { license_key: format!("KEY-{i}"), ..license(&policy) };
        licenses::insert(&mut tx, &l).await.unwrap();
        let m = seat(&l, &format!("fp-{i}"));
        machines::insert_many(&mut tx, &[(m.clone(), 0)], false).await.unwrap();
        seats.push(m);
    }
    assert!(machines::deactivate(&mut tx, seats[0].id, "test", NOW).await.unwrap());
    assert!(!machines::deactivate(&mut tx, seats[0].id, "again", NOW).await.unwrap());
    machines::reactivate(&mut tx, &seats[0]).await.unwrap();
    assert!(machines::deactivate(&mut tx, seats[1].id, "test", NOW).await.unwrap());
    sqlx::query("DELETE FROM machines WHERE id IN (?, ?)")
        .bind(seats[1].id.to_string())
        .bind(seats[2].id.to_string())
        .execute(&mut *tx)
        .await
        .unwrap();
    let ip: std::net::IpAddr = "10.0.0.1".parse().unwrap();
    let rows: Vec<_> = (0..5)
        .map(|i| {
            let key = events::EventKey { license_id: None, machine_id: None, fingerprint: None, result: "ok" };
            let key = events::EventKey { fingerprint: Some(format!("fp-{i}").into()), ..key };
            (key, events::EventTally { count: 1, ip_count: 1, last_ip: ip })
        })
        .collect();
    events::insert_batch(&mut tx, NOW, &rows).await.unwrap();
    tx.commit().await.unwrap();
    events::prune(&db.write, 0, 3).await.unwrap();
    let counted: (i64, i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM licenses), (SELECT count(*) FROM machines WHERE active = 1), \
         (SELECT count(*) FROM validation_events)",
    )
    .fetch_one(&db.read)
    .await
    .unwrap();
    assert_eq!(counted, (3, 1, 3));
    assert_eq!(events::table_counts(&db.read).await.unwrap(), counted);
}

/// A fingerprint as client libraries send it, and another sharing its last 8
/// characters (what the seat index and `machine_tails` hold of it).
const FP: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
const TWIN_FP: &str = "ffffffffffffffffffffffffffffffffffffffffffffffffffffffff89abcdef";

/// One active seat per fingerprint per license is the database's rule, not
/// only the callers': the seat index holds only the ids' and fingerprints'
/// last 8 characters, so triggers compare the whole values. Seats that share
/// those tails but differ (another license, another fingerprint) are not
/// refused; a second active seat of the same machine is, inserted or
/// reactivated; a freed one is history and refuses nothing.
#[tokio::test]
async fn one_active_seat_per_fingerprint_per_license_is_kept_by_the_database() {
    let (_dir, db) = open().await;
    let (_, policy) = catalog(&db).await;
    let a =
        licenses::License { id: Uuid::parse_str("0191e8a0-0000-7000-8000-0000deadbeef").unwrap(), ..license(&policy) };
    let b = licenses::License {
        id: Uuid::parse_str("0191e8a0-1111-7000-8000-1111deadbeef").unwrap(),
        license_key: "KEY-2".into(),
        ..license(&policy)
    };
    let mut tx = db.begin().await.unwrap();
    licenses::insert(&mut tx, &a).await.unwrap();
    licenses::insert(&mut tx, &b).await.unwrap();
    let held = seat(&a, FP);
    let others = [seat(&a, TWIN_FP), seat(&b, FP)];
    machines::insert_many(&mut tx, &[(held.clone(), 0), (others[0].clone(), 0), (others[1].clone(), 0)], false)
        .await
        .unwrap();
    tx.commit().await.unwrap();

    let mut tx = db.begin().await.unwrap();
    let again = machines::insert_many(&mut tx, &[(seat(&a, FP), 0)], false).await.unwrap_err();
    assert!(again.to_string().contains("one active seat"), "{again}");
    drop(tx);

    let mut tx = db.begin().await.unwrap();
    assert!(machines::deactivate(&mut tx, held.id, "test", NOW).await.unwrap());
    let retaken = seat(&a, FP);
    machines::insert_many(&mut tx, &[(retaken.clone(), 0)], false).await.unwrap();
    let both = machines::reactivate(&mut tx, &held).await.unwrap_err();
    assert!(both.to_string().contains("one active seat"), "{both}");
    drop(tx);

    let mut tx = db.begin().await.unwrap();
    assert!(machines::deactivate(&mut tx, held.id, "test", NOW).await.unwrap());
    machines::reactivate(&mut tx, &held).await.unwrap();
    tx.commit().await.unwrap();
    let seats: Vec<_> = machines::for_license(&db.read, a.id).await.unwrap();
    let mut held_fps: Vec<_> = seats.iter().filter(|m| m.active).map(|m| m.fingerprint.as_str()).collect();
    held_fps.sort();
    assert_eq!(held_fps, [FP, TWIN_FP]);
    assert_eq!(active_seats(&db, &b).await, 1);
}

/// The search finds a machine by its whole fingerprint from the moment it is
/// added: queued, then filed by `fold_tails` (in batches, which empty the
/// queue); a deleted machine is found no more, whether filed or still
/// queued, and a fingerprint that shares only the last 8 characters is not
/// taken for it.
#[tokio::test]
async fn machines_are_found_by_fingerprint_queued_and_filed() {
    let (_dir, db) = open().await;
    let (_, policy) = catalog(&db).await;
    let (a, b) = (license(&policy), licenses::License { license_key: "KEY-2".into(), ..license(&policy) });
    let (held, twin) = (seat(&a, FP), seat(&b, TWIN_FP));
    let mut tx = db.begin().await.unwrap();
    licenses::insert(&mut tx, &a).await.unwrap();
    licenses::insert(&mut tx, &b).await.unwrap();
    machines::insert_many(&mut tx, &[(held.clone(), 0), (twin.clone(), 0)], false).await.unwrap();
    tx.commit().await.unwrap();
    let found = |term: &'static str| {
        let read = db.read.clone();
        async move {
            let found = super::search::licenses(&read, term, None, 10).await.unwrap();
            found.into_iter().map(|l| l.id).collect::<Vec<_>>()
        }
    };
    let queued = || async {
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM machine_tails_new").fetch_one(&db.read).await.unwrap()
    };
    assert_eq!((found(FP).await, queued().await), (vec![a.id], 2), "found while queued");
    assert_eq!(machines::fold_tails(&db).await.unwrap(), 2);
    assert_eq!(machines::fold_tails(&db).await.unwrap(), 0, "nothing left to file");
    assert_eq!((found(FP).await, found(TWIN_FP).await, queued().await), (vec![a.id], vec![b.id], 0), "found filed");

    // Deleted: filed, and queued (a third machine, gone before its fold).
    let gone = seat(&b, "queued-then-gone");
    let mut tx = db.begin().await.unwrap();
    machines::insert_many(&mut tx, &[(gone.clone(), 0)], false).await.unwrap();
    sqlx::query("DELETE FROM machines WHERE id IN (?, ?)")
        .bind(held.id.to_string())
        .bind(gone.id.to_string())
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(machines::fold_tails(&db).await.unwrap(), 1);
    let filed: Vec<String> =
        sqlx::query_scalar("SELECT m.id FROM machine_tails t JOIN machines m ON m.rowid = t.machine")
            .fetch_all(&db.read)
            .await
            .unwrap();
    assert_eq!((filed, queued().await), (vec![twin.id.to_string()], 0));
    let entries: i64 = sqlx::query_scalar("SELECT count(*) FROM machine_tails").fetch_one(&db.read).await.unwrap();
    assert_eq!(entries, 1, "a deleted machine's entry goes with it");
    assert!(found(FP).await.is_empty());
    assert!(found("queued-then-gone").await.is_empty());
    assert_eq!(found(TWIN_FP).await, [b.id]);

    // A new machine given a deleted one's rowid (the highest) is filed as itself.
    let reborn = seat(&a, "reborn");
    let mut tx = db.begin().await.unwrap();
    machines::insert_many(&mut tx, &[(reborn.clone(), 0)], false).await.unwrap();
    tx.commit().await.unwrap();
    let rowid: i64 = sqlx::query_scalar("SELECT rowid FROM machines WHERE id = ?")
        .bind(reborn.id.to_string())
        .fetch_one(&db.read)
        .await
        .unwrap();
    assert_eq!(rowid, 3, "the deleted machine's rowid");
    assert_eq!(machines::fold_tails(&db).await.unwrap(), 1);
    assert_eq!(found("reborn").await, [a.id]);
    assert!(found("queued-then-gone").await.is_empty());
}

/// Licenses written before `key_hash` existed get it when the database is
/// opened; the key's uniqueness and the search by key go through it.
#[tokio::test]
async fn key_hashes_are_backfilled_and_unique() {
    let (_dir, db) = open().await;
    let (_, policy) = catalog(&db).await;
    let l = license(&policy);
    let mut tx = db.begin().await.unwrap();
    licenses::insert(&mut tx, &l).await.unwrap();
    tx.commit().await.unwrap();
    sqlx::query("UPDATE licenses SET key_hash = NULL").execute(&db.write).await.unwrap();
    settings::set(&db.write, "license_key_hash_backfill", "0").await.unwrap();
    assert_eq!(licenses::backfill_key_hashes(&db.write).await.unwrap(), 1);
    assert_eq!(licenses::backfill_key_hashes(&db.write).await.unwrap(), 0, "the marker is cleared");
    let (hash,): (Vec<u8>,) = sqlx::query_as("SELECT key_hash FROM licenses").fetch_one(&db.read).await.unwrap();
    assert_eq!(hash, licenses::key_hash("KEY-1"));
    assert_eq!(super::search::licenses(&db.read, "key-1", None, 10).await.unwrap().len(), 1);
    let mut tx = db.begin().await.unwrap();
    let twin = licenses::License { id: Uuid::new_v4(), ..license(&policy) };
    assert!(is_unique_violation(&licenses::insert(&mut tx, &twin).await.unwrap_err()));
}

/// An event is stored only when an active endpoint subscribes to its type;
/// one that nobody wants leaves no row.
#[tokio::test]
async fn events_nobody_subscribes_to_are_not_stored() {
    let (_dir, db) = open().await;
    let stored = |db: Db| async move {
        let (n,): (i64,) = sqlx::query_as("SELECT count(*) FROM outbox_events").fetch_one(&db.read).await.unwrap();
        n
    };
    let mut tx = db.begin().await.unwrap();
    outbox::enqueue(&mut tx, NOW, outbox::EventType::LicenseIssued, json!({})).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(stored(db.clone()).await, 0);
    let e = webhooks::Endpoint {
        id: Uuid::new_v4(),
        url: "https://example.com/hook".into(),
        description: None,
        events: vec!["machine.activated".into()],
        secret: "s".into(),
        active: true,
        created_at: NOW,
        updated_at: NOW,
    };
    db.subscriptions.changing();
    let mut tx = db.begin().await.unwrap();
    webhooks::insert(&mut tx, &e).await.unwrap();
    outbox::enqueue(&mut tx, NOW, outbox::EventType::LicenseIssued, json!({})).await.unwrap();
    outbox::enqueue(&mut tx, NOW, outbox::EventType::MachineActivated, json!({})).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(stored(db.clone()).await, 1);
}

/// The checkpointer never makes a write fail: a write transaction that read
/// first cannot wait for a checkpoint holding the write lock (SQLite answers
/// `SQLITE_BUSY` at once instead of calling the busy handler), so the
/// checkpoint that starts the WAL over runs on the writer's own connection.
/// Here it is asked for after every commit, while groups read then write.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checkpoints_never_fail_a_write() {
    let (_dir, db) = open().await;
    tokio::spawn(checkpointer(db.checkpoints.clone(), db.write.clone(), 1, Duration::from_millis(1)));
    sqlx::query("CREATE TABLE t (n INTEGER NOT NULL)").execute(&db.write).await.unwrap();
    let mut writers = tokio::task::JoinSet::new();
    for w in 0..4 {
        let db = db.clone();
        writers.spawn(async move {
            for i in 0..100 {
                let mut tx = db.begin().await?;
                let _: i64 = sqlx::query_scalar("SELECT count(*) FROM t").fetch_one(&mut *tx).await?;
                sqlx::query("INSERT INTO t (n) VALUES (?)").bind(w * 1000 + i).execute(&mut *tx).await?;
                tx.commit().await?;
            }
            Ok::<_, sqlx::Error>(())
        });
    }
    while let Some(done) = writers.join_next().await {
        done.unwrap().unwrap();
    }
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM t").fetch_one(&db.read).await.unwrap();
    assert_eq!(n, 400);
}

/// A [`GroupTx`] never leaves a transaction open on the writer: one whose
/// statements failed is rolled back, one dropped with its transaction open
/// closes the connection (a fresh one replaces it); neither keeps what it
/// wrote, and the next write goes through. One that sends `COMMIT` with its
/// last statement keeps it all.
#[tokio::test]
async fn a_group_transaction_is_committed_whole_or_not_at_all() {
    let (_dir, db) = open().await;
    sqlx::query("CREATE TABLE t (n INTEGER NOT NULL UNIQUE)").execute(&db.write).await.unwrap();
    let count = || async { sqlx::query_scalar::<_, i64>("SELECT count(*) FROM t").fetch_one(&db.read).await.unwrap() };

    let mut g = GroupTx::acquire(&db).await.unwrap();
    sqlx::query("BEGIN IMMEDIATE; INSERT INTO t (n) VALUES (1)").execute(g.begun()).await.unwrap();
    let dup = sqlx::query("INSERT INTO t (n) VALUES (2), (1); COMMIT").execute(g.conn()).await;
    assert!(dup.is_err(), "a unique violation fails the statement, and COMMIT is not sent");
    g.rollback().await;

    let mut g = GroupTx::acquire(&db).await.unwrap();
    sqlx::query("BEGIN IMMEDIATE; INSERT INTO t (n) VALUES (3)").execute(g.begun()).await.unwrap();
    drop(g);
    assert_eq!(count().await, 0);

    let mut tx = db.begin().await.unwrap();
    sqlx::query("INSERT INTO t (n) VALUES (4)").execute(&mut *tx).await.unwrap();
    tx.commit().await.unwrap();

    let mut g = GroupTx::acquire(&db).await.unwrap();
    sqlx::query("BEGIN IMMEDIATE; INSERT INTO t (n) VALUES (5)").execute(g.begun()).await.unwrap();
    sqlx::query("INSERT INTO t (n) VALUES (6); COMMIT").execute(g.conn()).await.unwrap();
    g.ended();
    drop(g);
    let kept: Vec<i64> = sqlx::query_scalar("SELECT n FROM t ORDER BY n").fetch_all(&db.read).await.unwrap();
    assert_eq!(kept, vec![4, 5, 6]);
}

/// The seat writer keeps the writer's connection between groups only while
/// changes wait: after a failed group, retried change by change, it never
/// waits for the next change holding it (every other writer would queue
/// behind it until its acquire timed out).
#[tokio::test]
async fn a_failed_seat_group_leaves_the_writer_to_the_others() {
    use crate::licensing::seats::{Outcome, SeatWriter};
    let (_dir, db) = open().await;
    let l = active_license(&db).await;
    refuse_machine_bad(&db).await;
    let writer = SeatWriter::start(db.clone(), 0);
    let take = |fp: &str| take_at_now(&l, fp);
    // Queued together, the failing one first: the group fails, then each is
    // applied alone and the good one, last, succeeds.
    let (bad, good) = tokio::join!(writer.apply(take("bad")), writer.apply(take("good")));
    assert!(bad.is_err());
    assert!(matches!(good, Ok(Outcome::Seat(..))));
    let next = tokio::time::timeout(Duration::from_secs(2), db.begin()).await;
    assert!(matches!(next, Ok(Ok(_))), "the writer's connection is free for the next writer");
}

/// A statement of takes without a read that fails (a trigger refuses one
/// of them) writes none of them and, being its own transaction, leaves none
/// open: the other take goes the long way, on a fresh read, and is taken.
#[tokio::test]
async fn a_failed_statement_of_takes_without_a_read_writes_nothing_and_leaves_no_transaction() {
    use crate::licensing::seats::{Outcome, SeatWriter};
    let (_dir, db) = open().await;
    let (_, policy) = catalog(&db).await;
    refuse_machine_bad(&db).await;
    let writer = SeatWriter::start(db.clone(), 0);
    let (a, b) = (new_license(&db, &policy, false).await, new_license(&db, &policy, false).await);
    let (seen_a, seen_b) = (marked_snapshot(&db, &a).await, marked_snapshot(&db, &b).await);
    let (bad, good) =
        tokio::join!(writer.apply(take_seen(&a, "bad", &seen_a)), writer.apply(take_seen(&b, "good", &seen_b)));
    assert!(bad.is_err());
    let Ok(Outcome::Seat(snap, id, Some(_))) = good else { panic!("taken the long way") };
    assert_eq!((snap.terms.grace_seconds, snap.seat_of("good")), (b.grace_seconds, Some(id)), "on a fresh read");
    assert_eq!((active_seats(&db, &a).await, active_seats(&db, &b).await), (0, 1));
    let next = tokio::time::timeout(Duration::from_secs(2), db.begin()).await;
    assert!(matches!(next, Ok(Ok(_))), "no transaction left open on the writer");
}

/// Two takes of one machine queued together: the first takes the seat (and
/// says how it wrote the row), the second finds it held on the group's view;
/// one row, one seat, and each caller told which it was.
#[tokio::test]
async fn a_seat_taken_twice_at_once_is_taken_once_and_held_once() {
    use crate::licensing::seats::{Outcome, SeatWriter};
    let (_dir, db) = open().await;
    let l = active_license(&db).await;
    let writer = SeatWriter::start(db.clone(), 0);
    let (a, b) = tokio::join!(writer.apply(take_at_now(&l, "same")), writer.apply(take_at_now(&l, "same")));
    let (Ok(Outcome::Seat(_, first, Some(taken))), Ok(Outcome::Seat(snap, second, None))) = (a, b) else {
        panic!("one take, then one held");
    };
    assert_eq!(first, second);
    // The row as the take wrote it: seen now, never lapsing (the catalogue's policy has no timeout).
    assert_eq!((taken.at, taken.lapse_after), (NOW, 0));
    assert_eq!(snap.seats.len(), 1);
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM machines").fetch_one(&db.read).await.unwrap();
    assert_eq!(rows, 1);
    let seen: i64 = sqlx::query_scalar("SELECT last_seen_at FROM machines").fetch_one(&db.read).await.unwrap();
    assert_eq!(seen, NOW);
}

/// Makes the database refuse (`RAISE(ABORT)`) any new machine whose fingerprint is `bad`.
async fn refuse_machine_bad(db: &Db) {
    sqlx::query(
        "CREATE TRIGGER refuse_bad BEFORE INSERT ON machines WHEN NEW.fingerprint = 'bad' \
         BEGIN SELECT RAISE(ABORT, 'refused'); END",
    )
    .execute(&db.write)
    .await
    .unwrap();
}

/// An active license (not a trial) of the catalogue, inserted.
async fn active_license(db: &Db) -> licenses::License {
    let (_, policy) = catalog(db).await;
    new_license(db, &policy, false).await
}

/// A seat take of `l` by machine `fp`, at `NOW`.
fn take_at_now(l: &licenses::License, fp: &str) -> crate::licensing::seats::SeatOp {
    crate::licensing::seats::SeatOp::Take {
        license_id: l.id,
        fingerprint: fp.into(),
        prefix: [0; 10],
        hostname: None,
        platform: None,
        now: NOW,
        seen: None,
    }
}

/// A take of `l` by machine `fp` at `NOW`, decided on the snapshot `seen`
/// (what the hot path sends: the writer first tries it without a read).
fn take_seen(l: &licenses::License, fp: &str, seen: &LicenseSnapshot) -> crate::licensing::seats::SeatOp {
    let mut op = take_at_now(l, fp);
    if let crate::licensing::seats::SeatOp::Take { seen: decided_on, .. } = &mut op {
        *decided_on = Some(seen.clone());
    }
    op
}

/// `l`'s snapshot as stored, with a grace the database does not hold: an
/// answer carrying that grace was made from the caller's snapshot (a take
/// written without a read), one with the stored grace from a fresh read.
async fn marked_snapshot(db: &Db, l: &licenses::License) -> LicenseSnapshot {
    let mut conn = db.read.acquire().await.unwrap();
    let mut snap = licenses::snapshot(&mut conn, l.id).await.unwrap().unwrap();
    let t = &snap.terms;
    let terms = crate::domain::validation::LicenseTerms {
        product_id: t.product_id,
        product_slug: t.product_slug.clone(),
        policy_id: t.policy_id,
        status: t.status,
        grace_seconds: MARK,
        max_machines: t.max_machines,
        is_trial: t.is_trial,
        entitlements: t.entitlements.clone(),
    };
    snap.terms = terms.shared();
    snap
}
const MARK: i64 = 424_242;

/// A license of `policy` (a trial or not), active, inserted under its own key.
async fn new_license(db: &Db, policy: &Policy, is_trial: bool) -> licenses::License {
    let id = Uuid::new_v4();
    let key = format!("KEY-{id}");
    let l = licenses::License { id, license_key: key, status: LicenseStatus::Active, is_trial, ..license(policy) };
    let mut tx = db.begin().await.unwrap();
    licenses::insert(&mut tx, &l).await.unwrap();
    tx.commit().await.unwrap();
    l
}

async fn active_seats(db: &Db, l: &licenses::License) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM machines WHERE license_id = ? AND active = 1")
        .bind(l.id.to_string())
        .fetch_one(&db.read)
        .await
        .unwrap()
}

/// Takes decided on a snapshot are written without a read while the
/// database agrees, and go the long way where it does not: a cap reached by
/// seats the snapshot does not show, a freed seat of the same machine
/// (taken again, not added), a license changed since (its version).
#[tokio::test]
async fn takes_are_written_without_a_read_only_where_the_database_agrees() {
    use crate::domain::validation::Reason;
    use crate::licensing::seats::{Outcome, SeatOp, SeatWriter};
    let (_dir, db) = open().await;
    let (_, policy) = catalog(&db).await;
    let writer = SeatWriter::start(db.clone(), 0);

    // Agreed: written from the snapshot, with the seats as stored after it.
    let l = new_license(&db, &policy, false).await;
    let seen = marked_snapshot(&db, &l).await;
    let Ok(Outcome::Seat(snap, id, Some(taken))) = writer.apply(take_seen(&l, "a", &seen)).await else {
        panic!("taken");
    };
    assert_eq!(snap.terms.grace_seconds, MARK, "written without a read");
    assert_eq!((snap.seats.len(), snap.seat_of("a")), (1, Some(id)));
    assert_eq!((taken.at, taken.lapse_after), (NOW, 0));

    // The cap (2) reached by a seat the snapshot does not show: refused on a fresh read.
    let Ok(Outcome::Seat(..)) = writer.apply(take_at_now(&l, "b")).await else { panic!("second seat") };
    let Ok(Outcome::Refused(Reason::TooManyMachines, snap)) = writer.apply(take_seen(&l, "c", &seen)).await else {
        panic!("the cap holds");
    };
    assert_eq!((snap.terms.grace_seconds, snap.seats.len()), (l.grace_seconds, 2));
    assert_eq!(active_seats(&db, &l).await, 2);

    // A freed seat of the same machine: its row is taken again.
    let Ok(Outcome::Freed(Some(after))) =
        writer.apply(SeatOp::Free { machine_id: id, license_id: l.id, reason: "test".into(), now: NOW }).await
    else {
        panic!("freed");
    };
    let seen = LicenseSnapshot { terms: seen.terms.clone(), ..after };
    let Ok(Outcome::Seat(snap, again, Some(_))) = writer.apply(take_seen(&l, "a", &seen)).await else {
        panic!("taken again");
    };
    assert_eq!((again, snap.terms.grace_seconds), (id, l.grace_seconds));
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM machines").fetch_one(&db.read).await.unwrap();
    assert_eq!(rows, 2, "no row added");

    // Changed since the snapshot (a version later): the long way.
    let l = new_license(&db, &policy, false).await;
    let seen = marked_snapshot(&db, &l).await;
    sqlx::query("UPDATE licenses SET version = version + 1 WHERE id = ?")
        .bind(l.id.to_string())
        .execute(&db.write)
        .await
        .unwrap();
    let Ok(Outcome::Seat(snap, ..)) = writer.apply(take_seen(&l, "a", &seen)).await else { panic!("taken") };
    assert_eq!((snap.version, snap.terms.grace_seconds), (seen.version + 1, l.grace_seconds));
}

/// A take written without a read answers the seats its caller saw and the
/// new one, in the order taken, without reading them back; a seat taken
/// since the snapshot, even with the cap not reached, sends it the long way
/// (the count in the statement differs), whose answer holds both.
#[tokio::test]
async fn a_take_without_a_read_adds_its_seat_to_those_seen_and_only_to_those() {
    use crate::licensing::seats::{Outcome, SeatWriter};
    let (_dir, db) = open().await;
    let (_, policy) = catalog(&db).await;
    let writer = SeatWriter::start(db.clone(), 0);
    let l = new_license(&db, &policy, false).await;
    let seen = marked_snapshot(&db, &l).await;
    let Ok(Outcome::Seat(first, a, _)) = writer.apply(take_seen(&l, "a", &seen)).await else { panic!("a") };
    let Ok(Outcome::Seat(both, b, _)) = writer.apply(take_seen(&l, "b", &first)).await else { panic!("b") };
    assert_eq!(both.terms.grace_seconds, MARK, "written without a read");
    assert_eq!(both.seats.as_slice().iter().map(|s| s.id).collect::<Vec<_>>(), [a, b]);
    assert_eq!(
        both.seats,
        licenses::snapshot(&mut db.read.acquire().await.unwrap(), l.id).await.unwrap().unwrap().seats
    );

    // Seen with no seat, one taken since (the cap of 2 not reached): the long way.
    let l = new_license(&db, &policy, false).await;
    let seen = marked_snapshot(&db, &l).await;
    let Ok(Outcome::Seat(..)) = writer.apply(take_at_now(&l, "p")).await else { panic!("p") };
    let Ok(Outcome::Seat(snap, q, _)) = writer.apply(take_seen(&l, "q", &seen)).await else { panic!("q") };
    assert_eq!(snap.terms.grace_seconds, l.grace_seconds, "read first");
    assert_eq!((snap.seats.len(), snap.seat_of("q")), (2, Some(q)));
    assert!(snap.seat_of("p").is_some());
    assert_eq!(active_seats(&db, &l).await, 2);
}

/// A group tries one take per license without a read: of five takes of one
/// license queued at once, the first, and the rest the long way, on a view
/// that holds it (two seats, the cap). A trial always goes the long way,
/// which remembers its machine (one trial per machine).
#[tokio::test]
async fn a_group_takes_one_seat_per_license_without_a_read_and_no_trial() {
    use crate::domain::validation::Reason;
    use crate::licensing::seats::{Outcome, SeatWriter};
    let (_dir, db) = open().await;
    let (_, policy) = catalog(&db).await;
    let writer = SeatWriter::start(db.clone(), 0);
    let l = new_license(&db, &policy, false).await;
    let seen = marked_snapshot(&db, &l).await;
    let fps = ["p", "q", "r", "s", "t"];
    let answers = futures::future::join_all(fps.iter().map(|fp| writer.apply(take_seen(&l, fp, &seen)))).await;
    let marks: Vec<Option<bool>> = answers
        .iter()
        .map(|a| match a {
            Ok(Outcome::Seat(snap, ..)) => Some(snap.terms.grace_seconds == MARK),
            Ok(Outcome::Refused(Reason::TooManyMachines, _)) => None,
            _ => panic!("a seat or the cap"),
        })
        .collect();
    assert_eq!(marks, vec![Some(true), Some(false), None, None, None]);
    assert_eq!(active_seats(&db, &l).await, 2);

    let t = new_license(&db, &policy, true).await;
    let seen = marked_snapshot(&db, &t).await;
    let Ok(Outcome::Seat(snap, ..)) = writer.apply(take_seen(&t, "trial-machine", &seen)).await else {
        panic!("trial seat");
    };
    assert_eq!(snap.terms.grace_seconds, t.grace_seconds);
    let trials: i64 = sqlx::query_scalar("SELECT count(*) FROM trial_machines").fetch_one(&db.read).await.unwrap();
    assert_eq!(trials, 1);
}

/// Takes of several licenses share one statement, its rows bound in a
/// power-of-two count (three takes, four rows): each license gets the seat
/// its caller described, written without a read, and the padding writes nothing.
#[tokio::test]
async fn takes_of_several_licenses_share_one_statement_whose_padding_writes_nothing() {
    use crate::licensing::seats::{Outcome, SeatOp, SeatWriter};
    let (_dir, db) = open().await;
    let (_, policy) = catalog(&db).await;
    let writer = SeatWriter::start(db.clone(), 0);
    let (mut licenses, mut ops) = (Vec::new(), Vec::new());
    for i in 0..3 {
        let l = new_license(&db, &policy, false).await;
        let mut op = take_seen(&l, &format!("fp-{i}"), &marked_snapshot(&db, &l).await);
        if let SeatOp::Take { hostname, platform, .. } = &mut op {
            (*hostname, *platform) = (Some(format!("host-{i}")), (i == 1).then(|| "linux".to_owned()));
        }
        licenses.push(l);
        ops.push(op);
    }
    let answers = futures::future::join_all(ops.into_iter().map(|op| writer.apply(op))).await;
    for (i, (l, answer)) in licenses.iter().zip(answers).enumerate() {
        let Ok(Outcome::Seat(snap, id, Some(_))) = answer else { panic!("taken") };
        assert_eq!((snap.license_id, snap.terms.grace_seconds, snap.seats.len()), (l.id, MARK, 1));
        assert_eq!(snap.seat_of(&format!("fp-{i}")), Some(id));
    }
    let stored: Vec<machines::Machine> =
        sqlx::query_as(&format!("SELECT {} FROM machines", machines::COLUMNS)).fetch_all(&db.read).await.unwrap();
    let mut rows: Vec<_> = stored
        .into_iter()
        .map(|m| (m.license_id, m.fingerprint, m.hostname, m.platform, m.activated_at, m.last_seen_at))
        .collect();
    rows.sort_by(|a, b| a.1.cmp(&b.1));
    let expected: Vec<_> = (0..3)
        .map(|i| {
            let platform = (i == 1).then(|| "linux".to_owned());
            (licenses[i].id, format!("fp-{i}"), Some(format!("host-{i}")), platform, NOW, NOW)
        })
        .collect();
    assert_eq!(rows, expected);
}

/// Seats taken in one second are read back in the order taken (the
/// snapshot's) and listed newest first, whatever their ids (made in one
/// millisecond, they are not ordered): here the ids are out of order.
#[tokio::test]
async fn seats_of_one_second_keep_the_order_they_were_taken_in() {
    let (_dir, db) = open().await;
    let (_, policy) = catalog(&db).await;
    let l = licenses::License { max_machines: 0, ..license(&policy) };
    let ids = [Uuid::from_u128(2), Uuid::from_u128(3), Uuid::from_u128(1)];
    let mut tx = db.begin().await.unwrap();
    licenses::insert(&mut tx, &l).await.unwrap();
    for (id, fp) in ids.iter().zip(["a", "b", "c"]) {
        machines::insert_many(&mut tx, &[(machines::Machine { id: *id, ..seat(&l, fp) }, 0)], false).await.unwrap();
    }
    tx.commit().await.unwrap();
    let snap = licenses::snapshot(&mut db.read.acquire().await.unwrap(), l.id).await.unwrap().unwrap();
    assert_eq!(snap.seats.as_slice().iter().map(|s| s.id).collect::<Vec<_>>(), ids);
    let listed = machines::for_license(&db.read, l.id).await.unwrap();
    assert_eq!(listed.iter().map(|m| m.id).rev().collect::<Vec<_>>(), ids);
}

/// E-mails queued in one second are sent in the order queued, whatever
/// their ids (made in one millisecond, they are not ordered).
#[tokio::test]
async fn mail_queued_in_one_second_is_due_in_the_order_queued() {
    let (_dir, db) = open().await;
    let mut tx = db.begin().await.unwrap();
    let mut queued = Vec::new();
    for n in 0..40 {
        let to = format!("buyer{n}@example.com");
        let m =
            email::NewEmail { kind: email::EmailKind::License, to: &to, license_id: None, notice: None, text: None };
        queued.push(email::enqueue(&mut tx, NOW, m).await.unwrap().to_string());
    }
    tx.commit().await.unwrap();
    let due: Vec<String> = email::due(&db.read, NOW, 100).await.unwrap().into_iter().map(|m| m.id).collect();
    assert_eq!(due, queued);
}

/// A call that holds a seat is tallied without its fingerprint and written
/// naming its machine, whose fingerprint the log's reader shows; a refusal
/// without a seat keeps the one it sent.
#[tokio::test]
async fn a_seat_holders_calls_are_logged_with_its_machines_fingerprint() {
    let (_dir, db) = open().await;
    let (_, policy) = catalog(&db).await;
    let l = license(&policy);
    let m = seat(&l, "fp-seat");
    let mut tx = db.begin().await.unwrap();
    licenses::insert(&mut tx, &l).await.unwrap();
    machines::insert_many(&mut tx, &[(m.clone(), 0)], false).await.unwrap();
    let ip: std::net::IpAddr = "10.0.0.1".parse().unwrap();
    let tally = events::EventTally { count: 2, ip_count: 1, last_ip: ip };
    let held = events::EventKey { license_id: Some(l.id), machine_id: Some(m.id), fingerprint: None, result: "ok" };
    let refused = events::EventKey {
        machine_id: None,
        fingerprint: Some("fp-other".into()),
        result: "too_many_machines",
        ..held.clone()
    };
    events::insert_batch(&mut tx, NOW, &[(held, tally.clone()), (refused, tally)]).await.unwrap();
    tx.commit().await.unwrap();
    // Stored: the seat's machine, not a copy of its fingerprint (looked up as
    // each row was written, that was two thirds of the row's cost).
    let stored: Vec<(Option<String>, Option<String>)> =
        sqlx::query_as("SELECT machine_id, fingerprint FROM validation_events ORDER BY id")
            .fetch_all(&db.read)
            .await
            .unwrap();
    assert_eq!(stored, vec![(Some(m.id.to_string()), None), (None, Some("fp-other".into()))]);
    // Read (newest first): each call with its fingerprint.
    let read: Vec<(Option<String>, String, i64)> = events::for_license(&db.read, l.id, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|e| (e.fingerprint, e.result, e.count))
        .collect();
    assert_eq!(
        read,
        vec![(Some("fp-other".into()), "too_many_machines".into(), 2), (Some("fp-seat".into()), "ok".into(), 2)]
    );
}

/// A key the caches do not hold: one stored whole is answered from its row
/// (its signature is not checked again: the database is where this server
/// keeps the keys it signed); a former key of the same license, signed
/// before its terms changed, is verified and names the same license; a key
/// signed by anyone else, or tampered with, is refused.
#[tokio::test]
async fn keys_missing_from_the_cache_are_found_whole_or_verified() {
    use crate::domain::validation::Reason;
    use crate::licensing::{events::EventQueue, Licensing, Refusal};
    use ed25519_dalek::SigningKey;
    let (_dir, db) = open().await;
    let (_, policy) = catalog(&db).await;
    let ours = SigningKey::from_bytes(&[7; 32]);
    let theirs = SigningKey::from_bytes(&[8; 32]);
    let base = license(&policy);
    let key = |signer: &SigningKey, license_id: Uuid, expires_at: i64| {
        let payload = keysat_client::Payload {
            version: 2,
            flags: 0,
            product_id: policy.product_id,
            license_id,
            issued_at: NOW as u64,
            expires_at: expires_at as u64,
            fingerprint_hash: [0; 32],
            entitlements: vec![],
        };
        keysat_client::sign(&payload, signer).unwrap()
    };
    let insert = |l: licenses::License| {
        let db = db.clone();
        async move {
            let mut tx = db.begin().await.unwrap();
            licenses::insert(&mut tx, &l).await.unwrap();
            tx.commit().await.unwrap();
        }
    };
    let (renewed, stored_foreign) = (Uuid::new_v4(), Uuid::new_v4());
    let current = key(&ours, renewed, NOW + 200);
    let former = key(&ours, renewed, NOW + 100);
    let foreign = key(&theirs, stored_foreign, NOW + 100);
    insert(licenses::License {
        id: renewed,
        license_key: current.clone(),
        status: LicenseStatus::Active,
        ..base.clone()
    })
    .await;
    // Stored whole, so trusted as the database's own (no key of someone else's signing is ever stored).
    insert(licenses::License { id: stored_foreign, license_key: foreign.clone(), ..base.clone() }).await;

    let (shutdown, rx) = tokio::sync::watch::channel(false);
    let cadence = crate::config::Cadence { fold_seconds: 60, last_seen_resolution_seconds: 60 };
    let (events, _writer) = EventQueue::start(db.clone(), cadence, rx);
    let licensing = Licensing::new(db.clone(), keysat_client::PublicKey::from(ours.verifying_key()), events, 0, 100);
    let resolved = |k: String| {
        let licensing = &licensing;
        async move { licensing.resolve(&k).await.map(|(v, s)| (v.license_id, s.license_id)) }
    };
    let bad_signature = |r: Result<_, Refusal>| matches!(r, Err(Refusal::Reason { reason: Reason::BadSignature, .. }));
    let mut tampered = current.clone().into_bytes();
    let last = tampered.len() - 2;
    tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).unwrap();
    // First with nothing cached, then again with every license cached (the
    // current key found by its digest in the snapshot, the former one
    // remembered): the same answers.
    for round in ["empty cache", "cached"] {
        assert_eq!(resolved(current.clone()).await.ok(), Some((renewed, renewed)), "{round}");
        assert_eq!(resolved(former.clone()).await.ok(), Some((renewed, renewed)), "{round}");
        assert_eq!(resolved(foreign.clone()).await.ok(), Some((stored_foreign, stored_foreign)), "{round}");
        // The current key lower-cased is still the key (base32 either case), though not as stored.
        assert_eq!(resolved(current.to_lowercase()).await.ok(), Some((renewed, renewed)), "{round}");
        // Not stored and not ours: refused, even naming a license that exists.
        assert!(bad_signature(resolved(key(&theirs, renewed, NOW + 200)).await), "{round}");
        assert!(matches!(
            resolved(tampered.clone()).await,
            Err(Refusal::Reason { reason: Reason::BadSignature | Reason::BadFormat, .. })
        ));
    }
    assert!(licensing.cache.snapshot(&renewed).is_some());
    // Every validation's future is moved (copied) a few times before it runs;
    // the database reads and the seat take are boxed so that their state does
    // not make it several times larger (2,032 bytes inline, 712 boxed, release).
    let input = crate::licensing::ValidateInput {
        key: &current,
        product_slug: None,
        fingerprint: Some("fp"),
        hostname: None,
        platform: None,
    };
    let size =
        std::mem::size_of_val(&licensing.validate(&input, std::net::Ipv4Addr::LOCALHOST.into(), Default::default()));
    assert!(size <= 1024, "a validation's future is {size} bytes");
    shutdown.send(true).unwrap();
}
