//! Full-text search over the library on the database's own engine: SQLite FTS5 or PostgreSQL
//! tsvector (migration 0009). Both index `asset_search.doc`, text that assetport has already cut
//! into words here (`normalize`), and both receive queries built here from the same parsed
//! terms, so the two engines see identical words and give identical results.
//!
//! Visibility is the same rule as everywhere (SPEC §2.2): members find approved, in-window
//! assets under folders where one of their groups holds `view`; admins find everything.
//!
//! A search that finds nothing may be answered with its misspelt words corrected
//! (`spelling`, over the word list of migration 0022), again alike on both engines.
pub mod api;
pub mod pages;
pub mod query;
pub mod spelling;

use sqlx::Row;
use unicode_normalization::char::is_combining_mark;
use unicode_normalization::UnicodeNormalization;

use crate::db::Db;

pub use query::{Facets, Search, SearchResults};

/// Longest word kept (longer ones are cut): bounds index and query size.
const MAX_WORD: usize = 64;

/// Lower-case, accent-free words of `text`: letters and digits, everything else separates.
/// "Café-Poster_2027.JPG" → ["cafe", "poster", "2027", "jpg"].
pub fn normalize(text: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    for c in text.nfkd().filter(|c| !is_combining_mark(*c)) {
        if c.is_alphanumeric() {
            // Lower-casing can itself yield marks (İ → i + ◌̇): keep letters and digits only.
            for lc in c.to_lowercase().filter(|lc| lc.is_alphanumeric()) {
                if word.chars().count() < MAX_WORD {
                    word.push(lc);
                }
            }
        } else if !word.is_empty() {
            words.push(std::mem::take(&mut word));
        }
    }
    if !word.is_empty() {
        words.push(word);
    }
    words
}

/// A keyword as the facet and filter know it: its words joined by single spaces.
pub fn normalize_keyword(k: &str) -> String {
    normalize(k).join(" ")
}

/// One refresh at a time per process: a search that finds marked rows waits for a running
/// refresh rather than doing the same rows twice.
static REFRESHING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Most batches one refresh handles (a guard against rows re-marked faster than they are
/// rebuilt; whatever is left is taken by the next call).
const MAX_BATCHES: usize = 10_000;

/// Rebuilds the search rows of assets whose text changed (marked by triggers in
/// `search_dirty`), in batches, until none is marked. A row is unmarked only if nobody marked
/// it again meanwhile.
pub async fn refresh(db: &Db) -> Result<u64, sqlx::Error> {
    let _one = REFRESHING.lock().await;
    let mut done = 0;
    let mut retries = 0;
    for _ in 0..MAX_BATCHES {
        let rows = sqlx::query(
            "SELECT d.asset_id, d.mark, a.id AS found, a.title, a.description, a.keywords, \
             a.filename, a.created_at, f.path FROM search_dirty d \
             LEFT JOIN assets a ON a.id = d.asset_id LEFT JOIN folders f ON f.id = a.folder_id \
             ORDER BY d.asset_id LIMIT 500",
        )
        .fetch_all(&db.pool)
        .await?;
        if rows.is_empty() {
            return Ok(done);
        }
        match rebuild(db, &rows).await {
            Ok(n) => done += n,
            // Rows of shared words (`search_words`, counted by triggers) are locked by every
            // batch that touches them; two instances rebuilding at once, or a rebuild beside
            // a deletion, may take them in different orders, and PostgreSQL then cancels one
            // transaction. Nothing was written: take the batch again.
            Err(e) if retries < 3 && is_deadlock(&e) => retries += 1,
            Err(e) => return Err(e),
        }
    }
    Ok(done)
}

fn is_deadlock(e: &sqlx::Error) -> bool {
    e.as_database_error()
        .and_then(|d| d.code())
        .is_some_and(|c| c == "40P01")
}

/// Rebuilds the search rows of one batch of marked assets, in one transaction.
async fn rebuild(db: &Db, rows: &[sqlx::any::AnyRow]) -> Result<u64, sqlx::Error> {
    let mut done = 0;
    let mut tx = db.pool.begin().await?;
    for r in rows {
        let id: String = r.try_get("asset_id")?;
        let mark: i64 = r.try_get("mark")?;
        let found: Option<String> = r.try_get("found")?;
        sqlx::query("DELETE FROM asset_keywords WHERE asset_id = $1")
            .bind(&id)
            .execute(&mut *tx)
            .await?;
        if found.is_none() {
            sqlx::query("DELETE FROM asset_search WHERE asset_id = $1")
                .bind(&id)
                .execute(&mut *tx)
                .await?;
        } else {
            let text = |c: &str| -> Result<String, sqlx::Error> {
                Ok(r.try_get::<Option<String>, _>(c)?.unwrap_or_default())
            };
            let keywords = crate::library::assets::split_keywords(&text("keywords")?);
            let doc = normalize(&format!(
                "{} {} {} {} {}",
                text("title")?,
                text("description")?,
                keywords.join(" "),
                text("filename")?,
                text("path")?
            ))
            .join(" ");
            let created: i64 = r.try_get("created_at")?;
            let year = i64::from(crate::clock::from_ms(created).year());
            sqlx::query(
                "INSERT INTO asset_search (asset_id, doc, year) VALUES ($1, $2, $3) \
                 ON CONFLICT (asset_id) DO UPDATE SET doc = excluded.doc, year = excluded.year",
            )
            .bind(&id)
            .bind(&doc)
            .bind(year)
            .execute(&mut *tx)
            .await?;
            let mut seen: Vec<String> = Vec::new();
            for k in keywords.iter().map(|k| normalize_keyword(k)) {
                if k.is_empty() || seen.contains(&k) {
                    continue;
                }
                sqlx::query("INSERT INTO asset_keywords (asset_id, keyword) VALUES ($1, $2)")
                    .bind(&id)
                    .bind(&k)
                    .execute(&mut *tx)
                    .await?;
                seen.push(k);
            }
        }
        sqlx::query("DELETE FROM search_dirty WHERE asset_id = $1 AND mark = $2")
            .bind(&id)
            .bind(mark)
            .execute(&mut *tx)
            .await?;
        done += 1;
    }
    tx.commit().await?;
    Ok(done)
}

/// Whether any asset waits for its search row (a cheap check before each search).
pub async fn is_dirty(db: &Db) -> Result<bool, sqlx::Error> {
    Ok(sqlx::query("SELECT asset_id FROM search_dirty LIMIT 1")
        .fetch_optional(&db.pool)
        .await?
        .is_some())
}

#[cfg(test)]
mod tests {
    use super::normalize;

    #[test]
    fn words_are_lower_case_and_accent_free() {
        assert_eq!(
            normalize("Café-Poster_2027.JPG"),
            ["cafe", "poster", "2027", "jpg"]
        );
        assert_eq!(normalize("  Ærø Straße İzmir "), ["ærø", "straße", "izmir"]);
        assert_eq!(normalize("ｆｕｌｌ width"), ["full", "width"]);
        assert!(normalize("--- ... ").is_empty());
        assert_eq!(normalize(&"x".repeat(500))[0].len(), super::MAX_WORD);
    }
}
