//! In-memory fixed-window rate limits: per client address, and for everyone
//! at once on the expensive operations.
//!
//! Per-address limits are sharded so that concurrent requests rarely meet on
//! one lock and no shard grows large (a rehash under the lock would show up
//! as tail latency). An IPv6 client counts by its /64, the block one
//! subscriber usually holds, so rotating addresses inside it buys nothing.
//! Memory is bounded: a full shard forgets expired windows, then the least
//! recently seen addresses — never the counters of everyone at once.
//!
//! Entries are compact, because a limiter that many addresses reach (every
//! request from another address, as bench/scale sends them) holds hundreds
//! of thousands: the address as 8 bytes ([`AddressKey`]), the window's start
//! and the last sighting as whole seconds since the limiter was made (u32:
//! 136 years), 20 bytes an entry. Windows are therefore whole seconds (those
//! in use are a minute and an hour); a window may end up to a second early.
//! A shard's table is rebuilt, never left to grow itself, when it has no free
//! slot, so it never exceeds the size made for its capacity (see [`rebuild`]).

use std::hash::{BuildHasher, Hash};

// hashbrown's tables with foldhash, seeded at random per table: a fraction
// of SipHash's cost on the hot path, still unpredictable to a client.
use hashbrown::{DefaultHashBuilder, HashMap};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

const SHARDS: usize = 64;
/// Addresses tracked per shard at most (458,752 in all): 7/8 of 8,192, the
/// most a hash table of 8,192 slots holds without growing, so a full
/// limiter takes 64 × 8,192 × 21 bytes ≈ 11 MB.
const SHARD_CAPACITY: usize = 7_168;
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

/// What a per-address limit counts against, in 8 bytes (two u32 halves, so
/// an entry needs no 8-byte alignment): an IPv4 address is its 32 bits,
/// below 2^32; an IPv6 address is its /64 prefix, which is at least 2^32 —
/// the /64s below that lie in `::/32` (`::`, `::1`, the deprecated
/// IPv4-compatible addresses: reserved space, never a routed source) and all
/// count as one, 2^32. So an IPv4 address and an IPv6 /64 never share a count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AddressKey([u32; 2]);

impl AddressKey {
    fn of(ip: IpAddr) -> AddressKey {
        let n = match bucket(ip) {
            IpAddr::V4(v4) => u64::from(u32::from(v4)),
            IpAddr::V6(v6) => ((u128::from(v6) >> 64) as u64).max(1 << 32),
        };
        AddressKey([(n >> 32) as u32, n as u32])
    }
}

/// One address's window, in whole seconds since the limiter's epoch.
#[derive(Clone, Copy)]
struct Window {
    start: u32,
    count: u32,
    /// When the address was last seen.
    last_seen: u32,
}

/// Counts per key: a client address by default (see [`AddressKey`]), or
/// any other small key (a license id, for seat changes).
pub struct RateLimiter<K = AddressKey> {
    limit: u32,
    /// Whole seconds, at least one.
    window: u32,
    capacity: usize,
    epoch: Instant,
    hasher: DefaultHashBuilder,
    shards: Vec<Mutex<HashMap<K, Window>>>,
}

impl RateLimiter<AddressKey> {
    /// Counts a request; over the limit, the whole seconds until the
    /// address's window resets (for `Retry-After`).
    pub fn check(&self, ip: IpAddr) -> Result<(), u64> {
        self.check_at(AddressKey::of(ip), Instant::now())
    }

    /// Whether the address is already at its limit, without counting
    /// (`Err` carries the seconds until its window resets).
    pub fn peek(&self, ip: IpAddr) -> Result<(), u64> {
        let (key, now) = (AddressKey::of(ip), self.seconds(Instant::now()));
        let map = self.shard(&key).lock().expect("rate limit lock");
        match map.get(&key) {
            Some(w) if !self.expired(w, now) && w.count >= self.limit => Err(self.retry_after(w, now)),
            _ => Ok(()),
        }
    }
}

impl<K: Hash + Eq + Copy> RateLimiter<K> {
    /// `limit` requests per `window` (whole seconds, at least one) per key.
    pub fn new(limit: u32, window: Duration) -> RateLimiter<K> {
        RateLimiter::with_shape(limit, window, SHARDS, SHARD_CAPACITY)
    }

    /// Counts one use of `key` (taken as it is).
    pub fn check_key(&self, key: K) -> Result<(), u64> {
        self.check_at(key, Instant::now())
    }

    fn with_shape(limit: u32, window: Duration, shards: usize, capacity: usize) -> RateLimiter<K> {
        assert!(window.as_secs() >= 1, "rate limit windows are whole seconds");
        RateLimiter {
            limit,
            window: u32::try_from(window.as_secs()).unwrap_or(u32::MAX),
            capacity,
            epoch: Instant::now(),
            hasher: DefaultHashBuilder::default(),
            shards: (0..shards).map(|_| Mutex::new(HashMap::new())).collect(),
        }
    }

    fn seconds(&self, now: Instant) -> u32 {
        u32::try_from(now.saturating_duration_since(self.epoch).as_secs()).unwrap_or(u32::MAX)
    }

    fn expired(&self, w: &Window, now: u32) -> bool {
        now.saturating_sub(w.start) >= self.window
    }

    fn shard(&self, key: &K) -> &Mutex<HashMap<K, Window>> {
        &self.shards[self.hasher.hash_one(key) as usize % self.shards.len()]
    }

    fn check_at(&self, key: K, now: Instant) -> Result<(), u64> {
        let now = self.seconds(now);
        let mut map = self.shard(&key).lock().expect("rate limit lock");
        // An address already counted (nearly every request): one lookup.
        if let Some(w) = map.get_mut(&key) {
            return self.count(w, now);
        }
        if map.len() >= self.capacity {
            self.make_room(&mut map, now);
        } else if map.len() >= map.capacity() {
            // No free slot (deleted entries leave markers that use slots
            // until the table is rebuilt): the table would grow itself,
            // past the shard's capacity if markers took the room. Rebuilt
            // here instead, twice as large, never larger than the capacity.
            let live = map.len();
            rebuild(&mut map, (live * 2).clamp(16, self.capacity), std::iter::empty());
        }
        let w = map.entry(key).or_insert(Window { start: now, count: 0, last_seen: now });
        self.count(w, now)
    }

    /// Counts one use in `w` at `now`.
    fn count(&self, w: &mut Window, now: u32) -> Result<(), u64> {
        w.last_seen = now;
        if self.expired(w, now) {
            (w.start, w.count) = (now, 0);
        }
        w.count = w.count.saturating_add(1);
        if w.count <= self.limit {
            return Ok(());
        }
        Err(self.retry_after(w, now))
    }

    fn retry_after(&self, w: &Window, now: u32) -> u64 {
        u64::from(self.window.saturating_sub(now.saturating_sub(w.start)).max(1))
    }

    /// Forgets expired windows; if the shard is still full, its least
    /// recently seen addresses (a batch, so this runs rarely). The table is
    /// rebuilt at the shard's capacity: a hash table keeps a marker where an
    /// entry was deleted, and once markers have taken every free slot it
    /// would grow (to twice or four times its size) rather than reuse them.
    fn make_room(&self, map: &mut HashMap<K, Window>, now: u32) {
        let mut live: Vec<(K, Window)> = map.drain().filter(|(_, w)| !self.expired(w, now)).collect();
        if live.len() >= self.capacity {
            let evict = (self.capacity / EVICT_DIVISOR).max(1);
            live.select_nth_unstable_by_key(evict - 1, |(_, w)| w.last_seen);
            live.drain(..evict);
        }
        rebuild(map, self.capacity, live);
    }

    /// Forgets addresses whose window has passed, bounding memory.
    pub fn prune(&self) {
        self.prune_at(Instant::now());
    }

    fn prune_at(&self, now: Instant) {
        let now = self.seconds(now);
        for shard in &self.shards {
            shard.lock().expect("rate limit lock").retain(|_, w| !self.expired(w, now));
        }
    }

    pub fn tracked(&self) -> usize {
        self.shards.iter().map(|s| s.lock().expect("rate limit lock").len()).sum()
    }
}

/// Replaces `map` with a table made for `size` entries holding its entries
/// (if any are left) and `more`: no deletion markers, no growth until `size`.
/// (Also how the activity writer keeps its table of quiet seats to its size.)
pub(crate) fn rebuild<K: Hash + Eq, V>(map: &mut HashMap<K, V>, size: usize, more: impl IntoIterator<Item = (K, V)>) {
    let mut fresh = HashMap::with_capacity(size);
    fresh.extend(map.drain());
    fresh.extend(more);
    *map = fresh;
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
    fn ip(s: &str) -> AddressKey {
        AddressKey::of(s.parse().unwrap())
    }

    fn v4(n: u32) -> AddressKey {
        AddressKey::of(IpAddr::from(n.to_be_bytes()))
    }

    #[test]
    fn memory_stays_bounded() {
        let rl = RateLimiter::new(5, Duration::from_secs(60));
        let t = Instant::now();
        for i in 0..(SHARDS * SHARD_CAPACITY * 2) as u32 {
            let _ = rl.check_at(v4(i), t);
        }
        assert!(rl.tracked() <= SHARDS * SHARD_CAPACITY);
    }

    #[test]
    fn entries_are_compact() {
        assert_eq!(std::mem::size_of::<(AddressKey, Window)>(), 20);
    }

    /// A shard's table never grows past its capacity, whether it fills with
    /// new addresses, forgets expired ones (leaving deletion markers) or both.
    #[test]
    fn a_full_table_is_rebuilt_not_grown() {
        let rl = RateLimiter::with_shape(1, Duration::from_secs(60), 1, SHARD_CAPACITY);
        let t = Instant::now();
        let table = |rl: &RateLimiter| {
            let map = rl.shards[0].lock().unwrap();
            (map.len(), map.capacity())
        };
        for round in 0..6u32 {
            let now = t + Duration::from_secs(u64::from(round) * 40);
            for i in 0..SHARD_CAPACITY as u32 {
                let _ = rl.check_at(v4(round * 1_000_000 + i), now);
                let (len, cap) = table(&rl);
                assert!(len <= SHARD_CAPACITY && cap <= SHARD_CAPACITY, "round {round}: {len} in {cap}");
            }
            if round == 0 {
                assert_eq!(table(&rl), (SHARD_CAPACITY, SHARD_CAPACITY), "filled to its own capacity, not grown");
            }
            if round % 2 == 1 {
                rl.prune_at(now + Duration::from_secs(61));
            }
        }
    }

    /// An IPv4 address never counts against an IPv6 /64 nor the other way,
    /// however their bits line up.
    #[test]
    fn ipv4_and_ipv6_never_share_a_count() {
        let four = ["0.0.0.0", "0.0.0.1", "10.0.0.1", "192.0.2.7", "255.255.255.255", "::ffff:255.255.255.255"];
        let six = [
            "::",
            "::1",
            "::0.0.0.1",
            "0:0:0:1::",
            "0:0:ffff:ffff::",
            "0:1::",
            "0:1::ffff:ffff",
            "2001:db8::1",
            "fe80::1",
            "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
        ];
        for a in four {
            for b in six {
                assert_ne!(ip(a), ip(b), "{a} and {b}");
            }
        }
        let rl = RateLimiter::new(1, Duration::from_secs(60));
        let t = Instant::now();
        assert!(rl.check_at(ip("0.0.0.1"), t).is_ok());
        assert!(rl.check_at(ip("0:0:0:1::5"), t).is_ok(), "a /64 whose prefix is 1");
        assert!(rl.check_at(ip("0.0.0.1"), t).is_err());
        // Reserved space inside ::/32 counts as one, apart from every IPv4 address.
        assert_eq!(ip("::1"), ip("0:0:ffff:ffff::"));
        assert_eq!(ip("::ffff:10.0.0.1"), ip("10.0.0.1"));
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
    fn an_hour_window_resets_after_an_hour() {
        let rl = RateLimiter::new(1, Duration::from_secs(3600));
        let a = ip("2001:db8::1");
        let t = Instant::now();
        assert!(rl.check_at(a, t).is_ok());
        assert_eq!(rl.check_at(a, t + Duration::from_secs(3599)), Err(1));
        assert_eq!(rl.check_at(a, t + Duration::from_secs(1800)), Err(1800));
        assert!(rl.check_at(a, t + Duration::from_secs(3601)).is_ok());
        assert!(rl.check_at(a, t + Duration::from_secs(3602)).is_err());
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
        assert_eq!(ip("2001:db8::1:2:3:4"), ip("2001:db8::"));
        assert_eq!(bucket("2001:db8::1:2:3:4".parse().unwrap()), "2001:db8::".parse::<IpAddr>().unwrap());
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
            let _ = rl.check_at(v4(0x0a00_0000 + i), now);
            assert!(rl.check_at(abuser, now).is_err(), "the abuser's count survived address {i}");
            assert!(rl.tracked() <= 64);
        }
        // The addresses that went quiet longest are the ones forgotten.
        let recent = v4(0x0a00_0000 + 999);
        assert!(rl.check_at(recent, t + Duration::from_secs(1001)).is_err());
        let oldest = v4(0x0a00_0000);
        assert!(rl.check_at(oldest, t + Duration::from_secs(1001)).is_ok());
    }

    #[test]
    fn peek_does_not_count() {
        let rl = RateLimiter::new(2, Duration::from_secs(60));
        let a: IpAddr = "1.1.1.1".parse().unwrap();
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
