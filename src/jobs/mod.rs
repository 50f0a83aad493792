//! The background job queue, kept in the database so it survives restarts and is shared by every
//! instance (SPEC §5). A job is claimed by one atomic `UPDATE … RETURNING` that moves it to
//! `running` with a fresh claim token and a lease; completion and failure name that token, so
//! exactly one worker finishes each attempt. A worker that dies leaves the lease to run out and
//! the job is claimed again. Failures retry with exponential backoff up to `max_attempts`;
//! failures that cannot improve on a retry (a decompression bomb, a damaged file) fail at once.
pub mod pages;

use std::fmt;
use std::future::Future;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::Row;
use tokio::sync::Notify;

use crate::db::{self, Db};

/// How long a claim holds. Every job kind must finish (or give up) well within it.
pub const LEASE: Duration = Duration::from_secs(300);
/// How often an idle worker looks for work that other instances queued.
const IDLE_POLL: Duration = Duration::from_secs(1);

/// What a job does, stored in `jobs.kind` under its name (`as_str`). Adding a kind: a variant
/// here, its name in `as_str` and `from_str`, its runner in `app::start_jobs`, whose match is
/// exhaustive so the compiler asks for it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum JobKind {
    /// Thumbnails, previews and metadata of one version (`renditions::run`); subject: the
    /// version id. Also queued by a trigger on `asset_versions` (migration 0008).
    Renditions,
    /// The digest mails (`digests::run`); subject: `daily:<date>` or `now:<id>`.
    Digests,
    /// One person's recall notices (`recalls::notices::run`); subject: `<email> <date>`, the
    /// UTC day the mail may go, so a person gets at most one a day.
    RecallNotices,
    /// One webhook message to one endpoint (`webhooks::deliver`); subject: the delivery id.
    Webhook,
    /// A mail about an upload link's delivery slots (`uploadlinks::notices::run`); subject:
    /// `filled <link>`, `receipt <link> <sender>` or `reminder <link> <sender>`.
    UploadLinkMail,
    /// One contributor's review outcomes, as one mail (`library::outcomes::run`); subject:
    /// the user id. Queued again by every decision, so it runs 10 minutes after the last.
    ReviewOutcomes,
    /// The admins' alert at the end of a ten-minute spell of submissions
    /// (`library::alerts::run`); subject: `after <ms>`, the spell's start.
    SubmissionsAlert,
}

impl JobKind {
    pub const ALL: [JobKind; 7] = [
        JobKind::Renditions,
        JobKind::Digests,
        JobKind::RecallNotices,
        JobKind::Webhook,
        JobKind::UploadLinkMail,
        JobKind::ReviewOutcomes,
        JobKind::SubmissionsAlert,
    ];

    /// The name stored in the database and used as the metrics label.
    pub fn as_str(self) -> &'static str {
        match self {
            JobKind::Renditions => "renditions",
            JobKind::Digests => "digests",
            JobKind::RecallNotices => "recall_notices",
            JobKind::Webhook => "webhook",
            JobKind::UploadLinkMail => "upload_link_mail",
            JobKind::ReviewOutcomes => "review_outcomes",
            JobKind::SubmissionsAlert => "submissions_alert",
        }
    }

    /// Attempts before a job of this kind fails for good. A webhook receiver may be down for
    /// a few hours (a deploy, maintenance): its ten attempts span about six and a half hours
    /// of backoff; the rest fail fast.
    pub fn max_attempts(self) -> i64 {
        match self {
            JobKind::Webhook => 10,
            JobKind::Renditions
            | JobKind::Digests
            | JobKind::RecallNotices
            | JobKind::UploadLinkMail
            | JobKind::ReviewOutcomes
            | JobKind::SubmissionsAlert => 5,
        }
    }
}

impl fmt::Display for JobKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A stored kind this build does not know (a newer instance's job, or a hand-made row).
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown job kind {0}")]
pub struct UnknownJobKind(pub String);

impl FromStr for JobKind {
    type Err = UnknownJobKind;
    fn from_str(s: &str) -> Result<JobKind, UnknownJobKind> {
        JobKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| UnknownJobKind(s.to_string()))
    }
}

#[derive(Clone, Debug)]
pub struct Job {
    pub id: String,
    pub kind: JobKind,
    pub subject: String,
    pub attempts: i64,
    pub max_attempts: i64,
    claim: String,
}

/// Why a job did not succeed.
#[derive(Debug)]
pub enum JobError {
    /// May succeed later (I/O, a storage hiccup): retried with backoff.
    Retry(String),
    /// Cannot succeed by retrying (bad input): failed at once.
    Permanent(String),
}

impl std::fmt::Display for JobError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            JobError::Retry(m) | JobError::Permanent(m) => f.write_str(m),
        }
    }
}

impl From<sqlx::Error> for JobError {
    fn from(e: sqlx::Error) -> Self {
        JobError::Retry(format!("database: {e}"))
    }
}

impl From<anyhow::Error> for JobError {
    fn from(e: anyhow::Error) -> Self {
        JobError::Retry(format!("{e:#}"))
    }
}

/// Wakes this instance's idle workers when it queues work itself.
#[derive(Clone, Default)]
pub struct Waker(Arc<Notify>);

impl Waker {
    pub fn wake(&self) {
        self.0.notify_waiters();
    }
}

/// Queues `kind` for `subject` to run now. Asking again for a job that is pending, running or
/// done starts it afresh (e.g. "render again"); the unique (kind, subject) keeps it one job.
pub async fn enqueue<'e, E>(
    exec: E,
    kind: JobKind,
    subject: &str,
    now: i64,
) -> Result<(), sqlx::Error>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    sqlx::query(
        "INSERT INTO jobs (id, kind, subject, state, run_at, created_at, updated_at, max_attempts) \
         VALUES ($1, $2, $3, 'pending', $4, $4, $4, $5) \
         ON CONFLICT (kind, subject) DO UPDATE SET state = 'pending', attempts = 0, \
         run_at = excluded.run_at, claim = NULL, lease_until = NULL, last_error = '', \
         updated_at = excluded.updated_at, max_attempts = excluded.max_attempts",
    )
    .bind(db::new_id())
    .bind(kind.as_str())
    .bind(subject)
    .bind(now)
    .bind(kind.max_attempts())
    .execute(exec)
    .await?;
    Ok(())
}

/// Queues `kind` for `subject` unless that job exists already, in whatever state: for
/// once-only work such as a day's digests, which every instance asks for. Returns whether it
/// was queued now.
pub async fn enqueue_once(db: &Db, kind: JobKind, subject: &str) -> Result<bool, sqlx::Error> {
    let now = db.clock.now_ms();
    let r = sqlx::query(
        "INSERT INTO jobs (id, kind, subject, state, run_at, created_at, updated_at, max_attempts) \
         VALUES ($1, $2, $3, 'pending', $4, $4, $4, $5) ON CONFLICT (kind, subject) DO NOTHING",
    )
    .bind(db::new_id())
    .bind(kind.as_str())
    .bind(subject)
    .bind(now)
    .bind(kind.max_attempts())
    .execute(&db.pool)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// Queues `kind` for `subject` to run from `run_at`, unless that job exists already (in
/// whatever state). Returns whether it was queued now.
pub async fn enqueue_once_at(
    db: &Db,
    kind: JobKind,
    subject: &str,
    run_at: i64,
) -> Result<bool, sqlx::Error> {
    let now = db.clock.now_ms();
    let r = sqlx::query(
        "INSERT INTO jobs (id, kind, subject, state, run_at, created_at, updated_at) \
         VALUES ($1, $2, $3, 'pending', $4, $5, $5) ON CONFLICT (kind, subject) DO NOTHING",
    )
    .bind(db::new_id())
    .bind(kind.as_str())
    .bind(subject)
    .bind(run_at)
    .bind(now)
    .execute(&db.pool)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// Claims the next due job (or one whose lease ran out), or `None`. A job of a kind this build
/// does not know is failed for good here (`unknown job kind …`, shown on the jobs page) and
/// the next one is claimed; it never reaches a runner.
pub async fn claim(db: &Db, now: i64) -> Result<Option<Job>, sqlx::Error> {
    // Bounded, so a flood of unknown rows cannot hold a worker; the rest wait for its next turn.
    for _ in 0..16 {
        let Some(row) = claim_row(db, now).await? else {
            return Ok(None);
        };
        match row.kind.parse::<JobKind>() {
            Ok(kind) => {
                return Ok(Some(Job {
                    id: row.id,
                    kind,
                    subject: row.subject,
                    attempts: row.attempts,
                    max_attempts: row.max_attempts,
                    claim: row.claim,
                }))
            }
            Err(unknown) => {
                tracing::warn!(job = %row.id, kind = %unknown.0, "unknown job kind: failed");
                let error = JobError::Permanent(unknown.to_string());
                record_failure(db, &row.id, &row.claim, row.attempts, &error, true).await?;
            }
        }
    }
    Ok(None)
}

/// A claimed row, its kind as stored.
struct ClaimedRow {
    id: String,
    kind: String,
    subject: String,
    attempts: i64,
    max_attempts: i64,
    claim: String,
}

async fn claim_row(db: &Db, now: i64) -> Result<Option<ClaimedRow>, sqlx::Error> {
    let token = db::new_id();
    // The outer WHERE repeats the condition: under PostgreSQL's READ COMMITTED, a second
    // instance racing for the same row re-checks it after the first commits and updates nothing.
    let due = "((state = 'pending' AND run_at <= $3) OR (state = 'running' AND lease_until < $3))";
    let row = sqlx::query(&format!(
        "UPDATE jobs SET state = 'running', claim = $1, lease_until = $2, \
         attempts = attempts + 1, updated_at = $3 \
         WHERE id = (SELECT id FROM jobs WHERE {due} ORDER BY run_at LIMIT 1) AND {due} \
         RETURNING id, kind, subject, attempts, max_attempts"
    ))
    .bind(&token)
    .bind(now + LEASE.as_millis() as i64)
    .bind(now)
    .fetch_optional(&db.pool)
    .await?;
    row.map(|r| {
        Ok(ClaimedRow {
            id: r.try_get("id")?,
            kind: r.try_get("kind")?,
            subject: r.try_get("subject")?,
            attempts: r.try_get("attempts")?,
            max_attempts: r.try_get("max_attempts")?,
            claim: token,
        })
    })
    .transpose()
}

/// Marks the claimed attempt done. `false` when the claim was lost (lease ran out and another
/// worker took the job): the caller's result is then discarded by the database, not applied.
pub async fn complete(db: &Db, job: &Job) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE jobs SET state = 'done', claim = NULL, lease_until = NULL, last_error = '', \
         updated_at = $3 WHERE id = $1 AND claim = $2",
    )
    .bind(&job.id)
    .bind(&job.claim)
    .bind(db.clock.now_ms())
    .execute(&db.pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Records a failed attempt: back to `pending` after a backoff, or `failed` for good.
/// Returns whether the job is now failed for good.
pub async fn fail(db: &Db, job: &Job, error: &JobError) -> Result<bool, sqlx::Error> {
    let permanent =
        matches!(error, JobError::Permanent(_)) || job.attempts >= job.max_attempts.max(1);
    record_failure(db, &job.id, &job.claim, job.attempts, error, permanent).await?;
    Ok(permanent)
}

/// Back to `pending` after the backoff, or `failed` for good; only under the named claim.
async fn record_failure(
    db: &Db,
    id: &str,
    claim: &str,
    attempts: i64,
    error: &JobError,
    permanent: bool,
) -> Result<(), sqlx::Error> {
    let now = db.clock.now_ms();
    let message: String = error.to_string().chars().take(2000).collect();
    sqlx::query(
        "UPDATE jobs SET state = $3, run_at = $4, last_error = $5, claim = NULL, \
         lease_until = NULL, updated_at = $6 WHERE id = $1 AND claim = $2",
    )
    .bind(id)
    .bind(claim)
    .bind(if permanent { "failed" } else { "pending" })
    .bind(now + backoff(attempts).as_millis() as i64)
    .bind(message)
    .bind(now)
    .execute(&db.pool)
    .await?;
    Ok(())
}

/// 30 s after the first failure, then ×4 each time, at most an hour.
pub fn backoff(attempts: i64) -> Duration {
    let exp = attempts.clamp(1, 10) as u32 - 1;
    Duration::from_secs((30u64 * 4u64.pow(exp)).min(3600))
}

/// Puts a failed job back in the queue (the jobs page's "retry").
pub async fn retry(db: &Db, id: &str) -> Result<bool, sqlx::Error> {
    let r = sqlx::query(
        "UPDATE jobs SET state = 'pending', attempts = 0, run_at = $2, last_error = '', \
         updated_at = $2 WHERE id = $1 AND state = 'failed'",
    )
    .bind(id)
    .bind(db.clock.now_ms())
    .execute(&db.pool)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// Done jobs are kept a week (the jobs page counts them), then dropped.
pub async fn purge_done(db: &Db, now: i64) -> Result<u64, sqlx::Error> {
    let week = 7 * 24 * 3600 * 1000;
    let r = sqlx::query("DELETE FROM jobs WHERE state = 'done' AND updated_at < $1")
        .bind(now - week)
        .execute(&db.pool)
        .await?;
    Ok(r.rows_affected())
}

#[derive(Clone, Debug, serde::Serialize)]
pub struct JobRow {
    pub id: String,
    pub kind: String,
    pub subject: String,
    pub state: String,
    pub attempts: i64,
    pub max_attempts: i64,
    pub run_at: i64,
    pub last_error: String,
    pub updated_at: i64,
}

/// Jobs in one state, oldest due first.
pub async fn list(db: &Db, state: &str, limit: i64) -> Result<Vec<JobRow>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT id, kind, subject, state, attempts, max_attempts, run_at, last_error, updated_at \
         FROM jobs WHERE state = $1 ORDER BY run_at, id LIMIT $2",
    )
    .bind(state)
    .bind(limit)
    .fetch_all(&db.pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(JobRow {
                id: r.try_get("id")?,
                kind: r.try_get("kind")?,
                subject: r.try_get("subject")?,
                state: r.try_get("state")?,
                attempts: r.try_get("attempts")?,
                max_attempts: r.try_get("max_attempts")?,
                run_at: r.try_get("run_at")?,
                last_error: r.try_get("last_error")?,
                updated_at: r.try_get("updated_at")?,
            })
        })
        .collect()
}

/// How many jobs are in each state.
pub async fn counts(db: &Db) -> Result<Vec<(String, i64)>, sqlx::Error> {
    let rows = sqlx::query("SELECT state, COUNT(*) AS n FROM jobs GROUP BY state ORDER BY state")
        .fetch_all(&db.pool)
        .await?;
    rows.iter()
        .map(|r| Ok((r.try_get("state")?, r.try_get("n")?)))
        .collect()
}

/// Runs `workers` loops that claim and run jobs until the returned handles are aborted.
/// `run` does one job; it must finish well within `LEASE` (it is cut off there).
pub fn start<F, Fut>(
    db: Db,
    waker: Waker,
    workers: usize,
    run: F,
) -> Vec<tokio::task::JoinHandle<()>>
where
    F: Fn(Job) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Result<(), JobError>> + Send + 'static,
{
    (0..workers.max(1))
        .map(|_| {
            let (db, waker, run) = (db.clone(), waker.clone(), run.clone());
            tokio::spawn(async move { worker(db, waker, run).await })
        })
        .collect()
}

async fn worker<F, Fut>(db: Db, waker: Waker, run: F)
where
    F: Fn(Job) -> Fut,
    Fut: Future<Output = Result<(), JobError>>,
{
    loop {
        // Register for a wake-up before looking, so a job queued in between is not missed.
        let notified = waker.0.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        let job = match claim(&db, db.clock.now_ms()).await {
            Ok(job) => job,
            Err(e) => {
                tracing::warn!(error = %e, "claiming a job failed");
                None
            }
        };
        let Some(job) = job else {
            let _ = tokio::time::timeout(IDLE_POLL, notified).await;
            continue;
        };
        let limit = LEASE - Duration::from_secs(30);
        let outcome = match tokio::time::timeout(limit, run(job.clone())).await {
            Ok(outcome) => outcome,
            Err(_) => Err(JobError::Permanent(format!("took longer than {limit:?}"))),
        };
        let recorded = match &outcome {
            Ok(()) => complete(&db, &job).await.map(|_| ()),
            Err(e) => {
                tracing::warn!(job = %job.id, kind = %job.kind, attempt = job.attempts, error = %e, "job failed");
                fail(&db, &job, e).await.map(|_| ())
            }
        };
        if let Err(e) = recorded {
            tracing::warn!(job = %job.id, error = %e, "recording a job's outcome failed");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{backoff, JobKind, UnknownJobKind};
    use std::time::Duration;

    #[test]
    fn kinds_keep_their_stored_names_and_unknown_ones_are_errors() {
        assert_eq!(JobKind::Renditions.as_str(), "renditions");
        assert_eq!(JobKind::Digests.as_str(), "digests");
        assert_eq!(JobKind::Webhook.as_str(), "webhook");
        for kind in JobKind::ALL {
            assert_eq!(kind.as_str().parse(), Ok(kind));
        }
        assert_eq!(
            "no-such-kind".parse::<JobKind>(),
            Err(UnknownJobKind("no-such-kind".into()))
        );
        assert_eq!(UnknownJobKind("x".into()).to_string(), "unknown job kind x");
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        assert_eq!(backoff(1), Duration::from_secs(30));
        assert_eq!(backoff(2), Duration::from_secs(120));
        assert_eq!(backoff(3), Duration::from_secs(480));
        assert_eq!(backoff(9), Duration::from_secs(3600));
    }
}
