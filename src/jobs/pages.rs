//! The admin's view of the job queue: counts, what waits, what runs, what failed and why,
//! with "try again" for failed jobs.
use askama::Template;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use sqlx::Row;

use crate::accounts::PageAdmin;
use crate::app::AppState;
use crate::clock;
use crate::error::PageResult;
use crate::web::layout::{render, Layout};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin/jobs", get(jobs_page))
        .route("/admin/jobs/{id}/retry", post(retry))
}

struct JobItem {
    kind: String,
    /// What the job is about, for people: the asset's file name when there is one.
    about: String,
    asset_id: String,
    attempts: String,
    when: String,
    error: String,
    id: String,
}

#[derive(Template)]
#[template(path = "admin/jobs.html")]
struct JobsPage {
    layout: Layout,
    counts: Vec<(String, i64)>,
    running: Vec<JobItem>,
    pending: Vec<JobItem>,
    failed: Vec<JobItem>,
}

const SHOWN: i64 = 200;

async fn items(state: &AppState, job_state: &str) -> Result<Vec<JobItem>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT j.id, j.kind, j.subject, j.attempts, j.max_attempts, j.run_at, j.updated_at, \
         j.last_error, v.filename, v.asset_id, v.number FROM jobs j \
         LEFT JOIN asset_versions v ON j.kind = 'renditions' AND v.id = j.subject \
         WHERE j.state = $1 ORDER BY j.run_at, j.id LIMIT $2",
    )
    .bind(job_state)
    .bind(SHOWN)
    .fetch_all(&state.db.pool)
    .await?;
    let now = state.clock.now_ms();
    rows.iter()
        .map(|r| {
            let filename: Option<String> = r.try_get("filename")?;
            let number: Option<i64> = r.try_get("number")?;
            let run_at: i64 = r.try_get("run_at")?;
            let updated: i64 = r.try_get("updated_at")?;
            Ok(JobItem {
                id: r.try_get("id")?,
                kind: r.try_get("kind")?,
                about: match (filename, number) {
                    (Some(f), Some(n)) => format!("{f} (v{n})"),
                    _ => r.try_get("subject")?,
                },
                asset_id: r
                    .try_get::<Option<String>, _>("asset_id")?
                    .unwrap_or_default(),
                attempts: format!(
                    "{} of {}",
                    r.try_get::<i64, _>("attempts")?,
                    r.try_get::<i64, _>("max_attempts")?
                ),
                when: match job_state {
                    "pending" if run_at > now => format!("retry {}", clock::human(run_at)),
                    "pending" => "due now".into(),
                    _ => clock::human(updated),
                },
                error: r.try_get("last_error")?,
            })
        })
        .collect()
}

async fn jobs_page(
    State(state): State<AppState>,
    PageAdmin(me): PageAdmin,
) -> PageResult<Response> {
    let page = JobsPage {
        layout: Layout::for_user("Background jobs", &me, "jobs"),
        counts: crate::jobs::counts(&state.db).await?,
        running: items(&state, "running").await?,
        pending: items(&state, "pending").await?,
        failed: items(&state, "failed").await?,
    };
    Ok(render(&page)?.into_response())
}

async fn retry(
    State(state): State<AppState>,
    PageAdmin(me): PageAdmin,
    Path(id): Path<String>,
) -> PageResult<Response> {
    if crate::jobs::retry(&state.db, &id).await? {
        state.jobs.wake();
        me.flash("The job is queued again.").await;
    } else {
        me.flash("That job is not failed (any more).").await;
    }
    Ok(Redirect::to("/admin/jobs").into_response())
}
