//! Crash test: 200 purchases paid in the BTCPay simulator while the real
//! `keysat` binary is killed with SIGKILL at random moments and restarted,
//! with 30% of webhook deliveries dropped and others duplicated or held back
//! and delivered out of order. After the last restart and one
//! reconciliation pass: every paid invoice has exactly one license, no
//! unpaid invoice has one, and every license has its audit record.

use std::collections::HashMap;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::common::btcpay_sim::{BtcpaySim, Chaos};
use crate::common::{free_port, KEYSAT_BIN};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, Row};

const KEY: &str = "ksa-chaos-admin-key-5d1c0b7e93a2";
const PURCHASES: usize = 200;

struct Daemon {
    child: Option<Child>,
    port: u16,
    data: std::path::PathBuf,
    starts: u32,
    kills: u32,
}

impl Daemon {
    fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn start(&mut self, min_age: &str) {
        let child = Command::new(KEYSAT_BIN)
            .arg("serve")
            .env_clear()
            .env("KEYSAT_BIND", format!("127.0.0.1:{}", self.port))
            .env("KEYSAT_DATA_DIR", &self.data)
            .env("KEYSAT_ADMIN_API_KEY", KEY)
            .env("KEYSAT_NOSTR_RELAYS", "")
            .env("KEYSAT_PURCHASE_RATE_PER_MINUTE", "100000")
            .env("KEYSAT_PURCHASE_GLOBAL_RATE_PER_MINUTE", "100000")
            // Two hundred buyers, all from loopback: no per-address cap on unpaid invoices.
            .env("KEYSAT_MAX_PENDING_PER_ADDRESS", "100000")
            .env("KEYSAT_RECONCILE_MIN_AGE_SECONDS", min_age)
            .env("RUST_LOG", "error")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start keysat");
        self.child = Some(child);
        self.starts += 1;
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "keysat did not come back within 30 s");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill(); // SIGKILL
            let _ = c.wait();
            self.kills += 1;
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

async fn admin(http: &reqwest::Client, base: &str, path: &str, body: Value) -> reqwest::Result<Value> {
    http.post(format!("{base}/v1/admin{path}")).bearer_auth(KEY).json(&body).send().await?.json().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn purchases_survive_sigkill_and_lost_duplicated_reordered_webhooks() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let daemon = Arc::new(Mutex::new(Daemon { child: None, port, data: dir.path().into(), starts: 0, kills: 0 }));
    daemon.lock().unwrap().start("30");
    let base = daemon.lock().unwrap().base();
    let http = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().unwrap();

    // Connect the simulator and put a product on sale.
    let sim = BtcpaySim::start(&[("ChaosStore", "Chaos")]).await;
    let started = admin(&http, &base, "/btcpay/connect", json!({"btcpay_url": sim.base})).await.unwrap();
    let consent = sim.consent(started["authorize_url"].as_str().unwrap(), &["ChaosStore"]);
    let page = http.post(&consent.redirect).form(&consent.form).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("Connected to store"), "{page}");
    admin(&http, &base, "/products", json!({"slug": "app", "name": "App", "price_sats": 2100})).await.unwrap();
    admin(&http, &base, "/products/app/policies", json!({"slug": "default", "name": "Default", "price_sats": 2100}))
        .await
        .unwrap();
    sim.set_chaos(Chaos { drop: 0.3, duplicate: 0.3, hold: 0.2 });

    // The killer: SIGKILL at random moments, restart shortly after.
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let killer = {
        let (daemon, stop) = (daemon.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut rng = StdRng::seed_from_u64(42);
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(rng.gen_range(30..400)));
                let mut d = daemon.lock().unwrap();
                d.kill();
                std::thread::sleep(Duration::from_millis(rng.gen_range(0..100)));
                d.start("30");
            }
        })
    };

    let mut rng = StdRng::seed_from_u64(2026);
    let mut ours: HashMap<String, String> = HashMap::new(); // BTCPay id → our invoice id
    let mut paid = 0;
    let mut left_unpaid = 0;
    let mut expired = 0;
    let mut retries = 0;
    for i in 0..PURCHASES {
        let mut key = format!("chaos-{i}");
        let purchase = loop {
            let r = http
                .post(format!("{base}/v1/purchase"))
                .header("Idempotency-Key", &key)
                .json(&json!({"product": "app", "buyer_email": format!("buyer{i}@example.com")}))
                .send()
                .await;
            match r {
                Ok(resp) if resp.status().is_success() => break resp.json::<Value>().await.unwrap(),
                Ok(resp) if resp.status().as_u16() == 409 => key = format!("chaos-{i}-{retries}"),
                _ => {}
            }
            retries += 1;
            tokio::time::sleep(Duration::from_millis(30)).await;
        };
        let btcpay_id = purchase["btcpay_invoice_id"].as_str().unwrap().to_string();
        ours.insert(btcpay_id.clone(), purchase["invoice_id"].as_str().unwrap().to_string());
        match rng.gen_range(0..10) {
            0 => {
                sim.expire(&btcpay_id).await;
                expired += 1;
            }
            1 => left_unpaid += 1,
            _ => {
                sim.pay_and_settle(&btcpay_id).await;
                paid += 1;
            }
        }
        if i % 10 == 9 {
            sim.release_held().await;
        }
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    killer.join().unwrap();
    sim.release_held().await;

    // The last restart, then one reconciliation pass over everything pending
    // (the start-up pass and the one asked for run one after the other).
    daemon.lock().unwrap().kill();
    let before: i64 = {
        let mut db = SqliteConnectOptions::new().filename(dir.path().join("keysat.db")).connect().await.unwrap();
        sqlx::query_scalar("SELECT count(*) FROM licenses").fetch_one(&mut db).await.unwrap()
    };
    daemon.lock().unwrap().start("0");
    let report = admin(&http, &base, "/btcpay/reconcile", json!({})).await.unwrap();
    assert_eq!(report["error"], Value::Null, "{report}");
    let (starts, kills) = {
        let mut d = daemon.lock().unwrap();
        d.kill();
        (d.starts, d.kills)
    };

    // Check the database itself.
    let mut db =
        SqliteConnectOptions::new().filename(dir.path().join("keysat.db")).read_only(true).connect().await.unwrap();
    let invoices: HashMap<String, String> = sqlx::query("SELECT id, status FROM invoices")
        .fetch_all(&mut db)
        .await
        .unwrap()
        .into_iter()
        .map(|r| (r.get::<String, _>(0), r.get::<String, _>(1)))
        .collect();
    let licenses: Vec<(String, Option<String>)> = sqlx::query("SELECT id, invoice_id FROM licenses")
        .fetch_all(&mut db)
        .await
        .unwrap()
        .into_iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    let audited: std::collections::HashSet<String> =
        sqlx::query("SELECT target_id FROM audit_log WHERE action = 'license.issue'")
            .fetch_all(&mut db)
            .await
            .unwrap()
            .into_iter()
            .map(|r| r.get(0))
            .collect();
    let mut per_invoice: HashMap<String, usize> = HashMap::new();
    for (_, inv) in &licenses {
        *per_invoice.entry(inv.clone().expect("every license here is a purchase")).or_default() += 1;
    }

    let sim_invoices = sim.invoices();
    let mut settled_at_btcpay = 0;
    for si in &sim_invoices {
        let order = si.metadata["orderId"].as_str().unwrap().to_string();
        let n = per_invoice.get(&order).copied().unwrap_or(0);
        if si.status == "Settled" {
            settled_at_btcpay += 1;
            assert_eq!(n, 1, "paid invoice {order} has {n} licenses");
            assert_eq!(invoices.get(&order).map(String::as_str), Some("settled"), "paid invoice {order}");
        } else {
            assert_eq!(n, 0, "unpaid invoice {order} ({}) has a license", si.status);
        }
    }
    assert_eq!(settled_at_btcpay, paid, "every purchase the test paid was settled at BTCPay");
    for (id, inv) in &licenses {
        assert!(audited.contains(id), "license {id} has no audit record");
        assert!(sim_invoices.iter().any(|s| s.metadata["orderId"] == json!(inv) && s.status == "Settled"));
    }
    assert_eq!(licenses.len(), paid);

    // The chaos happened: without it, the checks above would prove nothing.
    let fate = sim.fate();
    let webhooks = sim.sent_webhooks().len();
    eprintln!(
        "chaos: {PURCHASES} purchases ({} provider invoices), {paid} paid, {expired} expired, {left_unpaid} left unpaid; \
         {kills} SIGKILLs, {starts} starts, {retries} purchase retries; {webhooks} webhook events, {fate:?}; \
         {before} licenses before the last restart, {} after reconciliation",
        sim_invoices.len(),
        licenses.len()
    );
    // The killer ran while the buyers bought: one kill per start but the last
    // (the test's own final kill included), and more than the final two.
    assert_eq!(kills, starts, "every start was ended by a SIGKILL");
    assert!(kills > 2, "the killer SIGKILLed the daemon while purchases ran ({kills} kills)");
    assert!(fate.dropped > 0, "webhook deliveries were dropped: {fate:?}");
    assert!(fate.duplicated > 0, "webhook deliveries were duplicated: {fate:?}");
    assert!(fate.held > 0 && fate.reordered > 0, "webhook deliveries were held back and reordered: {fate:?}");
    assert!(paid > 0 && expired > 0 && left_unpaid > 0, "every buyer fate occurred");
    // Reconciliation had work: some paid invoices had no license until the
    // last start-up's pass asked BTCPay about them.
    assert!(before < paid as i64, "{before} licenses before the last restart, {paid} paid: nothing left to reconcile");
}
