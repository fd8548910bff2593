//! The hot path's activity records: every validation, activation or
//! heartbeat is folded in memory at once into a tally per (license, machine,
//! fingerprint, result), and one task writes them: each shard's tallies once
//! per fold interval (`KEYSAT_ACTIVITY_FOLD_SECONDS`, the shards' turns
//! spread over it so no second writes them all), and every second the
//! last-seen times of the machines heard from — a floating seat's at once
//! (it lapses on it), any other seat's never lagging by more than
//! `KEYSAT_LAST_SEEN_RESOLUTION_SECONDS` (so a busy machine's row is not
//! rewritten each second; those due are written together, see [`Quiet`]).
//! The rows written are bounded by the distinct
//! machines (and refusals) seen per interval, not by the requests, a request
//! never waits on the disk, and nothing is dropped: a burst only makes the
//! tallies count higher. A shard holding [`SHARD_FULL`] tallies is written at
//! the next tick instead of at its turn, so a burst of new machines (each a
//! tally of its own) holds at most that many, not an interval's worth. What
//! could not be written is folded back and written next time.

use std::hash::BuildHasher;
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hashbrown::{Equivalent, HashMap, HashSet};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use uuid::Uuid;

use crate::config::Cadence;
use crate::db::events::{EventKey, EventTally};
use crate::db::machines::Steady;
use crate::db::{self, Db};
use crate::domain::now_unix;
use crate::licensing::Taken;
use crate::ratelimit;

/// The writer's tick: machines' last-seen times are written this often.
const TICK: Duration = Duration::from_secs(1);
/// Independent locks, so concurrent requests rarely wait for each other.
const SHARDS: usize = 32;
/// Distinct keys one shard holds before refusals lose their fingerprint
/// (their count is kept under the license and result alone).
const SHARD_KEYS: usize = 16_384;
/// Tallies a shard holds before it is written at the next tick rather than
/// at its turn. Steady traffic stays under it (100,000 machines each heard
/// from within the interval are about 3,100 a shard), while a walk of first
/// activations, every one a new tally, held up to an interval's worth (at
/// bench/scale's 23,000 a second, 60 s are 1.4 million tallies of 112
/// bytes). At most 32 shards of this many (each a table of 8,192 slots:
/// 29 MB in all) plus a second's.
const SHARD_FULL: usize = 4_096;
/// Distinct client addresses told apart per tally (`ip_count` saturates here).
const MAX_IPS: usize = 64;
/// Most rows written per transaction.
const MAX_BATCH: usize = 16_384;
/// Most machines whose last-seen times one statement writes. Each part is
/// sent as JSON and read back as JSON (`db::machines::touch_many`), a few
/// copies of about 50 bytes a machine on both sides: the first tick of a
/// warm run after a walk, 80,000 machines none of which the writer knew,
/// took 30 MB for that moment.
const TOUCH_PART: usize = 8_192;

/// One validation, activation or heartbeat as the log records it, borrowing
/// the request's fingerprint: a tally already folded for it is found without
/// copying it (only a new tally owns a copy).
#[derive(Hash)]
pub struct HotEvent<'a> {
    // The fields of `EventKey`, in its order, so that both hash alike
    // (`Option<&str>` and `Option<String>` hash the same).
    pub license_id: Option<Uuid>,
    pub machine_id: Option<Uuid>,
    pub fingerprint: Option<&'a str>,
    pub result: &'static str,
}

impl Equivalent<EventKey> for HotEvent<'_> {
    fn equivalent(&self, k: &EventKey) -> bool {
        self.license_id == k.license_id
            && self.machine_id == k.machine_id
            && self.result == k.result
            && self.fingerprint == k.fingerprint.as_deref()
    }
}

impl HotEvent<'_> {
    /// A stored key, borrowed.
    fn of(key: &EventKey) -> HotEvent<'_> {
        HotEvent {
            license_id: key.license_id,
            machine_id: key.machine_id,
            fingerprint: key.fingerprint.as_deref(),
            result: key.result,
        }
    }

    fn owned(&self) -> EventKey {
        EventKey {
            license_id: self.license_id,
            machine_id: self.machine_id,
            fingerprint: self.fingerprint.map(Box::from),
            result: self.result,
        }
    }
}

/// What is folded for one key until the next write (40 bytes).
struct Pending {
    count: i64,
    last_ip: IpAddr,
    /// The distinct addresses once there are two or more; while `None`, the
    /// only address is `last_ip` (most tallies: nothing allocated). Boxed:
    /// a thin pointer keeps every tally 16 bytes smaller than a `Vec` would.
    #[allow(clippy::box_collection)]
    ips: Option<Box<Vec<IpAddr>>>,
    /// Its machine was heard from since the writer's last tick (a seat's
    /// tally: its key names the machine). Marked here, in the entry the call
    /// finds anyway, the machines heard from cost a request no second table.
    heard: bool,
}

impl Pending {
    fn new(count: i64, ip: IpAddr, heard: bool) -> Pending {
        Pending { count, last_ip: ip, ips: None, heard }
    }

    fn add(&mut self, count: i64, ip: IpAddr) {
        self.count += count;
        match &mut self.ips {
            None if ip != self.last_ip => self.ips = Some(Box::new(vec![self.last_ip, ip])),
            Some(ips) if ips.len() < MAX_IPS && !ips.contains(&ip) => ips.push(ip),
            _ => {}
        }
        self.last_ip = ip;
    }

    /// Distinct addresses seen (at most `MAX_IPS`).
    fn ip_count(&self) -> i64 {
        self.ips.as_ref().map_or(1, |ips| ips.len()) as i64
    }
}

/// A shard's tallies, by what they count.
type Tallies = HashMap<EventKey, Pending>;

/// One shard: tallies until its turn (each marking whether its machine was
/// heard from since the last tick), machines heard from whose tallies went
/// before the tick or whose last-seen time could not be written, and seats
/// just taken that never lapse, with their rows, until the next tick.
#[derive(Default)]
struct ShardState {
    tallies: Tallies,
    seen: HashSet<Uuid>,
    taken: Vec<(Uuid, Taken)>,
}

type Shard = Mutex<ShardState>;

struct Folds {
    shards: Vec<Shard>,
    hasher: hashbrown::DefaultHashBuilder,
}

impl Folds {
    fn new() -> Folds {
        Folds { shards: (0..SHARDS).map(|_| Mutex::default()).collect(), hasher: Default::default() }
    }

    /// The shard of a key: a license's calls by its id's tail (shard `i`
    /// holds the `i`th of [`SHARDS`] equal ranges of [`license_tail`], so
    /// its turn writes into one range of the log's index, which that tail
    /// leads: a few hundred leaves, each once, where tallies spread over
    /// every license rewrote nearly all of them); calls without a license
    /// by their hash (`HotEvent` and `EventKey` hash alike).
    fn shard(&self, key: &HotEvent<'_>) -> &Shard {
        let i = match key.license_id {
            Some(l) => shard_of_tail(license_tail(&l)),
            None => (self.hasher.hash_one(key) as usize) % SHARDS,
        };
        &self.shards[i]
    }

    /// A call: its tally, and its machine heard from, or, for a seat the
    /// call took, the row as written (kept only if it never lapses: a
    /// floating seat's time is written every tick it is heard from anyway).
    fn add(&self, key: &HotEvent<'_>, count: i64, ip: IpAddr, taken: Option<Taken>) {
        // A seat names its fingerprint: the tally keeps no copy (see `EventKey`).
        let key = &HotEvent { fingerprint: key.fingerprint.filter(|_| key.machine_id.is_none()), ..*key };
        let mut shard = self.shard(key).lock().expect("event fold lock");
        let heard = match (key.machine_id, taken) {
            (Some(_), None) => true,
            (Some(m), Some(t)) if t.lapse_after == 0 => {
                shard.taken.push((m, t));
                false
            }
            _ => false,
        };
        Self::tally(&mut shard.tallies, key, count, ip, heard);
    }

    /// Counts `count` calls under `key`, marking its machine `heard` (a
    /// seat's key names its machine, and a seat is always tallied: only
    /// refusals' fingerprints are ever left out).
    fn tally(map: &mut Tallies, key: &HotEvent<'_>, count: i64, ip: IpAddr, heard: bool) {
        if let Some(p) = map.get_mut(key) {
            p.heard |= heard;
            return p.add(count, ip);
        }
        // A full shard keeps refusals' counts without their fingerprints; seats
        // and licenses are bounded by the database's own rows.
        if map.len() >= SHARD_KEYS && key.machine_id.is_none() && key.fingerprint.is_some() {
            return Self::tally(map, &HotEvent { fingerprint: None, ..*key }, count, ip, heard);
        }
        map.insert(key.owned(), Pending::new(count, ip, heard));
    }

    /// A tally that could not be written, back for the next turn (its
    /// machine, if heard from, goes back through [`Self::seen_back`]).
    fn fold_back(&self, key: &EventKey, count: i64, ip: IpAddr) {
        let key = HotEvent::of(key);
        let mut shard = self.shard(&key).lock().expect("event fold lock");
        Self::tally(&mut shard.tallies, &key, count, ip, false);
    }

    /// Machines whose last-seen time could not be written, back for the next tick.
    fn seen_back(&self, ids: &[Uuid]) {
        for (i, id) in ids.iter().enumerate() {
            self.shards[i % SHARDS].lock().expect("event fold lock").seen.insert(*id);
        }
    }

    /// The tallies of the shards `due` picks and of those holding
    /// [`SHARD_FULL`] or more, leaving them empty; the machines they mark
    /// heard from stay in their shards' `seen` for the tick.
    ///
    /// Each shard's table as it is, in the shards' order: moved, not copied
    /// into one list (a cold walk's 32 full shards at once were 15 MB more,
    /// twice that while the list grew).
    fn take(&self, due: impl Fn(usize) -> bool) -> Vec<Tallies> {
        let mut out = Vec::new();
        for (i, shard) in self.shards.iter().enumerate() {
            let mut shard = shard.lock().expect("event fold lock");
            if due(i) || shard.tallies.len() >= SHARD_FULL {
                let map = std::mem::take(&mut shard.tallies);
                let heard = map.iter().filter(|(_, p)| p.heard).filter_map(|(k, _)| k.machine_id);
                shard.seen.extend(heard);
                if !map.is_empty() {
                    out.push(map);
                }
            }
        }
        out
    }

    /// The machines heard from since the last tick (each once), and the
    /// seats taken.
    fn take_seen(&self) -> (Vec<Uuid>, Vec<(Uuid, Taken)>) {
        let (mut seen, mut taken) = (Vec::new(), Vec::new());
        for shard in &self.shards {
            let mut shard = shard.lock().expect("event fold lock");
            let ShardState { tallies, seen: carried, taken: took } = &mut *shard;
            for (k, p) in tallies.iter_mut() {
                if std::mem::take(&mut p.heard) {
                    // A machine is in one tally (its license's shard, result
                    // "ok"), so only a carried one can be named twice.
                    if let Some(m) = k.machine_id.filter(|m| carried.is_empty() || !carried.contains(m)) {
                        seen.push(m);
                    }
                }
            }
            seen.extend(carried.drain());
            taken.append(took);
        }
        (seen, taken)
    }
}

/// The folding side, held by the licensing service.
#[derive(Clone)]
pub struct EventQueue {
    folds: Arc<Folds>,
    closed: Arc<AtomicBool>,
    /// Events refused because the writer had already stopped (at shutdown).
    pub dropped: Arc<AtomicU64>,
    pub written: Arc<AtomicU64>,
}

impl EventQueue {
    /// Starts the writer task. When `shutdown` turns true it stops taking
    /// events, writes what is folded, and ends.
    pub fn start(db: Db, cadence: Cadence, shutdown: watch::Receiver<bool>) -> (EventQueue, JoinHandle<()>) {
        let q = EventQueue {
            folds: Arc::new(Folds::new()),
            closed: Arc::default(),
            dropped: Arc::default(),
            written: Arc::default(),
        };
        let handle = tokio::spawn(writer(db, q.clone(), cadence, shutdown));
        (q, handle)
    }

    /// Never blocks on the disk: a short lock on one shard of the tallies.
    /// The machine's last-seen time is brought up to date at the next tick
    /// (its row written or, if not due, looked up once), unless the call
    /// took its seat: then `taken` is the row as written, which the writer
    /// knows from then on as if it had looked it up.
    pub fn push(&self, e: &HotEvent<'_>, client_ip: IpAddr, taken: Option<Taken>) {
        if self.closed.load(Ordering::Acquire) {
            self.dropped.fetch_add(1, Ordering::Relaxed);
            return;
        }
        self.folds.add(e, 1, client_ip, taken);
    }
}

/// The last 8 characters of a license id as stored (`substr(license_id,
/// -8)`, what leads the log's index) as a number in the same order: the
/// id's last 4 bytes, which lower-case hex writes in order. Random in the
/// ids Keysat makes (`domain::new_id`), so the shards share the calls evenly.
fn license_tail(license: &Uuid) -> u32 {
    let b = license.as_bytes();
    u32::from_be_bytes([b[12], b[13], b[14], b[15]])
}

/// The shard of a license with this tail: equal ranges, in order.
fn shard_of_tail(tail: u32) -> usize {
    ((u64::from(tail) * SHARDS as u64) >> 32) as usize
}

/// The tick (of `fold_seconds`) at which shard `i` writes its tallies: the
/// shards' turns spread evenly over the interval.
fn turn(i: usize, fold_seconds: u32) -> u64 {
    (i as u64 * u64::from(fold_seconds)) / SHARDS as u64
}

/// How long a seat that does not float may wait, once due, for its
/// last-seen time to be written with others' (a quarter of the resolution):
/// its row is then due once it lags by the resolution less this, so it never
/// lags by more than the resolution. Written a second at a time, the rows of
/// 100,000 seats heard from at random each rewrote a page of `machines`
/// apiece (19 µs a row); held back together, a page's rows go in one write.
fn hold_seconds(resolution: i64) -> i64 {
    resolution / 4
}

/// Seats [`Quiet`] remembers at most: 7/8 of 2^19, the most a table of 2^19
/// slots holds without growing (11 MB). A writer that remembered every seat
/// heard from doubled its table past that (22 MB at half a million seats,
/// 44 at a million); past it, the seats forgotten are only written when next
/// heard from, as a seat not known is.
const QUIET_CAP: usize = 458_752;

/// Seats whose last-seen time needs no write before a given second: those
/// not floating (`lapse_after = 0`) whose last-seen time this writer wrote,
/// or read once when nothing was due, until they lag by `lag` (the
/// resolution less the hold) again. Without it every machine heard from was
/// looked up every second, only to find nothing due. Such a seat heard from
/// once due is held back with the second it was last heard from, and
/// written with all the others held at the next hold turn. Forgotten
/// whenever a lapse timeout may have changed
/// ([`db::machines::lapse_changes`]), so a seat turned floating is written
/// from the next tick on; otherwise only when the table is full (see
/// [`Quiet::make_room`]): nothing scans it on a timer. A seat heard from
/// again long after it was due is held like any other due seat.
struct Quiet {
    /// The second each seat is next due, in 4 bytes (Unix seconds fit a u32
    /// until 2106): 20 bytes an entry instead of 24, one entry a seat heard
    /// from; at most `cap` of them (see [`Quiet::make_room`]).
    until: HashMap<Uuid, u32>,
    /// Seats known not to float, heard from since they came due: the last
    /// second each was heard from.
    held: HashMap<Uuid, i64>,
    changes: u64,
    cap: usize,
}

impl Default for Quiet {
    fn default() -> Self {
        Quiet::with_cap(QUIET_CAP)
    }
}

/// A Unix second as [`Quiet`] keeps it (saturating: never before 1970, and
/// past 2106 it would only mean a seat's last-seen time is not rewritten).
fn second(t: i64) -> u32 {
    u32::try_from(t.max(0)).unwrap_or(u32::MAX)
}

impl Quiet {
    fn with_cap(cap: usize) -> Quiet {
        Quiet { until: HashMap::new(), held: HashMap::new(), changes: 0, cap }
    }

    /// Remembers that `id` is next due at `until` (it is `now`).
    fn remember(&mut self, id: Uuid, until: u32, now: i64) {
        // Updated in place: `insert` makes room for a new entry first, even
        // for a key already there, and a full table would double.
        if let Some(at) = self.until.get_mut(&id) {
            *at = until;
            return;
        }
        let len = self.until.len();
        if len >= self.cap {
            self.make_room(now);
        } else if len == self.until.capacity() && len >= self.cap / 2 {
            // No free slot from half the cap on: the slots of seats gone are
            // marked deleted, not free, and such a table doubles rather than
            // tidies itself once the next entry would take it past half.
            // Rebuilt at the cap's size instead, forgetting nothing.
            ratelimit::rebuild(&mut self.until, self.cap, std::iter::empty());
        }
        self.until.insert(id, until);
    }

    /// A full table forgets the seats already due (next heard from, they are
    /// written at once instead of held with others), and, if more than 7/8
    /// of the cap are left, some others (the first the table lists: at
    /// random), into a new table of the cap's size: never all at once, and
    /// no slot is left marked deleted.
    fn make_room(&mut self, now: i64) {
        let live = self.until.values().filter(|u| i64::from(**u) > now).count();
        let mut more = live.saturating_sub(self.cap - self.cap / 8);
        self.until.retain(|_, until| {
            if i64::from(*until) <= now {
                return false;
            }
            if more > 0 {
                more -= 1;
                return false;
            }
            true
        });
        ratelimit::rebuild(&mut self.until, self.cap, std::iter::empty());
    }

    /// Sorts the machines of `seen`, heard from at `now`: those known quiet
    /// are left, those known not to float and due are held back, and the
    /// rest (not known: they may float) are answered, to be written now.
    fn due(&mut self, mut seen: Vec<Uuid>, now: i64) -> Vec<Uuid> {
        let changes = db::machines::lapse_changes();
        if changes != self.changes {
            // Any of them may float now: what was held goes at once.
            seen.extend(self.held.drain().map(|(id, _)| id));
            (self.until, self.changes) = (HashMap::new(), changes);
        }
        seen.retain(|id| {
            if let Some(at) = self.held.get_mut(id) {
                *at = now;
                return false;
            }
            match self.until.get(id) {
                Some(until) if i64::from(*until) > now => false,
                Some(_) => {
                    self.until.remove(id);
                    self.held.insert(*id, now);
                    false
                }
                None => true,
            }
        });
        seen
    }

    /// The seats held back, each with the second it was last heard from.
    fn release(&mut self) -> impl Iterator<Item = (Uuid, i64)> + '_ {
        self.held.drain()
    }

    /// What the writer learnt of these machines' seats that are not
    /// floating (written now, or read with nothing due): they need nothing
    /// before they lag by `lag` again.
    fn known(&mut self, rows: &[Steady], lag: i64, now: i64) {
        for (id, last_seen) in rows {
            self.remember(*id, second(last_seen + lag), now);
        }
    }

    /// Seats just taken, as their takes wrote them, known as if read; a
    /// take decided before a lapse timeout changed is not (the seat may
    /// float now). Called after [`Quiet::due`], which forgets all on a change.
    fn taken(&mut self, rows: &[(Uuid, Taken)], lag: i64, now: i64) {
        for (id, t) in rows {
            if t.lapse_after == 0 && t.changes == self.changes {
                self.remember(*id, second(t.at + lag), now);
            }
        }
    }
}

async fn writer(db: Db, q: EventQueue, cadence: Cadence, mut shutdown: watch::Receiver<bool>) {
    let mut quiet = Quiet::default();
    let mut closing = false;
    let fold = cadence.fold_seconds.max(1);
    let hold = hold_seconds(cadence.last_seen_resolution_seconds);
    let lag = cadence.last_seen_resolution_seconds - hold;
    let hold = hold.max(1) as u64;
    let mut tick: u64 = 0;
    loop {
        tokio::select! {
            _ = tokio::time::sleep(TICK) => {}
            _ = shutdown.wait_for(|stop| *stop) => {
                closing = true;
                q.closed.store(true, Ordering::Release);
            }
        }
        tick += 1;
        let now_turn = tick % u64::from(fold);
        let tallies = q.folds.take(|i| closing || turn(i, fold) == now_turn);
        let release = closing || tick.is_multiple_of(hold);
        flush(&db, &q, &mut quiet, tallies, lag, release).await;
        if closing {
            break;
        }
    }
}

/// Writes the machines heard from (with those held back, when `release`; a
/// steady seat's row is due once it lags by `lag`), then `tallies`, a
/// transaction per batch; what fails is folded back to be written next time.
async fn flush(db: &Db, q: &EventQueue, quiet: &mut Quiet, tallies: Vec<Tallies>, lag: i64, release: bool) {
    let now = now_unix();
    let (seen, taken) = q.folds.take_seen();
    let seen = quiet.due(seen, now);
    quiet.taken(&taken, lag, now);
    let mut seen: Vec<(Uuid, i64)> = seen.into_iter().map(|id| (id, now)).collect();
    if release {
        seen.extend(quiet.release());
    }
    // In their rows' order (a new seat's id is time-ordered).
    seen.sort_unstable();
    // The last-seen times first, so that tallies counted as written never
    // come before the times of the machines they name; a part at a time
    // (see `TOUCH_PART`).
    for part in seen.chunks(TOUCH_PART) {
        match db::machines::touch_many(&db.write, part, lag).await {
            Ok(machines) => quiet.known(&machines, lag, now),
            Err(e) => {
                tracing::warn!(error = %e, machines = part.len(), "could not write last-seen times; retrying");
                let ids: Vec<Uuid> = part.iter().map(|(id, _)| *id).collect();
                q.folds.seen_back(&ids);
            }
        }
    }
    // In the order of the log's index (by the license id's tail, then the
    // row id, which follows this order): a batch then reaches each leaf it
    // writes once, in turn, not at random through a page cache smaller than
    // the leaves it touches (in a cold walk at 100,000 licenses, 8.2 µs a row
    // instead of 13.7). Shard `i` holds the `i`th range of tails, so shards
    // sorted each and taken in order are in that order; within a shard,
    // calls without a license first, as SQLite sorts NULL. A shard is
    // listed only as the batch being filled needs it.
    let mut shards = tallies.into_iter();
    let mut pending: Vec<(EventKey, Pending)> = Vec::new();
    loop {
        while pending.len() < MAX_BATCH {
            let Some(shard) = shards.next() else { break };
            let mut part: Vec<(EventKey, Pending)> = shard.into_iter().collect();
            part.sort_unstable_by_key(|(k, _)| (k.license_id.map(|l| license_tail(&l)), k.license_id, k.machine_id));
            pending.append(&mut part);
        }
        if pending.is_empty() {
            break;
        }
        let rest = pending.split_off(pending.len().min(MAX_BATCH));
        let batch = std::mem::replace(&mut pending, rest);
        let rows: Vec<(EventKey, EventTally)> = batch
            .into_iter()
            .map(|(k, p)| (k, EventTally { count: p.count, ip_count: p.ip_count(), last_ip: p.last_ip }))
            .collect();
        let n: i64 = rows.iter().map(|(_, t)| t.count).sum();
        match write_tallies(db, &rows, now).await {
            Ok(()) => {
                q.written.fetch_add(n as u64, Ordering::Relaxed);
            }
            Err(e) => {
                tracing::warn!(error = %e, events = n, "could not write validation events; retrying");
                for (k, t) in rows {
                    q.folds.fold_back(&k, t.count, t.last_ip);
                }
            }
        }
    }
}

/// A batch of tallies, in one transaction.
async fn write_tallies(db: &Db, rows: &[(EventKey, EventTally)], now: i64) -> Result<(), sqlx::Error> {
    let mut tx = db.begin().await?;
    db::events::insert_batch(&mut tx, now, rows).await?;
    tx.commit().await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(fp: &str, machine: Option<Uuid>) -> HotEvent<'_> {
        HotEvent { license_id: None, machine_id: machine, fingerprint: Some(fp), result: "ok" }
    }

    /// A machine heard from is named once at the next tick, and again only
    /// once heard from again: whether its tally stays, went at its shard's
    /// turn before the tick, or both (heard from again after the turn).
    #[test]
    fn a_machine_heard_from_is_named_once_a_tick() {
        let folds = Folds::new();
        let ip = IpAddr::from([10, 0, 0, 1]);
        let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
        let seat = |m: Uuid| HotEvent { license_id: Some(m), machine_id: Some(m), fingerprint: None, result: "ok" };
        for _ in 0..3 {
            folds.add(&seat(a), 1, ip, None);
        }
        folds.add(&seat(b), 1, ip, None);
        let sorted = |mut v: Vec<Uuid>| {
            v.sort();
            v
        };
        assert_eq!(sorted(folds.take_seen().0), sorted(vec![a, b]));
        assert!(folds.take_seen().0.is_empty(), "named again without being heard from");
        folds.add(&seat(a), 1, ip, None);
        assert_eq!(folds.take_seen().0, vec![a]);
        // Heard, its tally taken at its turn, heard again before the tick.
        folds.add(&seat(b), 1, ip, None);
        let tallies = folds.take(|_| true);
        assert_eq!(tallies.iter().flatten().map(|(_, p)| p.count).sum::<i64>(), 6);
        folds.add(&seat(b), 1, ip, None);
        assert_eq!(folds.take_seen().0, vec![b]);
        assert!(folds.take_seen().0.is_empty());
    }

    #[test]
    fn events_fold_per_key_and_full_shards_keep_counts() {
        let folds = Folds::new();
        let ip = |n: u8| IpAddr::from([10, 0, 0, n]);
        for i in 0..3 {
            folds.add(&key("a", None), 1, ip(i), None);
        }
        folds.add(&key("a", None), 1, ip(0), None);
        let seat = Uuid::new_v4();
        let machine = Some(seat);
        folds.add(&key("b", machine), 1, ip(9), None);
        // Seats just taken: counted, but their machines are not to be looked
        // up; the row of one that never lapses is handed on as written.
        let taken = Uuid::new_v4();
        let row = Taken { at: 5, lapse_after: 0, changes: 7 };
        folds.add(&key("c", Some(taken)), 1, ip(9), Some(row));
        let floating = Some(Uuid::new_v4());
        folds.add(&key("d", floating), 1, ip(9), Some(Taken { lapse_after: 30, ..row }));
        // Far more distinct refusals than the shards hold: all still counted.
        let many = SHARD_KEYS * SHARDS * 5 / 4;
        for i in 0..many {
            folds.add(&key(&format!("x{i}"), None), 1, ip(1), None);
        }
        let all: Vec<(EventKey, Pending)> = folds.take(|_| true).into_iter().flatten().collect();
        assert!(folds.take(|_| true).is_empty());
        assert_eq!(folds.take_seen(), (vec![seat], vec![(taken, row)]));
        let (seen_now, taken_now) = folds.take_seen();
        assert!(seen_now.is_empty() && taken_now.is_empty());
        let total: i64 = all.iter().map(|(_, p)| p.count).sum();
        assert_eq!(total, 7 + many as i64);
        assert!(all.iter().any(|(k, p)| k.machine_id == Some(taken) && p.count == 1));
        let a = all.iter().find(|(k, _)| key("a", None).equivalent(k)).unwrap();
        assert_eq!((a.1.count, a.1.ip_count(), a.1.last_ip), (4, 3, ip(0)));
        let b = all.iter().find(|(k, _)| k.machine_id == machine).unwrap();
        assert_eq!((b.1.count, b.1.ip_count(), b.1.last_ip), (1, 1, ip(9)));
        // A seat's calls keep no fingerprint: the machine names it when written.
        assert!(all.iter().filter(|(k, _)| k.machine_id.is_some()).all(|(k, _)| k.fingerprint.is_none()));
        assert_eq!(std::mem::size_of::<Pending>(), 40);
        assert!(all.iter().any(|(k, p)| k.machine_id == machine && p.count == 1));
        assert!(all.len() <= SHARDS * (SHARD_KEYS + 1) + 1, "{}", all.len());
    }

    /// A seat that is not floating is not looked up again until it lags by
    /// the lag; then, heard from, it is held back (with the last second it
    /// was heard from) until released; a floating one, or one not known, is
    /// written at once; a lapse timeout that may have changed makes the
    /// writer forget what it knew and write what it held at once.
    #[test]
    fn last_seen_writes_skip_seats_known_quiet_and_hold_those_due() {
        let (fixed, floating, unknown) = (Uuid::from_u128(1), Uuid::from_u128(2), Uuid::from_u128(3));
        let all = vec![fixed, floating, unknown];
        // Another test may change a lapse timeout meanwhile (one process runs them
        // all under `cargo test`): then the writer rightly forgets; try again.
        for _ in 0..100 {
            let before = db::machines::lapse_changes();
            let mut quiet = Quiet::default();
            assert_eq!(quiet.due(all.clone(), 100), all);
            // Written at 100, and seen at 90 by the database's account with nothing
            // written now; the floating seat is not among the database's answers.
            quiet.known(&[(fixed, 100), (unknown, 90)], 60, 100);
            let skipped_both = quiet.due(all.clone(), 149);
            let unknown_held = quiet.due(all.clone(), 150);
            let heard_again = quiet.due(all.clone(), 152);
            let released: Vec<_> = quiet.release().collect();
            quiet.known(&[(unknown, 152)], 60, 152);
            let quiet_again = quiet.due(all.clone(), 211);
            let both_held = quiet.due(all.clone(), 212);
            db::machines::lapse_changing();
            let after_change = quiet.due(vec![floating], 213);
            let nothing_held = quiet.release().count();
            if db::machines::lapse_changes() != before + 1 {
                continue;
            }
            assert_eq!(skipped_both, vec![floating]);
            assert_eq!(unknown_held, vec![floating]);
            assert_eq!(heard_again, vec![floating]);
            assert_eq!(released, vec![(unknown, 152)], "held with the last second heard from");
            assert_eq!(quiet_again, vec![floating]);
            assert_eq!(both_held, vec![floating]);
            let mut after_change = after_change;
            after_change.sort();
            assert_eq!(after_change, all, "what was held goes at once");
            assert_eq!(nothing_held, 0);
            // A seat heard from long past its due second is held, as any due one.
            quiet.known(&[(fixed, 300)], 60, 300);
            assert_eq!(quiet.due(vec![], 1_000), Vec::<Uuid>::new());
            assert_eq!(quiet.due(vec![fixed], 1_001), Vec::<Uuid>::new());
            assert_eq!(quiet.release().collect::<Vec<_>>(), vec![(fixed, 1_001)]);
            return;
        }
        panic!("lapse timeouts kept changing");
    }

    /// A seat just taken is known as its take wrote it, unless it floats or
    /// its take was decided before a lapse timeout changed.
    #[test]
    fn seats_just_taken_are_known_as_written_unless_a_timeout_changed_since() {
        let (fixed, floating, stale) = (Uuid::from_u128(1), Uuid::from_u128(2), Uuid::from_u128(3));
        let all = vec![fixed, floating, stale];
        for _ in 0..100 {
            let mut quiet = Quiet::default();
            assert!(quiet.due(vec![], 100).is_empty());
            let now = Taken { at: 100, lapse_after: 0, changes: quiet.changes };
            let rows = [
                (fixed, now),
                (floating, Taken { lapse_after: 30, ..now }),
                (stale, Taken { changes: now.changes.wrapping_sub(1), ..now }),
            ];
            quiet.taken(&rows, 60, 100);
            let skipped = quiet.due(all.clone(), 159);
            let due_again = quiet.due(all.clone(), 160);
            if db::machines::lapse_changes() != now.changes {
                continue;
            }
            assert_eq!(skipped, vec![floating, stale]);
            assert_eq!(due_again, vec![floating, stale]);
            assert_eq!(quiet.release().collect::<Vec<_>>(), vec![(fixed, 160)]);
            return;
        }
        panic!("lapse timeouts kept changing");
    }

    /// A full writer's table of quiet seats forgets those already due
    /// first, then others, to 7/8 of its cap, and never grows past its size,
    /// nor when the slots of seats gone to the held ones are marked deleted.
    #[test]
    fn a_full_table_of_quiet_seats_forgets_due_ones_first_and_never_grows() {
        // 112 is all that a table of 128 slots holds, as QUIET_CAP is for 2^19.
        let mut quiet = Quiet::with_cap(112);
        quiet.due(vec![], 100);
        let id = |n: u128| Uuid::from_u128(n);
        // 14 seats due by 100, 98 due later.
        let rows: Vec<Steady> = (0..112).map(|n| (id(n), if n < 14 { 30 } else { 60 })).collect();
        quiet.known(&rows, 60, 100);
        assert_eq!((quiet.until.len(), quiet.until.capacity()), (112, 112));
        quiet.known(&[(id(1000), 100)], 60, 100);
        assert_eq!(quiet.until.len(), 99, "the 14 due ones went, and nothing else");
        assert!((0..14).all(|n| !quiet.until.contains_key(&id(n))));
        assert!((14..112).chain([1000]).all(|n| quiet.until.contains_key(&id(n))));
        // Full again with none due: some go, to 7/8 of the cap.
        quiet.known(&(2000..2013).map(|n| (id(n), 100)).collect::<Vec<_>>(), 60, 100);
        assert_eq!(quiet.until.len(), 112);
        quiet.known(&[(id(3000), 100)], 60, 100);
        assert_eq!(quiet.until.len(), 99);
        assert!(quiet.until.contains_key(&id(3000)));
        // Known again, a seat remembered is updated, not added.
        let kept = *quiet.until.keys().next().unwrap();
        quiet.known(&(4000..4013).map(|n| (id(n), 100)).collect::<Vec<_>>(), 60, 100);
        quiet.known(&[(kept, 120)], 60, 100);
        assert_eq!((quiet.until.len(), quiet.until[&kept]), (112, 180));
        // Seats heard from once due leave the table for the held ones, leaving
        // marked slots; new seats after them never double the table (90 a
        // round, under the cap: none is forgotten).
        let mut last: Vec<Uuid> = quiet.until.keys().copied().collect();
        for round in 0..20u128 {
            let now = 10_000 + round as i64 * 150;
            quiet.due(last.clone(), now);
            assert!(quiet.until.is_empty(), "round {round}: the last round's seats are held");
            assert_eq!(quiet.release().count(), last.len());
            last = (0..90).map(|n| id(10_000 + round * 1000 + n)).collect();
            quiet.known(&last.iter().map(|m| (*m, now)).collect::<Vec<_>>(), 60, now);
            assert!(quiet.until.capacity() <= 112, "round {round}: {}", quiet.until.capacity());
        }
    }

    /// A batch goes to the log in the order of its index (by the license
    /// id's last 8 characters), whichever shards its tallies come from.
    #[tokio::test]
    async fn tallies_are_written_in_the_order_of_the_logs_index() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(dir.path()).await.unwrap();
        let (stop, shutdown) = watch::channel(false);
        let cadence = Cadence { fold_seconds: 3600, last_seen_resolution_seconds: 60 };
        let (q, writer) = EventQueue::start(db.clone(), cadence, shutdown);
        let ip = IpAddr::from([10, 0, 0, 1]);
        for _ in 0..200 {
            let e = HotEvent {
                license_id: Some(Uuid::new_v4()),
                machine_id: None,
                fingerprint: Some("fp"),
                result: "expired",
            };
            q.push(&e, ip, None);
        }
        stop.send(true).unwrap();
        writer.await.unwrap();
        let tails: Vec<String> = sqlx::query_scalar("SELECT substr(license_id, -8) FROM validation_events ORDER BY id")
            .fetch_all(&db.read)
            .await
            .unwrap();
        assert_eq!(tails.len(), 200);
        assert!(tails.windows(2).all(|w| w[0] < w[1]), "written by the license id's tail");
    }

    /// A shard holding [`SHARD_FULL`] tallies is taken at the next tick
    /// though it is not its turn; one holding fewer waits for its turn.
    #[test]
    fn a_full_shard_is_taken_before_its_turn() {
        let folds = Folds::new();
        // A license id's last 32 bits are its tail: below 2^27, shard 0.
        let call = |tail: u32, n: usize| HotEvent {
            license_id: Some(Uuid::from_u128(u128::from(tail))),
            machine_id: Some(Uuid::from_u128(n as u128 + 1)),
            fingerprint: None,
            result: "ok",
        };
        let ip = IpAddr::from([10, 0, 0, 1]);
        for n in 0..SHARD_FULL - 1 {
            folds.add(&call(n as u32, n), 1, ip, None);
        }
        folds.add(&call(1 << 27, 0), 1, ip, None);
        assert!(folds.take(|_| false).is_empty(), "neither is full");
        folds.add(&call(7, SHARD_FULL), 1, ip, None);
        let taken = folds.take(|_| false);
        let [full] = &taken[..] else { panic!("{} tables taken", taken.len()) };
        assert_eq!(full.len(), SHARD_FULL);
        assert!(full.keys().all(|k| k.license_id.is_some_and(|l| shard_of_tail(license_tail(&l)) == 0)));
        assert_eq!(folds.take(|s| s == 1).iter().map(|t| t.len()).sum::<usize>(), 1, "shard 1 waits");
    }

    /// A license's calls fold into the shard of its id's tail; the shards
    /// are the tails' ranges in order, and a tail orders as the text the
    /// log's index holds (`substr(license_id, -8)`): so one shard's turn
    /// writes into one range of that index.
    #[test]
    fn a_licenses_calls_fold_into_the_shard_of_its_ids_tail() {
        let folds = Folds::new();
        let ids: Vec<Uuid> = (0..2_000).map(|_| crate::domain::new_id()).collect();
        for (n, l) in ids.iter().enumerate() {
            let e = HotEvent {
                license_id: Some(*l),
                machine_id: Some(Uuid::from_u128(n as u128)),
                fingerprint: None,
                result: "ok",
            };
            folds.add(&e, 1, IpAddr::from([10, 0, 0, 1]), None);
        }
        for i in 0..SHARDS {
            let taken = folds.take(|s| s == i);
            // About 62 each (an empty one: a chance of 1 in 10^26).
            let [shard] = &taken[..] else { panic!("shard {i}: {} tables", taken.len()) };
            assert!(shard.iter().all(|(k, _)| k.license_id.is_some_and(|l| shard_of_tail(license_tail(&l)) == i)));
        }
        let text_tail = |l: &Uuid| l.to_string()[28..].to_owned();
        let mut by_text = ids.clone();
        by_text.sort_by_key(text_tail);
        let mut by_number = ids;
        by_number.sort_by_key(license_tail);
        assert_eq!(by_text, by_number);
        assert!(by_number.iter().all(|l| format!("{:08x}", license_tail(l)) == text_tail(l)));
        let shards: Vec<usize> = by_number.iter().map(|l| shard_of_tail(license_tail(l))).collect();
        assert!(shards.windows(2).all(|w| w[0] <= w[1]));
        assert_eq!((shard_of_tail(0), shard_of_tail(u32::MAX)), (0, SHARDS - 1));
    }

    #[test]
    fn every_shard_gets_one_turn_per_interval_spread_over_it() {
        for fold in [1u32, 2, 5, 32, 60, 3600] {
            let turns: Vec<u64> = (0..SHARDS).map(|i| turn(i, fold)).collect();
            assert!(turns.iter().all(|t| *t < u64::from(fold)), "{fold}: {turns:?}");
            assert!(turns.windows(2).all(|w| w[0] <= w[1]));
            let busiest = (0..u64::from(fold)).map(|t| turns.iter().filter(|x| **x == t).count()).max().unwrap();
            assert!(busiest <= SHARDS.div_ceil(fold as usize), "{fold}: {busiest}");
        }
    }
}
