//! In-memory state of the hot path: keys whose signature was already checked,
//! and license snapshots. Every committed change replaces the snapshot with a
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

/// Bound on remembered keys; the map is cleared when it fills (cheap and rare).
const MAX_VERIFIED_KEYS: usize = 200_000;
/// Bound on cached snapshots.
const MAX_SNAPSHOTS: usize = 200_000;

#[derive(Default)]
pub struct LicenseCache {
    verified: RwLock<HashMap<Box<str>, Arc<VerifiedKey>>>,
    snapshots: RwLock<HashMap<Uuid, Arc<LicenseSnapshot>>>,
}

impl LicenseCache {
    pub fn verified(&self, key: &str) -> Option<Arc<VerifiedKey>> {
        self.verified.read().expect("cache lock").get(key).cloned()
    }

    pub fn remember_verified(&self, key: &str, v: VerifiedKey) -> Arc<VerifiedKey> {
        let v = Arc::new(v);
        let mut map = self.verified.write().expect("cache lock");
        if map.len() >= MAX_VERIFIED_KEYS {
            map.clear();
        }
        map.insert(key.into(), v.clone());
        v
    }

    pub fn snapshot(&self, license_id: &Uuid) -> Option<Arc<LicenseSnapshot>> {
        self.snapshots.read().expect("cache lock").get(license_id).cloned()
    }

    /// Stores `snap` unless a newer version is already cached; returns the one kept.
    pub fn store(&self, snap: LicenseSnapshot) -> Arc<LicenseSnapshot> {
        let mut map = self.snapshots.write().expect("cache lock");
        if let Some(existing) = map.get(&snap.license_id) {
            if existing.version > snap.version {
                return existing.clone();
            }
        }
        if map.len() >= MAX_SNAPSHOTS {
            map.clear();
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
}
