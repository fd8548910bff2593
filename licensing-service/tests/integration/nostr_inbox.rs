//! NIP-17 as Nostr clients expect it, with two relays in-process: relay A is
//! Keysat's, relay B is only a buyer's DM inbox (named in the buyer's kind
//! 10050 list, published to A). The DM reaches B and not A; a buyer without
//! a 10050 list still gets it on Keysat's relay; Keysat's own profile
//! (kind 0) is on its relay, follows the operator's name and is published
//! again at start-up.

use std::time::Duration;

use crate::common::*;
use crate::delivery_support::*;
use crate::internals::{Config, RetrySchedule};
use nostr_sdk::{Client, Event, EventBuilder, Filter, Keys, Kind, PublicKey, RelayUrl, Tag, TagStandard};
use serde_json::{json, Value};

fn fast(c: &mut Config) {
    c.nostr_retry = RetrySchedule::parse("1s,1s,1s,1s,1s,1s,1s,1s,1s,1s").unwrap();
}

/// A client of `keys` on one relay (to publish or read what is there).
async fn client_on(relay: &str, keys: Keys) -> Client {
    let client = Client::new(keys);
    client.add_relay(relay).await.unwrap();
    client.connect().await;
    client.wait_for_connection(Duration::from_secs(5)).await;
    client
}

/// The buyer says, on `on`, that they read DMs at `inbox` (NIP-17 kind 10050).
async fn publish_inbox_list(on: &str, buyer: &Keys, inbox: &[&str]) {
    let client = client_on(on, buyer.clone()).await;
    let tags = inbox.iter().map(|r| Tag::from_standardized(TagStandard::Relay(RelayUrl::parse(r).unwrap())));
    client.send_event_builder(EventBuilder::new(Kind::InboxRelays, "").tags(tags)).await.expect("list published");
    client.shutdown().await;
}

/// Waits until the license's DM is delivered; returns its delivery record.
async fn delivered(app: &TestApp, license_id: &str) -> Value {
    poll(WAIT, || async {
        let d = app.license(license_id).await["nostr_delivery"].clone();
        (d["state"] == "delivered").then_some(d)
    })
    .await
    .expect("the DM was delivered in time")
}

/// Events of `kind` by `author` on `relay`.
async fn events_on(relay: &str, author: PublicKey, kind: Kind) -> Vec<Event> {
    let client = client_on(relay, Keys::generate()).await;
    let found = client.fetch_events(Filter::new().author(author).kind(kind), Duration::from_secs(2)).await;
    client.shutdown().await;
    found.map(|e| e.into_iter().collect()).unwrap_or_default()
}

/// The newest kind 0 of `author` on `relay`, parsed.
async fn profile_on(relay: &str, author: PublicKey) -> Option<Value> {
    let newest = events_on(relay, author, Kind::Metadata).await.into_iter().max_by_key(|e| e.created_at)?;
    serde_json::from_str(&newest.content).ok()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_dm_goes_to_the_inbox_relay_of_the_buyers_10050_list() {
    let keysat_relay = start_relay(None).await;
    let inbox_relay = start_relay(None).await;
    let app = spawn_with(fast).await;
    use_relays(&app, &[&keysat_relay.url]).await;
    app.product_with_policy("app", json!({})).await;
    let buyer_keys = Keys::generate();
    publish_inbox_list(&keysat_relay.url, &buyer_keys, &[&inbox_relay.url]).await;

    let buyer = NostrUser::with_keys(&inbox_relay.url, buyer_keys.clone()).await;
    let issued = app.issue(json!({"product_slug": "app", "buyer_npub": buyer.npub()})).await;
    let d = delivered(&app, issued["license_id"].as_str().unwrap()).await;
    assert_eq!(d["relays_accepted"], json!([inbox_relay.url]), "{d}");

    let dms = buyer.wait_for_dms(1, WAIT).await;
    assert_eq!(dms[0].sender, keysat_key(&app).await);
    assert_eq!(dms[0].kind, Kind::PrivateDirectMessage);
    let keys = keys_in(&dms[0].content);
    assert_eq!(keys, vec![issued["license_key"].as_str().unwrap().to_string()]);
    keysat_client::verify(&keys[0], &app.public_key().await).expect("the key verifies offline");

    // Not published to Keysat's own relay: the buyer reads elsewhere.
    let on_keysats = NostrUser::with_keys(&keysat_relay.url, buyer_keys).await;
    assert!(on_keysats.dms().await.is_empty(), "the gift wrap went to the inbox relay only");

    // A second message to the same buyer takes the same (remembered) way.
    let second = app.issue(json!({"product_slug": "app", "buyer_npub": buyer.npub()})).await;
    let d = delivered(&app, second["license_id"].as_str().unwrap()).await;
    assert_eq!(d["relays_accepted"], json!([inbox_relay.url]), "{d}");
    assert_eq!(buyer.wait_for_dms(2, WAIT).await.len(), 2);
    assert!(on_keysats.dms().await.is_empty());

    on_keysats.stop().await;
    buyer.stop().await;
    app.stop().await;
    keysat_relay.stop();
    inbox_relay.stop();
}

#[tokio::test(flavor = "multi_thread")]
async fn without_a_10050_list_the_dm_goes_to_keysats_relays() {
    let keysat_relay = start_relay(None).await;
    let other_relay = start_relay(None).await;
    let app = spawn_with(fast).await;
    use_relays(&app, &[&keysat_relay.url]).await;
    app.product_with_policy("app", json!({})).await;
    let buyer = NostrUser::new(&keysat_relay.url).await;
    // Someone else's list names the other relay: it is not the buyer's.
    publish_inbox_list(&keysat_relay.url, &Keys::generate(), &[&other_relay.url]).await;

    let issued = app.issue(json!({"product_slug": "app", "buyer_npub": buyer.npub()})).await;
    let d = delivered(&app, issued["license_id"].as_str().unwrap()).await;
    assert_eq!(d["relays_accepted"], json!([keysat_relay.url]), "{d}");
    let dms = buyer.wait_for_dms(1, WAIT).await;
    assert_eq!(keys_in(&dms[0].content), vec![issued["license_key"].as_str().unwrap().to_string()]);
    let elsewhere = NostrUser::with_keys(&other_relay.url, buyer.keys.clone()).await;
    assert!(elsewhere.dms().await.is_empty());

    elsewhere.stop().await;
    buyer.stop().await;
    app.stop().await;
    keysat_relay.stop();
    other_relay.stop();
}

#[tokio::test(flavor = "multi_thread")]
async fn keysats_profile_names_the_operator_and_is_published_at_start() {
    let port = reserve_port().release();
    let relay = start_relay(Some(port)).await;
    let app = spawn_with(fast).await;
    let keysat = keysat_key(&app).await;
    use_relays(&app, &[&relay.url]).await;

    // Published once there is a relay; then again when the name changes.
    let first = poll(WAIT, || async { profile_on(&relay.url, keysat).await }).await.expect("a kind 0 appears");
    assert_eq!(first["name"], "Keysat", "{first}");
    app.admin_put("/settings", json!({"operator_name": "Ada Software"})).await.expect(200);
    let named = poll(WAIT, || async { profile_on(&relay.url, keysat).await.filter(|p| p["name"] == "Ada Software") })
        .await
        .expect("the profile follows the operator's name");
    assert_eq!(named["display_name"], "Ada Software");
    assert!(named["about"].as_str().unwrap().contains("Ada Software"), "{named}");
    assert_eq!(named["website"], format!("{}/", app.base));
    assert_eq!(named["bot"], true);
    // Its relay list (NIP-65) says where to find it.
    let lists = events_on(&relay.url, keysat, Kind::RelayList).await;
    let listed: Vec<String> =
        lists.iter().flat_map(|e| e.tags.iter().filter_map(|t| t.content().map(str::to_string))).collect();
    assert!(listed.iter().any(|u| u.trim_end_matches('/') == relay.url.trim_end_matches('/')), "{listed:?}");

    // A fresh relay at the same address: the restarted Keysat publishes there
    // at start-up, with nobody asking.
    let dir = app.stop().await;
    relay.stop();
    let relay = start_relay(Some(port)).await;
    assert!(profile_on(&relay.url, keysat).await.is_none(), "the new relay starts empty");
    let app = spawn_in(dir, fast).await;
    let again = poll(WAIT, || async { profile_on(&relay.url, keysat).await }).await.expect("published at start-up");
    assert_eq!(again["name"], "Ada Software");
    app.stop().await;
    relay.stop();
}
