//! The admins' digest: new submissions, share links and assets about to expire, and webhook
//! endpoints that were turned off for failing.
use sqlx::Row;

use crate::accounts::Account;
use crate::app::AppState;
use crate::brand::mail::ADMIN_DIGEST;
use crate::clock;
use crate::db::Db;

use super::*;

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
    /// Webhook endpoints disabled in the period for failing 3 days on end: (id, description,
    /// URL, when).
    pub webhooks: Vec<(String, String, String, i64)>,
}

impl AdminNews {
    pub fn is_empty(&self) -> bool {
        self.submissions.is_empty()
            && self.links.is_empty()
            && self.assets.is_empty()
            && self.webhooks.is_empty()
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
    // Disabled (by the delivery job, `webhooks::actions::disable_failing_webhook`) in the period
    // and still off.
    let rows = sqlx::query(
        "SELECT id, description, url, disabled_at FROM webhooks \
         WHERE enabled = 0 AND disabled_at > $1 AND disabled_at <= $2 ORDER BY disabled_at, id",
    )
    .bind(since)
    .bind(now)
    .fetch_all(&db.pool)
    .await?;
    for r in rows {
        news.webhooks.push((
            r.try_get("id")?,
            r.try_get("description")?,
            r.try_get("url")?,
            r.try_get("disabled_at")?,
        ));
    }
    Ok(news)
}

pub(super) async fn send_admin(
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
    // Times in the admin's own zone, as their pages show them.
    let zone = crate::accounts::users::time_zone(&state.db, &who.id).await?;
    let when = |at: i64| clock::human_in(at, &zone);
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
                    when(*at)
                )
            })
            .collect(),
    );
    section(
        ("asset licence ending", "asset licences ending"),
        "Assets withdrawn within a week (licence or rights window ends):\n",
        news.assets
            .iter()
            .map(|(id, name, at)| format!("- {name}, on {}\n  {base}/assets/{id}\n", when(*at)))
            .collect(),
    );
    section(
        ("webhook disabled", "webhooks disabled"),
        "Webhooks turned off after failing for 3 days (turn them on again on their page):\n",
        news.webhooks
            .iter()
            .map(|(id, description, url, at)| {
                let name = if description.is_empty() {
                    url.clone()
                } else {
                    format!("{description} ({url})")
                };
                format!("- {name}, on {}\n  {base}/admin/webhooks/{id}\n", when(*at))
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
