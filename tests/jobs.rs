//! The background job queue (issue 5): one claim per job however many workers race for it,
//! leases that expire, retries with backoff, permanent failures, the jobs page, and work that
//! survives a restart. Run on SQLite and PostgreSQL.
mod common;

use assetport::jobs::{self, JobError, JobKind, LEASE};
use common::{TestApp, PASSWORD};
use sqlx::Row;

async fn job_row(app: &TestApp, kind: &str, subject: &str) -> (String, i64, i64, String) {
    let r = sqlx::query(
        "SELECT state, attempts, run_at, last_error FROM jobs WHERE kind = $1 AND subject = $2",
    )
    .bind(kind)
    .bind(subject)
    .fetch_one(&app.state.db.pool)
    .await
    .expect("job row");
    (
        r.get("state"),
        r.get("attempts"),
        r.get("run_at"),
        r.get("last_error"),
    )
}

/// Queued work is claimed once: twenty concurrent claims on one due job, one winner.
async fn a_job_is_claimed_by_exactly_one_worker(app: TestApp) {
    let db = &app.state.db;
    jobs::enqueue(&db.pool, JobKind::Digests, "only-once", db.clock.now_ms())
        .await
        .unwrap();
    let far_future = db.clock.now_ms() + 1000;
    let claims = (0..20).map(|_| {
        let db = db.clone();
        tokio::spawn(async move { jobs::claim(&db, far_future).await })
    });
    let mut won = Vec::new();
    for c in claims {
        if let Some(job) = c.await.unwrap().unwrap() {
            if job.kind == JobKind::Digests {
                won.push(job);
            }
        }
    }
    assert_eq!(won.len(), 1, "exactly one claim wins");
    assert_eq!(won[0].subject, "only-once");
    assert_eq!(won[0].attempts, 1);
    // Nothing else is due now.
    let again = jobs::claim(db, far_future).await.unwrap();
    assert!(again.is_none_or(|j| j.kind != JobKind::Digests));
    assert!(jobs::complete(db, &won[0]).await.unwrap());
    assert_eq!(job_row(&app, "digests", "only-once").await.0, "done");
}

/// A worker that dies holds its job only until the lease ends; then another takes it, and the
/// first one's late answer is refused.
async fn an_expired_lease_is_taken_over_and_the_late_answer_refused(app: TestApp) {
    let db = &app.state.db;
    jobs::enqueue(&db.pool, JobKind::Digests, "lease", db.clock.now_ms())
        .await
        .unwrap();
    let now = db.clock.now_ms() + 1000;
    let first = jobs::claim(db, now).await.unwrap().expect("claimed");
    assert!(
        jobs::claim(db, now + 1000).await.unwrap().is_none(),
        "a live lease is respected"
    );
    let later = now + LEASE.as_millis() as i64 + 1;
    let second = jobs::claim(db, later).await.unwrap().expect("retaken");
    assert_eq!(second.id, first.id);
    assert_eq!(second.attempts, 2);
    assert!(
        !jobs::complete(db, &first).await.unwrap(),
        "the lost claim cannot complete"
    );
    assert_eq!(job_row(&app, "digests", "lease").await.0, "running");
    assert!(jobs::complete(db, &second).await.unwrap());
    assert_eq!(job_row(&app, "digests", "lease").await.0, "done");
}

/// A failure that may pass is retried later (with a growing pause); after the last attempt, or
/// at once for a permanent failure, the job is failed and keeps its error.
async fn failures_retry_with_backoff_then_fail(app: TestApp) {
    let db = &app.state.db;
    jobs::enqueue(&db.pool, JobKind::Digests, "flaky", db.clock.now_ms())
        .await
        .unwrap();
    let mut now = db.clock.now_ms() + 1000;
    let mut pauses = Vec::new();
    for attempt in 1..=5 {
        let job = jobs::claim(db, now).await.unwrap().expect("due");
        assert_eq!(job.attempts, attempt);
        let failed = jobs::fail(db, &job, &JobError::Retry("disk hiccup".into()))
            .await
            .unwrap();
        let (state, _, run_at, error) = job_row(&app, "digests", "flaky").await;
        assert_eq!(error, "disk hiccup");
        if attempt < 5 {
            assert!(!failed);
            assert_eq!(state, "pending");
            assert!(
                jobs::claim(db, now).await.unwrap().is_none(),
                "not due before its pause"
            );
            pauses.push(run_at - now);
            now = run_at + 1;
        } else {
            assert!(failed, "fifth failure is the last");
            assert_eq!(state, "failed");
        }
    }
    assert!(pauses.windows(2).all(|w| w[1] > w[0]), "{pauses:?} grows");

    jobs::enqueue(&db.pool, JobKind::Digests, "hopeless", db.clock.now_ms())
        .await
        .unwrap();
    let job = jobs::claim(db, now).await.unwrap().expect("due");
    assert!(jobs::fail(db, &job, &JobError::Permanent("bomb".into()))
        .await
        .unwrap());
    assert_eq!(job_row(&app, "digests", "hopeless").await.0, "failed");
    // "Try again" puts it back.
    let id: String = sqlx::query("SELECT id FROM jobs WHERE subject = 'hopeless'")
        .fetch_one(&db.pool)
        .await
        .unwrap()
        .get("id");
    assert!(jobs::retry(db, &id).await.unwrap());
    let (state, attempts, ..) = job_row(&app, "digests", "hopeless").await;
    assert_eq!((state.as_str(), attempts), ("pending", 0));
}

/// The running server's workers fail an unknown kind for good, and the admin's jobs page shows
/// it with its error and a working "Try again"; members cannot see the page.
async fn the_jobs_page_shows_failures_and_retries_them(app: TestApp) {
    app.admin().await;
    // A kind this build does not know (as a newer instance might queue): only by hand.
    sqlx::query(
        "INSERT INTO jobs (id, kind, subject, state, run_at, created_at, updated_at) \
         VALUES ('j-unknown', 'no-such-kind', 'x', 'pending', 0, 0, 0)",
    )
    .execute(&app.state.db.pool)
    .await
    .unwrap();
    app.state.jobs.wake();
    let state = common::eventually("the unknown job to fail", || async {
        let state = job_row(&app, "no-such-kind", "x").await.0;
        (state == "failed").then_some(state)
    })
    .await;
    assert_eq!(state, "failed");
    let browser = app.browser();
    browser.login_ok("admin@example.com").await;
    let (status, html) = browser.page("/admin/jobs").await;
    assert_eq!(status, 200);
    assert!(html.contains("unknown job kind no-such-kind"), "{html}");
    let id: String = sqlx::query("SELECT id FROM jobs WHERE kind = 'no-such-kind'")
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap()
        .get("id");
    let csrf = browser.csrf("/admin/jobs").await;
    let r = browser
        .post_form(
            &format!("/admin/jobs/{id}/retry"),
            &[("csrf_token", csrf.as_str())],
        )
        .await;
    assert_eq!(r.status(), 303);
    let (_, attempts, ..) = job_row(&app, "no-such-kind", "x").await;
    assert!(attempts <= 1, "requeued from zero");

    app.user(
        "partner@example.com",
        assetport::accounts::users::Role::Member,
    )
    .await;
    let partner = app.browser();
    let r = partner.login("partner@example.com", PASSWORD).await;
    assert_eq!(r.status(), 303);
    assert_eq!(partner.get("/admin/jobs").await.status(), 404);
}

/// Work queued while no worker runs is done by the next server started on the same data.
async fn queued_work_survives_a_restart(app: TestApp) {
    // This instance runs no workers (as if it died right after the upload).
    let admin = app.admin().await;
    let folder = admin.folder(None, "Inbox").await;
    let asset = admin
        .upload(&folder, "notes.bin", b"not a picture".to_vec())
        .await;
    let id = asset["id"].as_str().unwrap().to_string();
    let version_id: String = sqlx::query("SELECT current_version_id FROM assets WHERE id = $1")
        .bind(&id)
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap()
        .get("current_version_id");
    // No worker runs here, so nothing can have claimed it (no need to wait and see).
    assert_eq!(job_row(&app, "renditions", &version_id).await.0, "pending");

    let _second = app.another_instance(|_| {}).await;
    let state = common::eventually("the next server to do the job", || async {
        let state = job_row(&app, "renditions", &version_id).await.0;
        (state == "done").then_some(state)
    })
    .await;
    assert_eq!(state, "done");
    let render_state: String = sqlx::query("SELECT render_state FROM asset_versions WHERE id = $1")
        .bind(&version_id)
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap()
        .get("render_state");
    assert_eq!(
        render_state, "none",
        "no renderer for these bytes: placeholder"
    );
}

/// Starts the server on `backend` with `workers` job workers (0: the test drives the queue by
/// hand) and runs `test` on it.
async fn run<F, Fut>(backend: common::Backend, workers: usize, test: F)
where
    F: FnOnce(TestApp) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    if let Some(app) = common::spawn_with(backend, |c| c.job_workers = workers).await {
        test(app).await
    }
}

macro_rules! on_both {
    ($($name:ident: $workers:expr),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::run(super::common::Backend::Sqlite, $workers, super::$name).await
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::run(super::common::Backend::Postgres, $workers, super::$name).await
                }
            )*
        }
    };
}

on_both!(
    a_job_is_claimed_by_exactly_one_worker: 0,
    an_expired_lease_is_taken_over_and_the_late_answer_refused: 0,
    failures_retry_with_backoff_then_fail: 0,
    the_jobs_page_shows_failures_and_retries_them: 2,
    queued_work_survives_a_restart: 0,
);
