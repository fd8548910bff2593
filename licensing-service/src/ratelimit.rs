//! In-memory fixed-window rate limits: per client address, and for everyone
//! at once on the expensive operations.
//!
//! Per-address limits are sharded so that concurrent requests rarely meet on
//! one lock and no shard grows large (a rehash under the lock would show up
//! as tail latency). An IPv6 client counts by its /64, the block one
//! subscriber usually holds, so rotating addresses inside it buys nothing.
//! Memory is bounded: a full shard forgets expired windows, then the least
//! recently seen addresses — never the counters of everyone at once.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hash, RandomState};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

const SHARDS: usize = 64;
/// Addresses tracked per shard at most (about a million in all).
const SHARD_CAPACITY: usize = 16_384;
/// A full shard forgets this share of its least recently seen addresses at
/// once, so the cost of finding them is paid once per many new addresses.
const EVICT_DIVISOR: usize = 16;

/// The address a limit counts against: IPv6 by its /64, IPv4 as it is.
pub fn bucket(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6((u128::from(v6) & !u128::from(u64::MAX)).into()),
        },
        v4 => v4,
    }
}

/// One address's window.
#[derive(Clone, Copy)]
struct Window {
    start: Instant,
    count: u32,
    /// Seconds since the limiter was made when the address was last seen.
    last_seen: u32,
}

/// Counts per key: a client address by default (see [`bucket`]), or any
/// other small key (a license id, for seat changes).
pub struct RateLimiter<K = IpAddr> {
    limit: u32,
    window: Duration,
    capacity: usize,
    epoch: Instant,
    hasher: RandomState,
    shards: Vec<Mutex<HashMap<K, Window>>>,
}

impl RateLimiter<IpAddr> {
    /// Counts a request; over the limit, the whole seconds until the
    /// address's window resets (for `Retry-After`).
    pub fn check(&self, ip: IpAddr) -> Result<(), u64> {
        self.check_at(bucket(ip), Instant::now())
    }

    /// Whether the address is already at its limit, without counting
    /// (`Err` carries the seconds until its window resets).
    pub fn peek(&self, ip: IpAddr) -> Result<(), u64> {
        let (ip, now) = (bucket(ip), Instant::now());
        let map = self.shard(&ip).lock().expect("rate limit lock");
        match map.get(&ip) {
            Some(w) if now.duration_since(w.start) < self.window && w.count >= self.limit => {
                Err(self.retry_after(w.start, now))
            }
            _ => Ok(()),
        }
    }
}

impl<K: Hash + Eq + Copy> RateLimiter<K> {
    /// `limit` requests per `window` per key.
    pub fn new(limit: u32, window: Duration) -> RateLimiter<K> {
        RateLimiter::with_shape(limit, window, SHARDS, SHARD_CAPACITY)
    }

    /// Counts one use of `key` (taken as it is).
    pub fn check_key(&self, key: K) -> Result<(), u64> {
        self.check_at(key, Instant::now())
    }

    fn with_shape(limit: u32, window: Duration, shards: usize, capacity: usize) -> RateLimiter<K> {
        RateLimiter {
            limit,
            window,
            capacity,
            epoch: Instant::now(),
            hasher: RandomState::new(),
            shards: (0..shards).map(|_| Mutex::new(HashMap::new())).collect(),
        }
    }

    fn shard(&self, key: &K) -> &Mutex<HashMap<K, Window>> {
        &self.shards[self.hasher.hash_one(key) as usize % self.shards.len()]
    }

    fn check_at(&self, ip: K, now: Instant) -> Result<(), u64> {
        let seen = now.saturating_duration_since(self.epoch).as_secs() as u32;
        let mut map = self.shard(&ip).lock().expect("rate limit lock");
        if map.len() >= self.capacity && !map.contains_key(&ip) {
            self.make_room(&mut map, now);
        }
        let w = map.entry(ip).or_insert(Window { start: now, count: 0, last_seen: seen });
        w.last_seen = seen;
        if now.duration_since(w.start) >= self.window {
            (w.start, w.count) = (now, 0);
        }
        w.count = w.count.saturating_add(1);
        if w.count <= self.limit {
            return Ok(());
        }
        Err(self.retry_after(w.start, now))
    }

    fn retry_after(&self, start: Instant, now: Instant) -> u64 {
        let left = self.window.saturating_sub(now.duration_since(start));
        left.as_secs_f64().ceil().max(1.0) as u64
    }

    /// Forgets expired windows; if the shard is still full, its least
    /// recently seen addresses (a batch, so this runs rarely).
    fn make_room(&self, map: &mut HashMap<K, Window>, now: Instant) {
        map.retain(|_, w| now.duration_since(w.start) < self.window);
        if map.len() < self.capacity {
            return;
        }
        let evict = (self.capacity / EVICT_DIVISOR).max(1);
        let mut by_age: Vec<(u32, K)> = map.iter().map(|(ip, w)| (w.last_seen, *ip)).collect();
        by_age.select_nth_unstable_by_key(evict - 1, |(seen, _)| *seen);
        for (_, ip) in &by_age[..evict] {
            map.remove(ip);
        }
    }

    /// Forgets addresses whose window has passed, bounding memory.
    pub fn prune(&self) {
        let now = Instant::now();
        for shard in &self.shards {
            shard.lock().expect("rate limit lock").retain(|_, w| now.duration_since(w.start) < self.window);
        }
    }

    pub fn tracked(&self) -> usize {
        self.shards.iter().map(|s| s.lock().expect("rate limit lock").len()).sum()
    }
}

/// A global limit was reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Busy {
    pub what: &'static str,
    /// Whole seconds until the window resets.
    pub retry_after: u64,
}

/// A limit on one operation for all addresses together: what the service
/// can afford however many addresses ask (each still has its own limit).
pub struct GlobalLimit {
    /// What is limited, as the refusal names it ("purchases").
    what: &'static str,
    limit: u32,
    window: Duration,
    state: Mutex<(Instant, u32)>,
}

impl GlobalLimit {
    pub fn new(what: &'static str, limit: u32, window: Duration) -> GlobalLimit {
        GlobalLimit { what, limit, window, state: Mutex::new((Instant::now(), 0)) }
    }

    /// Counts one operation; over the limit, what is limited and when to
    /// come back (the API answers 429 `busy`: everyone's limit, not the caller's).
    pub fn admit(&self) -> Result<(), Busy> {
        self.admit_at(Instant::now()).map_err(|retry_after| Busy { what: self.what, retry_after })
    }

    fn admit_at(&self, now: Instant) -> Result<(), u64> {
        let mut state = self.state.lock().expect("global limit lock");
        let (start, count) = &mut *state;
        if now.duration_since(*start) >= self.window {
            (*start, *count) = (now, 0);
        }
        if *count >= self.limit {
            let left = self.window.saturating_sub(now.duration_since(*start));
            return Err(left.as_secs_f64().ceil().max(1.0) as u64);
        }
        *count += 1;
        Ok(())
    }
}

/// The global limits on the public operations that cost the most: each
/// purchase makes a provider invoice, each redemption may issue a key, each
/// recovery sends DMs.
pub struct GlobalLimits {
    pub purchase: GlobalLimit,
    pub redeem: GlobalLimit,
    pub recover: GlobalLimit,
}

impl GlobalLimits {
    pub fn new(purchases_per_minute: u32, redemptions_per_minute: u32, recoveries_per_hour: u32) -> GlobalLimits {
        let minute = Duration::from_secs(60);
        GlobalLimits {
            purchase: GlobalLimit::new("purchases", purchases_per_minute, minute),
            redeem: GlobalLimit::new("code redemptions", redemptions_per_minute, minute),
            recover: GlobalLimit::new("key recoveries", recoveries_per_hour, Duration::from_secs(3600)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An address as `check` counts it.
    fn ip(s: &str) -> IpAddr {
        bucket(s.parse().unwrap())
    }

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
        let a = ip("1.1.1.1");
        let b = ip("2.2.2.2");
        let t = Instant::now();
        assert!(rl.check_at(a, t).is_ok());
        assert!(rl.check_at(a, t).is_ok());
        assert_eq!(rl.check_at(a, t), Err(60));
        assert_eq!(rl.check_at(a, t + Duration::from_millis(50_500)), Err(10));
        assert!(rl.check_at(b, t).is_ok());
        assert!(rl.check_at(a, t + Duration::from_secs(61)).is_ok());
    }

    #[test]
    fn ipv6_counts_by_its_64() {
        let rl = RateLimiter::new(2, Duration::from_secs(60));
        let t = Instant::now();
        // Two addresses of one /64: one budget.
        assert!(rl.check_at(ip("2001:db8:1:2::1"), t).is_ok());
        assert!(rl.check_at(ip("2001:db8:1:2:ffff:ffff:ffff:ffff"), t).is_ok());
        assert!(rl.check_at(ip("2001:db8:1:2:abcd::9"), t).is_err());
        // The next /64 has its own.
        assert!(rl.check_at(ip("2001:db8:1:3::1"), t).is_ok());
        // An IPv4-mapped address is its IPv4 address, not a /64 of mapped space.
        assert!(rl.check_at(ip("::ffff:10.0.0.1"), t).is_ok());
        assert!(rl.check_at(ip("::ffff:10.0.0.1"), t).is_ok());
        assert!(rl.check_at(ip("10.0.0.1"), t).is_err());
        assert!(rl.check_at(ip("::ffff:10.0.0.2"), t).is_ok());
        assert_eq!(bucket(ip("2001:db8::1:2:3:4")), ip("2001:db8::"));
    }

    #[test]
    fn a_full_shard_forgets_the_least_recently_seen_not_everyone() {
        let rl = RateLimiter::with_shape(1, Duration::from_secs(3600), 1, 64);
        let t = Instant::now();
        let abuser = ip("9.9.9.9");
        assert!(rl.check_at(abuser, t).is_ok());
        assert!(rl.check_at(abuser, t).is_err());
        // Many new addresses, one per second, while the abuser keeps trying.
        for i in 0..1_000u32 {
            let now = t + Duration::from_secs(u64::from(i) + 1);
            let _ = rl.check_at(IpAddr::from((0x0a00_0000 + i).to_be_bytes()), now);
            assert!(rl.check_at(abuser, now).is_err(), "the abuser's count survived address {i}");
            assert!(rl.tracked() <= 64);
        }
        // The addresses that went quiet longest are the ones forgotten.
        let recent = IpAddr::from((0x0a00_0000u32 + 999).to_be_bytes());
        assert!(rl.check_at(recent, t + Duration::from_secs(1001)).is_err());
        let oldest = IpAddr::from(0x0a00_0000u32.to_be_bytes());
        assert!(rl.check_at(oldest, t + Duration::from_secs(1001)).is_ok());
    }

    #[test]
    fn peek_does_not_count() {
        let rl = RateLimiter::new(2, Duration::from_secs(60));
        let a = ip("1.1.1.1");
        for _ in 0..5 {
            assert!(rl.peek(a).is_ok());
        }
        assert!(rl.check(a).is_ok());
        assert!(rl.check(a).is_ok());
        assert!(rl.peek(a).is_err());
    }

    #[test]
    fn a_global_limit_counts_everyone_together_and_resets() {
        let g = GlobalLimit::new("purchases", 3, Duration::from_secs(60));
        let t = Instant::now();
        for _ in 0..3 {
            assert!(g.admit_at(t).is_ok());
        }
        assert_eq!(g.admit_at(t + Duration::from_secs(15)), Err(45));
        assert!(g.admit_at(t + Duration::from_secs(60)).is_ok());
        // The refusal names the operation (the API says it is everyone's limit: http/error.rs).
        let g = GlobalLimit::new("code redemptions", 0, Duration::from_secs(60));
        assert_eq!(g.admit(), Err(Busy { what: "code redemptions", retry_after: 60 }));
    }
}
