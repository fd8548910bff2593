//! Conformance with BTCPay Server's own Greenfield spec
//! (`shared/btcpay/greenfield.openapi.json`): every request shape Keysat's
//! BTCPay client produces goes through Prism, which refuses any spec
//! violation; the simulator's webhook bodies are validated against the
//! spec's `x-webhooks` schemas (Ajv). Both tools come from `tests/js`
//! (`npm ci` there; `.ci/run` does it).

mod common;

use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::btcpay_sim::BtcpaySim;
use common::spawn_app;
use keysat::payment::btcpay::client::Client;
use keysat::payment::btcpay::{connect, Btcpay};
use keysat::payment::{Amount, CheckoutRequest, PaymentProvider};
use serde_json::json;
use url::Url;
use uuid::Uuid;

fn spec() -> PathBuf {
    PathBuf::from(format!("{}/../../shared/btcpay/greenfield.openapi.json", env!("CARGO_MANIFEST_DIR")))
}

fn js_dir() -> PathBuf {
    let dir = PathBuf::from(format!("{}/tests/js", env!("CARGO_MANIFEST_DIR")));
    assert!(
        dir.join("node_modules/.bin/prism").exists(),
        "Prism is not installed: run `npm ci` in licensing-service/tests/js (CI's .ci/run does)"
    );
    dir
}

/// Prism validating requests against the spec (a violation is a 4xx with
/// `sl-violations`; the spec's own sample responses are served as they are);
/// killed on drop.
struct Prism {
    child: Child,
    base: String,
}

impl Drop for Prism {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_prism() -> Prism {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let child = Command::new(js_dir().join("node_modules/.bin/prism"))
        .args(["mock", "-h", "127.0.0.1", "-p", &port.to_string()])
        .arg(spec())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start prism");
    let prism = Prism { child, base: format!("http://127.0.0.1:{port}") };
    let deadline = Instant::now() + Duration::from_secs(90);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "prism did not start within 90 s");
        std::thread::sleep(Duration::from_millis(200));
    }
    prism
}

#[tokio::test]
async fn every_greenfield_request_keysat_makes_conforms_to_the_spec() {
    let prism = start_prism();
    let base = Url::parse(&prism.base).unwrap();
    let client = Client::new(&base, "conformance-key").unwrap();

    // Prism bites: a request that breaks the spec is refused.
    let bad = reqwest::Client::new()
        .post(format!("{}/api/v1/stores/S1/invoices", prism.base))
        .header("Authorization", "token x")
        .json(&json!({"amount": 5000, "currency": "SATS"}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status().as_u16(), 400);
    assert!(bad.headers().contains_key("sl-violations"));

    client.current_key().await.expect("GET /api/v1/api-keys/current");
    client.stores().await.expect("GET /api/v1/stores");
    client.store("S1").await.expect("GET /api/v1/stores/{storeId}");
    let hook = connect::register_webhook(&client, "S1", "https://keysat.example/v1/btcpay/webhook", "s3cret")
        .await
        .expect("POST /api/v1/stores/{storeId}/webhooks");
    client.delete_webhook(&hook).await.expect("DELETE /api/v1/webhooks/{webhookId}");

    let provider = Btcpay::new(client.clone(), "S1".into(), "s3cret".into());
    for (amount, email) in [
        (Amount::Sats(5000), Some("buyer@example.com".to_string())),
        (Amount::Fiat { amount: "25.00".into(), currency: "USD".into() }, None),
    ] {
        let req = CheckoutRequest {
            invoice_id: Uuid::new_v4(),
            amount,
            description: "App — Pro".into(),
            buyer_email: email,
            redirect_url: "https://keysat.example/thank-you?invoice=1".into(),
        };
        provider.create_checkout(&req).await.expect("POST /api/v1/stores/{storeId}/invoices");
    }
    provider.invoice("HMprBnL9BTXWuPvpoKBS6e").await.expect("GET /api/v1/invoices/{invoiceId}");
    provider.find_by_order(Uuid::new_v4()).await.expect("GET /api/v1/stores/{storeId}/invoices?orderId=");
    assert!(provider.health().await.ok);
}

#[tokio::test]
async fn simulator_webhook_bodies_match_the_spec_schemas() {
    let app = spawn_app().await;
    let sim = BtcpaySim::start(&[("S1", "Shop")]).await;
    app.connect_btcpay(&sim, &["S1"]).await;
    app.product_with_policy("app", json!({"price_sats": 1000})).await;
    let mut ids = Vec::new();
    for _ in 0..3 {
        let p = app.purchase(json!({"product": "app"})).await.expect(200);
        ids.push(p["btcpay_invoice_id"].as_str().unwrap().to_string());
    }
    sim.pay_and_settle(&ids[0]).await;
    sim.expire(&ids[1]).await;
    sim.invalidate(&ids[2]).await;

    let sent = sim.sent_webhooks();
    let mut types: Vec<&str> = sent.iter().filter_map(|b| b["type"].as_str()).collect();
    types.sort();
    types.dedup();
    assert_eq!(
        types,
        [
            "InvoiceCreated",
            "InvoiceExpired",
            "InvoiceInvalid",
            "InvoicePaymentSettled",
            "InvoiceProcessing",
            "InvoiceReceivedPayment",
            "InvoiceSettled"
        ]
    );
    let file = tempfile::NamedTempFile::new().unwrap();
    let lines: Vec<String> = sent.iter().map(|b| b.to_string()).collect();
    std::fs::write(file.path(), lines.join("\n")).unwrap();
    let out = Command::new("node")
        .arg(js_dir().join("validate-webhooks.mjs"))
        .arg(spec())
        .arg(file.path())
        .output()
        .expect("run node");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "webhook bodies break the spec:\n{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains(&format!("{n}/{n} valid", n = sent.len())), "{stdout}");
}
