//! Admins' alert about submissions (issue 21): it names the files and who sent them ("Agency
//! Blue sent 3 files to /Campaigns for review"). The first file after a quiet spell of ten
//! minutes is told at once; what arrives during the next ten minutes waits for one
//! `submissions_alert` job at the end of them, which names it all. The spell is claimed in the
//! database (`settings.submissions_notified_at`, one conditional UPDATE), so on any number of
//! instances one mail goes.
use std::collections::BTreeMap;

use sqlx::Row;

use crate::app::AppState;
use crate::jobs::{self, Job, JobError, JobKind};

/// Admins hear about new submissions at most this often.
pub const EVERY_MS: i64 = 10 * 60 * 1000;
/// Files named in one alert at most (the review queue has them all).
const MAX_NAMED: usize = 20;

/// A file arrived for review: alert now if the spell is over, else make sure the spell's end
/// alerts.
pub async fn submitted(state: &AppState) -> anyhow::Result<()> {
    let now = state.clock.now_ms();
    let last = last_alert(state).await?;
    if claim(state, last, now).await? {
        return send(state, last).await;
    }
    // Within a spell: one job per spell, named by the spell's start.
    let subject = format!("after {last}");
    jobs::enqueue_once_at(
        &state.db,
        JobKind::SubmissionsAlert,
        &subject,
        last + EVERY_MS,
    )
    .await?;
    state.jobs.wake();
    Ok(())
}

/// Runs the `submissions_alert` job at the end of a spell: names what arrived since the spell
/// began, if nobody alerted meanwhile.
pub async fn run(state: AppState, job: Job) -> Result<(), JobError> {
    let Some(since) = job
        .subject
        .strip_prefix("after ")
        .and_then(|s| s.parse::<i64>().ok())
    else {
        return Err(JobError::Permanent(format!("bad subject {}", job.subject)));
    };
    let now = state.clock.now_ms();
    let last = last_alert(&state).await.map_err(retry)?;
    if last != since || !claim(&state, last, now).await.map_err(retry)? {
        return Ok(()); // another alert covered it
    }
    send(&state, since).await.map_err(retry)
}

fn retry(e: anyhow::Error) -> JobError {
    JobError::Retry(format!("{e:#}"))
}

async fn last_alert(state: &AppState) -> anyhow::Result<i64> {
    sqlx::query(
        "INSERT INTO settings (key, value) VALUES ('submissions_notified_at', '0') \
         ON CONFLICT (key) DO NOTHING",
    )
    .execute(&state.db.pool)
    .await?;
    let v: String =
        sqlx::query_scalar("SELECT value FROM settings WHERE key = 'submissions_notified_at'")
            .fetch_one(&state.db.pool)
            .await?;
    Ok(v.parse().unwrap_or(0))
}

/// Takes the next alert if the last one (at `last`) is ten minutes old and nobody took it
/// since: exactly one caller wins.
async fn claim(state: &AppState, last: i64, now: i64) -> anyhow::Result<bool> {
    if now - last < EVERY_MS {
        return Ok(false);
    }
    let n = sqlx::query(
        "UPDATE settings SET value = $1 WHERE key = 'submissions_notified_at' AND value = $2",
    )
    .bind(now.to_string())
    .bind(last.to_string())
    .execute(&state.db.pool)
    .await?
    .rows_affected();
    Ok(n == 1)
}

/// Mails every admin what waits for review and arrived after `since`.
async fn send(state: &AppState, since: i64) -> anyhow::Result<()> {
    let queue = super::review::queue(&state.db, false, 1000).await?;
    let new: Vec<_> = queue
        .iter()
        .filter(|s| s.view.version.created_at > since)
        .collect();
    if new.is_empty() {
        return Ok(());
    }
    // Who sent how many files where, in arrival order of each group's first file.
    let mut groups: BTreeMap<(String, String), Vec<&str>> = BTreeMap::new();
    let mut order: Vec<(String, String)> = Vec::new();
    for s in &new {
        let who = if s.uploader.is_empty() {
            "Someone".to_string()
        } else {
            s.uploader.clone()
        };
        let key = (who, s.folder_path.clone());
        if !groups.contains_key(&key) {
            order.push(key.clone());
        }
        groups
            .entry(key)
            .or_default()
            .push(s.view.version.filename.as_str());
    }
    let files = |n: usize| {
        if n == 1 {
            "1 file".to_string()
        } else {
            format!("{n} files")
        }
    };
    let sentence = |(who, folder): &(String, String), n: usize| {
        format!("{who} sent {} to {folder} for review", files(n))
    };
    let summary = match order.as_slice() {
        [one] => sentence(one, new.len()),
        _ => format!(
            "{} from {} senders to review",
            files(new.len()),
            order.len()
        ),
    };
    let mut list = String::new();
    let mut named = 0;
    for key in &order {
        let names = &groups[key];
        list.push_str(&format!("{}:\n", sentence(key, names.len())));
        for name in names {
            if named < MAX_NAMED {
                list.push_str(&format!("  {name}\n"));
            }
            named += 1;
        }
        list.push('\n');
    }
    if named > MAX_NAMED {
        list.push_str(&format!("…and {} more.\n\n", named - MAX_NAMED));
    }
    let first = new[0];
    let queue_url = format!("{}/admin/review", state.config.public_url);
    let vars = [
        ("summary", summary.as_str()),
        ("files", list.as_str()),
        ("contributor", first.uploader.as_str()),
        ("file", first.view.version.filename.as_str()),
        ("queue", queue_url.as_str()),
        ("link", queue_url.as_str()),
    ];
    let admins = sqlx::query("SELECT email FROM users WHERE role = 'admin' AND disabled = 0")
        .fetch_all(&state.db.pool)
        .await?;
    for row in admins {
        let to: String = row.try_get("email")?;
        state
            .mailer
            .send_kind(&to, &crate::brand::mail::SUBMISSIONS_WAITING, &vars, None)
            .await?;
    }
    Ok(())
}
