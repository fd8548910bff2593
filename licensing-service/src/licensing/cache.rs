//! In-memory state of the hot path: keys whose signature was already checked,
//! and license snapshots, each forgetting its least recently used entries a
//! generation at a time (never everything at once). Every committed change replaces the snapshot with a
//! newer version, so a reader never sees state older than the last commit
//! that finished updating the cache.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use uuid::Uuid;

use crate::domain::validation::LicenseSnapshot;

/// What a key whose signature verified says about itself.
#[derive(Debug, Clone)]
pub struct VerifiedKey {
    pub license_id: Uuid,
    pub product_id: Uuid,
    /// SHA-256 of the bound fingerprint, when the key is fingerprint-bound.
    pub bound_fingerprint: Option<[u8; 32]>,
}

/// Entries per generation of each map (so at most twice this many are kept).
pub const GENERATION: usize = 131_072;

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

pub struct LicenseCache {
    verified: RwLock<Generations<Box<str>, Arc<VerifiedKey>>>,
    snapshots: RwLock<Generations<Uuid, Arc<LicenseSnapshot>>>,
}

impl Default for LicenseCache {
    fn default() -> Self {
        LicenseCache::with_generation(GENERATION)
    }
}

impl LicenseCache {
    fn with_generation(cap: usize) -> Self {
        LicenseCache { verified: RwLock::new(Generations::new(cap)), snapshots: RwLock::new(Generations::new(cap)) }
    }

    /// Mostly a shared lock; a key found only in the older generation takes
    /// the write lock once to move it back.
    pub fn verified(&self, key: &str) -> Option<Arc<VerifiedKey>> {
        if let Some(v) = self.verified.read().expect("cache lock").get_current(key) {
            return Some(v);
        }
        self.verified.write().expect("cache lock").get_promote(key.into())
    }

    pub fn remember_verified(&self, key: &str, v: VerifiedKey) -> Arc<VerifiedKey> {
        let v = Arc::new(v);
        self.verified.write().expect("cache lock").insert(key.into(), v.clone());
        v
    }

    pub fn snapshot(&self, license_id: &Uuid) -> Option<Arc<LicenseSnapshot>> {
        if let Some(s) = self.snapshots.read().expect("cache lock").get_current(license_id) {
            return Some(s);
        }
        self.snapshots.write().expect("cache lock").get_promote(*license_id)
    }

    /// Stores `snap` unless a newer version is already cached; returns the one kept.
    pub fn store(&self, snap: LicenseSnapshot) -> Arc<LicenseSnapshot> {
        let mut map = self.snapshots.write().expect("cache lock");
        if let Some(existing) = map.peek(&snap.license_id) {
            if existing.version > snap.version {
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
    fn recently_used_entries_survive_a_full_cache() {
        let c = LicenseCache::with_generation(4);
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
}
