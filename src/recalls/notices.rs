//! Mailing recall notices: one job per person and UTC day (`<email> <date>`), so a person gets
//! at most one mail a day however many assets change, and the job queue makes each mail go
//! once across instances and retries it when SMTP fails. A notice is marked notified only
//! after its mail was accepted; a crash between the two sends it again (at least once).
use sqlx::Row;

use crate::app::AppState;
use crate::clock;
use crate::error::AppError;
use crate::jobs::{self, Job, JobError, JobKind};

const DAY_MS: i64 = 86_400_000;

fn day_start(ms: i64) -> i64 {
    ms.div_euclid(DAY_MS) * DAY_MS
}

/// Queues the mail for `email`'s waiting notices: today's, unless one already went today,
/// then tomorrow's (from midnight UTC).
pub async fn schedule(state: &AppState, email: &str, now: i64) -> Result<(), AppError> {
    let today = day_start(now);
    let day = if mailed_today(state, email, now).await? {
        today + DAY_MS
    } else {
        today
    };
    let subject = format!("{email} {}", crate::reports::date(day));
    jobs::enqueue_once_at(&state.db, JobKind::RecallNotices, &subject, now.max(day)).await?;
    state.jobs.wake();
    Ok(())
}

/// Whether a notice was mailed to `email` on `now`'s UTC day.
async fn mailed_today(state: &AppState, email: &str, now: i64) -> Result<bool, sqlx::Error> {
    let n: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM recall_notices WHERE email = $1 AND notified_at >= $2",
    )
    .bind(email)
    .bind(day_start(now))
    .fetch_one(&state.db.pool)
    .await?;
    Ok(n > 0)
}

/// A waiting notice, with what the mail says about it.
struct Waiting {
    id: String,
    asset_id: String,
    versions: String,
    user_id: Option<String>,
    link_id: Option<String>,
    reason: String,
    mode: String,
    message: String,
}

/// One person's mail: every notice not yet sent to them.
pub async fn run(state: AppState, job: Job) -> Result<(), JobError> {
    let Some((email, _day)) = job.subject.rsplit_once(' ') else {
        return Err(JobError::Permanent(format!("bad subject {}", job.subject)));
    };
    let now = state.clock.now_ms();
    let rows = sqlx::query(
        "SELECT n.id, n.versions, n.user_id, n.link_id, r.asset_id, r.reason, r.mode, r.message \
         FROM recall_notices n JOIN recalls r ON r.id = n.recall_id \
         WHERE n.email = $1 AND n.notified_at IS NULL ORDER BY n.created_at, n.id",
    )
    .bind(email)
    .fetch_all(&state.db.pool)
    .await?;
    if rows.is_empty() {
        return Ok(());
    }
    if mailed_today(&state, email, now).await? {
        // This job ran late, or on the same day as another: the notices wait for tomorrow.
        schedule(&state, email, now).await.map_err(retry)?;
        return Ok(());
    }
    let mut waiting = Vec::with_capacity(rows.len());
    for r in rows {
        waiting.push(Waiting {
            id: r.try_get("id")?,
            asset_id: r.try_get("asset_id")?,
            versions: r.try_get("versions")?,
            user_id: r.try_get("user_id")?,
            link_id: r.try_get("link_id")?,
            reason: r.try_get("reason")?,
            mode: r.try_get("mode")?,
            message: r.try_get("message")?,
        });
    }
    let mut items = String::new();
    let mut name = email.to_string();
    let mut thumbnails = Vec::new();
    for w in &waiting {
        if let Some(t) = thumbnail(&state, &w.asset_id).await {
            thumbnails.push(t);
        }
        if let Some(uid) = &w.user_id {
            if let Some(u) = crate::accounts::users::by_id(&state.db, uid).await? {
                if !u.name.is_empty() {
                    name = u.name.clone();
                }
            }
        }
        items.push_str(&item(&state, w, now).await.map_err(retry)?);
        items.push('\n');
    }
    let count = match waiting.len() {
        1 => "A file".to_string(),
        n => format!("{n} files"),
    };
    let vars = [
        ("name", name.as_str()),
        ("count", count.as_str()),
        ("items", items.as_str()),
    ];
    state
        .mailer
        .send_kind_with(
            email,
            &crate::brand::mail::RECALL_NOTICE,
            &vars,
            crate::mail::Extras {
                pictures: thumbnails,
                ..Default::default()
            },
        )
        .await
        .map_err(|e| JobError::Retry(format!("{e:#}")))?;
    for w in &waiting {
        sqlx::query(
            "UPDATE recall_notices SET notified_at = $1 WHERE id = $2 AND notified_at IS NULL",
        )
        .bind(now)
        .bind(&w.id)
        .execute(&state.db.pool)
        .await?;
    }
    // Notices that arrived while this mail was written go tomorrow.
    let left: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM recall_notices WHERE email = $1 AND notified_at IS NULL",
    )
    .bind(email)
    .fetch_one(&state.db.pool)
    .await?;
    if left > 0 {
        schedule(&state, email, now).await.map_err(retry)?;
    }
    Ok(())
}

/// The asset's thumbnail, attached so the holder recognises the file; none if it has none (or
/// it cannot be read: the notice matters more than its picture).
async fn thumbnail(state: &AppState, asset_id: &str) -> Option<crate::mail::Picture> {
    let view = crate::library::assets::get_current(&state.db, asset_id)
        .await
        .ok()??;
    crate::renditions::mail_picture(state, &view.version.id, view.label()).await
}

fn retry(e: AppError) -> JobError {
    JobError::Retry(e.to_string())
}

/// One asset's paragraph: what happened, what to do, and where to acknowledge.
async fn item(state: &AppState, w: &Waiting, now: i64) -> Result<String, AppError> {
    let base = &state.config.public_url;
    let view = crate::library::assets::get_current(&state.db, &w.asset_id).await?;
    let name = view
        .as_ref()
        .map(|v| v.label().to_string())
        .unwrap_or_else(|| "A file".into());
    let what = match w.reason.as_str() {
        "replaced" => "was replaced by a newer version",
        "archived" => "was withdrawn (archived)",
        "withdrawn" => "was withdrawn: its licence period ended",
        _ => "was recalled",
    };
    let mut out = format!("* {name} (you have version {}) {what}.\n", w.versions);
    if !w.message.is_empty() {
        out.push_str(&format!("  {}\n", w.message.replace('\n', "\n  ")));
    }
    if w.mode == "stop" {
        out.push_str("  Please stop using it and delete the copies you have.\n");
    } else if w.user_id.is_some() {
        out.push_str(&format!(
            "  Please use the current version instead: {base}/assets/{}\n",
            w.asset_id
        ));
    } else if link_still_has(state, w, now).await? {
        out.push_str(
            "  Please use the current version instead: the share link you received has it.\n",
        );
    } else {
        out.push_str(
            "  Please use the current version instead; ask the person who shared it with you.\n",
        );
    }
    out.push_str(&format!(
        "  Acknowledge: {base}/recalls/ack/{}\n",
        super::ack::token(state.secret.expose(), &w.id)
    ));
    Ok(out)
}

/// Whether the recipient's share link is still open and still shows the asset.
async fn link_still_has(state: &AppState, w: &Waiting, now: i64) -> Result<bool, AppError> {
    let Some(link_id) = &w.link_id else {
        return Ok(false);
    };
    let link = match crate::links::get(&state.db, link_id).await {
        Ok(l) => l,
        Err(AppError::NotFound) => return Ok(false),
        Err(e) => return Err(e),
    };
    if link.state(now) != crate::links::State::Active {
        return Ok(false);
    }
    Ok(
        crate::access::link_asset(&state.db, &link, &w.asset_id, now)
            .await
            .is_ok(),
    )
}

/// When a notice was mailed, for pages ("" if not yet).
pub fn when(ms: Option<i64>) -> String {
    ms.map(clock::human).unwrap_or_default()
}
