//! The online decision for a license key: PROTOCOL.md's reason codes, in the
//! order they are checked, and the seat rules.

use uuid::Uuid;

use super::license::LicenseStatus;

/// Everything the hot path needs to know about one license, held in memory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LicenseSnapshot {
    pub license_id: Uuid,
    /// The tier it was issued under (its machine rules apply).
    pub policy_id: Uuid,
    /// Bumped by every committed change to the license or its machines.
    pub version: i64,
    pub product_id: Uuid,
    pub product_slug: String,
    pub status: LicenseStatus,
    pub issued_at: i64,
    pub expires_at: i64,
    pub grace_seconds: i64,
    pub max_machines: i64,
    pub is_trial: bool,
    pub entitlements: Vec<String>,
    /// Active seats: (fingerprint, machine id).
    pub seats: Vec<(String, Uuid)>,
}

impl LicenseSnapshot {
    pub fn seat_of(&self, fingerprint: &str) -> Option<Uuid> {
        self.seats.iter().find(|(fp, _)| fp == fingerprint).map(|(_, id)| *id)
    }

    pub fn facts(&self, bound_fingerprint_matches: Option<bool>) -> Facts<'_> {
        Facts {
            status: self.status,
            product_slug: &self.product_slug,
            expires_at: self.expires_at,
            grace_seconds: self.grace_seconds,
            bound_fingerprint_matches,
        }
    }

    /// The seat decision for `fingerprint`.
    pub fn seat_for(&self, fingerprint: &str) -> Result<Seat<Uuid>, Reason> {
        seat_for(self.max_machines, self.seats.iter().map(|(fp, id)| (fp.as_str(), *id)), fingerprint)
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
pub fn seat_for<'a, Id: Copy + 'a>(
    max_machines: i64,
    active: impl ExactSizeIterator<Item = (&'a str, Id)>,
    fingerprint: &str,
) -> Result<Seat<Id>, Reason> {
    let taken = active.len() as i64;
    let mut held = None;
    for (fp, id) in active {
        if fp == fingerprint {
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
        assert_eq!(seat_for(1, none.iter().copied(), "a"), Ok(Seat::Take));
        let one = [("a", 1u32)];
        assert_eq!(seat_for(1, one.iter().copied(), "a"), Ok(Seat::Held(1)));
        assert_eq!(seat_for(1, one.iter().copied(), "b"), Err(Reason::FingerprintMismatch));
        assert_eq!(seat_for(2, one.iter().copied(), "b"), Ok(Seat::Take));
        let two = [("a", 1u32), ("b", 2)];
        assert_eq!(seat_for(2, two.iter().copied(), "c"), Err(Reason::TooManyMachines));
        assert_eq!(seat_for(0, two.iter().copied(), "c"), Ok(Seat::Take));
    }
}
