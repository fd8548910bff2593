//! The validation hot path and seat management: reads from memory, writes
//! only when a seat is taken or freed, and logs through the batched queue.

pub mod cache;
pub mod events;
pub mod lapse;
pub mod offline;
pub mod seats;

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::RwLock;
use std::time::Duration;

use keysat_client::{LicenseKey, PublicKey};
use uuid::Uuid;

use crate::db::{self, Db, Tx};
use crate::domain::machine_rules::MachineRules;
use crate::domain::now_unix;
use crate::domain::validation::{check_license, fp_hash, Expiry, LicenseSnapshot, Reason, Seat};
use crate::ratelimit::RateLimiter;
use cache::{KeyDigest, LicenseCache, VerifiedKey};
use events::{EventQueue, HotEvent};
pub use seats::Taken;
use seats::{Outcome, SeatOp, SeatWriter};

/// Why a call was refused: a protocol reason (answered with HTTP 200), or a
/// failure of ours.
#[derive(Debug)]
pub enum Refusal {
    Reason { reason: Reason, license: Option<LicenseSnapshot> },
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

fn refuse(reason: Reason, license: &LicenseSnapshot) -> Refusal {
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
    pub license: LicenseSnapshot,
    pub expiry: Expiry,
    pub machine_id: Option<Uuid>,
    /// The seat's row as this call wrote it, when the call took the seat
    /// (not found already held by the seat writer's fresh view): the
    /// activity writer knows its last-seen time without looking it up (see
    /// [`Licensing::log`]).
    pub seat_taken: Option<Taken>,
}

impl Granted {
    pub fn borrowed(&self) -> GrantedRef<'_> {
        GrantedRef { license: &self.license, expiry: self.expiry, machine_id: self.machine_id }
    }
}

/// A successful validation, borrowing its license's snapshot (where the
/// cache holds it, in [`Licensing::validate_cached`]).
#[derive(Clone, Copy)]
pub struct GrantedRef<'a> {
    pub license: &'a LicenseSnapshot,
    pub expiry: Expiry,
    pub machine_id: Option<Uuid>,
}

/// Where [`Licensing::validate`] starts: what [`Licensing::validate_cached`]
/// learnt when the cache alone could not decide, so nothing it did is done
/// again (the key's digest, the cache's lookup, the decision).
#[derive(Default)]
pub struct Undecided<'i>(Step<'i>);

#[derive(Default)]
enum Step<'i> {
    /// Nothing known yet: the key is read from its text.
    #[default]
    Fresh,
    /// Its license is not cached, or the key is neither its current one
    /// nor a former one remembered (`former` once asked): the database
    /// decides, or the key's signature.
    Unknown { digest: KeyDigest, former: Option<bool> },
    /// Good, and this fingerprint holds no seat yet: one is to be taken
    /// (the snapshot boxed: a take is rare, and the hot path's result stays small).
    Take { license: Box<LicenseSnapshot>, expiry: Expiry, fingerprint: &'i str, now: i64 },
}

/// What a validation decides on its license's snapshot.
enum Decision<'i> {
    /// Granted: without a fingerprint, or with the seat the machine holds.
    Granted(Expiry, Option<Uuid>),
    /// Good, and this fingerprint holds no seat yet: one is to be taken.
    Take(Expiry, &'i str),
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

/// A key's claims, read from its text without checking its signature: for a
/// key already known to be ours by its digest. `None` when the text is not
/// a key this reads (the full parse then says why).
fn claims_of(key: &str) -> Option<VerifiedKey> {
    let rest = key.get(..5).filter(|p| p.eq_ignore_ascii_case("LIC1-")).map(|_| &key[5..])?;
    let payload = rest.split('-').next()?.as_bytes();
    // Version, flags, product id, license id, issued at, (v2: expires at), fingerprint hash:
    // the first 34 bytes (55 characters), and the hash only for a bound key.
    let mut b = [0u8; 82];
    if base32_prefix(payload, &mut b[..34])? < 34 {
        return None;
    }
    let hash_at = match b[0] {
        1 => 42,
        2 => 50,
        _ => return None,
    };
    let bound = b[1] & keysat_client::FLAG_FINGERPRINT_BOUND != 0;
    if bound && base32_prefix(payload, &mut b[..hash_at + 32])? < hash_at + 32 {
        return None;
    }
    let uuid_at = |i: usize| Uuid::from_bytes(b[i..i + 16].try_into().expect("16 bytes"));
    Some(VerifiedKey {
        license_id: uuid_at(18),
        product_id: uuid_at(2),
        bound_fingerprint: bound.then(|| b[hash_at..hash_at + 32].try_into().expect("32 bytes")),
    })
}

/// Decodes RFC 4648 base32 (either case) until `out` is full or the text
/// ends; how many bytes were written, `None` at a character outside it.
fn base32_prefix(text: &[u8], out: &mut [u8]) -> Option<usize> {
    let (mut acc, mut bits, mut n) = (0u32, 0u32, 0usize);
    for &c in text {
        if n == out.len() {
            break;
        }
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a',
            b'2'..=b'7' => c - b'2' + 26,
            _ => return None,
        };
        acc = (acc << 5 | u32::from(v)) & 0xfff;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out[n] = (acc >> bits) as u8;
            n += 1;
        }
    }
    Some(n)
}

/// A key is ours only if it names its license's own product.
fn names_its_product(claims: &VerifiedKey, snapshot: &LicenseSnapshot) -> bool {
    snapshot.terms.product_id == claims.product_id
}

fn ours(claims: VerifiedKey, snapshot: LicenseSnapshot) -> Result<(VerifiedKey, LicenseSnapshot), Refusal> {
    if !names_its_product(&claims, &snapshot) {
        return Err(Reason::NotFound.into());
    }
    Ok((claims, snapshot))
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

    /// Fills the cache from the database after a start, newest licenses
    /// first, up to its capacity, so that the first minute after a restart
    /// answers from memory instead of reading each license on first sight.
    /// Each snapshot holds the digest of its license's key as stored, so
    /// those keys are taken as ours without checking their signatures (see
    /// [`Licensing::resolve`]); a newer snapshot cached meanwhile is never
    /// replaced.
    pub async fn warm(&self) -> Result<usize, sqlx::Error> {
        const PAGE: i64 = 1000;
        let mut before = i64::MAX;
        let mut warmed = 0;
        while warmed < cache::CAPACITY {
            let page = db::licenses::snapshots_page(&self.db.read, before, PAGE).await?;
            let Some((last, ..)) = page.last() else { break };
            before = *last;
            for (_, snap) in page {
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
    fn count_seat_change(&self, license: &LicenseSnapshot) -> Result<(), Refusal> {
        self.seat_changes.check_key(license.license_id).map_err(|_| refuse(Reason::RateLimited, license))
    }

    /// Key → verified claims → license snapshot (`bad_format`, `bad_signature`, `not_found`).
    ///
    /// Nearly always one lookup: the license the key names, whose snapshot
    /// holds the digest of its current key as stored. A key with that
    /// digest is one this server signed (the database is what we trust, as
    /// [`Licensing::warm`] does), so its signature is not checked again and
    /// its claims are read from its text. So are those of a key remembered
    /// as verified (a former key of a license whose terms changed since).
    ///
    /// Any other key is looked up whole in the database, with its license
    /// in the same statement; one found there is ours. Only a key found
    /// nowhere — a former key not remembered, or one of someone's making —
    /// has its signature checked (then it is remembered).
    pub async fn resolve(&self, key: &str) -> Result<(VerifiedKey, LicenseSnapshot), Refusal> {
        let key = key.trim();
        let digest = cache::key_digest(key);
        // Asked at most once: `None` until it is.
        let mut former = None;
        if let Some(claims) = claims_of(key) {
            if let Some(snap) = self.cache.snapshot(&claims.license_id) {
                if snap.key == digest || *former.insert(self.cache.is_former(&digest)) {
                    return ours(claims, snap);
                }
            }
        }
        // Boxed: what follows awaits the database, and its state kept inline
        // would make the future of every validation (most answered from the
        // cache above) several times larger, copied as it is moved.
        Box::pin(self.resolve_read(key, digest, former)).await
    }

    /// [`Self::resolve`] past the cache: the key looked up whole in the
    /// database, or its signature checked.
    async fn resolve_read(
        &self,
        key: &str,
        digest: [u8; 16],
        former: Option<bool>,
    ) -> Result<(VerifiedKey, LicenseSnapshot), Refusal> {
        let parsed = LicenseKey::parse(key).map_err(|_| Reason::BadFormat)?;
        let p = parsed.payload();
        let claims = VerifiedKey {
            license_id: p.license_id,
            product_id: p.product_id,
            bound_fingerprint: p.is_fingerprint_bound().then_some(p.fingerprint_hash),
        };
        let mut read = None;
        if !former.unwrap_or_else(|| self.cache.is_former(&digest)) {
            let mut conn = self.db.read.acquire().await?;
            match db::licenses::snapshot_by_key(&mut conn, key).await? {
                Some(s) if s.license_id == claims.license_id => read = Some(s),
                _ => {
                    parsed.verify(&self.public_key).map_err(|_| Reason::BadSignature)?;
                    self.cache.remember_former(digest);
                }
            }
        }
        // Read with the key just now, else cached, else read by the license's id.
        let snapshot = if let Some(s) = read {
            self.cache.store(s)
        } else if let Some(s) = self.cache.snapshot(&claims.license_id) {
            s
        } else {
            let mut conn = self.db.read.acquire().await?;
            match db::licenses::snapshot(&mut conn, claims.license_id).await? {
                Some(s) => self.cache.store(s),
                None => return Err(Reason::NotFound.into()),
            }
        };
        ours(claims, snapshot)
    }

    /// Status, product, expiry and the key's own fingerprint binding.
    fn check(
        verified: &VerifiedKey,
        license: &LicenseSnapshot,
        product_slug: Option<&str>,
        fingerprint: Option<&str>,
        now: i64,
    ) -> Result<Expiry, Reason> {
        let bound_matches = verified
            .bound_fingerprint
            .map(|hash| fingerprint.is_some_and(|fp| keysat_client::fingerprint_hash(fp) == hash));
        check_license(&license.facts(bound_matches), product_slug, now)
    }

    /// A validation's decision on its license's snapshot.
    fn decide<'i>(
        verified: &VerifiedKey,
        license: &LicenseSnapshot,
        input: &ValidateInput<'i>,
        now: i64,
    ) -> Result<Decision<'i>, Reason> {
        let expiry = Self::check(verified, license, input.product_slug, input.fingerprint, now)?;
        let Some(fp) = input.fingerprint else { return Ok(Decision::Granted(expiry, None)) };
        Ok(match license.seat_for(fp_hash(fp))? {
            Seat::Held(machine_id) => Decision::Granted(expiry, Some(machine_id)),
            Seat::Take => Decision::Take(expiry, fp),
        })
    }

    /// `/v1/validate`: with a fingerprint it also holds (or takes) a seat;
    /// going on from what [`Self::validate_cached`] learnt (or from nothing:
    /// `Undecided::default()`).
    pub async fn validate<'i>(
        &self,
        input: &ValidateInput<'i>,
        client_ip: IpAddr,
        from: Undecided<'i>,
    ) -> Result<Granted, Refusal> {
        let result = self.validate_inner(input, from.0).await;
        self.log(&result, input.fingerprint, client_ip);
        result
    }

    /// `/v1/validate` decided on the license's snapshot where the cache
    /// holds it ([`LicenseCache::read`]), when that alone decides: the key
    /// is its license's current one (or a former one remembered) and no
    /// seat is to be taken. `reply` writes the answer from the decision,
    /// under the cache's shared lock; the call is logged as
    /// [`Self::validate`] logs it. When the cache cannot decide (nothing
    /// logged, `reply` not called), what it learnt, for [`Self::validate`].
    pub fn validate_cached<'i, R>(
        &self,
        input: &ValidateInput<'i>,
        client_ip: IpAddr,
        reply: impl FnOnce(Result<GrantedRef<'_>, Reason>) -> R,
    ) -> Result<R, Undecided<'i>> {
        let key = input.key.trim();
        let claims = claims_of(key).ok_or_else(Undecided::default)?;
        let digest = cache::key_digest(key);
        let decided = self.cache.read(&claims.license_id, |license| {
            if license.key != digest && !self.cache.is_former(&digest) {
                return Err(Step::Unknown { digest, former: Some(false) });
            }
            if !names_its_product(&claims, license) {
                return Ok((reply(Err(Reason::NotFound)), None, None, Reason::NotFound.code()));
            }
            let id = Some(license.license_id);
            let now = now_unix();
            match Self::decide(&claims, license, input, now) {
                Ok(Decision::Granted(expiry, machine_id)) => {
                    Ok((reply(Ok(GrantedRef { license, expiry, machine_id })), id, machine_id, "ok"))
                }
                Ok(Decision::Take(expiry, fingerprint)) => {
                    Err(Step::Take { license: Box::new(license.clone()), expiry, fingerprint, now })
                }
                Err(reason) => Ok((reply(Err(reason)), id, None, reason.code())),
            }
        });
        // Not cached: the database reads it, with its key.
        let decided = decided.unwrap_or(Err(Step::Unknown { digest, former: None }));
        let (out, license_id, machine_id, result) = decided.map_err(Undecided)?;
        self.log_event(license_id, machine_id, input.fingerprint, client_ip, result);
        Ok(out)
    }

    async fn validate_inner<'i>(&self, input: &ValidateInput<'i>, from: Step<'i>) -> Result<Granted, Refusal> {
        let (verified, license) = match from {
            Step::Fresh => self.resolve(input.key).await?,
            Step::Unknown { digest, former } => Box::pin(self.resolve_read(input.key.trim(), digest, former)).await?,
            Step::Take { license, expiry, fingerprint, now } => {
                return self.take_for(input, *license, expiry, fingerprint, now).await;
            }
        };
        let now = now_unix();
        match Self::decide(&verified, &license, input, now) {
            Ok(Decision::Granted(expiry, machine_id)) => Ok(Granted { license, expiry, machine_id, seat_taken: None }),
            Ok(Decision::Take(expiry, fingerprint)) => self.take_for(input, license, expiry, fingerprint, now).await,
            Err(reason) => Err(refuse(reason, &license)),
        }
    }

    /// A validation's seat taken for the machine it names.
    async fn take_for(
        &self,
        input: &ValidateInput<'_>,
        license: LicenseSnapshot,
        expiry: Expiry,
        fingerprint: &str,
        now: i64,
    ) -> Result<Granted, Refusal> {
        let machine = SeatFor { fingerprint, prefix: None, hostname: input.hostname, platform: input.platform };
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
            let expiry =
                Self::check(&verified, &license, None, Some(fingerprint), now).map_err(|r| refuse(r, &license))?;
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
            let expiry =
                Self::check(&verified, &license, None, Some(fingerprint), now).map_err(|r| refuse(r, &license))?;
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
        license: LicenseSnapshot,
        expiry: Expiry,
        machine: &SeatFor<'_>,
        now: i64,
    ) -> Result<Granted, Refusal> {
        match license.seat_for(fp_hash(machine.fingerprint)).map_err(|r| refuse(r, &license))? {
            Seat::Held(machine_id) => Ok(Granted { license, expiry, machine_id: Some(machine_id), seat_taken: None }),
            Seat::Take => {
                self.count_seat_change(&license)?;
                // Boxed, as the database part of `resolve` is: a take is rare.
                let (license, machine_id, seat_taken) = Box::pin(self.take_seat(license, machine, now)).await?;
                Ok(Granted { license, expiry, machine_id: Some(machine_id), seat_taken })
            }
        }
    }

    /// Takes the seat in the writer's next group, which decides again on its
    /// fresh view (so concurrent activations never exceed the cap); with the
    /// row written when taken now, `None` when that view already held it.
    async fn take_seat(
        &self,
        license: LicenseSnapshot,
        machine: &SeatFor<'_>,
        now: i64,
    ) -> Result<(LicenseSnapshot, Uuid, Option<Taken>), Refusal> {
        let op = SeatOp::Take {
            license_id: license.license_id,
            fingerprint: machine.fingerprint.to_owned(),
            prefix: machine.prefix.unwrap_or_else(|| fingerprint_prefix(machine.fingerprint)),
            hostname: machine.hostname.map(str::to_owned),
            platform: machine.platform.map(str::to_owned),
            now,
            seen: Some(license),
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
    ) -> Result<Option<LicenseSnapshot>, sqlx::Error> {
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
    pub async fn commit_change(&self, mut tx: Tx, license_id: Uuid) -> Result<Option<LicenseSnapshot>, sqlx::Error> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::SigningKey;

    /// What [`claims_of`] reads from a key's text is what the full parse
    /// reads, for both payload versions, bound or not, in either case.
    #[test]
    fn claims_read_from_the_text_are_the_parsed_ones() {
        let signer = SigningKey::from_bytes(&[7; 32]);
        for (version, flags) in [(1u8, 0u8), (1, 1), (2, 0), (2, 1), (2, 3)] {
            let payload = keysat_client::Payload {
                version,
                flags,
                product_id: Uuid::new_v4(),
                license_id: Uuid::new_v4(),
                issued_at: 1_700_000_000,
                expires_at: if version == 2 { 1_800_000_000 } else { 0 },
                fingerprint_hash: [9; 32],
                entitlements: if version == 2 { vec!["pro".into()] } else { vec![] },
            };
            let key = if version == 2 {
                keysat_client::sign(&payload, &signer).unwrap().to_string()
            } else {
                // Version 1 is only read now: its 74 bytes, signed as such.
                let mut b = vec![1, flags];
                b.extend_from_slice(payload.product_id.as_bytes());
                b.extend_from_slice(payload.license_id.as_bytes());
                b.extend_from_slice(&payload.issued_at.to_be_bytes());
                b.extend_from_slice(&payload.fingerprint_hash);
                let sig = ed25519_dalek::Signer::sign(&signer, &b).to_bytes();
                let b32 = data_encoding::BASE32_NOPAD;
                format!("LIC1-{}-{}", b32.encode(&b), b32.encode(&sig))
            };
            for text in [key.clone(), key.to_lowercase()] {
                let parsed = LicenseKey::parse(&text).unwrap();
                let p = parsed.payload();
                let c = claims_of(&text).unwrap();
                assert_eq!((c.license_id, c.product_id), (p.license_id, p.product_id), "{version} {flags}");
                assert_eq!(c.bound_fingerprint, p.is_fingerprint_bound().then_some(p.fingerprint_hash));
            }
        }
        for junk in ["", "LIC1-", "LIC2-AAAA-AAAA", "LIC1-AA!A-AAAA", "LIC1-AAAAAAAA-AAAA", "KEY-1"] {
            assert!(claims_of(junk).is_none(), "{junk}");
        }
    }
}
