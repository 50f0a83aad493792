//! The partners' digest: assets newly published where they can see them.
use sqlx::Row;

use crate::access;
use crate::accounts::Account;
use crate::app::AppState;
use crate::brand::mail::NEW_ASSETS_DIGEST;
use crate::clock;
use crate::db::Db;

use super::*;

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

pub(super) async fn send_partner(
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
    // In the partner's own zone, as their pages show it.
    let zone = crate::accounts::users::time_zone(&state.db, &who.id).await?;
    let since_h = clock::human_in(since, &zone);
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
