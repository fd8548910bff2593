//! Group commit of short write transactions on the single writer.
//!
//! A caller hands [`Writer::run`] a job: a closure that does its writes on
//! `&mut Tx` and answers `Ok` or its own error. One task takes every job
//! queued while the previous group committed (at most [`MAX_GROUP`]) and
//! runs them, in arrival order, in ONE transaction. A job that fails must
//! leave no trace while the others carry on, and most groups have none: so
//! a group first runs its jobs straight on the transaction. When one fails,
//! the whole group is rolled back, that job is answered with its error, and
//! the others run again from the start, this time each inside its own
//! `SAVEPOINT` (a further failure is rolled back to its savepoint alone and
//! answered at once). A savepoint for every job would cost a round trip to
//! SQLite's worker thread, and a copy of every page the job changes, each
//! time. The jobs that succeeded are answered only once the group's
//! `COMMIT` has returned; if it fails, each of them gets an error and none
//! of their changes is kept.
//!
//! A job is the database part of a use case only: it must not wait on the
//! network, a lock or another job (everything queued behind it waits too),
//! and it may run twice (an `Fn`), so it does nothing but its statements.
//! What a change publishes in memory (the validation cache, the catalogue)
//! is published by the caller after `run` returns, i.e. after the commit.
//! The admin request's actor (`api_keys::acting`) is carried into the job, so
//! audit records name whoever submitted it.
//!
//! The audit records a job writes through `services::audit` are held by the
//! writer ([`hold_audit`]) and written for the whole group in one statement
//! before `COMMIT` (a statement fewer per record, each a round trip to
//! SQLite's worker thread); a job rolled back drops its own.

use std::cell::RefCell;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::sync::{mpsc, oneshot};

use super::api_keys;
use crate::db::audit::Held;
use crate::db::{self, Db, Tx};

tokio::task_local! {
    /// The audit records of the job running, while one runs.
    static HELD: RefCell<Vec<Held>>;
}

/// Holds `record` for the group's single audit insert when called inside a
/// writer job (`None`); outside one, gives it back for the caller to write.
pub(super) fn hold_audit(record: Held) -> Option<Held> {
    if HELD.try_with(|_| ()).is_err() {
        return Some(record);
    }
    HELD.with(|h| h.borrow_mut().push(record));
    None
}

/// A job's future, borrowing the group's transaction.
pub type JobFuture<'t, T> = Pin<Box<dyn Future<Output = T> + Send + 't>>;

/// Most jobs in one transaction.
pub const MAX_GROUP: usize = 256;
/// Jobs waiting for the writer before callers wait to queue.
const QUEUE: usize = 4096;

/// The handle callers submit jobs through (cheap to clone).
#[derive(Clone)]
pub struct Writer {
    jobs: mpsc::Sender<Box<dyn Job>>,
}

impl Writer {
    /// Starts the writer task on `db`'s write connection.
    pub fn start(db: Db) -> Writer {
        let (jobs, rx) = mpsc::channel(QUEUE);
        tokio::spawn(run_groups(db, rx));
        Writer { jobs }
    }

    /// Runs `job` in the next group; answers its error as soon as it fails,
    /// or its value once the group is committed.
    pub async fn run<T, E, F>(&self, job: F) -> Result<T, E>
    where
        F: for<'t> Fn(&'t mut Tx) -> JobFuture<'t, Result<T, E>> + Send + Sync + 'static,
        T: Send + 'static,
        E: From<sqlx::Error> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let job = Typed { job, actor: api_keys::acting(), done: None, audits: Vec::new(), reply };
        let closed = || E::from(sqlx::Error::PoolClosed);
        self.jobs.send(Box::new(job)).await.map_err(|_| closed())?;
        answer.await.map_err(|_| closed())?
    }
}

/// A job with its answer's type erased, as the writer task holds it.
trait Job: Send {
    /// Runs the job on the group's transaction (again when the group starts
    /// over); `true` when it succeeded.
    fn run<'a>(&'a mut self, tx: &'a mut Tx) -> JobFuture<'a, bool>;
    /// Answers the caller: the job's own result, or `failed` when the group
    /// could not be committed.
    fn answer(self: Box<Self>, failed: Option<&sqlx::Error>);
    /// The audit records the job wrote (once it ran), for the group's insert.
    fn take_audits(&mut self) -> Vec<Held>;
}

struct Typed<F, T, E> {
    job: F,
    actor: Option<String>,
    done: Option<Result<T, E>>,
    audits: Vec<Held>,
    reply: oneshot::Sender<Result<T, E>>,
}

impl<F, T, E> Job for Typed<F, T, E>
where
    F: for<'t> Fn(&'t mut Tx) -> JobFuture<'t, Result<T, E>> + Send + Sync + 'static,
    T: Send + 'static,
    E: From<sqlx::Error> + Send + 'static,
{
    fn run<'a>(&'a mut self, tx: &'a mut Tx) -> JobFuture<'a, bool> {
        Box::pin(async move {
            self.done = None;
            let (job, actor) = (&self.job, self.actor.clone());
            let (done, audits) = HELD
                .scope(RefCell::new(Vec::new()), async move {
                    let done = match actor {
                        Some(actor) => api_keys::acting_as(actor, job(tx)).await,
                        None => job(tx).await,
                    };
                    (done, HELD.with(RefCell::take))
                })
                .await;
            let ok = done.is_ok();
            self.done = Some(done);
            self.audits = audits;
            ok
        })
    }

    fn answer(self: Box<Self>, failed: Option<&sqlx::Error>) {
        let this = *self;
        let answer = match (failed, this.done) {
            (Some(e), _) => Err(E::from(group_failed(e))),
            (None, Some(done)) => done,
            (None, None) => return,
        };
        let _ = this.reply.send(answer);
    }

    fn take_audits(&mut self) -> Vec<Held> {
        std::mem::take(&mut self.audits)
    }
}

/// The error each job of a group that could not be committed gets.
fn group_failed(e: &sqlx::Error) -> sqlx::Error {
    sqlx::Error::Protocol(format!("the write transaction could not be committed: {e}"))
}

async fn run_groups(db: Db, mut rx: mpsc::Receiver<Box<dyn Job>>) {
    let mut group = Vec::with_capacity(MAX_GROUP);
    while rx.recv_many(&mut group, MAX_GROUP).await > 0 {
        let jobs = std::mem::replace(&mut group, Vec::with_capacity(MAX_GROUP));
        commit_group(&db, jobs).await;
    }
}

/// Runs one group in one transaction (see the module's documentation).
async fn commit_group(db: &Db, mut jobs: Vec<Box<dyn Job>>) {
    let failed = match attempt(db, &mut jobs, false).await {
        Ok(()) => return jobs.into_iter().for_each(|job| job.answer(None)),
        Err(Stop::Job(i)) => i,
        Err(Stop::Group(e)) => return fail_all(jobs, &e),
    };
    // Answered with the error it met after the jobs before it: they run
    // again in the same order, so the state it failed on is the one kept.
    jobs.remove(failed).answer(None);
    match attempt(db, &mut jobs, true).await {
        Ok(()) => jobs.into_iter().for_each(|job| job.answer(None)),
        Err(Stop::Group(e)) => fail_all(jobs, &e),
        Err(Stop::Job(_)) => unreachable!("with savepoints a failed job is answered and left out"),
    }
}

/// Why an attempt at a group stopped.
enum Stop {
    /// Job `i` failed (without savepoints); nothing was kept.
    Job(usize),
    /// The transaction itself failed; nothing was kept.
    Group(sqlx::Error),
}

/// Runs `jobs` in one transaction and commits it. With `savepoints`, each
/// runs inside its own, and one that fails is rolled back to it, answered
/// and taken out of `jobs`; without, the first that fails stops the attempt.
async fn attempt(db: &Db, jobs: &mut Vec<Box<dyn Job>>, savepoints: bool) -> Result<(), Stop> {
    let mut tx = db.begin().await.map_err(Stop::Group)?;
    let mut audits = Vec::new();
    let mut i = 0;
    while i < jobs.len() {
        // Savepoints nest: each job's is the innermost when it runs, so
        // rolling back to it undoes this job alone. COMMIT releases them all.
        if savepoints {
            statement(&mut tx, "SAVEPOINT job").await.map_err(Stop::Group)?;
        }
        let ok = CatchUnwind(jobs[i].run(&mut tx)).await.unwrap_or_else(|()| {
            tracing::error!("a write job panicked; its changes are rolled back");
            false
        });
        if ok {
            audits.append(&mut jobs[i].take_audits());
            i += 1;
        } else if savepoints {
            statement(&mut tx, "ROLLBACK TO job").await.map_err(Stop::Group)?;
            jobs.remove(i).answer(None);
        } else {
            // Dropping the transaction rolls it back.
            return Err(Stop::Job(i));
        }
    }
    db::audit::record_all(&mut tx, &audits).await.map_err(Stop::Group)?;
    tx.commit().await.map_err(|e| {
        tracing::error!(error = %e, jobs = jobs.len(), "a group of writes could not be committed");
        Stop::Group(e)
    })
}

/// One statement on the group's transaction.
fn statement<'t>(tx: &'t mut Tx, sql: &'static str) -> JobFuture<'t, Result<(), sqlx::Error>> {
    Box::pin(async move { sqlx::query(sql).execute(&mut **tx).await.map(|_| ()) })
}

fn fail_all(jobs: Vec<Box<dyn Job>>, e: &sqlx::Error) {
    for job in jobs {
        job.answer(Some(e));
    }
}

/// A job's future with its panic caught (`Err(())`), so one bad job cannot
/// stop the writer.
struct CatchUnwind<'a>(JobFuture<'a, bool>);

impl Future for CatchUnwind<'_> {
    type Output = Result<bool, ()>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let inner = &mut self.0;
        match std::panic::catch_unwind(AssertUnwindSafe(|| inner.as_mut().poll(cx))) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(ok)) => Poll::Ready(Ok(ok)),
            Err(_) => Poll::Ready(Err(())),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicI64, Ordering};
    use std::sync::Arc;

    use tokio::task::JoinHandle;

    use super::*;

    async fn open() -> (tempfile::TempDir, Db) {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(dir.path()).await.unwrap();
        let mut tx = db.begin().await.unwrap();
        sqlx::raw_sql(
            "CREATE TABLE t (v INTEGER PRIMARY KEY); CREATE TABLE parent (id INTEGER PRIMARY KEY); \
             CREATE TABLE child (id INTEGER PRIMARY KEY, \
               parent INTEGER REFERENCES parent(id) DEFERRABLE INITIALLY DEFERRED)",
        )
        .execute(&mut *tx)
        .await
        .unwrap();
        tx.commit().await.unwrap();
        (dir, db)
    }

    /// Sends a job running `sql` in order (its first error is its answer),
    /// answering `v`; with `panics`, it panics after its statements.
    fn send(writer: &Writer, v: i64, sql: &[&'static str], panics: bool) -> JoinHandle<Result<i64, sqlx::Error>> {
        let (w, sql) = (writer.clone(), sql.to_vec());
        tokio::spawn(async move {
            w.run(move |tx| {
                let sql = sql.clone();
                Box::pin(async move {
                    for q in sql {
                        sqlx::query(q).execute(&mut **tx).await?;
                    }
                    assert!(!panics, "a bug in a job");
                    Ok(v)
                })
            })
            .await
        })
    }

    async fn values(db: &Db) -> Vec<i64> {
        sqlx::query_scalar("SELECT v FROM t ORDER BY v").fetch_all(&db.read).await.unwrap()
    }

    /// A writer whose task starts only when `start` is called, so that the
    /// jobs sent before all run as one group.
    fn paused(db: Db) -> (Writer, impl FnOnce()) {
        let (jobs, rx) = mpsc::channel(QUEUE);
        (Writer { jobs }, move || drop(tokio::spawn(run_groups(db, rx))))
    }

    /// Starts `writer` once `jobs` are queued; answers them in order.
    async fn as_one_group(
        writer: &Writer,
        start: impl FnOnce(),
        jobs: Vec<JoinHandle<Result<i64, sqlx::Error>>>,
    ) -> Vec<Result<i64, sqlx::Error>> {
        while QUEUE - writer.jobs.capacity() < jobs.len() {
            tokio::task::yield_now().await;
        }
        start();
        let mut answers = Vec::new();
        for j in jobs {
            answers.push(j.await.unwrap());
        }
        answers
    }

    #[tokio::test]
    async fn a_failing_job_is_rolled_back_alone_and_the_group_commits() {
        let (_dir, db) = open().await;
        let (writer, start) = paused(db.clone());
        let jobs = vec![
            send(&writer, 1, &["INSERT INTO t VALUES (1)"], false),
            send(&writer, 2, &["INSERT INTO t VALUES (2)"], false),
            // Writes 4, then fails (4 again): its first 4 must not survive.
            send(&writer, 4, &["INSERT INTO t VALUES (4)", "INSERT INTO t VALUES (4)"], false),
            // Panics after writing: rolled back, and the writer lives on.
            send(&writer, 6, &["INSERT INTO t VALUES (6)"], true),
            send(&writer, 5, &["INSERT INTO t VALUES (5)"], false),
        ];
        let answers = as_one_group(&writer, start, jobs).await;
        assert_eq!((answers[0].as_ref().unwrap(), answers[1].as_ref().unwrap()), (&1, &2));
        assert!(crate::db::is_unique_violation(answers[2].as_ref().unwrap_err()), "{:?}", answers[2]);
        assert!(answers[3].is_err(), "the panicked job is answered with an error");
        assert_eq!(answers[4].as_ref().unwrap(), &5);
        assert_eq!(values(&db).await, vec![1, 2, 5]);
        let next = send(&writer, 7, &["INSERT INTO t VALUES (7)"], false);
        assert_eq!(next.await.unwrap().unwrap(), 7, "the writer still runs after a panic");
    }

    /// Sends a job inserting `v` (then failing when `fails`) that answers how
    /// many times it has run.
    fn counted(writer: &Writer, v: i64, fails: bool) -> JoinHandle<Result<i64, sqlx::Error>> {
        let (w, runs) = (writer.clone(), Arc::new(AtomicI64::new(0)));
        tokio::spawn(async move {
            w.run(move |tx| {
                let runs = runs.clone();
                Box::pin(async move {
                    let run = runs.fetch_add(1, Ordering::Relaxed) + 1;
                    sqlx::query("INSERT INTO t VALUES (?)").bind(v).execute(&mut **tx).await?;
                    if fails {
                        sqlx::query("INSERT INTO nowhere VALUES (1)").execute(&mut **tx).await?;
                    }
                    Ok(run)
                })
            })
            .await
        })
    }

    #[tokio::test]
    async fn jobs_run_once_unless_one_fails_then_the_others_run_again_and_their_last_run_counts() {
        let (_dir, db) = open().await;
        let (writer, start) = paused(db.clone());
        let jobs = vec![counted(&writer, 1, false), counted(&writer, 2, false)];
        let answers = as_one_group(&writer, start, jobs).await;
        assert_eq!(answers.iter().map(|a| *a.as_ref().unwrap()).collect::<Vec<_>>(), [1, 1]);

        let (writer, start) = paused(db.clone());
        let jobs = vec![counted(&writer, 3, false), counted(&writer, 4, true), counted(&writer, 5, false)];
        let answers = as_one_group(&writer, start, jobs).await;
        // The first ran, then again after the second failed; the third ran
        // only in the second attempt. What each wrote is kept once.
        assert_eq!(answers[0].as_ref().unwrap(), &2);
        assert!(answers[1].as_ref().is_err_and(|e| e.to_string().contains("nowhere")), "{:?}", answers[1]);
        assert_eq!(answers[2].as_ref().unwrap(), &1);
        assert_eq!(values(&db).await, vec![1, 2, 3, 5]);
    }

    /// Sends a job writing an audit record `action` through `services::audit`,
    /// then failing when `fails`.
    fn audited(writer: &Writer, action: &'static str, fails: bool) -> JoinHandle<Result<i64, sqlx::Error>> {
        let w = writer.clone();
        tokio::spawn(async move {
            w.run(move |tx| {
                Box::pin(async move {
                    crate::services::audit(tx, 1, "test", action, ("thing", 1), serde_json::json!({"a": action}))
                        .await?;
                    if fails {
                        sqlx::query("INSERT INTO nowhere VALUES (1)").execute(&mut **tx).await?;
                    }
                    Ok(0)
                })
            })
            .await
        })
    }

    #[tokio::test]
    async fn a_groups_audit_records_are_written_in_order_without_those_of_a_failed_job() {
        let (_dir, db) = open().await;
        let (writer, start) = paused(db.clone());
        let jobs = vec![
            audited(&writer, "first", false),
            audited(&writer, "undone", true),
            audited(&writer, "second", false),
            audited(&writer, "third", false),
        ];
        let answers = as_one_group(&writer, start, jobs).await;
        assert!(answers[1].is_err() && answers.iter().filter(|a| a.is_ok()).count() == 3, "{answers:?}");
        let rows: Vec<(String, String, String, i64)> =
            sqlx::query_as("SELECT action, details, target_id, at FROM audit_log ORDER BY id")
                .fetch_all(&db.read)
                .await
                .unwrap();
        let actions: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
        assert_eq!(actions, ["first", "second", "third"]);
        assert_eq!((rows[0].1.as_str(), rows[0].2.as_str(), rows[0].3), (r#"{"a":"first"}"#, "1", 1));
        // Outside a job, a record is written at once.
        let mut tx = db.begin().await.unwrap();
        crate::services::audit(&mut tx, 2, "test", "direct", ("thing", 2), serde_json::json!({})).await.unwrap();
        tx.commit().await.unwrap();
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM audit_log").fetch_one(&db.read).await.unwrap();
        assert_eq!(n, 4);
    }

    #[tokio::test]
    async fn a_failed_commit_fails_every_job_of_the_group_and_keeps_nothing() {
        let (_dir, db) = open().await;
        let (writer, start) = paused(db.clone());
        let jobs = vec![
            send(&writer, 1, &["INSERT INTO t VALUES (1)"], false),
            send(&writer, 2, &["INSERT INTO t VALUES (2)"], false),
            // A deferred foreign key is checked at COMMIT: the group's
            // commit fails although each statement succeeded.
            send(&writer, 0, &["INSERT INTO child VALUES (1, 99)"], false),
        ];
        for answer in as_one_group(&writer, start, jobs).await {
            let e = answer.unwrap_err();
            assert!(e.to_string().contains("could not be committed"), "{e}");
        }
        assert!(values(&db).await.is_empty(), "nothing of a failed group is kept");
        let children: i64 = sqlx::query_scalar("SELECT count(*) FROM child").fetch_one(&db.read).await.unwrap();
        assert_eq!(children, 0);
        let next = send(&writer, 3, &["INSERT INTO t VALUES (3)"], false);
        assert_eq!(next.await.unwrap().unwrap(), 3, "the next group commits");
        assert_eq!(values(&db).await, vec![3]);
    }
}
