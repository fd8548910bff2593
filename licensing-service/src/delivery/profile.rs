//! Keysat's own Nostr profile (kind 0: the operator's name, what Keysat is,
//! the storefront), so a buyer's client shows who wrote the DM rather than
//! a bare key. Published once relays are configured, again whenever the
//! operator's name, the public URL or the relay list changes, and retried
//! (at most every minute) on relays that have not taken it yet.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use tokio::sync::Mutex;

use super::nostr::Profile;

/// Least wait before publishing the same profile again to relays that
/// missed it.
const RETRY: Duration = Duration::from_secs(60);

/// What was last published, and where.
#[derive(Default)]
pub struct ProfileState {
    inner: Mutex<Published>,
}

#[derive(Default)]
struct Published {
    /// The last profile tried, and the relay list it was tried on.
    attempted: Option<(Profile, Vec<String>)>,
    /// Relays that accepted the last profile tried.
    accepted: HashSet<String>,
    retry_at: Option<Instant>,
}

/// The profile Keysat shows, from the operator's settings.
pub fn profile_of(operator_name: Option<&str>, public_url: &str) -> Profile {
    let store = format!("{}/", public_url.trim_end_matches('/'));
    match operator_name {
        Some(name) => Profile {
            name: name.to_string(),
            about: format!(
                "License keys for {name}'s software, sold for bitcoin through Keysat. \
                 Messages from this account carry your license keys; the store is at {store}"
            ),
            website: Some(store),
        },
        None => Profile {
            name: "Keysat".to_string(),
            about: format!(
                "Software licenses sold for bitcoin through Keysat. Messages from this account carry \
                 your license keys; the store is at {store}"
            ),
            website: Some(store),
        },
    }
}

/// Publishes the profile if it changed, the relay list changed, or a relay
/// missed it (then at most every [`RETRY`]).
pub async fn sync(s: &super::Delivery) {
    let Ok(mut state) = s.profile.inner.try_lock() else {
        return; // the previous run is still going
    };
    let relays: Vec<String> = s.nostr.relay_urls().await.iter().map(|u| u.to_string()).collect();
    if relays.is_empty() {
        return;
    }
    let profile = profile_of(s.operator_name().as_deref(), s.public_url());
    let now = Instant::now();
    let same = state.attempted.as_ref().is_some_and(|(p, r)| *p == profile && *r == relays);
    if same {
        let everywhere = relays.iter().all(|r| state.accepted.contains(r));
        if everywhere || state.retry_at.is_some_and(|t| now < t) {
            return;
        }
    } else {
        state.accepted.clear();
    }
    state.attempted = Some((profile.clone(), relays));
    state.retry_at = Some(now + RETRY);
    match s.nostr.publish_profile(&profile).await {
        Ok(acked) => {
            tracing::info!(relays = ?acked, name = %profile.name, "published Keysat's Nostr profile");
            state.accepted.extend(acked);
        }
        Err(e) => tracing::debug!(error = %e, "Keysat's Nostr profile not published yet"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_profile_names_the_operator_and_the_store() {
        let p = profile_of(Some("Ada Software"), "https://shop.example.com");
        assert_eq!(p.name, "Ada Software");
        assert!(p.about.contains("Ada Software") && p.about.contains("https://shop.example.com/"), "{}", p.about);
        assert_eq!(p.website.as_deref(), Some("https://shop.example.com/"));
        let p = profile_of(None, "http://127.0.0.1:8080/");
        assert_eq!(p.name, "Keysat");
        assert_eq!(p.website.as_deref(), Some("http://127.0.0.1:8080/"));
    }
}
