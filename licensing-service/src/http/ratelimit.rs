//! In-memory fixed-window rate limits per client address. Sharded so that
//! concurrent requests rarely meet on one lock and no shard grows large
//! (a rehash under the lock would show up as tail latency). Memory is
//! bounded: a full shard first forgets expired windows, then starts over.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

const SHARDS: usize = 64;
/// Addresses tracked per shard at most (about a million in all).
const SHARD_CAPACITY: usize = 16_384;

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

    /// Counts a request; over the limit, the whole seconds until the
    /// address's window resets (for `Retry-After`).
    pub fn check(&self, ip: IpAddr) -> Result<(), u64> {
        self.check_at(ip, Instant::now())
    }

    /// Whether the address is already at its limit, without counting
    /// (`Err` carries the seconds until its window resets).
    pub fn peek(&self, ip: IpAddr) -> Result<(), u64> {
        let now = Instant::now();
        let map = self.shard(&ip).lock().expect("rate limit lock");
        match map.get(&ip) {
            Some((start, count)) if now.duration_since(*start) < self.window && *count >= self.limit => {
                let left = self.window.saturating_sub(now.duration_since(*start));
                Err(left.as_secs_f64().ceil().max(1.0) as u64)
            }
            _ => Ok(()),
        }
    }

    fn check_at(&self, ip: IpAddr, now: Instant) -> Result<(), u64> {
        let mut map = self.shard(&ip).lock().expect("rate limit lock");
        if map.len() >= SHARD_CAPACITY && !map.contains_key(&ip) {
            map.retain(|_, (start, _)| now.duration_since(*start) < self.window);
            if map.len() >= SHARD_CAPACITY {
                map.clear();
            }
        }
        let entry = map.entry(ip).or_insert((now, 0));
        if now.duration_since(entry.0) >= self.window {
            *entry = (now, 0);
        }
        entry.1 = entry.1.saturating_add(1);
        if entry.1 <= self.limit {
            return Ok(());
        }
        let left = self.window.saturating_sub(now.duration_since(entry.0));
        Err(left.as_secs_f64().ceil().max(1.0) as u64)
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
    fn memory_stays_bounded() {
        let rl = RateLimiter::new(5, Duration::from_secs(60));
        let t = Instant::now();
        for i in 0..(SHARDS * SHARD_CAPACITY * 2) as u32 {
            let _ = rl.check_at(IpAddr::from(i.to_be_bytes()), t);
        }
        assert!(rl.tracked() <= SHARDS * SHARD_CAPACITY);
    }

    #[test]
    fn limits_per_address_and_resets() {
        let rl = RateLimiter::new(2, Duration::from_secs(60));
        let a: IpAddr = "1.1.1.1".parse().unwrap();
        let b: IpAddr = "2.2.2.2".parse().unwrap();
        let t = Instant::now();
        assert!(rl.check_at(a, t).is_ok());
        assert!(rl.check_at(a, t).is_ok());
        assert_eq!(rl.check_at(a, t), Err(60));
        assert_eq!(rl.check_at(a, t + Duration::from_millis(50_500)), Err(10));
        assert!(rl.check_at(b, t).is_ok());
        assert!(rl.check_at(a, t + Duration::from_secs(61)).is_ok());
    }
}
