//! The validation hot path and seat management: reads from memory, writes
//! only when a seat is taken or freed, and logs through the batched queue.

pub mod cache;
pub mod events;
pub mod lapse;
pub mod offline;
pub mod seats;

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use keysat_client::{LicenseKey, PublicKey};
use uuid::Uuid;

use crate::db::{self, Db, Tx};
use crate::domain::machine_rules::MachineRules;
use crate::domain::now_unix;
use crate::domain::validation::{check_license, Expiry, LicenseSnapshot, Reason, Seat};
use crate::ratelimit::RateLimiter;
use cache::{LicenseCache, VerifiedKey};
use events::{EventQueue, HotEvent};
pub use seats::Taken;
use seats::{Outcome, SeatOp, SeatWriter};

/// Why a call was refused: a protocol reason (answered with HTTP 200), or a
/// failure of ours.
#[derive(Debug)]
pub enum Refusal {
    Reason { reason: Reason, license: Option<Arc<LicenseSnapshot>> },
    Internal(sqlx::Error),
}

impl From<sqlx::Error> for Refusal {
    fn from(e: sqlx::Error) -> Self {
        Refusal::Internal(e)
    }
}

impl From<Reason> for Refusal {
    fn from(reason: Reason) -> Self {
        Refusal::Reason { reason, license: None }
    }
}

fn refuse(reason: Reason, license: &Arc<LicenseSnapshot>) -> Refusal {
    Refusal::Reason { reason, license: Some(license.clone()) }
}

/// A validation request, already typed.
pub struct ValidateInput<'a> {
    pub key: &'a str,
    pub product_slug: Option<&'a str>,
    pub fingerprint: Option<&'a str>,
    pub hostname: Option<&'a str>,
    pub platform: Option<&'a str>,
}

/// The machine a seat is taken for: its fingerprint as stored, and the
/// prefix of its hash (`None`: the fingerprint's own, hashed only when a
/// seat is taken; for an air-gapped machine, whose fingerprint the server
/// never sees, the challenge's).
pub struct SeatFor<'a> {
    pub fingerprint: &'a str,
    pub prefix: Option<[u8; 10]>,
    pub hostname: Option<&'a str>,
    pub platform: Option<&'a str>,
}

/// A successful validation or activation.
pub struct Granted {
    pub license: Arc<LicenseSnapshot>,
    pub expiry: Expiry,
    pub machine_id: Option<Uuid>,
    /// The seat's row as this call wrote it, when the call took the seat
    /// (not found already held by the seat writer's fresh view): the
    /// activity writer knows its last-seen time without looking it up (see
    /// [`Licensing::log`]).
    pub seat_taken: Option<Taken>,
}

pub struct Licensing {
    db: Db,
    pub cache: LicenseCache,
    public_key: PublicKey,
    pub events: EventQueue,
    /// A seat freed and taken again within this many seconds is told to nobody.
    seat_quiet_seconds: i64,
    /// Seats taken or freed by applications, per license per hour.
    seat_changes: RateLimiter<Uuid>,
    /// Group commit of seat takes and application frees.
    seats: SeatWriter,
    /// The machine rules of policies, by policy id: read once, replaced when
    /// the operator saves the policy.
    rules: RwLock<HashMap<Uuid, MachineRules>>,
}

/// The first 10 bytes of SHA-256 of a fingerprint: what an air-gapped
/// challenge carries, and what one trial per machine compares.
pub fn fingerprint_prefix(fingerprint: &str) -> [u8; 10] {
    let hash = keysat_client::fingerprint_hash(fingerprint);
    let mut prefix = [0u8; 10];
    prefix.copy_from_slice(&hash[..10]);
    prefix
}

impl Licensing {
    pub fn new(
        db: Db,
        public_key: PublicKey,
        events: EventQueue,
        seat_quiet_seconds: i64,
        seat_changes_per_hour: u32,
    ) -> Licensing {
        let seat_changes = RateLimiter::new(seat_changes_per_hour, Duration::from_secs(3600));
        let seats = SeatWriter::start(db.clone(), seat_quiet_seconds);
        Licensing {
            db,
            cache: LicenseCache::default(),
            public_key,
            events,
            seat_quiet_seconds,
            seat_changes,
            seats,
            rules: RwLock::default(),
        }
    }

    /// Fills the caches from the database after a start, newest licenses
    /// first, up to one cache generation, so that the first minute after a
    /// restart answers from memory instead of reading (and verifying) each
    /// license on first sight. The keys come from our own database, so their
    /// signatures are not checked again (one that does not parse is
    /// skipped); a newer snapshot cached meanwhile is never replaced.
    pub async fn warm(&self) -> Result<usize, sqlx::Error> {
        const PAGE: i64 = 1000;
        let mut before = i64::MAX;
        let mut warmed = 0;
        while warmed < cache::GENERATION {
            let page = db::licenses::snapshots_page(&self.db.read, before, PAGE).await?;
            let Some((last, ..)) = page.last() else { break };
            before = *last;
            for (_, key, snap) in page {
                if let Ok(parsed) = LicenseKey::parse(&key) {
                    let p = parsed.payload();
                    let bound_fingerprint = p.is_fingerprint_bound().then_some(p.fingerprint_hash);
                    let v = VerifiedKey { license_id: p.license_id, product_id: p.product_id, bound_fingerprint };
                    self.cache.remember_verified(key.trim(), v);
                }
                self.cache.store(snap);
                warmed += 1;
            }
            // Requests come first.
            tokio::task::yield_now().await;
        }
        Ok(warmed)
    }

    /// The machine rules of `policy_id` (the defaults for a policy gone).
    pub async fn rules_of(&self, policy_id: Uuid) -> Result<MachineRules, sqlx::Error> {
        if let Some(r) = self.rules.read().expect("rules lock").get(&policy_id) {
            return Ok(*r);
        }
        let read = db::seat_rules::rules_of_policy(&self.db.read, policy_id).await?.unwrap_or_default();
        // A save that landed meanwhile wins: never overwrite what is there.
        Ok(*self.rules.write().expect("rules lock").entry(policy_id).or_insert(read))
    }

    /// The operator saved a policy (called after the commit).
    pub fn policy_saved(&self, policy_id: Uuid, rules: MachineRules) {
        self.rules.write().expect("rules lock").insert(policy_id, rules);
    }

    /// The (license id, product id) a key names, when this server signed it
    /// (its expiry is not checked: an expired key may still renew).
    pub fn key_names(&self, key: &str) -> Result<(Uuid, Uuid), Reason> {
        let payload = keysat_client::verify(key.trim(), &self.public_key).map_err(|e| match e {
            keysat_client::Error::BadSignature => Reason::BadSignature,
            _ => Reason::BadFormat,
        })?;
        Ok((payload.license_id, payload.product_id))
    }

    /// A script looping activate/deactivate on one key is slowed down; a
    /// seat already held never counts (the hot path never gets here).
    fn count_seat_change(&self, license: &Arc<LicenseSnapshot>) -> Result<(), Refusal> {
        self.seat_changes.check_key(license.license_id).map_err(|_| refuse(Reason::RateLimited, license))
    }

    /// Key → verified claims → license snapshot (`bad_format`, `bad_signature`, `not_found`).
    ///
    /// A key not in the cache is looked up whole in the database first, with
    /// its license in the same statement: a key stored there is one this
    /// server signed (as [`Licensing::warm`] relies on too), so its
    /// signature is not checked again. Past the caches' size (a million
    /// licenses validated at random), that check was most of what a miss
    /// cost. Any other key — a former key of a license whose terms changed
    /// since, or one of someone's making — has its signature checked.
    pub async fn resolve(&self, key: &str) -> Result<(VerifiedKey, Arc<LicenseSnapshot>), Refusal> {
        let key = key.trim();
        let mut read = None;
        let verified = match self.cache.verified(key) {
            Some(v) => v,
            None => {
                let parsed = LicenseKey::parse(key).map_err(|_| Reason::BadFormat)?;
                let p = parsed.payload();
                let claims = VerifiedKey {
                    license_id: p.license_id,
                    product_id: p.product_id,
                    bound_fingerprint: p.is_fingerprint_bound().then_some(p.fingerprint_hash),
                };
                let mut conn = self.db.read.acquire().await?;
                match db::licenses::snapshot_by_key(&mut conn, key).await? {
                    Some(s) if s.license_id == claims.license_id => read = Some(s),
                    _ => parsed.verify(&self.public_key).map_err(|_| Reason::BadSignature)?,
                }
                self.cache.remember_verified(key, claims)
            }
        };
        // Read with the key just now, else cached, else read by the license's id.
        let snapshot = if let Some(s) = read {
            self.cache.store(s)
        } else if let Some(s) = self.cache.snapshot(&verified.license_id) {
            s
        } else {
            let mut conn = self.db.read.acquire().await?;
            match db::licenses::snapshot(&mut conn, verified.license_id).await? {
                Some(s) => self.cache.store(s),
                None => return Err(Reason::NotFound.into()),
            }
        };
        // A key is ours only if it names the license's own product.
        if snapshot.product_id != verified.product_id {
            return Err(Reason::NotFound.into());
        }
        Ok((verified, snapshot))
    }

    /// Status, product, expiry and the key's own fingerprint binding.
    fn check(
        verified: &VerifiedKey,
        license: &Arc<LicenseSnapshot>,
        product_slug: Option<&str>,
        fingerprint: Option<&str>,
        now: i64,
    ) -> Result<Expiry, Refusal> {
        let bound_matches = verified
            .bound_fingerprint
            .map(|hash| fingerprint.is_some_and(|fp| keysat_client::fingerprint_hash(fp) == hash));
        check_license(&license.facts(bound_matches), product_slug, now).map_err(|r| refuse(r, license))
    }

    /// `/v1/validate`: with a fingerprint it also holds (or takes) a seat.
    pub async fn validate(&self, input: &ValidateInput<'_>, client_ip: IpAddr) -> Result<Granted, Refusal> {
        let result = self.validate_inner(input).await;
        self.log(&result, input.fingerprint, client_ip);
        result
    }

    async fn validate_inner(&self, input: &ValidateInput<'_>) -> Result<Granted, Refusal> {
        let (verified, license) = self.resolve(input.key).await?;
        let now = now_unix();
        let expiry = Self::check(&verified, &license, input.product_slug, input.fingerprint, now)?;
        let Some(fp) = input.fingerprint else {
            return Ok(Granted { license, expiry, machine_id: None, seat_taken: None });
        };
        let machine = SeatFor { fingerprint: fp, prefix: None, hostname: input.hostname, platform: input.platform };
        self.hold_seat(license, expiry, &machine, now).await
    }

    /// `/v1/machines/activate`.
    pub async fn activate(
        &self,
        key: &str,
        fingerprint: &str,
        hostname: Option<&str>,
        platform: Option<&str>,
        client_ip: IpAddr,
    ) -> Result<Granted, Refusal> {
        let result = async {
            let (verified, license) = self.resolve(key).await?;
            let now = now_unix();
            let expiry = Self::check(&verified, &license, None, Some(fingerprint), now)?;
            let machine = SeatFor { fingerprint, prefix: None, hostname, platform };
            self.hold_seat(license, expiry, &machine, now).await
        }
        .await;
        self.log(&result, Some(fingerprint), client_ip);
        result
    }

    /// `/v1/machines/heartbeat`: the license must be good and the fingerprint hold a seat.
    pub async fn heartbeat(&self, key: &str, fingerprint: &str, client_ip: IpAddr) -> Result<Granted, Refusal> {
        let result = async {
            let (verified, license) = self.resolve(key).await?;
            let now = now_unix();
            let expiry = Self::check(&verified, &license, None, Some(fingerprint), now)?;
            let machine_id = license.seat_of(fingerprint).ok_or_else(|| refuse(Reason::NotActivated, &license))?;
            Ok(Granted { license, expiry, machine_id: Some(machine_id), seat_taken: None })
        }
        .await;
        self.log(&result, Some(fingerprint), client_ip);
        result
    }

    /// `/v1/machines/deactivate`: frees the seat whatever the license's state.
    pub async fn deactivate(&self, key: &str, fingerprint: &str, reason: Option<&str>) -> Result<Granted, Refusal> {
        let (_, license) = self.resolve(key).await?;
        let machine_id = license.seat_of(fingerprint).ok_or_else(|| refuse(Reason::NotActivated, &license))?;
        let reason = reason.unwrap_or("deactivated by the application");
        self.count_seat_change(&license)?;
        let license = self.free_seat(machine_id, license.license_id, reason, None).await?.unwrap_or(license);
        Ok(Granted { license, expiry: Expiry::Current, machine_id: Some(machine_id), seat_taken: None })
    }

    /// The seat `machine` holds, or a new one if the rules allow.
    async fn hold_seat(
        &self,
        license: Arc<LicenseSnapshot>,
        expiry: Expiry,
        machine: &SeatFor<'_>,
        now: i64,
    ) -> Result<Granted, Refusal> {
        match license.seat_for(machine.fingerprint).map_err(|r| refuse(r, &license))? {
            Seat::Held(machine_id) => Ok(Granted { license, expiry, machine_id: Some(machine_id), seat_taken: None }),
            Seat::Take => {
                self.count_seat_change(&license)?;
                let (license, machine_id, seat_taken) = self.take_seat(license.license_id, machine, now).await?;
                Ok(Granted { license, expiry, machine_id: Some(machine_id), seat_taken })
            }
        }
    }

    /// Takes the seat in the writer's next group, which decides again on its
    /// fresh view (so concurrent activations never exceed the cap); with the
    /// row written when taken now, `None` when that view already held it.
    async fn take_seat(
        &self,
        license_id: Uuid,
        machine: &SeatFor<'_>,
        now: i64,
    ) -> Result<(Arc<LicenseSnapshot>, Uuid, Option<Taken>), Refusal> {
        let op = SeatOp::Take {
            license_id,
            fingerprint: machine.fingerprint.to_owned(),
            prefix: machine.prefix.unwrap_or_else(|| fingerprint_prefix(machine.fingerprint)),
            hostname: machine.hostname.map(str::to_owned),
            platform: machine.platform.map(str::to_owned),
            now,
        };
        match self.seats.apply(op).await? {
            Outcome::Seat(snap, machine_id, taken) => Ok((self.cache.store(snap), machine_id, taken)),
            Outcome::Refused(reason, snap) => Err(refuse(reason, &self.cache.store(snap))),
            Outcome::NotFound | Outcome::Freed(_) => Err(Reason::NotFound.into()),
        }
    }

    /// Frees a seat (by the application, in the writer's next group; or by
    /// the operator when `audit` is given, in a transaction of its own with
    /// the audit record); `None` when the machine held no seat.
    pub async fn free_seat(
        &self,
        machine_id: Uuid,
        license_id: Uuid,
        reason: &str,
        audit: Option<db::audit::NewAudit<'_>>,
    ) -> Result<Option<Arc<LicenseSnapshot>>, sqlx::Error> {
        let now = now_unix();
        let snap = match audit {
            None => {
                let op = SeatOp::Free { machine_id, license_id, reason: reason.to_owned(), now };
                match self.seats.apply(op).await? {
                    Outcome::Freed(snap) => snap,
                    _ => None,
                }
            }
            Some(a) => {
                let mut tx = self.db.begin().await?;
                let snap =
                    seats::free(&mut tx, machine_id, license_id, reason, Some(a), now, self.seat_quiet_seconds).await?;
                tx.commit().await?;
                snap
            }
        };
        Ok(snap.map(|s| self.cache.store(s)))
    }

    /// Frees a seat inside the caller's transaction (with `audit`, the
    /// `machine.deactivated` event and the version bump); end the
    /// transaction with [`Licensing::commit_change`].
    pub async fn free_in(
        &self,
        tx: &mut Tx,
        machine_id: Uuid,
        license_id: Uuid,
        reason: &str,
        audit: db::audit::NewAudit<'_>,
        now: i64,
    ) -> Result<Option<LicenseSnapshot>, sqlx::Error> {
        seats::free(tx, machine_id, license_id, reason, Some(audit), now, self.seat_quiet_seconds).await
    }

    /// Bumps the license version, reads its snapshot inside the transaction,
    /// commits, and publishes the snapshot to the cache. Every change to a
    /// license or its machines ends here.
    pub async fn commit_change(
        &self,
        mut tx: Tx,
        license_id: Uuid,
    ) -> Result<Option<Arc<LicenseSnapshot>>, sqlx::Error> {
        let snap = seats::bumped(&mut tx, license_id).await?;
        tx.commit().await?;
        Ok(snap.map(|s| self.cache.store(s)))
    }

    /// One event per call; a granted seat's last-seen time comes from it,
    /// except a seat this call took: its row already says it was seen now,
    /// so the activity writer is handed the row instead (in a burst of first
    /// activations it was one lookup per new seat, at the take's tick or at
    /// the machine's next call).
    fn log(&self, result: &Result<Granted, Refusal>, fingerprint: Option<&str>, client_ip: IpAddr) {
        let taken = result.as_ref().ok().and_then(|g| g.seat_taken);
        let (license_id, machine_id, result) = match result {
            Ok(g) => (Some(g.license.license_id), g.machine_id, "ok"),
            Err(Refusal::Reason { reason, license }) => (license.as_ref().map(|l| l.license_id), None, reason.code()),
            Err(Refusal::Internal(_)) => return,
        };
        self.events.push(&HotEvent { license_id, machine_id, fingerprint, result }, client_ip, taken);
    }

    /// Queues one event for the validation log.
    pub fn log_event(
        &self,
        license_id: Option<Uuid>,
        machine_id: Option<Uuid>,
        fingerprint: Option<&str>,
        client_ip: IpAddr,
        result: &'static str,
    ) {
        self.events.push(&HotEvent { license_id, machine_id, fingerprint, result }, client_ip, None);
    }
}
