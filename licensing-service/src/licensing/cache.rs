//! In-memory state of the hot path: keys whose signature was already checked,
//! and license snapshots, each forgetting its least recently used entries a
//! generation at a time (never everything at once). Every committed change replaces the snapshot with a
//! newer version, so a reader never sees state older than the last commit
//! that finished updating the cache.
//!
//! What an entry costs (x86-64; `entry_sizes` below counts the bytes asked
//! of the allocator, which rounds each block up): a verified key, 134 bytes
//! at that test's load, about 95 in a full generation (its 16-byte digest and
//! the 65-byte `VerifiedKey` side by side in the table, which a generation
//! fills to 7/8); a snapshot with one seat, 288 (its id and a pointer, the
//! snapshot, its product's slug, the seat and its fingerprint's text). So
//! about 420 bytes a license with one seat, 100,000 licenses ≈ 42 MB, and
//! both caches full (two generations of [`GENERATION`] each) ≈ 96 MB. A
//! million active licenses would need about 420 MB: to fit the 150 MB goal
//! an entry must come to ~100 bytes (one table keyed by the digest holding a
//! compact snapshot inline: ids, times, a shared slug, seats as fingerprint
//! hashes). Until then the caches keep the 115k–229k most recently used
//! licenses and the others are read on use: a key stored whole in the
//! database in one statement with its license, without checking its
//! signature again (see [`super::Licensing::resolve`]).

use hashbrown::HashMap;
use std::sync::{Arc, RwLock};

use sha2::{Digest, Sha256};

use uuid::Uuid;

use crate::domain::validation::LicenseSnapshot;

/// What a key whose signature verified says about itself.
#[derive(Debug, Clone, Copy)]
pub struct VerifiedKey {
    pub license_id: Uuid,
    pub product_id: Uuid,
    /// SHA-256 of the bound fingerprint, when the key is fingerprint-bound.
    pub bound_fingerprint: Option<[u8; 32]>,
}

/// Entries per generation of each map (so at most twice this many are
/// kept), over all its [`SHARDS`]: each part's 7,168 are 7/8 of 8,192, the
/// most a hash table of 8,192 slots holds, so a full generation does not
/// double its table for the last few entries.
pub const GENERATION: usize = 114_688;

/// What the verified-key cache is keyed by: the first 16 bytes of the
/// SHA-256 of the key's text, instead of the 242 characters themselves.
///
/// A hit skips the signature check, so a key of someone's making must never
/// hit an entry of a genuine key. Entries are made only for keys whose
/// signature verified (or read from our own database), which no one else can
/// mint, so finding a collision means a second preimage of one given digest:
/// about 2^128 SHA-256 computations, out of reach. The birthday bound
/// (2^64) needs both colliding keys to be chosen freely, and one of them
/// would have to be a key this server signed. And even a collision would only
/// be answered with the claims of the genuine key it collides with.
pub type KeyDigest = [u8; 16];

pub fn key_digest(key: &str) -> KeyDigest {
    let full = Sha256::digest(key.as_bytes());
    let mut d = [0u8; 16];
    d.copy_from_slice(&full[..16]);
    d
}

/// A map that forgets the least recently used entries a generation at a
/// time, never all at once: entries go into the current generation; when it
/// is full it becomes the previous one (the older previous one is dropped),
/// and an entry found only in the previous generation moves back into the
/// current one. What was used within the last generation is always kept.
struct Generations<K, V> {
    current: HashMap<K, V>,
    previous: HashMap<K, V>,
    cap: usize,
}

impl<K: std::hash::Hash + Eq, V: Clone> Generations<K, V> {
    fn new(cap: usize) -> Self {
        Generations { current: HashMap::new(), previous: HashMap::new(), cap }
    }

    /// The entry in the current generation, without moving anything.
    fn get_current<Q: std::hash::Hash + Eq + ?Sized>(&self, k: &Q) -> Option<V>
    where
        K: std::borrow::Borrow<Q>,
    {
        self.current.get(k).cloned()
    }

    /// The entry wherever it is, moved into the current generation.
    fn get_promote(&mut self, k: K) -> Option<V> {
        if let Some(v) = self.current.get(&k) {
            return Some(v.clone());
        }
        let v = self.previous.remove(&k)?;
        self.insert(k, v.clone());
        Some(v)
    }

    fn peek(&self, k: &K) -> Option<&V> {
        self.current.get(k).or_else(|| self.previous.get(k))
    }

    fn insert(&mut self, k: K, v: V) {
        if self.current.len() >= self.cap && !self.current.contains_key(&k) {
            self.previous = std::mem::take(&mut self.current);
        }
        self.previous.remove(&k);
        self.current.insert(k, v);
    }
}

/// Each map is split in this many independent parts, each with its own
/// lock and generations (`GENERATION / SHARDS` entries each): the two
/// request threads would otherwise take one lock, and bounce its cache line
/// between them, on every validation.
const SHARDS: usize = 16;

/// One part of a map, behind its own lock.
type Part<K, V> = RwLock<Generations<K, V>>;

pub struct LicenseCache {
    /// Held in the table itself (65 bytes, copied out on a hit): one random
    /// memory read per lookup instead of two, and no shared counter to bump.
    verified: Box<[Part<KeyDigest, VerifiedKey>]>,
    snapshots: Box<[Part<Uuid, Arc<LicenseSnapshot>>]>,
}

impl Default for LicenseCache {
    fn default() -> Self {
        LicenseCache::with_shape(GENERATION / SHARDS, SHARDS)
    }
}

impl LicenseCache {
    /// `shards` parts of `cap` entries per generation each.
    fn with_shape(cap: usize, shards: usize) -> Self {
        LicenseCache {
            verified: (0..shards).map(|_| RwLock::new(Generations::new(cap))).collect(),
            snapshots: (0..shards).map(|_| RwLock::new(Generations::new(cap))).collect(),
        }
    }

    /// The part a key's digest falls in (a digest's bytes are uniform).
    fn verified_shard(&self, digest: &KeyDigest) -> &Part<KeyDigest, VerifiedKey> {
        &self.verified[usize::from(digest[0]) % self.verified.len()]
    }

    /// The part a license falls in: by the last byte of its id, random in
    /// the UUIDs we make (v4, and v7's `rand_b`).
    fn snapshot_shard(&self, license_id: &Uuid) -> &Part<Uuid, Arc<LicenseSnapshot>> {
        &self.snapshots[usize::from(license_id.as_bytes()[15]) % self.snapshots.len()]
    }

    /// Mostly a shared lock; a key found only in the older generation takes
    /// the write lock once to move it back.
    pub fn verified(&self, key: &str) -> Option<VerifiedKey> {
        let digest = key_digest(key);
        let shard = self.verified_shard(&digest);
        if let Some(v) = shard.read().expect("cache lock").get_current(&digest) {
            return Some(v);
        }
        shard.write().expect("cache lock").get_promote(digest)
    }

    pub fn remember_verified(&self, key: &str, v: VerifiedKey) -> VerifiedKey {
        let digest = key_digest(key);
        self.verified_shard(&digest).write().expect("cache lock").insert(digest, v);
        v
    }

    pub fn snapshot(&self, license_id: &Uuid) -> Option<Arc<LicenseSnapshot>> {
        let shard = self.snapshot_shard(license_id);
        if let Some(s) = shard.read().expect("cache lock").get_current(license_id) {
            return Some(s);
        }
        shard.write().expect("cache lock").get_promote(*license_id)
    }

    /// Stores `snap` unless a newer one is already cached; returns the one kept.
    /// Newer is a higher version, or, at the same version, more seats: a seat
    /// take does not bump the version (see [`super::seats`]) and only ever
    /// adds a seat, while everything else that changes a license, a freed
    /// seat included, bumps it. So a snapshot read before a take committed
    /// never hides the take. Its lists are cut to their length first: a seat take pushes onto an
    /// empty list, which would keep room for four seats (160 bytes, not 40).
    pub fn store(&self, mut snap: LicenseSnapshot) -> Arc<LicenseSnapshot> {
        snap.seats.shrink_to_fit();
        snap.entitlements.shrink_to_fit();
        snap.product_slug.shrink_to_fit();
        let mut map = self.snapshot_shard(&snap.license_id).write().expect("cache lock");
        if let Some(existing) = map.peek(&snap.license_id) {
            let newer = (existing.version, existing.seats.len()) > (snap.version, snap.seats.len());
            if newer {
                return existing.clone();
            }
        }
        let snap = Arc::new(snap);
        map.insert(snap.license_id, snap.clone());
        snap
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::license::LicenseStatus;

    /// Counts the bytes the current thread has allocated and not freed (the
    /// unit tests' allocator; other threads' allocations do not disturb it).
    mod counting {
        use std::alloc::{GlobalAlloc, Layout, System};
        use std::cell::Cell;

        thread_local! {
            static LIVE: Cell<isize> = const { Cell::new(0) };
        }

        pub struct Counting;

        unsafe impl GlobalAlloc for Counting {
            unsafe fn alloc(&self, l: Layout) -> *mut u8 {
                let _ = LIVE.try_with(|c| c.set(c.get() + l.size() as isize));
                System.alloc(l)
            }
            unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
                let _ = LIVE.try_with(|c| c.set(c.get() - l.size() as isize));
                System.dealloc(p, l)
            }
            unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
                let _ = LIVE.try_with(|c| c.set(c.get() + new as isize - l.size() as isize));
                System.realloc(p, l, new)
            }
        }

        #[global_allocator]
        static ALLOCATOR: Counting = Counting;

        pub fn live() -> isize {
            LIVE.with(Cell::get)
        }
    }

    fn snap(version: i64) -> LicenseSnapshot {
        LicenseSnapshot {
            license_id: Uuid::nil(),
            policy_id: Uuid::nil(),
            version,
            product_id: Uuid::nil(),
            product_slug: "p".into(),
            status: LicenseStatus::Active,
            issued_at: 0,
            expires_at: 0,
            grace_seconds: 0,
            max_machines: 0,
            is_trial: false,
            entitlements: vec![],
            seats: vec![],
        }
    }

    #[test]
    fn older_versions_never_replace_newer() {
        let c = LicenseCache::default();
        c.store(snap(2));
        assert_eq!(c.store(snap(1)).version, 2);
        assert_eq!(c.store(snap(3)).version, 3);
        assert_eq!(c.snapshot(&Uuid::nil()).unwrap().version, 3);
    }

    #[test]
    fn at_one_version_the_snapshot_with_more_seats_is_newer() {
        let c = LicenseCache::default();
        let seat = |n: u128| (format!("fp-{n}"), Uuid::from_u128(n));
        c.store(LicenseSnapshot { seats: vec![seat(1), seat(2)], ..snap(4) });
        // Read before the second take committed: kept out.
        assert_eq!(c.store(LicenseSnapshot { seats: vec![seat(1)], ..snap(4) }).seats.len(), 2);
        assert_eq!(c.snapshot(&Uuid::nil()).unwrap().seats.len(), 2);
        // A free bumps the version: fewer seats, and newer.
        assert_eq!(c.store(LicenseSnapshot { seats: vec![seat(2)], ..snap(5) }).seats.len(), 1);
        assert_eq!(c.store(LicenseSnapshot { seats: vec![seat(1), seat(2)], ..snap(4) }).version, 5);
    }

    #[test]
    fn recently_used_entries_survive_a_full_cache() {
        let c = LicenseCache::with_shape(4, 1);
        let id = |n: u128| Uuid::from_u128(n);
        let snap_of = |n: u128| LicenseSnapshot { license_id: id(n), ..snap(1) };
        for n in 0..4 {
            c.store(snap_of(n));
        }
        // 0 is used again; then enough new entries fill two generations.
        for n in 4..8 {
            assert!(c.snapshot(&id(0)).is_some());
            c.store(snap_of(n));
        }
        assert!(c.snapshot(&id(0)).is_some(), "a recently used entry is kept");
        assert!(c.snapshot(&id(7)).is_some());
        for n in 8..16 {
            c.store(snap_of(n));
        }
        assert!(c.snapshot(&id(1)).is_none(), "an unused old entry is forgotten");
        let kept = (0..16).filter(|n| c.snapshot(&id(*n)).is_some()).count();
        assert!((4..=8).contains(&kept), "{kept}");
    }

    /// A key of the length and alphabet of a real one, distinct per `n`.
    fn key(n: u32) -> String {
        format!("LIC1-{n:0>130}-{:A>103}", n)
    }

    fn verified_key(n: u32) -> VerifiedKey {
        VerifiedKey { license_id: Uuid::from_u128(n.into()), product_id: Uuid::nil(), bound_fingerprint: None }
    }

    #[test]
    fn verified_keys_are_found_by_their_digest_only() {
        let c = LicenseCache::with_shape(4, 1);
        c.remember_verified(&key(1), verified_key(1));
        assert_eq!(c.verified(&key(1)).unwrap().license_id, Uuid::from_u128(1));
        assert!(c.verified(&key(2)).is_none());
        // One character changed anywhere is another digest.
        let mut other = key(1).into_bytes();
        other[200] = b'B';
        assert!(c.verified(std::str::from_utf8(&other).unwrap()).is_none());
        assert_eq!(key_digest(&key(1)), key_digest(&key(1)));
        assert_eq!(&key_digest("KEY-1")[..], &crate::db::licenses::key_hash("KEY-1")[..]);
        // Generations work as before: the oldest unused entries go first.
        for n in 2..12 {
            c.remember_verified(&key(n), verified_key(n));
        }
        assert!(c.verified(&key(1)).is_none());
        assert!(c.verified(&key(11)).is_some());
    }

    /// What an entry costs in bytes asked of the allocator (malloc rounds
    /// each block up and adds 8 bytes: see the module's note).
    #[test]
    fn entry_sizes() {
        const N: u32 = 20_000;
        let keys: Vec<String> = (0..N).map(key).collect();
        let fingerprints: Vec<String> = (0..N).map(|n| format!("scale-machine-{n}")).collect();
        let c = LicenseCache::default();
        let before = counting::live();
        for (n, k) in keys.iter().enumerate() {
            c.remember_verified(k, verified_key(n as u32));
        }
        let verified = (counting::live() - before) / N as isize;
        let before = counting::live();
        for (n, fp) in fingerprints.iter().enumerate() {
            let id = Uuid::from_u128(n as u128);
            // As a seat take makes it: one seat pushed onto the snapshot read without.
            let mut s = LicenseSnapshot { license_id: id, product_slug: "scale".into(), ..snap(1) };
            s.seats.push((fp.clone(), id));
            c.store(s);
        }
        let snapshot = (counting::live() - before) / N as isize;
        eprintln!("bytes per entry: verified key {verified}, snapshot with one seat {snapshot}");
        assert!(verified <= 140, "a verified key costs {verified} bytes");
        assert!(snapshot <= 330, "a snapshot costs {snapshot} bytes");
    }
}
