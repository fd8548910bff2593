//! In-memory state of the hot path: one table of license snapshots, each
//! with the digest of its license's current key, so that a validation with
//! that key is one lookup; and the digests of other keys whose signature
//! verified (a license's former keys, still valid: PROTOCOL.md). Every
//! committed change replaces the snapshot with a newer version, so a reader
//! never sees state older than the last commit that finished updating the
//! cache.
//!
//! Sized for a million active licenses: [`CAPACITY`] snapshots, each a
//! 105-byte slot in its part's table (the 96-byte snapshot, a flag and a
//! control byte; its terms shared with the other licenses of its tier, one
//! seat inline), 119 bytes a license once a part is full (`entry_sizes`
//! below), so 123 MB for the whole capacity, and about 15 MB at 100,000
//! licenses (the tables grow as they fill). Past it, the least
//! recently used go first: a part that is full forgets the snapshots not
//! read since it was last full (at least an eighth of it), never all at
//! once. A license not cached is read on use (see
//! [`super::Licensing::resolve`]).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::RwLock;

use hashbrown::{HashSet, HashTable};
use std::hash::BuildHasher;
use uuid::Uuid;

use crate::domain::validation::LicenseSnapshot;
pub use crate::domain::validation::{key_digest, KeyDigest};

/// What a key whose signature verified (or that our database holds) says
/// about itself.
#[derive(Debug, Clone, Copy)]
pub struct VerifiedKey {
    pub license_id: Uuid,
    pub product_id: Uuid,
    /// SHA-256 of the bound fingerprint, when the key is fingerprint-bound.
    pub bound_fingerprint: Option<[u8; 32]>,
}

/// Parts of the snapshot table, each behind its own lock (the two request
/// threads would otherwise take one lock, and bounce its cache line between
/// them, on every validation). Not a power of two: with [`PART_CAP`] it puts
/// the capacity just past a million.
const PARTS: usize = 18;
/// Snapshots per part: 7/8 of 65,536, the most a table of 65,536 slots
/// holds, so a full part does not double its table for the last few.
const PART_CAP: usize = 57_344;
/// Snapshots kept at most: 1,032,192.
pub const CAPACITY: usize = PARTS * PART_CAP;

/// Former keys remembered per generation (twice as many at most), over 16 parts.
const FORMER_PARTS: usize = 16;
const FORMER_PART_CAP: usize = 7_168;

/// A snapshot, and whether it was read since its part was last full.
struct Cached {
    snap: LicenseSnapshot,
    used: AtomicBool,
}

impl Cached {
    /// Not read yet: a license seen once is the first to go.
    fn new(snap: LicenseSnapshot) -> Cached {
        Cached { snap, used: AtomicBool::new(false) }
    }
}

/// A set that forgets the least recently used digests a generation at a
/// time, never all at once: digests go into the current generation; when
/// it is full it becomes the previous one (the older previous one is
/// dropped), and a digest found only in the previous generation moves back.
struct Generations {
    current: HashSet<KeyDigest>,
    previous: HashSet<KeyDigest>,
    cap: usize,
}

impl Generations {
    fn new(cap: usize) -> Self {
        Generations { current: HashSet::new(), previous: HashSet::new(), cap }
    }

    /// Whether `k` is held, moving it into the current generation.
    fn contains_promote(&mut self, k: &KeyDigest) -> bool {
        if self.current.contains(k) {
            return true;
        }
        if !self.previous.remove(k) {
            return false;
        }
        self.insert(*k);
        true
    }

    fn insert(&mut self, k: KeyDigest) {
        if self.current.len() >= self.cap && !self.current.contains(&k) {
            self.previous = std::mem::take(&mut self.current);
        }
        self.previous.remove(&k);
        self.current.insert(k);
    }
}

pub struct LicenseCache {
    parts: Box<[RwLock<HashTable<Cached>>]>,
    part_cap: usize,
    hasher: hashbrown::DefaultHashBuilder,
    former: Box<[RwLock<Generations>]>,
}

impl Default for LicenseCache {
    fn default() -> Self {
        LicenseCache::with_shape(PARTS, PART_CAP, FORMER_PART_CAP)
    }
}

impl LicenseCache {
    /// `parts` parts of `part_cap` snapshots each, and former keys in
    /// generations of `former_cap` per part.
    fn with_shape(parts: usize, part_cap: usize, former_cap: usize) -> Self {
        LicenseCache {
            parts: (0..parts).map(|_| RwLock::new(HashTable::new())).collect(),
            part_cap,
            hasher: Default::default(),
            former: (0..FORMER_PARTS).map(|_| RwLock::new(Generations::new(former_cap))).collect(),
        }
    }

    /// The part a license falls in, by the last two bytes of its id (random
    /// in the UUIDs we make: v4, and v7's `rand_b`), and its hash there.
    fn part(&self, license_id: &Uuid) -> (&RwLock<HashTable<Cached>>, u64) {
        let b = license_id.as_bytes();
        let i = usize::from(u16::from_le_bytes([b[14], b[15]])) % self.parts.len();
        (&self.parts[i], self.hasher.hash_one(license_id))
    }

    /// A copy of the license's snapshot.
    pub fn snapshot(&self, license_id: &Uuid) -> Option<LicenseSnapshot> {
        self.read(license_id, LicenseSnapshot::clone)
    }

    /// `f` over the license's snapshot where it lies, under its part's
    /// shared lock: nothing copied, no reference count touched (the terms a
    /// tier's licenses share would bounce between the cores on every call).
    pub fn read<R>(&self, license_id: &Uuid, f: impl FnOnce(&LicenseSnapshot) -> R) -> Option<R> {
        let (part, hash) = self.part(license_id);
        let part = part.read().expect("cache lock");
        let c = part.find(hash, |c| c.snap.license_id == *license_id)?;
        if !c.used.load(Ordering::Relaxed) {
            c.used.store(true, Ordering::Relaxed);
        }
        Some(f(&c.snap))
    }

    /// Stores `snap` unless a newer one is already cached; returns the one kept.
    /// Newer is a higher version, or, at the same version, more seats: a seat
    /// take does not bump the version (see [`super::seats`]) and only ever
    /// adds a seat, while everything else that changes a license, a freed
    /// seat included, bumps it. So a snapshot read before a take committed
    /// never hides the take.
    pub fn store(&self, snap: LicenseSnapshot) -> LicenseSnapshot {
        let (part, hash) = self.part(&snap.license_id);
        let mut part = part.write().expect("cache lock");
        if let Some(c) = part.find_mut(hash, |c| c.snap.license_id == snap.license_id) {
            if (c.snap.version, c.snap.seats.len()) > (snap.version, snap.seats.len()) {
                return c.snap.clone();
            }
            c.snap = snap.clone();
            return snap;
        }
        if part.len() >= self.part_cap {
            self.make_room(&mut part);
        }
        part.insert_unique(hash, Cached::new(snap.clone()), |c| self.hasher.hash_one(c.snap.license_id));
        snap
    }

    /// Forgets the snapshots of a full part not read since it was last full
    /// (and, if that is fewer than an eighth of it, some read since too),
    /// into a new table of the same size: no slot is left marked deleted,
    /// which would make the table double at the next insertions.
    fn make_room(&self, part: &mut HashTable<Cached>) {
        let unused = part.iter().filter(|c| !c.used.load(Ordering::Relaxed)).count();
        let mut more = (self.part_cap / 8).max(1).saturating_sub(unused);
        let mut kept = HashTable::with_capacity(self.part_cap);
        for c in part.drain() {
            if !c.used.load(Ordering::Relaxed) {
                continue;
            }
            if more > 0 {
                more -= 1;
                continue;
            }
            c.used.store(false, Ordering::Relaxed);
            kept.insert_unique(self.hasher.hash_one(c.snap.license_id), c, |c| self.hasher.hash_one(c.snap.license_id));
        }
        *part = kept;
    }

    /// Snapshots held.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.parts.iter().map(|p| p.read().expect("cache lock").len()).sum()
    }

    /// Whether the license is held, without counting as a read.
    #[cfg(test)]
    fn holds(&self, license_id: &Uuid) -> bool {
        let (part, hash) = self.part(license_id);
        part.read().unwrap().find(hash, |c| c.snap.license_id == *license_id).is_some()
    }

    fn former_part(&self, digest: &KeyDigest) -> &RwLock<Generations> {
        &self.former[usize::from(digest[0]) % self.former.len()]
    }

    /// Whether `digest` is of a key whose signature verified, not the
    /// current key of its license (mostly a shared lock).
    pub fn is_former(&self, digest: &KeyDigest) -> bool {
        let part = self.former_part(digest);
        if part.read().expect("cache lock").current.contains(digest) {
            return true;
        }
        part.write().expect("cache lock").contains_promote(digest)
    }

    /// Remembers a key whose signature verified.
    pub fn remember_former(&self, digest: KeyDigest) {
        self.former_part(&digest).write().expect("cache lock").insert(digest);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::license::LicenseStatus;
    use crate::domain::validation::{fp_hash, HeldSeat, LicenseTerms, Seats};

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

    fn snap_of(n: u128, version: i64) -> LicenseSnapshot {
        let terms = LicenseTerms {
            product_id: Uuid::nil(),
            product_slug: "p".into(),
            policy_id: Uuid::nil(),
            status: LicenseStatus::Active,
            grace_seconds: 0,
            max_machines: 0,
            is_trial: false,
            entitlements: vec![],
        };
        LicenseSnapshot {
            license_id: Uuid::from_u128(n),
            key: [0; 16],
            version,
            issued_at: 0,
            expires_at: 0,
            terms: terms.shared(),
            seats: Seats::None,
        }
    }

    fn seat(n: u128) -> HeldSeat {
        HeldSeat { fp: fp_hash(&format!("fp-{n}")), id: Uuid::from_u128(n) }
    }

    #[test]
    fn older_versions_never_replace_newer() {
        let c = LicenseCache::default();
        c.store(snap_of(0, 2));
        assert_eq!(c.store(snap_of(0, 1)).version, 2);
        assert_eq!(c.store(snap_of(0, 3)).version, 3);
        assert_eq!(c.snapshot(&Uuid::nil()).unwrap().version, 3);
    }

    #[test]
    fn at_one_version_the_snapshot_with_more_seats_is_newer() {
        let c = LicenseCache::default();
        let with = |seats: &[u128], version| LicenseSnapshot {
            seats: seats.iter().map(|n| seat(*n)).collect(),
            ..snap_of(0, version)
        };
        c.store(with(&[1, 2], 4));
        // Read before the second take committed: kept out.
        assert_eq!(c.store(with(&[1], 4)).seats.len(), 2);
        assert_eq!(c.snapshot(&Uuid::nil()).unwrap().seats.len(), 2);
        // A free bumps the version: fewer seats, and newer.
        assert_eq!(c.store(with(&[2], 5)).seats.len(), 1);
        assert_eq!(c.store(with(&[1, 2], 4)).version, 5);
    }

    #[test]
    fn a_full_part_forgets_what_was_not_read_since_it_was_last_full() {
        let c = LicenseCache::with_shape(1, 8, 4);
        let id = Uuid::from_u128;
        for n in 0..8 {
            c.store(snap_of(n, 1));
        }
        for n in 0..4 {
            assert!(c.snapshot(&id(n)).is_some());
        }
        // Full: the four never read go, the four read stay.
        c.store(snap_of(8, 1));
        assert_eq!(c.len(), 5);
        assert!((0..4).chain([8]).all(|n| c.holds(&id(n))));
        // The next time it is full, only what was read since stays.
        for n in 9..12 {
            c.store(snap_of(n, 1));
        }
        for n in [2, 9] {
            assert!(c.snapshot(&id(n)).is_some());
        }
        c.store(snap_of(12, 1));
        let kept: Vec<u128> = (0..16).filter(|n| c.holds(&id(*n))).collect();
        assert_eq!(kept, vec![2, 9, 12]);
        // Everything read since: an eighth goes all the same, and the table
        // never grows past its size however long this goes on.
        for n in 13..18 {
            c.store(snap_of(n, 1));
        }
        let capacity = c.parts[0].read().unwrap().capacity();
        for round in 0..100u128 {
            for n in 0..64 {
                let _ = c.snapshot(&id(n));
            }
            c.store(snap_of(100 + round, 1));
            assert!(c.len() <= 8);
        }
        assert_eq!(c.parts[0].read().unwrap().capacity(), capacity);
        assert!(c.holds(&id(199)), "the newest is kept");
    }

    #[test]
    fn former_keys_are_remembered_by_their_digest_only() {
        let c = LicenseCache::with_shape(1, 8, 4);
        let key = |n: u32| format!("LIC1-{n:0>130}-{:A>103}", n);
        c.remember_former(key_digest(&key(1)));
        assert!(c.is_former(&key_digest(&key(1))));
        assert!(!c.is_former(&key_digest(&key(2))));
        // One character changed anywhere is another digest.
        let mut other = key(1).into_bytes();
        other[200] = b'B';
        assert!(!c.is_former(&key_digest(std::str::from_utf8(&other).unwrap())));
        assert_eq!(&key_digest("KEY-1")[..], &crate::db::licenses::key_hash("KEY-1")[..]);
        // The oldest unused go first (each of the 16 parts holds 4 a generation).
        for n in 2..400 {
            c.remember_former(key_digest(&key(n)));
        }
        assert!(!c.is_former(&key_digest(&key(1))));
        assert!(c.is_former(&key_digest(&key(399))));
    }

    /// What a license costs once a part is full, in bytes asked of the
    /// allocator: its table (every slot a 96-byte snapshot, a flag and a
    /// control byte) over the snapshots it holds; the terms are shared and
    /// one seat is inline, so nothing else is allocated per license.
    #[test]
    fn entry_sizes() {
        let c = LicenseCache::with_shape(1, PART_CAP, FORMER_PART_CAP);
        c.store(snap_of(0, 1));
        let before = counting::live();
        for n in 0..PART_CAP as u128 {
            c.store(LicenseSnapshot { seats: Seats::One(seat(n)), ..snap_of(n, 1) });
        }
        let per_license = (counting::live() - before) / PART_CAP as isize;
        eprintln!("bytes per cached license: {per_license}");
        assert_eq!(c.len(), PART_CAP);
        assert!(per_license <= 125, "a cached license costs {per_license} bytes");
        // A million fit.
        const { assert!(CAPACITY >= 1_000_000) };
    }
}
