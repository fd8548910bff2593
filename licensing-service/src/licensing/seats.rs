//! Group commit of seat changes on the single writer: seat takes and
//! application frees are queued to one task, which applies everything queued
//! while the previous commit ran in one transaction, in arrival order, and
//! answers each caller once that transaction is durable. Each change decides
//! again on the transaction's own view (earlier changes of the group
//! included), so seat caps stay exact. What the group reads and writes is
//! shared (see [`Group`]): each statement crosses to SQLite's worker thread
//! and back, so statements per group, not per change, set the pace. If the
//! group's transaction fails, each change is retried alone, so one failure
//! never fails the others. Before that, each license's first take whose
//! caller decided on a snapshot is tried without reading anything, in one
//! statement that writes it only where the database agrees with the
//! decision ([`db::machines::take_unread`]); the rest go the long way.

use std::collections::{HashMap, HashSet};

use sqlx::pool::PoolConnection;
use sqlx::Sqlite;
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

use crate::db::machines::{FreedSeats, Machine};
use crate::db::{self, Conn, Db, GroupTx, Tx};
use crate::delivery::events::{activation_events, deactivation_event};
use crate::domain::machine_rules::MachineRules;
use crate::domain::outbox::EventType;
use crate::domain::validation::{fp_hash, HeldSeat, LicenseSnapshot, Reason, Seat};

/// Most changes in one transaction.
const MAX_GROUP: usize = 256;
/// Changes waiting for the writer before callers wait to queue.
const QUEUE: usize = 4096;
/// Groups in a row that one checkout of the writer's connection serves while
/// more changes wait (returning it to the pool costs sqlx a round trip to
/// its worker thread, a ping, before anyone may have it again).
const HOLD_GROUPS: usize = 8;

/// A seat change, owned so it can be applied again alone.
pub enum SeatOp {
    Take {
        license_id: Uuid,
        fingerprint: String,
        /// The first 10 bytes of the machine's fingerprint hash (what one trial per machine compares).
        prefix: [u8; 10],
        hostname: Option<String>,
        platform: Option<String>,
        now: i64,
        /// The license as the caller decided on it: with it, the take is
        /// first tried without reading anything (see [`take_unread`]).
        seen: Option<LicenseSnapshot>,
    },
    Free {
        machine_id: Uuid,
        license_id: Uuid,
        reason: String,
        now: i64,
    },
}

/// A seat's row as the take that made it wrote it: seen at `at`, lapsing
/// after `lapse_after` seconds unseen (0: never), decided under the lapse
/// timeouts of `changes` ([`db::machines::lapse_changes`] before the group
/// read its rules). The activity writer takes this as known instead of
/// looking the row up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Taken {
    pub at: i64,
    pub lapse_after: i64,
    pub changes: u64,
}

/// What a change found, to publish to the cache once committed.
pub enum Outcome {
    /// The seat and the license as committed, with the row written when
    /// the seat was taken now (`None` when it was already held).
    Seat(LicenseSnapshot, Uuid, Option<Taken>),
    /// Refused on the fresh view.
    Refused(Reason, LicenseSnapshot),
    /// A take whose license is gone.
    NotFound,
    /// A free: the license after it, or `None` when the machine held no seat.
    Freed(Option<LicenseSnapshot>),
}

type Reply = oneshot::Sender<Result<Outcome, sqlx::Error>>;

#[derive(Clone)]
pub struct SeatWriter {
    tx: mpsc::Sender<(SeatOp, Reply)>,
}

impl SeatWriter {
    pub fn start(db: Db, seat_quiet_seconds: i64) -> SeatWriter {
        let (tx, rx) = mpsc::channel(QUEUE);
        tokio::spawn(run(db, rx, seat_quiet_seconds));
        SeatWriter { tx }
    }

    /// Applies `op` in the next group; returns once it is committed.
    pub async fn apply(&self, op: SeatOp) -> Result<Outcome, sqlx::Error> {
        let (reply, answer) = oneshot::channel();
        let closed = || sqlx::Error::PoolClosed;
        self.tx.send((op, reply)).await.map_err(|_| closed())?;
        answer.await.map_err(|_| closed())?
    }
}

async fn run(db: Db, mut rx: mpsc::Receiver<(SeatOp, Reply)>, quiet: i64) {
    let mut group = Vec::with_capacity(MAX_GROUP);
    // The writer's connection, kept from one group to the next only while
    // changes already wait, and for at most `HOLD_GROUPS` groups in a row:
    // the other writers queue for it too.
    let mut held = None;
    let mut served = 0;
    while rx.recv_many(&mut group, MAX_GROUP).await > 0 {
        // First the takes that need nothing read, then the rest the long way.
        let mut done = take_unread(&db, &mut held, &group).await;
        let rest: Vec<usize> = (0..group.len()).filter(|i| done[*i].is_none()).collect();
        if !rest.is_empty() {
            let ops: Vec<&SeatOp> = rest.iter().map(|i| &group[*i].0).collect();
            match apply_group(&db, &mut held, &ops, quiet).await {
                Ok(outcomes) => {
                    for (i, outcome) in rest.iter().zip(outcomes) {
                        done[*i] = Some(Ok(outcome));
                    }
                }
                Err(e) => {
                    if rest.len() > 1 {
                        tracing::warn!(error = %e, changes = rest.len(), "a group of seat changes failed; applying each alone");
                    }
                    for (i, op) in rest.iter().zip(ops) {
                        done[*i] = Some(apply_group(&db, &mut held, &[op], quiet).await.map(|mut o| o.remove(0)));
                    }
                }
            }
        }
        for ((_, reply), outcome) in group.drain(..).zip(done) {
            let _ = reply.send(outcome.expect("every change of the group is answered"));
        }
        // Never wait for the next change holding the connection.
        served += 1;
        if rx.is_empty() || served >= HOLD_GROUPS {
            (held, served) = (None, 0);
        }
    }
}

/// The first try of a group (when it holds no free, and no endpoint may
/// want `machine.activated`): each license's first take whose caller
/// decided on a snapshot, written in one statement without reading the
/// license ([`db::machines::take_unread`], where the database checks that
/// the decision still holds). Answers the takes written; `None` for the
/// rest (and for all of them if the statement failed), which go the long way.
async fn take_unread(
    db: &Db,
    held: &mut Option<PoolConnection<Sqlite>>,
    group: &[(SeatOp, Reply)],
) -> Vec<Option<Result<Outcome, sqlx::Error>>> {
    let mut done: Vec<Option<Result<Outcome, sqlx::Error>>> = group.iter().map(|_| None).collect();
    if group.iter().any(|(op, _)| matches!(op, SeatOp::Free { .. }))
        || db.subscriptions.may_want(EventType::MachineActivated)
    {
        return done;
    }
    let mut licenses = HashSet::new();
    let (mut tried, mut takes) = (Vec::new(), Vec::new());
    for (i, (op, _)) in group.iter().enumerate() {
        // Only a license's first take in the group, so no take passes one queued before it.
        let SeatOp::Take { license_id, fingerprint, hostname, platform, now, seen, .. } = op else { continue };
        if !licenses.insert(*license_id) {
            continue;
        }
        let Some(seen) = seen.as_ref().filter(|seen| !seen.terms.is_trial) else { continue };
        tried.push(i);
        takes.push(db::machines::Unread {
            id: crate::domain::new_id(),
            license_id: *license_id,
            version: seen.version,
            held: seen.seats.len(),
            fingerprint,
            hostname: hostname.as_deref(),
            platform: platform.as_deref(),
            now: *now,
        });
    }
    if tried.is_empty() {
        return done;
    }
    let changes = db::machines::lapse_changes();
    // One statement, its own transaction: failed, it leaves none open, so
    // the connection stays held for the long way either way.
    let mut conn = match held.take() {
        Some(conn) => conn,
        None => match db.write.acquire().await {
            Ok(conn) => conn,
            Err(_) => return done,
        },
    };
    let written = db::machines::take_unread(&mut conn, &takes).await;
    *held = Some(conn);
    let written = match written {
        Ok(written) => written,
        Err(e) => {
            tracing::debug!(error = %e, "seat takes without a read failed; taking them the long way");
            return done;
        }
    };
    let mut by_id: HashMap<Uuid, i64> = written.into_iter().collect();
    for (i, take) in tried.into_iter().zip(takes) {
        let (SeatOp::Take { seen: Some(seen), .. }, _) = &group[i] else { continue };
        if let Some(lapse_after) = by_id.remove(&take.id) {
            let mut snap = seen.clone();
            snap.seats.push(HeldSeat { fp: fp_hash(take.fingerprint), id: take.id });
            let taken = Taken { at: take.now, lapse_after, changes };
            done[i] = Some(Ok(Outcome::Seat(snap, take.id, Some(taken))));
        }
    }
    done
}

/// Applies a group in one transaction: on `held`, the writer's connection
/// if the previous group left it there, for a group of takes (and leaves it
/// there after); a group with a free goes through a [`Tx`] of its own.
async fn apply_group(
    db: &Db,
    held: &mut Option<PoolConnection<Sqlite>>,
    ops: &[&SeatOp],
    quiet: i64,
) -> Result<Vec<Outcome>, sqlx::Error> {
    if ops.iter().all(|op| matches!(op, SeatOp::Take { .. })) {
        let mut tx = match held.take() {
            Some(conn) => GroupTx::on(conn),
            None => GroupTx::acquire(db).await?,
        };
        let result = apply_takes(&mut tx, ops, quiet).await;
        if result.is_err() {
            tx.rollback().await;
        } else {
            *held = tx.release();
        }
        return result;
    }
    // The pool's one writer connection must be back in it for `begin`.
    *held = None;
    let mut tx = db.begin().await?;
    let mut group = Group::read(&mut tx, false, ops).await?;
    let mut out = Vec::with_capacity(ops.len());
    for op in ops {
        out.push(match op {
            SeatOp::Take { license_id, fingerprint, prefix, hostname, platform, now, .. } => {
                let machine =
                    NewSeat { fingerprint, prefix, hostname: hostname.as_deref(), platform: platform.as_deref() };
                group.take(&mut tx, *license_id, &machine, *now, quiet).await?
            }
            SeatOp::Free { machine_id, license_id, reason, now } => {
                // A free reads the license back from the database: what the group holds goes first.
                group.flush(&mut tx, false).await?;
                let fingerprint = group.fresh.get(license_id).and_then(|l| l.seats.fp_of(*machine_id));
                let snap = free(&mut tx, *machine_id, *license_id, reason, None, *now, quiet).await?;
                if let Some(snap) = &snap {
                    group.fresh.insert(*license_id, snap.clone());
                    if let Some(fp) = fingerprint {
                        group.freed.insert((*license_id, fp), (*machine_id, *now));
                    }
                }
                Outcome::Freed(snap)
            }
        });
    }
    group.flush(&mut tx, false).await?;
    tx.commit().await?;
    Ok(out)
}

/// A group of takes only (nearly every group): `BEGIN` goes with the reads
/// and `COMMIT` with the new seats, so the group costs two round trips to
/// SQLite's worker thread (more only for a trial's machine check or a freed
/// seat taken again).
async fn apply_takes(tx: &mut GroupTx, ops: &[&SeatOp], quiet: i64) -> Result<Vec<Outcome>, sqlx::Error> {
    let mut group = Group::read(tx.begun(), true, ops).await?;
    let mut out = Vec::with_capacity(ops.len());
    for op in ops {
        if let SeatOp::Take { license_id, fingerprint, prefix, hostname, platform, now, .. } = op {
            let machine = NewSeat { fingerprint, prefix, hostname: hostname.as_deref(), platform: platform.as_deref() };
            out.push(group.take(tx.conn(), *license_id, &machine, *now, quiet).await?);
        }
    }
    group.flush(tx.conn(), true).await?;
    tx.ended();
    Ok(out)
}

/// The machine a take is for.
struct NewSeat<'a> {
    fingerprint: &'a str,
    prefix: &'a [u8; 10],
    hostname: Option<&'a str>,
    platform: Option<&'a str>,
}

/// What a group of seat changes reads once, and the writes its takes share:
/// the licenses, their policies' machine rules and the freed seats the takes
/// may reuse, read in two statements inside the group's transaction; new
/// seats and `machine.activated` events written in one statement each at the
/// end (or before a free, which reads the database). So a group costs a
/// handful of statements, not a handful per change.
///
/// A take does not bump the license's version: a take only ever adds a seat,
/// so between two versions the snapshot with more seats is the newer (the
/// cache's rule, [`super::cache::LicenseCache::store`]); a free, which
/// removes one, bumps it. A new seat's id is time-ordered ([`crate::domain::new_id`]), so the rows and their
/// id index grow at one end instead of at a random page each (what a take
/// writes to the WAL is what the writer's pace is made of).
struct Group {
    /// Each license as the group has left it so far.
    fresh: HashMap<Uuid, LicenseSnapshot>,
    rules: HashMap<Uuid, MachineRules>,
    /// The newest freed seat of each (license, fingerprint) taken in the group.
    freed: FreedSeats,
    /// New seats not yet written, each with its lapse timeout.
    new_seats: Vec<(Machine, i64)>,
    /// Seats taken anew, to tell (`machine.activated`), and when.
    activated: Vec<Machine>,
    now: i64,
    /// The lapse timeouts' count of changes before the rules were read.
    changes: u64,
}

impl Group {
    /// Reads what the group's takes need (with `begin`, opening its transaction).
    async fn read(conn: &mut Conn, begin: bool, ops: &[&SeatOp]) -> Result<Group, sqlx::Error> {
        let takes: Vec<(Uuid, &str)> = ops
            .iter()
            .filter_map(|op| match op {
                SeatOp::Take { license_id, fingerprint, .. } => Some((*license_id, fingerprint.as_str())),
                SeatOp::Free { .. } => None,
            })
            .collect();
        let mut group = Group {
            fresh: HashMap::new(),
            rules: HashMap::new(),
            freed: FreedSeats::new(),
            new_seats: Vec::new(),
            activated: Vec::new(),
            now: 0,
            changes: db::machines::lapse_changes(),
        };
        // With `begin` the statement is sent whatever the group holds: it opens the transaction.
        if takes.is_empty() && !begin {
            return Ok(group);
        }
        let ids: HashSet<Uuid> = takes.iter().map(|(id, _)| *id).collect();
        let (views, freed) = db::licenses::seat_group(conn, begin, ids, &takes).await?;
        for view in views {
            group.rules.insert(view.snap.terms.policy_id, view.rules);
            group.fresh.insert(view.snap.license_id, view.snap);
        }
        group.freed = freed;
        Ok(group)
    }

    /// Decides again on the group's view and takes (or reuses) the seat,
    /// with its policy's machine rules: one trial per machine, and the
    /// floating-seat timeout the seat carries.
    async fn take(
        &mut self,
        tx: &mut Conn,
        license_id: Uuid,
        seat: &NewSeat<'_>,
        now: i64,
        quiet_seconds: i64,
    ) -> Result<Outcome, sqlx::Error> {
        let Some(fresh) = self.fresh.get_mut(&license_id) else { return Ok(Outcome::NotFound) };
        let fp = fp_hash(seat.fingerprint);
        match fresh.seat_for(fp) {
            Ok(Seat::Held(id)) => return Ok(Outcome::Seat(fresh.clone(), id, None)),
            Err(reason) => return Ok(Outcome::Refused(reason, fresh.clone())),
            Ok(Seat::Take) => {}
        }
        let rules = self.rules.get(&fresh.terms.policy_id).copied().unwrap_or_default();
        if fresh.terms.is_trial {
            let holder = db::seat_rules::trial_holder(&mut *tx, fresh.terms.product_id, seat.prefix).await?;
            if rules.one_trial_per_machine && holder.is_some_and(|h| h != license_id) {
                return Ok(Outcome::Refused(Reason::TrialAlreadyUsed, fresh.clone()));
            }
            db::seat_rules::record_trial(tx, fresh.terms.product_id, seat.prefix, license_id, now).await?;
        }
        let freed = self.freed.remove(&(license_id, fp));
        let machine = db::machines::Machine {
            id: freed.map_or_else(crate::domain::new_id, |(id, _)| id),
            license_id,
            fingerprint: seat.fingerprint.to_string(),
            hostname: seat.hostname.map(str::to_owned),
            platform: seat.platform.map(str::to_owned),
            active: true,
            activated_at: now,
            last_seen_at: now,
            deactivated_at: None,
            deactivation_reason: None,
        };
        let quiet = match freed {
            None => {
                self.new_seats.push((machine.clone(), rules.seat_timeout_seconds));
                false
            }
            Some((id, freed_at)) => {
                db::machines::reactivate(tx, &machine).await?;
                // A reused row may carry an old timeout.
                db::machines::set_lapse_after(tx, id, rules.seat_timeout_seconds).await?;
                // Freed and taken again before anyone was told: nobody is.
                let since = now - quiet_seconds;
                db::outbox::withdraw_deactivation(tx, id, since).await? && freed_at >= since
            }
        };
        // Only a newly taken seat is told; validations that hold one never are.
        if !quiet {
            self.activated.push(machine.clone());
        }
        self.now = self.now.max(now);
        fresh.seats.push(HeldSeat { fp, id: machine.id });
        let taken = Taken { at: now, lapse_after: rules.seat_timeout_seconds, changes: self.changes };
        Ok(Outcome::Seat(fresh.clone(), machine.id, Some(taken)))
    }

    /// Writes the events and new seats the group holds (with `commit`, and
    /// the `COMMIT` of a [`GroupTx`] with the seats).
    async fn flush(&mut self, tx: &mut Conn, commit: bool) -> Result<(), sqlx::Error> {
        let activated: Vec<&Machine> = self.activated.iter().collect();
        activation_events(tx, self.now, &activated).await?;
        db::machines::insert_many(tx, &self.new_seats, commit).await?;
        self.new_seats.clear();
        self.activated.clear();
        Ok(())
    }
}

/// Frees a seat (by the application, or by the operator when `audit` is
/// given); `None` when the machine held no seat.
pub async fn free(
    tx: &mut Tx,
    machine_id: Uuid,
    license_id: Uuid,
    reason: &str,
    audit: Option<db::audit::NewAudit<'_>>,
    now: i64,
    quiet_seconds: i64,
) -> Result<Option<LicenseSnapshot>, sqlx::Error> {
    if !db::machines::deactivate(tx, machine_id, reason, now).await? {
        return Ok(None);
    }
    if let Some(m) = db::machines::by_id(&mut **tx, machine_id).await? {
        let by = match audit.as_ref().map(|a| a.actor) {
            None => "application",
            Some("admin") => "operator",
            Some(actor) => actor,
        };
        let extra = serde_json::json!({"reason": reason, "by": by});
        deactivation_event(tx, now, now + quiet_seconds, &m, extra).await?;
    }
    if let Some(a) = audit {
        db::audit::record(tx, now, a).await?;
    }
    bumped(tx, license_id).await
}

/// Bumps the license version and reads its snapshot inside the transaction.
pub async fn bumped(tx: &mut Tx, license_id: Uuid) -> Result<Option<LicenseSnapshot>, sqlx::Error> {
    db::licenses::bump_version(tx, license_id).await?;
    db::licenses::snapshot(tx, license_id).await
}
