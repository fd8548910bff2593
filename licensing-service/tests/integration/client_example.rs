//! `keysat-client`'s example app (`licensing-client/examples/offline_cycle`)
//! run against a live daemon: online with a signed answer, an offline
//! lease, an air-gapped activation — each verified by the client crate.

use keysat_client::{ActivationChallenge, PublicKey, SignedLease};
use rand::RngCore;
use serde_json::json;

use crate::common::*;

#[path = "../../../licensing-client/examples/offline_cycle/cycle.rs"]
mod cycle;

#[tokio::test(flavor = "multi_thread")]
async fn the_example_app_runs_the_whole_cycle() {
    let app = spawn_app().await;
    app.create_product("app", json!({"entitlements_catalog": [{"slug": "pro", "name": "Pro"}]})).await;
    app.create_policy("app", json!({"slug": "default", "max_machines": 3, "entitlements": ["pro"]})).await;
    let (id, key) = app.issue_license("app", "default").await;
    let base = app.base.clone();
    let run_key = key.clone();
    let report = tokio::task::spawn_blocking(move || {
        let mut random = |buf: &mut [u8]| rand::rngs::OsRng.fill_bytes(buf);
        cycle::run(&base, &run_key, "desk-fp", "vault-fp", &mut random).map_err(|e| e.to_string())
    })
    .await
    .unwrap()
    .expect("the cycle completes");
    assert_eq!(report.license_id.to_string(), id);
    let pk: PublicKey = app.public_key().await;
    SignedLease::parse(&report.lease).unwrap().verify_at(&pk, "desk-fp", cycle::now()).unwrap();
    let challenge = ActivationChallenge::parse(&report.challenge).unwrap();
    keysat_client::verify_activation(&report.response, &challenge, &pk, "vault-fp", cycle::now()).unwrap();
    assert!(report.response_expires_at > cycle::now() && report.lease_expires_at > cycle::now());
    // Two machines hold seats: the online one and the air-gapped one.
    assert_eq!(app.license(&id).await["active_machines"], 2);
    app.stop().await;
}
