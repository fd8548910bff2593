//! Where a recipient wants their direct messages: the relays of their NIP-17
//! kind 10050 list, remembered for a while so a burst of messages (a
//! recovery, several licenses) asks the relays once; and which of those
//! relays Keysat agrees to connect to, since the list is written by someone
//! else.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use nostr_sdk::{Event, Kind, PublicKey, RelayUrl};

/// How long a recipient's list (or its absence) is trusted.
pub const INBOX_TTL: Duration = Duration::from_secs(600);
/// Recipients remembered at most.
pub const INBOX_CACHE_MAX: usize = 1024;
/// Relays taken from one list (NIP-17 asks users to keep it to 1–3).
pub const MAX_INBOX_RELAYS: usize = 5;

/// Recipients' inbox relays, each entry kept [`INBOX_TTL`]; an empty list
/// means "looked up, none found".
pub struct InboxCache {
    ttl: Duration,
    cap: usize,
    entries: Mutex<HashMap<PublicKey, (Instant, Vec<RelayUrl>)>>,
}

impl Default for InboxCache {
    fn default() -> Self {
        InboxCache::new(INBOX_TTL, INBOX_CACHE_MAX)
    }
}

impl InboxCache {
    pub fn new(ttl: Duration, cap: usize) -> InboxCache {
        InboxCache { ttl, cap: cap.max(1), entries: Mutex::new(HashMap::new()) }
    }

    /// The remembered list, unless it is older than the TTL.
    pub fn get(&self, who: &PublicKey, now: Instant) -> Option<Vec<RelayUrl>> {
        let entries = self.entries.lock().expect("inbox cache lock");
        entries.get(who).filter(|(at, _)| now.duration_since(*at) < self.ttl).map(|(_, relays)| relays.clone())
    }

    /// Remembers `relays` for `who`; when full, forgets expired entries and
    /// then the oldest one.
    pub fn put(&self, who: PublicKey, relays: Vec<RelayUrl>, now: Instant) {
        let mut entries = self.entries.lock().expect("inbox cache lock");
        if entries.len() >= self.cap && !entries.contains_key(&who) {
            entries.retain(|_, (at, _)| now.duration_since(*at) < self.ttl);
            if entries.len() >= self.cap {
                if let Some(oldest) = entries.iter().min_by_key(|(_, (at, _))| *at).map(|(k, _)| *k) {
                    entries.remove(&oldest);
                }
            }
        }
        entries.insert(who, (now, relays));
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.entries.lock().expect("inbox cache lock").len()
    }
}

/// The relays of `who`'s newest kind 10050 list among `events` (others'
/// events and other kinds are ignored), those Keysat may use, in the list's
/// order, at most [`MAX_INBOX_RELAYS`].
pub fn inbox_relays_of(who: &PublicKey, events: impl IntoIterator<Item = Event>, own: &[RelayUrl]) -> Vec<RelayUrl> {
    let newest = events
        .into_iter()
        .filter(|e| e.pubkey == *who && e.kind == Kind::InboxRelays)
        .max_by_key(|e| (e.created_at, std::cmp::Reverse(e.id)));
    let Some(list) = newest else { return Vec::new() };
    let mut out: Vec<RelayUrl> = Vec::new();
    for url in nostr_sdk::nips::nip17::extract_owned_relay_list(list) {
        if out.len() == MAX_INBOX_RELAYS {
            break;
        }
        if usable_inbox(&url, own) && !out.contains(&url) {
            out.push(url);
        }
    }
    out
}

/// Whether Keysat connects to a relay someone else named: a `wss://` relay
/// on a public address, or any relay on a host the operator already uses
/// for Keysat's own relays. Anything else (plain `ws://`, loopback, private
/// or link-local addresses, `localhost`, `.local`) would let a buyer make
/// Keysat open connections inside the operator's network.
pub fn usable_inbox(url: &RelayUrl, own: &[RelayUrl]) -> bool {
    let Some(host) = url.host().map(|h| h.to_string()) else {
        return false;
    };
    if own.iter().any(|o| o.host().map(|h| h.to_string()).as_deref() == Some(host.as_str())) {
        return true;
    }
    url.as_str().starts_with("wss://") && !is_internal_host(&host)
}

fn is_internal_host(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']').to_ascii_lowercase();
    if host == "localhost"
        || [".localhost", ".local", ".internal", ".lan", ".home.arpa"].iter().any(|s| host.ends_with(s))
    {
        return true;
    }
    match host.parse::<IpAddr>() {
        Ok(IpAddr::V4(ip)) => {
            let [a, b, ..] = ip.octets();
            ip.is_loopback()
                || ip.is_private()
                || ip.is_link_local()
                || ip.is_unspecified()
                || ip.is_broadcast()
                || (a == 100 && (64..128).contains(&b)) // carrier-grade NAT
        }
        Ok(IpAddr::V6(ip)) => {
            let first = ip.segments()[0];
            ip.is_loopback()
                || ip.is_unspecified()
                || (first & 0xfe00) == 0xfc00 // unique local
                || (first & 0xffc0) == 0xfe80 // link-local
                || ip.to_ipv4_mapped().is_some_and(|v4| is_internal_host(&v4.to_string()))
        }
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use nostr_sdk::{EventBuilder, Keys, Tag, TagStandard, Timestamp};

    use super::*;

    fn url(s: &str) -> RelayUrl {
        RelayUrl::parse(s).unwrap()
    }

    fn inbox_list(keys: &Keys, relays: &[&str], at: u64) -> Event {
        let tags = relays.iter().map(|r| Tag::from_standardized(TagStandard::Relay(url(r))));
        EventBuilder::new(Kind::InboxRelays, "")
            .tags(tags)
            .custom_created_at(Timestamp::from(at))
            .sign_with_keys(keys)
            .unwrap()
    }

    #[test]
    fn only_public_tls_relays_or_the_operators_own_hosts() {
        let own = [url("ws://127.0.0.1:7000"), url("wss://relay.example.com")];
        assert!(usable_inbox(&url("wss://inbox.nostr.wine"), &own));
        assert!(usable_inbox(&url("ws://127.0.0.1:7001"), &own), "a host the operator uses");
        assert!(usable_inbox(&url("ws://relay.example.com:8080"), &own));
        for bad in [
            "ws://inbox.example.org",
            "wss://localhost:7000",
            "wss://10.0.0.5",
            "wss://192.168.1.2:4848",
            "wss://169.254.1.1",
            "wss://100.72.0.1",
            "wss://[::1]:7000",
            "wss://[fd00::1]",
            "wss://[fe80::1]",
            "wss://[::ffff:10.0.0.1]",
            "wss://printer.local",
            "wss://127.0.0.2:7000",
        ] {
            assert!(!usable_inbox(&url(bad), &own), "{bad}");
        }
    }

    #[test]
    fn the_newest_list_of_the_recipient_counts() {
        let alice = Keys::generate();
        let mallory = Keys::generate();
        let events = vec![
            inbox_list(&alice, &["wss://old.example.com"], 100),
            inbox_list(&alice, &["wss://a.example.com", "wss://a.example.com", "ws://b.example.com"], 200),
            inbox_list(&mallory, &["wss://evil.example.com"], 300),
        ];
        assert_eq!(inbox_relays_of(&alice.public_key(), events, &[]), vec![url("wss://a.example.com")]);
        assert_eq!(inbox_relays_of(&Keys::generate().public_key(), Vec::new(), &[]), Vec::<RelayUrl>::new());
        let many: Vec<String> = (0..9).map(|i| format!("wss://r{i}.example.com")).collect();
        let refs: Vec<&str> = many.iter().map(String::as_str).collect();
        let got = inbox_relays_of(&alice.public_key(), vec![inbox_list(&alice, &refs, 1)], &[]);
        assert_eq!(got.len(), MAX_INBOX_RELAYS);
        assert_eq!(got[0], url("wss://r0.example.com"));
    }

    #[test]
    fn the_cache_forgets_after_its_ttl_and_stays_bounded() {
        let cache = InboxCache::new(Duration::from_secs(10), 3);
        let t0 = Instant::now();
        let keys: Vec<PublicKey> = (0..5).map(|_| Keys::generate().public_key()).collect();
        cache.put(keys[0], vec![url("wss://a.example.com")], t0);
        assert_eq!(cache.get(&keys[0], t0 + Duration::from_secs(9)), Some(vec![url("wss://a.example.com")]));
        assert_eq!(cache.get(&keys[0], t0 + Duration::from_secs(10)), None, "expired");
        cache.put(keys[1], Vec::new(), t0 + Duration::from_secs(1));
        assert_eq!(cache.get(&keys[1], t0 + Duration::from_secs(2)), Some(Vec::new()), "none found is remembered");
        cache.put(keys[2], Vec::new(), t0 + Duration::from_secs(2));
        cache.put(keys[3], Vec::new(), t0 + Duration::from_secs(3));
        assert_eq!(cache.len(), 3);
        assert_eq!(cache.get(&keys[0], t0 + Duration::from_secs(3)), None, "the oldest made room");
        // Expired entries go first when full.
        cache.put(keys[4], Vec::new(), t0 + Duration::from_secs(12));
        assert_eq!(cache.len(), 2);
        assert!(cache.get(&keys[3], t0 + Duration::from_secs(12)).is_some());
    }
}
