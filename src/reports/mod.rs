//! Reports built from the audit log (issue 7): who downloaded what, through which link, when.
//! Every table is one query over `events` in a date range, and every table is also a CSV
//! (`csv.rs`). Downloads count per asset whether they came one by one, in a folder or ZIP
//! download (the ZIP writes one `download` event per asset it carries), or through a link.
pub mod chart;
pub mod csv;
pub mod delivery;
pub mod pages;

use sqlx::Row;

use crate::clock;
use crate::db::Db;
use crate::error::AppError;

const DAY_MS: i64 = 86_400_000;
/// The longest range a report covers (the chart has a bar per day).
pub const MAX_DAYS: i64 = 366;
/// Rows in each ranked table on the page; the CSV has them all.
pub const PAGE_ROWS: usize = 20;

/// Event kinds that are downloads of an asset.
const DOWNLOADS: &str = "('download', 'link_download')";

/// A half-open range of whole UTC days, `[from, to)` in ms.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Range {
    pub from: i64,
    pub to: i64,
}

impl Range {
    /// From the form's `from` and `to` dates (inclusive, `YYYY-MM-DD`); the last 30 days when
    /// both are empty.
    pub fn parse(from: Option<&str>, to: Option<&str>, now_ms: i64) -> Result<Range, AppError> {
        let today = now_ms.div_euclid(DAY_MS) * DAY_MS;
        let day = |s: &str, what: &str| -> Result<i64, AppError> {
            let date = time::Date::parse(
                s.trim(),
                time::macros::format_description!("[year]-[month]-[day]"),
            )
            .map_err(|_| AppError::BadRequest(format!("{what} must be a date like 2026-03-31")))?;
            Ok(clock::to_ms(date.midnight().assume_utc()))
        };
        if from.is_none_or(|s| s.trim().is_empty()) && to.is_none_or(|s| s.trim().is_empty()) {
            return Ok(Range::last_30_days(now_ms));
        }
        let to = match to.filter(|s| !s.trim().is_empty()) {
            Some(s) => day(s, "to")? + DAY_MS,
            None => today + DAY_MS,
        };
        let from = match from.filter(|s| !s.trim().is_empty()) {
            Some(s) => day(s, "from")?,
            None => to - 30 * DAY_MS,
        };
        if from >= to {
            return Err(AppError::BadRequest(
                "the start date must not be after the end date".into(),
            ));
        }
        if (to - from) / DAY_MS > MAX_DAYS {
            return Err(AppError::BadRequest(format!(
                "a report covers at most {MAX_DAYS} days"
            )));
        }
        Ok(Range { from, to })
    }

    /// The default: the 30 days up to and including today.
    pub fn last_30_days(now_ms: i64) -> Range {
        let to = now_ms.div_euclid(DAY_MS) * DAY_MS + DAY_MS;
        Range {
            from: to - 30 * DAY_MS,
            to,
        }
    }

    pub fn days(&self) -> i64 {
        (self.to - self.from) / DAY_MS
    }

    /// The dates as the form shows them (`to` inclusive).
    pub fn from_date(&self) -> String {
        date(self.from)
    }

    pub fn to_date(&self) -> String {
        date(self.to - DAY_MS)
    }
}

pub fn date(ms: i64) -> String {
    clock::rfc3339(ms).chars().take(10).collect()
}

/// A ranked row: what, how many, and a link target (an asset, a person, …) when there is one.
#[derive(Clone, Debug)]
pub struct Row2 {
    pub id: String,
    pub label: String,
    pub detail: String,
    pub count: i64,
}

/// Downloads per day, every day of the range (zeros included).
pub async fn downloads_per_day(db: &Db, r: Range) -> Result<Vec<(String, i64)>, AppError> {
    let rows = sqlx::query(&format!(
        "SELECT (created_at - $1) / {DAY_MS} AS d, COUNT(*) AS n FROM events \
         WHERE kind IN {DOWNLOADS} AND created_at >= $1 AND created_at < $2 GROUP BY d"
    ))
    .bind(r.from)
    .bind(r.to)
    .fetch_all(&db.pool)
    .await?;
    let mut per_day = vec![0i64; r.days() as usize];
    for row in rows {
        let d: i64 = row.try_get("d")?;
        if let Some(slot) = per_day.get_mut(d as usize) {
            *slot += row.try_get::<i64, _>("n")?;
        }
    }
    Ok(per_day
        .into_iter()
        .enumerate()
        .map(|(i, n)| (date(r.from + i as i64 * DAY_MS), n))
        .collect())
}

async fn ranked(db: &Db, sql: &str, r: Range) -> Result<Vec<Row2>, AppError> {
    let rows = sqlx::query(sql)
        .bind(r.from)
        .bind(r.to)
        .fetch_all(&db.pool)
        .await?;
    rows.iter()
        .map(|row| {
            Ok(Row2 {
                id: row.try_get::<Option<String>, _>("id")?.unwrap_or_default(),
                label: row
                    .try_get::<Option<String>, _>("label")?
                    .unwrap_or_default(),
                detail: row
                    .try_get::<Option<String>, _>("detail")?
                    .unwrap_or_default(),
                count: row.try_get("n")?,
            })
        })
        .collect::<Result<_, sqlx::Error>>()
        .map_err(Into::into)
}

/// Downloads by asset, most first (the top assets).
pub async fn by_asset(db: &Db, r: Range) -> Result<Vec<Row2>, AppError> {
    ranked(
        db,
        &format!(
            "SELECT e.asset_id AS id, COALESCE(NULLIF(a.title, ''), a.filename) AS label, \
             f.path AS detail, COUNT(*) AS n FROM events e \
             JOIN assets a ON a.id = e.asset_id JOIN folders f ON f.id = a.folder_id \
             WHERE e.kind IN {DOWNLOADS} AND e.created_at >= $1 AND e.created_at < $2 \
             GROUP BY e.asset_id, a.title, a.filename, f.path ORDER BY n DESC, label"
        ),
        r,
    )
    .await
}

/// Downloads by signed-in person (partners and staff); link visitors are in `by_link`.
pub async fn by_person(db: &Db, r: Range) -> Result<Vec<Row2>, AppError> {
    ranked(
        db,
        "SELECT e.actor_user_id AS id, u.name AS label, u.email AS detail, COUNT(*) AS n \
         FROM events e JOIN users u ON u.id = e.actor_user_id \
         WHERE e.kind = 'download' AND e.created_at >= $1 AND e.created_at < $2 \
         GROUP BY e.actor_user_id, u.name, u.email ORDER BY n DESC, label",
        r,
    )
    .await
}

/// Downloads by group of the person downloading (someone in two groups counts for both).
pub async fn by_group(db: &Db, r: Range) -> Result<Vec<Row2>, AppError> {
    ranked(
        db,
        "SELECT g.id AS id, g.name AS label, '' AS detail, COUNT(*) AS n FROM events e \
         JOIN group_members gm ON gm.user_id = e.actor_user_id \
         JOIN user_groups g ON g.id = gm.group_id \
         WHERE e.kind = 'download' AND e.created_at >= $1 AND e.created_at < $2 \
         GROUP BY g.id, g.name ORDER BY n DESC, label",
        r,
    )
    .await
}

/// Downloads by area: the top-level folder the asset sits under.
pub async fn by_area(db: &Db, r: Range) -> Result<Vec<Row2>, AppError> {
    let rows = ranked(
        db,
        &format!(
            "SELECT f.path AS id, f.path AS label, '' AS detail, COUNT(*) AS n FROM events e \
             JOIN assets a ON a.id = e.asset_id JOIN folders f ON f.id = a.folder_id \
             WHERE e.kind IN {DOWNLOADS} AND e.created_at >= $1 AND e.created_at < $2 \
             GROUP BY f.path"
        ),
        r,
    )
    .await?;
    // Folder paths are '/Area/Sub/…': the area is the first segment.
    let mut areas: Vec<Row2> = Vec::new();
    for row in rows {
        let area = row
            .label
            .trim_start_matches('/')
            .split('/')
            .next()
            .unwrap_or_default()
            .to_string();
        let area = format!("/{area}");
        match areas.iter_mut().find(|a| a.label == area) {
            Some(a) => a.count += row.count,
            None => areas.push(Row2 {
                id: area.clone(),
                label: area,
                detail: String::new(),
                count: row.count,
            }),
        }
    }
    areas.sort_by(|a, b| b.count.cmp(&a.count).then(a.label.cmp(&b.label)));
    Ok(areas)
}

/// Link activity: page views and completed downloads per share link.
pub struct LinkActivity {
    pub id: String,
    pub title: String,
    pub views: i64,
    pub downloads: i64,
    pub state: String,
}

pub async fn by_link(db: &Db, r: Range) -> Result<Vec<LinkActivity>, AppError> {
    let rows = sqlx::query(
        "SELECT l.id, l.title, l.share_id, l.revoked_at, l.expires_at, \
         SUM(CASE WHEN e.kind = 'link_view' THEN 1 ELSE 0 END) AS views, \
         SUM(CASE WHEN e.kind = 'link_download' THEN 1 ELSE 0 END) AS downloads \
         FROM events e JOIN links l ON l.id = e.actor_link_id \
         WHERE e.kind IN ('link_view', 'link_download') AND e.created_at >= $1 AND e.created_at < $2 \
         GROUP BY l.id, l.title, l.share_id, l.revoked_at, l.expires_at \
         ORDER BY downloads DESC, views DESC, l.id",
    )
    .bind(r.from)
    .bind(r.to)
    .fetch_all(&db.pool)
    .await?;
    let now = db.clock.now_ms();
    rows.iter()
        .map(|row| {
            let title: String = row.try_get("title")?;
            let share_id: String = row.try_get("share_id")?;
            let revoked: Option<i64> = row.try_get("revoked_at")?;
            let expires: i64 = row.try_get("expires_at")?;
            Ok(LinkActivity {
                id: row.try_get("id")?,
                title: if title.is_empty() {
                    format!("Link {share_id}")
                } else {
                    title
                },
                views: row.try_get("views")?,
                downloads: row.try_get("downloads")?,
                state: if revoked.is_some() {
                    "revoked"
                } else if expires <= now {
                    "expired"
                } else {
                    "active"
                }
                .into(),
            })
        })
        .collect::<Result<_, sqlx::Error>>()
        .map_err(Into::into)
}

/// Agency submissions: uploads and check-ins by members, with how long review took.
pub struct Submissions {
    pub id: String,
    pub name: String,
    pub email: String,
    pub submitted: i64,
    pub approved: i64,
    pub rejected: i64,
    pub waiting: i64,
    /// Median time from submission to decision, in hours, of those decided.
    pub median_review_hours: Option<f64>,
}

pub async fn submissions(db: &Db, r: Range) -> Result<Vec<Submissions>, AppError> {
    // Submissions in the range, and every decision after the range started (a decision may
    // come after the range ends: it still tells how long that submission waited).
    let rows = sqlx::query(
        "SELECT e.kind, e.asset_id, e.actor_user_id, e.created_at, u.name, u.email, u.role \
         FROM events e LEFT JOIN users u ON u.id = e.actor_user_id \
         WHERE e.asset_id IS NOT NULL AND e.created_at >= $1 AND \
         ((e.kind IN ('upload', 'check_in') AND e.created_at < $2) OR e.kind IN ('approve', 'reject')) \
         ORDER BY e.created_at, e.id",
    )
    .bind(r.from)
    .bind(r.to)
    .fetch_all(&db.pool)
    .await?;
    // Per asset, the submission waiting for a decision: (who, when).
    let mut open: std::collections::HashMap<String, (String, i64)> = Default::default();
    let mut out: Vec<Submissions> = Vec::new();
    let mut waits: std::collections::HashMap<String, Vec<i64>> = Default::default();
    for row in rows {
        let kind: String = row.try_get("kind")?;
        let asset: String = row.try_get("asset_id")?;
        let at: i64 = row.try_get("created_at")?;
        match kind.as_str() {
            "upload" | "check_in" => {
                let role: Option<String> = row.try_get("role")?;
                if role.as_deref() != Some("member") {
                    continue; // admins' own uploads are drafts, not submissions
                }
                let user: String = row.try_get("actor_user_id")?;
                let i = match out.iter().position(|s| s.id == user) {
                    Some(i) => i,
                    None => {
                        out.push(Submissions {
                            id: user.clone(),
                            name: row
                                .try_get::<Option<String>, _>("name")?
                                .unwrap_or_default(),
                            email: row
                                .try_get::<Option<String>, _>("email")?
                                .unwrap_or_default(),
                            submitted: 0,
                            approved: 0,
                            rejected: 0,
                            waiting: 0,
                            median_review_hours: None,
                        });
                        out.len() - 1
                    }
                };
                let entry = &mut out[i];
                entry.submitted += 1;
                entry.waiting += 1;
                open.insert(asset, (user, at));
            }
            decision => {
                let Some((user, since)) = open.remove(&asset) else {
                    continue;
                };
                if let Some(s) = out.iter_mut().find(|s| s.id == user) {
                    s.waiting -= 1;
                    if decision == "approve" {
                        s.approved += 1;
                    } else {
                        s.rejected += 1;
                    }
                }
                waits.entry(user).or_default().push(at - since);
            }
        }
    }
    for s in &mut out {
        if let Some(w) = waits.get_mut(&s.id) {
            w.sort_unstable();
            let mid = w.len() / 2;
            let median = if w.len() % 2 == 1 {
                w[mid] as f64
            } else {
                (w[mid - 1] + w[mid]) as f64 / 2.0
            };
            s.median_review_hours = Some(median / 3_600_000.0);
        }
    }
    out.sort_by(|a, b| b.submitted.cmp(&a.submitted).then(a.name.cmp(&b.name)));
    Ok(out)
}

/// Sign-ins per day: successful and failed.
pub async fn logins_per_day(db: &Db, r: Range) -> Result<Vec<(String, i64, i64)>, AppError> {
    let rows = sqlx::query(&format!(
        "SELECT (created_at - $1) / {DAY_MS} AS d, \
         SUM(CASE WHEN kind = 'login' THEN 1 ELSE 0 END) AS ok, \
         SUM(CASE WHEN kind = 'login_failed' THEN 1 ELSE 0 END) AS failed FROM events \
         WHERE kind IN ('login', 'login_failed') AND created_at >= $1 AND created_at < $2 GROUP BY d"
    ))
    .bind(r.from)
    .bind(r.to)
    .fetch_all(&db.pool)
    .await?;
    let mut per_day = vec![(0i64, 0i64); r.days() as usize];
    for row in rows {
        let d: i64 = row.try_get("d")?;
        if let Some(slot) = per_day.get_mut(d as usize) {
            slot.0 += row.try_get::<i64, _>("ok")?;
            slot.1 += row.try_get::<i64, _>("failed")?;
        }
    }
    Ok(per_day
        .into_iter()
        .enumerate()
        .map(|(i, (ok, failed))| (date(r.from + i as i64 * DAY_MS), ok, failed))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_are_whole_days_and_checked() {
        let now = clock::to_ms(time::macros::datetime!(2026-03-31 15:00 UTC));
        let r = Range::parse(None, None, now).unwrap();
        assert_eq!(r.to_date(), "2026-03-31");
        assert_eq!(r.days(), 30);
        let r = Range::parse(Some("2026-03-01"), Some("2026-03-01"), now).unwrap();
        assert_eq!(
            (r.from_date(), r.to_date(), r.days()),
            ("2026-03-01".into(), "2026-03-01".into(), 1)
        );
        assert!(Range::parse(Some("2026-03-02"), Some("2026-03-01"), now).is_err());
        assert!(Range::parse(Some("yesterday"), None, now).is_err());
        assert!(Range::parse(Some("2024-01-01"), Some("2026-01-01"), now).is_err());
    }
}
