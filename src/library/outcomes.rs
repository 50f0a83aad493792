//! Review outcomes reach contributors in one mail per review session (issue 21): a reviewer
//! going through an agency's twenty files sends one mail listing each file with its outcome
//! and comment, not twenty. Each decision is kept in `review_outcomes` and (re)queues the
//! contributor's `review_outcomes` job ten minutes ahead, so the mail goes ten minutes after
//! the session's last decision. One decision alone keeps its own mail ("Approved: …" /
//! "Changes requested: …", which admins may have reworded).
use sqlx::Row;

use crate::app::AppState;
use crate::db;
use crate::error::AppError;
use crate::jobs::{self, Job, JobError, JobKind};
use crate::library::assets::AssetView;

/// Decisions this close together are one session.
pub const SESSION_MS: i64 = 10 * 60 * 1000;
/// Pictures in one mail at most (the list names every file).
const MAX_PICTURES: usize = 12;

/// Keeps the decision on `view` for its uploader `user_id` and moves their mail to ten minutes
/// from now.
pub async fn record(
    state: &AppState,
    user_id: &str,
    reviewer_id: &str,
    view: &AssetView,
    approved: bool,
    comment: &str,
) -> Result<(), AppError> {
    let now = state.clock.now_ms();
    let mut tx = state.db.pool.begin().await?;
    sqlx::query(
        "INSERT INTO review_outcomes (id, user_id, asset_id, version_id, version_number, label, \
         approved, comment, reviewer_id, decided_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(db::new_id())
    .bind(user_id)
    .bind(view.asset.id.as_str())
    .bind(&view.version.id)
    .bind(view.version.number)
    .bind(view.label())
    .bind(i64::from(approved))
    .bind(comment)
    .bind(reviewer_id)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    jobs::enqueue(&mut *tx, JobKind::ReviewOutcomes, user_id, now + SESSION_MS).await?;
    tx.commit().await?;
    state.jobs.wake();
    Ok(())
}

struct Outcome {
    id: String,
    asset_id: String,
    version_id: String,
    number: i64,
    label: String,
    approved: bool,
    comment: String,
    reviewer_id: Option<String>,
}

/// One contributor's waiting outcomes, as one mail. Those decided since the job was claimed
/// wait for the run their decision queued.
pub async fn run(state: AppState, job: Job) -> Result<(), JobError> {
    let user_id = job.subject.as_str();
    let rows = sqlx::query(
        "SELECT id, asset_id, version_id, version_number, label, approved, comment, reviewer_id \
         FROM review_outcomes WHERE user_id = $1 AND mailed_at IS NULL \
         ORDER BY decided_at, id",
    )
    .bind(user_id)
    .fetch_all(&state.db.pool)
    .await?;
    let mut outcomes = Vec::with_capacity(rows.len());
    for r in rows {
        outcomes.push(Outcome {
            id: r.try_get("id")?,
            asset_id: r.try_get("asset_id")?,
            version_id: r.try_get("version_id")?,
            number: r.try_get("version_number")?,
            label: r.try_get("label")?,
            approved: r.try_get::<i64, _>("approved")? != 0,
            comment: r.try_get("comment")?,
            reviewer_id: r.try_get("reviewer_id")?,
        });
    }
    if outcomes.is_empty() {
        return Ok(());
    }
    let Some(to) = crate::accounts::users::by_id(&state.db, user_id).await? else {
        return Ok(()); // the account is gone (the rows went with it)
    };
    let reviewer = match outcomes.iter().rev().find_map(|o| o.reviewer_id.as_deref()) {
        Some(id) => crate::accounts::users::by_id(&state.db, id).await?,
        None => None,
    };
    let sent = send(&state, &to, reviewer.as_ref(), &outcomes).await;
    sent.map_err(|e| JobError::Retry(format!("{e:#}")))?;
    let now = state.clock.now_ms();
    for o in &outcomes {
        sqlx::query("UPDATE review_outcomes SET mailed_at = $2 WHERE id = $1")
            .bind(&o.id)
            .bind(now)
            .execute(&state.db.pool)
            .await?;
    }
    Ok(())
}

async fn send(
    state: &AppState,
    to: &crate::accounts::Account,
    reviewer: Option<&crate::accounts::Account>,
    outcomes: &[Outcome],
) -> anyhow::Result<()> {
    use crate::brand::mail;
    let base = &state.config.public_url;
    let reply_to = reviewer.and_then(|r| crate::mail::mailbox(&r.name, &r.email));
    let mut pictures = Vec::new();
    for o in outcomes.iter().take(MAX_PICTURES) {
        pictures.extend(crate::renditions::mail_picture(state, &o.version_id, &o.label).await);
    }
    let extras = crate::mail::Extras {
        reply_to,
        pictures,
        ..Default::default()
    };
    if let [o] = outcomes {
        let url = format!("{base}/assets/{}", o.asset_id);
        let n = o.number.to_string();
        let kind = if o.approved {
            &mail::REVIEW_APPROVED
        } else {
            &mail::REVIEW_REJECTED
        };
        let vars = [
            ("asset", o.label.as_str()),
            ("version", n.as_str()),
            ("comment", o.comment.as_str()),
            ("link", url.as_str()),
        ];
        return state
            .mailer
            .send_kind_with(&to.email, kind, &vars, extras)
            .await;
    }
    let mut items = String::new();
    for o in outcomes {
        let verdict = if o.approved {
            "Approved"
        } else {
            "Changes requested"
        };
        items.push_str(&format!("{verdict}: {} (version {})\n", o.label, o.number));
        if !o.comment.trim().is_empty() {
            items.push_str(&format!("“{}”\n", o.comment.trim()));
        }
        items.push_str(&format!("{base}/assets/{}\n\n", o.asset_id));
    }
    let approved = outcomes.iter().filter(|o| o.approved).count();
    let changes = outcomes.len() - approved;
    let files = |n: usize| if n == 1 { "file" } else { "files" };
    let summary = match (approved, changes) {
        (a, 0) => format!("{a} {} approved", files(a)),
        (0, c) => format!("changes requested on {c} {}", files(c)),
        (a, c) => format!(
            "{a} {} approved, {c} {} changes",
            files(a),
            if c == 1 { "needs" } else { "need" }
        ),
    };
    let name = if to.name.is_empty() {
        &to.email
    } else {
        &to.name
    };
    let who = reviewer.map_or("A reviewer", |r| r.name.as_str());
    let count = outcomes.len().to_string();
    let link = format!("{base}/submissions");
    let vars = [
        ("name", name.as_str()),
        ("reviewer", who),
        ("count", count.as_str()),
        ("summary", summary.as_str()),
        ("items", items.as_str()),
        ("link", link.as_str()),
    ];
    state
        .mailer
        .send_kind_with(&to.email, &mail::REVIEW_OUTCOMES, &vars, extras)
        .await
}
