//! In-memory fixed-window rate limits per client address. Sharded so that
//! concurrent requests rarely meet on one lock.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

const SHARDS: usize = 16;

pub struct RateLimiter {
    limit: u32,
    window: Duration,
    hasher: RandomState,
    shards: Vec<Mutex<HashMap<IpAddr, (Instant, u32)>>>,
}

impl RateLimiter {
    /// `limit` requests per `window` per address.
    pub fn new(limit: u32, window: Duration) -> RateLimiter {
        RateLimiter {
            limit,
            window,
            hasher: RandomState::new(),
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
        }
    }

    fn shard(&self, ip: &IpAddr) -> &Mutex<HashMap<IpAddr, (Instant, u32)>> {
        &self.shards[self.hasher.hash_one(ip) as usize % SHARDS]
    }

    /// Counts a request; false when the address is over its limit.
    pub fn allow(&self, ip: IpAddr) -> bool {
        self.allow_at(ip, Instant::now())
    }

    fn allow_at(&self, ip: IpAddr, now: Instant) -> bool {
        let mut map = self.shard(&ip).lock().expect("rate limit lock");
        let entry = map.entry(ip).or_insert((now, 0));
        if now.duration_since(entry.0) >= self.window {
            *entry = (now, 0);
        }
        entry.1 = entry.1.saturating_add(1);
        entry.1 <= self.limit
    }

    /// Seconds until the address's window resets (for `Retry-After`).
    pub fn retry_after(&self) -> u64 {
        self.window.as_secs().max(1)
    }

    /// Forgets addresses whose window has passed, bounding memory.
    pub fn prune(&self) {
        let now = Instant::now();
        for shard in &self.shards {
            shard.lock().expect("rate limit lock").retain(|_, (start, _)| now.duration_since(*start) < self.window);
        }
    }

    pub fn tracked(&self) -> usize {
        self.shards.iter().map(|s| s.lock().expect("rate limit lock").len()).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_per_address_and_resets() {
        let rl = RateLimiter::new(2, Duration::from_secs(60));
        let a: IpAddr = "1.1.1.1".parse().unwrap();
        let b: IpAddr = "2.2.2.2".parse().unwrap();
        let t = Instant::now();
        assert!(rl.allow_at(a, t));
        assert!(rl.allow_at(a, t));
        assert!(!rl.allow_at(a, t));
        assert!(rl.allow_at(b, t));
        assert!(rl.allow_at(a, t + Duration::from_secs(61)));
    }
}
