//! Email digests (issue 7). Partners may subscribe to a daily or weekly digest of the assets newly
//! published where they can see them; admins get one (daily unless they change it) of new
//! submissions and of share links and assets about to expire. Every digest carries a one-click
//! unsubscribe address.
//!
//! Sending is a job on the shared queue: each instance's scheduler asks once a minute for the
//! day's job (`digests`/`daily:YYYY-MM-DD`) from `ASSETPORT_DIGEST_HOUR` on, and the unique
//! (kind, subject) makes it one job across all instances. Each person's `covered_until` moves
//! forward in one conditional UPDATE before their mail goes out, so a job that runs twice (a
//! lost lease) never sends the same period twice; a failed delivery puts it back.
mod admin;
pub mod pages;
pub mod partner;
mod unsubscribe;

pub use admin::{admin_news, AdminNews};
pub use partner::{new_for, Entry};
pub use unsubscribe::{unsubscribe_token, unsubscribe_user};

use sqlx::Row;

use crate::accounts::{Account, Role};
use crate::app::AppState;
use crate::clock;
use crate::db::Db;
use crate::jobs::{self, JobError, JobKind};

const DAY_MS: i64 = 24 * 3600 * 1000;
/// Links and assets are announced this long before they expire.
pub const EXPIRY_NOTICE_MS: i64 = 7 * DAY_MS;
/// At most this many entries per list in one mail; the rest are counted.
const LISTED: usize = 50;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Frequency {
    Off,
    Daily,
    Weekly,
}

impl Frequency {
    pub fn parse(s: &str) -> Option<Frequency> {
        match s {
            "off" => Some(Frequency::Off),
            "daily" => Some(Frequency::Daily),
            "weekly" => Some(Frequency::Weekly),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Frequency::Off => "off",
            Frequency::Daily => "daily",
            Frequency::Weekly => "weekly",
        }
    }

    /// Without a choice of their own: admins hear daily, everyone else not at all.
    pub fn default_for(role: Role) -> Frequency {
        if role == Role::Admin {
            Frequency::Daily
        } else {
            Frequency::Off
        }
    }

    fn period_ms(self) -> i64 {
        match self {
            Frequency::Weekly => 7 * DAY_MS,
            _ => DAY_MS,
        }
    }
}

/// Someone's digest setting.
pub async fn frequency(db: &Db, who: &Account) -> Result<Frequency, sqlx::Error> {
    let row = sqlx::query("SELECT frequency FROM digests WHERE user_id = $1")
        .bind(&who.id)
        .fetch_optional(&db.pool)
        .await?;
    Ok(match row {
        Some(r) => Frequency::parse(&r.try_get::<String, _>("frequency")?)
            .unwrap_or(Frequency::default_for(who.role)),
        None => Frequency::default_for(who.role),
    })
}

/// Changes someone's digest setting. A new subscription starts now: nothing older is sent.
pub async fn set_frequency(db: &Db, user_id: &str, f: Frequency) -> Result<(), sqlx::Error> {
    let now = db.clock.now_ms();
    sqlx::query(
        "INSERT INTO digests (user_id, frequency, covered_until, updated_at) \
         VALUES ($1, $2, $3, $3) ON CONFLICT (user_id) DO UPDATE SET \
         frequency = excluded.frequency, updated_at = excluded.updated_at, \
         covered_until = CASE WHEN digests.frequency = 'off' THEN excluded.covered_until \
         ELSE digests.covered_until END",
    )
    .bind(user_id)
    .bind(f.as_str())
    .bind(now)
    .execute(&db.pool)
    .await?;
    Ok(())
}

/// Queues today's digest job once `hour` (UTC) has come; every instance may ask, one job runs.
pub async fn schedule(state: &AppState, hour: u8, now: i64) -> Result<(), sqlx::Error> {
    let t = clock::from_ms(now);
    if t.hour() < hour {
        return Ok(());
    }
    let subject = format!(
        "daily:{:04}-{:02}-{:02}",
        t.year(),
        u8::from(t.month()),
        t.day()
    );
    if jobs::enqueue_once(&state.db, JobKind::Digests, &subject).await? {
        state.jobs.wake();
    }
    Ok(())
}

/// Queues a run now for everyone subscribed, whatever the day (the jobs page's button).
pub async fn run_now(state: &AppState) -> Result<(), sqlx::Error> {
    jobs::enqueue(
        &state.db.pool,
        JobKind::Digests,
        &format!("now:{}", crate::db::new_id()),
        state.clock.now_ms(),
    )
    .await?;
    state.jobs.wake();
    Ok(())
}

/// One digest job: `daily:…` sends the daily digests, and on Mondays the weekly ones too;
/// `now:…` sends every subscribed person's digest.
pub async fn run(state: AppState, job: jobs::Job) -> Result<(), JobError> {
    let now = state.clock.now_ms();
    let everyone = job.subject.starts_with("now:");
    let monday = clock::from_ms(now).weekday() == time::Weekday::Monday;
    let rows = sqlx::query(
        "SELECT u.id, d.frequency, d.covered_until, d.updated_at FROM users u \
         LEFT JOIN digests d ON d.user_id = u.id WHERE u.disabled = 0 ORDER BY u.id",
    )
    .fetch_all(&state.db.pool)
    .await?;
    let mut failures = 0;
    for row in rows {
        let id: String = row.try_get("id")?;
        let Some(who) = crate::accounts::users::by_id(&state.db, &id).await? else {
            continue;
        };
        let stored: Option<String> = row.try_get("frequency")?;
        let freq = stored
            .as_deref()
            .and_then(Frequency::parse)
            .unwrap_or(Frequency::default_for(who.role));
        let due = match freq {
            Frequency::Off => false,
            Frequency::Daily => true,
            Frequency::Weekly => everyone || monday,
        };
        if !due {
            continue;
        }
        let covered: Option<i64> = row.try_get("covered_until")?;
        // No digest yet since subscribing (`set_frequency` sets both to the same instant).
        let fresh = covered.is_none() || covered == row.try_get::<Option<i64>, _>("updated_at")?;
        if let Err(e) = send_one(&state, &who, freq, covered, fresh, now).await {
            tracing::warn!(user = %who.id, error = %format!("{e:#}"), "a digest was not sent");
            failures += 1;
        }
    }
    if failures > 0 {
        // The others went out; only the failed people are tried again (their period was
        // put back), and the ones already sent are not sent twice.
        return Err(JobError::Retry(format!("{failures} digests not sent")));
    }
    Ok(())
}

/// Claims `who`'s period (`covered_until` → now), builds and sends their digest. An empty digest
/// is not sent (the period still counts as covered).
async fn send_one(
    state: &AppState,
    who: &Account,
    freq: Frequency,
    covered: Option<i64>,
    fresh: bool,
    now: i64,
) -> anyhow::Result<()> {
    let since = match covered {
        Some(c) => c,
        // An admin who never chose: the last period, so the first digest is not empty of
        // everything that happened before.
        None => now - freq.period_ms(),
    };
    // The claim: only one run moves this person's period forward.
    let claimed = match covered {
        Some(c) => sqlx::query(
            "UPDATE digests SET covered_until = $2 WHERE user_id = $1 AND covered_until = $3",
        )
        .bind(&who.id)
        .bind(now)
        .bind(c)
        .execute(&state.db.pool)
        .await?
        .rows_affected(),
        // `updated_at` (when the setting was chosen) is not `now`: that would read as a fresh
        // subscription next time and announce expiring things again.
        None => sqlx::query(
            "INSERT INTO digests (user_id, frequency, covered_until, updated_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (user_id) DO NOTHING",
        )
        .bind(&who.id)
        .bind(freq.as_str())
        .bind(now)
        .bind(since)
        .execute(&state.db.pool)
        .await?
        .rows_affected(),
    } == 1;
    if !claimed {
        return Ok(());
    }
    let sent = if who.is_admin() {
        admin::send_admin(state, who, freq, since, fresh, now).await
    } else {
        partner::send_partner(state, who, freq, since, now).await
    };
    if sent.is_err() {
        // Undo the claim so the next run covers this period again.
        sqlx::query(
            "UPDATE digests SET covered_until = $3 WHERE user_id = $1 AND covered_until = $2",
        )
        .bind(&who.id)
        .bind(now)
        .bind(since)
        .execute(&state.db.pool)
        .await?;
    }
    sent
}

pub(super) fn plural(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

/// Lines of a list, at most `LISTED`, then how many more.
pub(super) fn listed(lines: Vec<String>) -> String {
    let n = lines.len();
    let mut out: String = lines.into_iter().take(LISTED).collect();
    if n > LISTED {
        out.push_str(&format!("… and {} more.\n", n - LISTED));
    }
    out
}

pub(super) fn links(state: &AppState, who: &Account) -> (String, String) {
    let base = &state.config.public_url;
    (
        format!("{base}/account#notifications"),
        format!(
            "{base}/unsubscribe/{}",
            unsubscribe_token(state.secret.expose(), &who.id)
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_are_capped() {
        let lines: Vec<String> = (0..LISTED + 3).map(|i| format!("{i}\n")).collect();
        let out = listed(lines);
        assert_eq!(out.lines().count(), LISTED + 1);
        assert!(out.ends_with("… and 3 more.\n"));
    }
}
