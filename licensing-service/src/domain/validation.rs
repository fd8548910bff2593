//! The online decision for a license key: PROTOCOL.md's reason codes, in the
//! order they are checked, and the seat rules.

use std::collections::HashSet;
use std::hash::BuildHasher;
use std::sync::{Arc, LazyLock, Mutex};

use uuid::Uuid;

use super::license::LicenseStatus;

/// What a key is known by without its text: the first 16 bytes of the
/// SHA-256 of the text (the `key_hash` column, and the caches' key).
///
/// A key found by its digest is taken as this server's own without checking
/// its signature, so a key of someone's making must never have the digest
/// of a genuine one. Digests are only ever kept of keys whose signature
/// verified or that our database holds, which no one else can mint, so a
/// collision means a second preimage of one given digest: about 2^128
/// SHA-256 computations, out of reach. The birthday bound (2^64) needs both
/// colliding keys to be chosen freely, and one of them would have to be a
/// key this server signed. (A collision would matter: the hot path reads a
/// known key's claims, its fingerprint binding included, from its text.)
pub type KeyDigest = [u8; 16];

pub fn key_digest(key: &str) -> KeyDigest {
    use sha2::{Digest, Sha256};
    let full = Sha256::digest(key.as_bytes());
    let mut d = [0u8; 16];
    d.copy_from_slice(&full[..16]);
    d
}

/// A fingerprint as seats are compared in memory: 64 bits of a hash keyed
/// at random for this process, instead of the text (up to 256 bytes). Two
/// fingerprints of one license that hash alike would share a seat, one
/// chance in 2^64 per pair; a client gains nothing by it that sending the
/// same fingerprint from both machines would not give it.
pub type FpHash = u64;

pub fn fp_hash(fingerprint: &str) -> FpHash {
    static KEYED: LazyLock<hashbrown::DefaultHashBuilder> = LazyLock::new(Default::default);
    KEYED.hash_one(fingerprint)
}

/// A seat a license holds: its machine's fingerprint (hashed) and id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeldSeat {
    pub fp: FpHash,
    pub id: Uuid,
}

/// A license's active seats, in the order they were taken: one inline (most
/// licenses), more in one shared block (the hot path copies a license's
/// snapshot on every call: a count, not the seats, is what that copies).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Seats {
    #[default]
    None,
    One(HeldSeat),
    Many(Arc<[HeldSeat]>),
}

impl Seats {
    /// Seats as the database answers them (`[fingerprint, machine id]`, in
    /// the order they were taken), each fingerprint hashed.
    pub fn of_rows(rows: &[(String, Uuid)]) -> Seats {
        rows.iter().map(|(fp, id)| HeldSeat { fp: fp_hash(fp), id: *id }).collect()
    }

    pub fn as_slice(&self) -> &[HeldSeat] {
        match self {
            Seats::None => &[],
            Seats::One(s) => std::slice::from_ref(s),
            Seats::Many(all) => all,
        }
    }

    pub fn len(&self) -> usize {
        self.as_slice().len()
    }

    pub fn is_empty(&self) -> bool {
        matches!(self, Seats::None)
    }

    pub fn push(&mut self, seat: HeldSeat) {
        *self = match std::mem::take(self) {
            Seats::None => Seats::One(seat),
            Seats::One(first) => Seats::Many(Arc::new([first, seat])),
            Seats::Many(all) => Seats::Many(all.iter().copied().chain([seat]).collect()),
        };
    }

    /// The machine holding the seat of `fingerprint` (hashed by [`fp_hash`]).
    pub fn of(&self, fp: FpHash) -> Option<Uuid> {
        self.as_slice().iter().find(|s| s.fp == fp).map(|s| s.id)
    }

    /// The fingerprint hash of machine `id`'s seat.
    pub fn fp_of(&self, id: Uuid) -> Option<FpHash> {
        self.as_slice().iter().find(|s| s.id == id).map(|s| s.fp)
    }
}

impl FromIterator<HeldSeat> for Seats {
    fn from_iter<I: IntoIterator<Item = HeldSeat>>(iter: I) -> Seats {
        let all: Vec<HeldSeat> = iter.into_iter().collect();
        match all.len() {
            0 => Seats::None,
            1 => Seats::One(all[0]),
            _ => Seats::Many(all.into()),
        }
    }
}

/// The parts of a license the hot path reads that many licenses have alike
/// (every license of a tier, until one is changed on its own): held once
/// and shared (see [`LicenseTerms::shared`]).
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct LicenseTerms {
    pub product_id: Uuid,
    pub product_slug: String,
    /// The tier it was issued under (its machine rules apply).
    pub policy_id: Uuid,
    pub status: LicenseStatus,
    pub grace_seconds: i64,
    pub max_machines: i64,
    pub is_trial: bool,
    pub entitlements: Vec<String>,
}

/// Every [`LicenseTerms`] held, and how many were left at the last pruning.
static TERMS: LazyLock<Mutex<(HashSet<Arc<LicenseTerms>>, usize)>> = LazyLock::new(Default::default);

impl LicenseTerms {
    /// The one shared copy of terms equal to these. Copies no license
    /// holds any more are let go when the table has doubled since.
    pub fn shared(self) -> Arc<LicenseTerms> {
        let mut guard = TERMS.lock().expect("terms lock");
        let (all, kept) = &mut *guard;
        if let Some(t) = all.get(&self) {
            return t.clone();
        }
        if all.len() >= (*kept * 2).max(1024) {
            all.retain(|t| Arc::strong_count(t) > 1);
            *kept = all.len();
        }
        let t = Arc::new(self);
        all.insert(t.clone());
        t
    }
}

/// Everything the hot path needs to know about one license, held in memory
/// (96 bytes, and its terms shared).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LicenseSnapshot {
    pub license_id: Uuid,
    /// The digest of the license's current key as stored.
    pub key: KeyDigest,
    /// Bumped by every committed change to the license or its machines.
    pub version: i64,
    pub issued_at: i64,
    pub expires_at: i64,
    pub terms: Arc<LicenseTerms>,
    /// Active seats.
    pub seats: Seats,
}

impl LicenseSnapshot {
    pub fn seat_of(&self, fingerprint: &str) -> Option<Uuid> {
        self.seats.of(fp_hash(fingerprint))
    }

    pub fn facts(&self, bound_fingerprint_matches: Option<bool>) -> Facts<'_> {
        Facts {
            status: self.terms.status,
            product_slug: &self.terms.product_slug,
            expires_at: self.expires_at,
            grace_seconds: self.terms.grace_seconds,
            bound_fingerprint_matches,
        }
    }

    /// The seat decision for the fingerprint hashed as `fp` ([`fp_hash`]).
    pub fn seat_for(&self, fp: FpHash) -> Result<Seat<Uuid>, Reason> {
        seat_for(self.terms.max_machines, self.seats.as_slice().iter().map(|s| (s.fp, s.id)), &fp)
    }
}

/// Why a validation or machine call was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    RateLimited,
    BadFormat,
    BadSignature,
    NotFound,
    Revoked,
    Suspended,
    ProductMismatch,
    Expired,
    FingerprintMismatch,
    TooManyMachines,
    NotActivated,
    /// One trial per machine: this machine already held a trial of the product.
    TrialAlreadyUsed,
    /// Air-gapped activation: not an `ACT1` code.
    BadChallenge,
    /// Air-gapped activation: an `ACT1` code with a typo.
    ChallengeChecksum,
    /// Air-gapped activation: the challenge names another license than the key.
    ChallengeMismatch,
    /// Air-gapped activation: the challenge was answered already.
    ChallengeUsed,
    /// Self-service: the buyer has freed as many seats as the tier allows for now.
    ResetLimitReached,
}

impl Reason {
    pub fn code(self) -> &'static str {
        match self {
            Reason::RateLimited => "rate_limited",
            Reason::BadFormat => "bad_format",
            Reason::BadSignature => "bad_signature",
            Reason::NotFound => "not_found",
            Reason::Revoked => "revoked",
            Reason::Suspended => "suspended",
            Reason::ProductMismatch => "product_mismatch",
            Reason::Expired => "expired",
            Reason::FingerprintMismatch => "fingerprint_mismatch",
            Reason::TooManyMachines => "too_many_machines",
            Reason::NotActivated => "not_activated",
            Reason::TrialAlreadyUsed => "trial_already_used",
            Reason::BadChallenge => "bad_challenge",
            Reason::ChallengeChecksum => "challenge_checksum",
            Reason::ChallengeMismatch => "challenge_mismatch",
            Reason::ChallengeUsed => "challenge_used",
            Reason::ResetLimitReached => "reset_limit_reached",
        }
    }

    pub fn message(self) -> &'static str {
        match self {
            Reason::RateLimited => "too many requests from this address; slow down",
            Reason::BadFormat => "the key is not a well-formed LIC1 key",
            Reason::BadSignature => "the key's signature does not match this server's public key",
            Reason::NotFound => "no license with this key exists on this server",
            Reason::Revoked => "the license has been revoked",
            Reason::Suspended => "the license is suspended",
            Reason::ProductMismatch => "the key is for another product",
            Reason::Expired => "the license has expired",
            Reason::FingerprintMismatch => "the license is bound to another machine",
            Reason::TooManyMachines => "every seat of this license is taken; deactivate a machine first",
            Reason::NotActivated => "this machine holds no seat of the license",
            Reason::TrialAlreadyUsed => "this machine has already had a trial of this product",
            Reason::BadChallenge => "the challenge is not an ACT1 code (ACT1- and 64 letters and digits)",
            Reason::ChallengeChecksum => {
                "the challenge has a typo (its checksum does not match); check it and enter it again"
            }
            Reason::ChallengeMismatch => "the challenge was made for another license than this key's",
            Reason::ChallengeUsed => "this challenge has already been answered; let the application show a new one",
            Reason::ResetLimitReached => "this license's machines cannot be freed again yet",
        }
    }
}

/// Where a license stands in time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expiry {
    Current,
    InGrace { grace_until: i64 },
    Expired,
}

/// `expires_at` 0 is perpetual; past expiry the grace period still answers ok.
pub fn expiry_at(expires_at: i64, grace_seconds: i64, now: i64) -> Expiry {
    if expires_at == 0 || now < expires_at {
        Expiry::Current
    } else if now < expires_at.saturating_add(grace_seconds) {
        Expiry::InGrace { grace_until: expires_at + grace_seconds }
    } else {
        Expiry::Expired
    }
}

/// The facts a decision needs about one license.
pub struct Facts<'a> {
    pub status: LicenseStatus,
    pub product_slug: &'a str,
    pub expires_at: i64,
    pub grace_seconds: i64,
    /// `Some(matches)` when the key is fingerprint-bound: whether the request
    /// sent the fingerprint it is bound to (sending none does not match).
    pub bound_fingerprint_matches: Option<bool>,
}

/// Checks status, product, expiry and the key's own binding, in PROTOCOL order.
pub fn check_license(facts: &Facts, product_slug: Option<&str>, now: i64) -> Result<Expiry, Reason> {
    match facts.status {
        LicenseStatus::Revoked => return Err(Reason::Revoked),
        LicenseStatus::Suspended => return Err(Reason::Suspended),
        LicenseStatus::Active => {}
    }
    if product_slug.is_some_and(|s| s != facts.product_slug) {
        return Err(Reason::ProductMismatch);
    }
    let expiry = expiry_at(facts.expires_at, facts.grace_seconds, now);
    if expiry == Expiry::Expired {
        return Err(Reason::Expired);
    }
    if facts.bound_fingerprint_matches == Some(false) {
        return Err(Reason::FingerprintMismatch);
    }
    Ok(expiry)
}

/// What to do with a fingerprint on a license.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seat<Id> {
    /// It already holds this seat.
    Held(Id),
    /// A seat is free: activate it.
    Take,
}

/// Trust on first use: a one-seat license is bound to the first fingerprint
/// (another one is `fingerprint_mismatch`); a license with more seats takes new
/// fingerprints until `max_machines` (then `too_many_machines`; 0 = unlimited).
pub fn seat_for<F: PartialEq, Id: Copy>(
    max_machines: i64,
    active: impl ExactSizeIterator<Item = (F, Id)>,
    fingerprint: &F,
) -> Result<Seat<Id>, Reason> {
    let taken = active.len() as i64;
    let mut held = None;
    for (fp, id) in active {
        if fp == *fingerprint {
            held = Some(id);
        }
    }
    match held {
        Some(id) => Ok(Seat::Held(id)),
        None if max_machines == 1 && taken >= 1 => Err(Reason::FingerprintMismatch),
        None if max_machines > 0 && taken >= max_machines => Err(Reason::TooManyMachines),
        None => Ok(Seat::Take),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(status: LicenseStatus, expires_at: i64, grace: i64, bound: Option<bool>) -> Facts<'static> {
        Facts { status, product_slug: "app", expires_at, grace_seconds: grace, bound_fingerprint_matches: bound }
    }

    #[test]
    fn order_of_reasons() {
        use LicenseStatus::*;
        // Revoked beats everything else that is also wrong.
        assert_eq!(check_license(&facts(Revoked, 1, 0, Some(false)), Some("other"), 10), Err(Reason::Revoked));
        assert_eq!(check_license(&facts(Suspended, 1, 0, Some(false)), Some("other"), 10), Err(Reason::Suspended));
        assert_eq!(check_license(&facts(Active, 1, 0, Some(false)), Some("other"), 10), Err(Reason::ProductMismatch));
        assert_eq!(check_license(&facts(Active, 1, 0, Some(false)), Some("app"), 10), Err(Reason::Expired));
        assert_eq!(check_license(&facts(Active, 0, 0, Some(false)), None, 10), Err(Reason::FingerprintMismatch));
        assert_eq!(check_license(&facts(Active, 0, 0, Some(true)), None, 10), Ok(Expiry::Current));
    }

    #[test]
    fn grace_period() {
        assert_eq!(expiry_at(0, 0, i64::MAX), Expiry::Current);
        assert_eq!(expiry_at(100, 0, 99), Expiry::Current);
        assert_eq!(expiry_at(100, 0, 100), Expiry::Expired);
        assert_eq!(expiry_at(100, 50, 100), Expiry::InGrace { grace_until: 150 });
        assert_eq!(expiry_at(100, 50, 149), Expiry::InGrace { grace_until: 150 });
        assert_eq!(expiry_at(100, 50, 150), Expiry::Expired);
    }

    #[test]
    fn seats() {
        let none: Vec<(&str, u32)> = vec![];
        assert_eq!(seat_for(1, none.iter().copied(), &"a"), Ok(Seat::Take));
        let one = [("a", 1u32)];
        assert_eq!(seat_for(1, one.iter().copied(), &"a"), Ok(Seat::Held(1)));
        assert_eq!(seat_for(1, one.iter().copied(), &"b"), Err(Reason::FingerprintMismatch));
        assert_eq!(seat_for(2, one.iter().copied(), &"b"), Ok(Seat::Take));
        let two = [("a", 1u32), ("b", 2)];
        assert_eq!(seat_for(2, two.iter().copied(), &"c"), Err(Reason::TooManyMachines));
        assert_eq!(seat_for(0, two.iter().copied(), &"c"), Ok(Seat::Take));
    }

    #[test]
    fn seats_are_kept_in_order_inline_then_in_one_block() {
        let seat = |n: u128| HeldSeat { fp: fp_hash(&format!("fp-{n}")), id: Uuid::from_u128(n) };
        let mut s = Seats::default();
        assert!(s.is_empty() && s.of(seat(1).fp).is_none());
        for n in 1..=3 {
            s.push(seat(n));
            assert_eq!(s.len(), n as usize);
        }
        assert_eq!(s.as_slice(), &[seat(1), seat(2), seat(3)]);
        assert_eq!(s.of(fp_hash("fp-2")), Some(Uuid::from_u128(2)));
        assert_eq!(s.fp_of(Uuid::from_u128(3)), Some(seat(3).fp));
        assert_eq!(s.of(fp_hash("fp-4")), None);
        assert_eq!([seat(1)].into_iter().collect::<Seats>(), Seats::One(seat(1)));
        assert_eq!(std::iter::empty().collect::<Seats>(), Seats::None);
        // A copy shares the block; a push makes a new one and leaves the copy as it was.
        let copy = s.clone();
        let (Seats::Many(a), Seats::Many(b)) = (&s, &copy) else { panic!("three seats are one block") };
        assert!(Arc::ptr_eq(a, b));
        s.push(seat(4));
        assert_eq!((s.len(), copy.len()), (4, 3));
        assert_eq!(std::mem::size_of::<Seats>(), 32);
        assert_eq!(std::mem::size_of::<LicenseSnapshot>(), 96);
    }

    #[test]
    fn equal_terms_are_held_once() {
        let terms = |slug: &str| LicenseTerms {
            product_id: Uuid::nil(),
            product_slug: slug.into(),
            policy_id: Uuid::nil(),
            status: LicenseStatus::Active,
            grace_seconds: 0,
            max_machines: 1,
            is_trial: false,
            entitlements: vec!["pro".into()],
        };
        let (a, b, c) = (terms("a").shared(), terms("a").shared(), terms("c").shared());
        assert!(Arc::ptr_eq(&a, &b));
        assert!(!Arc::ptr_eq(&a, &c));
        // Terms no one holds are let go as the table fills: thousands of
        // distinct terms made and dropped do not stay, those held do.
        for n in 0..10_000 {
            drop(terms(&format!("t{n}")).shared());
        }
        assert!(TERMS.lock().unwrap().0.len() < 5_000);
        assert!(Arc::ptr_eq(&a, &terms("a").shared()));
    }
}
