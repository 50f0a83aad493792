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
pub mod pages;

use serde::{Deserialize, Serialize};
use sqlx::Row;

use crate::access;
use crate::accounts::{Account, Role};
use crate::app::AppState;
use crate::brand::mail::{ADMIN_DIGEST, NEW_ASSETS_DIGEST};
use crate::clock;
use crate::db::Db;
use crate::jobs::{self, JobError};

pub const JOB: &str = "digests";
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

/// The one-click unsubscribe token: a JWT signed with the instances' shared secret, naming the
/// account; it needs no storage and works from any instance, for as long as the account exists.
#[derive(Serialize, Deserialize)]
struct UnsubscribeClaims {
    sub: String,
    aud: String,
}

const UNSUBSCRIBE_AUD: &str = "assetport-unsubscribe";

pub fn unsubscribe_token(secret: &str, user_id: &str) -> String {
    let claims = UnsubscribeClaims {
        sub: user_id.to_string(),
        aud: UNSUBSCRIBE_AUD.into(),
    };
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap_or_default()
}

/// The account an unsubscribe token names, if the signature holds.
pub fn unsubscribe_user(secret: &str, token: &str) -> Option<String> {
    if token.len() > 1000 {
        return None;
    }
    let mut v = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
    v.set_audience(&[UNSUBSCRIBE_AUD]);
    v.required_spec_claims = ["aud", "sub"].iter().map(|s| s.to_string()).collect();
    v.validate_exp = false;
    jsonwebtoken::decode::<UnsubscribeClaims>(
        token,
        &jsonwebtoken::DecodingKey::from_secret(secret.as_bytes()),
        &v,
    )
    .ok()
    .map(|d| d.claims.sub)
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
    if jobs::enqueue_once(&state.db, JOB, &subject).await? {
        state.jobs.wake();
    }
    Ok(())
}

/// Queues a run now for everyone subscribed, whatever the day (the jobs page's button).
pub async fn run_now(state: &AppState) -> Result<(), sqlx::Error> {
    let subject = format!("now:{}", crate::db::new_id());
    jobs::enqueue(&state.db.pool, JOB, &subject, state.clock.now_ms()).await?;
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
        send_admin(state, who, freq, since, fresh, now).await
    } else {
        send_partner(state, who, freq, since, now).await
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

/// One asset in a digest.
#[derive(Debug)]
pub struct Entry {
    pub id: String,
    pub name: String,
    pub folder: String,
    id_path: String,
}

/// Assets visible to partners at `now` (`access::published_clause`) that became so after
/// `since`: approved (or restored) after it, or their embargo ended after it. The second part
/// reads `available_from` itself: it asks *when* an asset became visible, not whether it is.
async fn published(db: &Db, since: i64, now: i64) -> Result<Vec<Entry>, sqlx::Error> {
    let sql = format!(
        "SELECT a.id, a.title, v.filename, f.path, f.id_path, a.available_from, \
         (SELECT MAX(e.created_at) FROM events e WHERE e.asset_id = a.id \
          AND e.kind IN ('approve', 'restore') AND e.created_at <= $2) AS approved_at \
         FROM assets a JOIN asset_versions v ON v.id = {} \
         JOIN folders f ON f.id = a.folder_id \
         WHERE {} \
         AND (a.available_from > $1 OR a.id IN (SELECT e.asset_id FROM events e \
              WHERE e.kind IN ('approve', 'restore') AND e.created_at > $1 AND e.created_at <= $2)) \
         ORDER BY f.path, v.filename",
        access::published_version("a"),
        access::published_clause("a", "$2"),
    );
    let rows = sqlx::query(&sql)
        .bind(since)
        .bind(now)
        .fetch_all(&db.pool)
        .await?;
    let mut out = Vec::new();
    for r in rows {
        let title: String = r.try_get("title")?;
        let filename: String = r.try_get("filename")?;
        let approved: Option<i64> = r.try_get("approved_at")?;
        let from: Option<i64> = r.try_get("available_from")?;
        let at = approved.unwrap_or(0).max(from.unwrap_or(0));
        if at <= since {
            continue;
        }
        out.push(Entry {
            id: r.try_get("id")?,
            name: if title.is_empty() {
                filename
            } else {
                format!("{title} ({filename})")
            },
            folder: r.try_get("path")?,
            id_path: r.try_get("id_path")?,
        });
    }
    Ok(out)
}

/// The new assets `who` may see: published in (since, now] in folders where they hold `view`.
pub async fn new_for(
    db: &Db,
    who: &Account,
    since: i64,
    now: i64,
) -> Result<Vec<Entry>, sqlx::Error> {
    let all = published(db, since, now).await?;
    if who.is_admin() {
        return Ok(all);
    }
    let paths = access::view_paths(db, who).await?;
    Ok(all
        .into_iter()
        .filter(|e| access::in_subtrees(&paths, &e.id_path))
        .collect())
}

fn plural(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

/// Lines of a list, at most `LISTED`, then how many more.
fn listed(lines: Vec<String>) -> String {
    let n = lines.len();
    let mut out: String = lines.into_iter().take(LISTED).collect();
    if n > LISTED {
        out.push_str(&format!("… and {} more.\n", n - LISTED));
    }
    out
}

fn links(state: &AppState, who: &Account) -> (String, String) {
    let base = &state.config.public_url;
    (
        format!("{base}/account#notifications"),
        format!(
            "{base}/unsubscribe/{}",
            unsubscribe_token(&state.secret, &who.id)
        ),
    )
}

async fn send_partner(
    state: &AppState,
    who: &Account,
    freq: Frequency,
    since: i64,
    now: i64,
) -> anyhow::Result<()> {
    let entries = new_for(&state.db, who, since, now).await?;
    if entries.is_empty() {
        return Ok(());
    }
    let base = &state.config.public_url;
    let lines = entries
        .iter()
        .map(|e| format!("- {} — {}\n  {base}/assets/{}\n", e.name, e.folder, e.id))
        .collect();
    let (settings, unsubscribe) = links(state, who);
    let count = plural(entries.len(), "asset", "assets");
    let since_h = clock::human(since);
    let library = format!("{base}/");
    let vars = [
        ("name", who.name.as_str()),
        ("count", count.as_str()),
        ("since", since_h.as_str()),
        ("assets", &listed(lines)),
        ("library", library.as_str()),
        ("frequency", freq.as_str()),
        ("settings", settings.as_str()),
        ("unsubscribe", unsubscribe.as_str()),
    ];
    state
        .mailer
        .send_kind(&who.email, &NEW_ASSETS_DIGEST, &vars, Some(&unsubscribe))
        .await
}

/// What an admin's digest covers.
#[derive(Debug, Default)]
pub struct AdminNews {
    /// New submissions and checked-in versions waiting for review: (asset id, name, who).
    pub submissions: Vec<(String, String, String)>,
    /// Everything waiting for review, new or not.
    pub waiting: i64,
    /// Share links expiring soon that were not announced before, one per share (its first
    /// link, whose admin page shows the share): (link id, title, expiry).
    pub links: Vec<(String, String, i64)>,
    /// Assets whose licence ends soon, not announced before: (asset id, name, end).
    pub assets: Vec<(String, String, i64)>,
}

impl AdminNews {
    pub fn is_empty(&self) -> bool {
        self.submissions.is_empty() && self.links.is_empty() && self.assets.is_empty()
    }
}

/// What happened for admins in (since, now]. Links and assets are announced once, when they
/// come within `EXPIRY_NOTICE_MS` of their end: those whose end is after `since + notice`
/// were not yet within reach at the last digest. A `fresh` subscriber had no last digest, so
/// everything ending within the notice period is news to them.
pub async fn admin_news(
    db: &Db,
    since: i64,
    fresh: bool,
    now: i64,
) -> Result<AdminNews, sqlx::Error> {
    // Admins only: what waits for review (submissions and checked-in versions), not what
    // anyone may see.
    let waiting_sql = "(a.status = 'in_review' OR (a.status = 'approved' \
                       AND a.current_version_id <> a.approved_version_id))";
    let rows = sqlx::query(&format!(
        "SELECT a.id, a.title, v.filename, u.name AS uploader FROM assets a \
         JOIN asset_versions v ON v.id = a.current_version_id \
         LEFT JOIN users u ON u.id = v.uploaded_by \
         WHERE {waiting_sql} AND a.id IN (SELECT e.asset_id FROM events e \
         WHERE e.kind IN ('upload', 'check_in') AND e.created_at > $1 AND e.created_at <= $2) \
         ORDER BY a.created_at, a.id"
    ))
    .bind(since)
    .bind(now)
    .fetch_all(&db.pool)
    .await?;
    let mut news = AdminNews::default();
    for r in rows {
        let title: String = r.try_get("title")?;
        let filename: String = r.try_get("filename")?;
        news.submissions.push((
            r.try_get("id")?,
            if title.is_empty() { filename } else { title },
            r.try_get::<Option<String>, _>("uploader")?
                .unwrap_or_default(),
        ));
    }
    news.waiting = sqlx::query(&format!(
        "SELECT COUNT(*) AS n FROM assets a WHERE {waiting_sql}"
    ))
    .fetch_one(&db.pool)
    .await?
    .try_get("n")?;
    let notice_until = now + EXPIRY_NOTICE_MS;
    let not_before = if fresh {
        now
    } else {
        now.max(since + EXPIRY_NOTICE_MS)
    };
    let rows = sqlx::query(
        "SELECT MIN(id) AS id, MIN(title) AS title, MIN(expires_at) AS expires_at FROM links \
         WHERE revoked_at IS NULL AND expires_at > $1 AND expires_at <= $2 \
         GROUP BY share_id ORDER BY MIN(expires_at), share_id",
    )
    .bind(not_before)
    .bind(notice_until)
    .fetch_all(&db.pool)
    .await?;
    for r in rows {
        let title: String = r.try_get("title")?;
        news.links.push((
            r.try_get("id")?,
            if title.is_empty() {
                "(untitled share)".into()
            } else {
                title
            },
            r.try_get("expires_at")?,
        ));
    }
    // Admins only: published assets whose window is about to close (the end is the news, so
    // this reads `available_until` itself rather than asking `access` whether they are visible).
    let rows = sqlx::query(
        "SELECT a.id, a.title, a.filename, a.available_until FROM assets a \
         WHERE a.status = 'approved' AND a.available_until > $1 AND a.available_until <= $2 \
         ORDER BY a.available_until, a.id",
    )
    .bind(not_before)
    .bind(notice_until)
    .fetch_all(&db.pool)
    .await?;
    for r in rows {
        let title: String = r.try_get("title")?;
        let filename: String = r.try_get("filename")?;
        news.assets.push((
            r.try_get("id")?,
            if title.is_empty() { filename } else { title },
            r.try_get("available_until")?,
        ));
    }
    Ok(news)
}

async fn send_admin(
    state: &AppState,
    who: &Account,
    freq: Frequency,
    since: i64,
    fresh: bool,
    now: i64,
) -> anyhow::Result<()> {
    let news = admin_news(&state.db, since, fresh, now).await?;
    if news.is_empty() {
        return Ok(());
    }
    let base = &state.config.public_url;
    let mut sections = String::new();
    let mut summary = Vec::new();
    let mut section = |count: (&str, &str), heading: &str, lines: Vec<String>| {
        if lines.is_empty() {
            return;
        }
        summary.push(plural(lines.len(), count.0, count.1));
        sections.push_str(heading);
        sections.push_str(&listed(lines));
        sections.push('\n');
    };
    section(
        ("new submission", "new submissions"),
        &format!(
            "New for review ({} waiting in all, {base}/admin/review):\n",
            news.waiting
        ),
        news.submissions
            .iter()
            .map(|(id, name, by)| {
                let by = if by.is_empty() {
                    String::new()
                } else {
                    format!(" from {by}")
                };
                format!("- {name}{by}\n  {base}/assets/{id}\n")
            })
            .collect(),
    );
    section(
        ("link expiring", "links expiring"),
        "Share links expiring within a week:\n",
        news.links
            .iter()
            .map(|(id, title, at)| {
                format!(
                    "- {title}, until {}\n  {base}/admin/links/{id}\n",
                    clock::human(*at)
                )
            })
            .collect(),
    );
    section(
        ("asset licence ending", "asset licences ending"),
        "Assets withdrawn within a week (licence or rights window ends):\n",
        news.assets
            .iter()
            .map(|(id, name, at)| {
                format!("- {name}, on {}\n  {base}/assets/{id}\n", clock::human(*at))
            })
            .collect(),
    );
    let (settings, unsubscribe) = links(state, who);
    let summary = summary.join(", ");
    let vars = [
        ("name", who.name.as_str()),
        ("summary", summary.as_str()),
        ("sections", sections.as_str()),
        ("frequency", freq.as_str()),
        ("settings", settings.as_str()),
        ("unsubscribe", unsubscribe.as_str()),
    ];
    state
        .mailer
        .send_kind(&who.email, &ADMIN_DIGEST, &vars, Some(&unsubscribe))
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsubscribe_tokens_name_their_account_only_with_the_right_key() {
        let t = unsubscribe_token("k1", "user-1");
        assert_eq!(unsubscribe_user("k1", &t).as_deref(), Some("user-1"));
        assert_eq!(unsubscribe_user("k2", &t), None);
        assert_eq!(unsubscribe_user("k1", "garbage"), None);
        let mut forged = t.clone();
        forged.pop();
        assert_eq!(unsubscribe_user("k1", &forged), None);
    }

    #[test]
    fn lists_are_capped() {
        let lines: Vec<String> = (0..LISTED + 3).map(|i| format!("{i}\n")).collect();
        let out = listed(lines);
        assert_eq!(out.lines().count(), LISTED + 1);
        assert!(out.ends_with("… and 3 more.\n"));
    }
}
