//! `assetport fsck` (SPEC §4): every stored binary the database refers to is read back and
//! checked against its recorded size and SHA-256; every stored object nothing refers to is an
//! orphan (e.g. left by a crash between storing a file and committing its row), reported and,
//! with `--repair`, removed. Referenced data is never touched: a missing or damaged original
//! is reported for a person to restore from backup.
use std::collections::HashSet;
use std::time::{Duration, SystemTime};

use futures_util::StreamExt;
use sha2::{Digest, Sha256};
use sqlx::Row;

use crate::db::Db;
use crate::storage::Storage;

#[derive(Debug, Default)]
pub struct Report {
    pub checked: u64,
    pub missing: Vec<String>,
    pub damaged: Vec<String>,
    pub orphans: Vec<String>,
    pub removed: u64,
}

impl Report {
    /// Clean: everything referenced is there and intact (orphans alone do not count).
    pub fn ok(&self) -> bool {
        self.missing.is_empty() && self.damaged.is_empty()
    }
}

/// Checks storage against the database. Objects younger than `grace` are never orphans: an
/// upload stores its file a moment before its row is committed.
pub async fn run(
    db: &Db,
    storage: &Storage,
    repair: bool,
    grace: Duration,
) -> anyhow::Result<Report> {
    let mut report = Report::default();
    let mut referenced: HashSet<String> = HashSet::new();
    let rows = sqlx::query(
        "SELECT blob_key, sha256, size FROM asset_versions \
         UNION ALL SELECT blob_key, sha256, size FROM renditions \
         UNION ALL SELECT blob_key, sha256, size FROM presets",
    )
    .fetch_all(&db.pool)
    .await?;
    for r in &rows {
        let key: String = r.try_get("blob_key")?;
        let sha: String = r.try_get("sha256")?;
        let size: i64 = r.try_get("size")?;
        referenced.insert(key.clone());
        report.checked += 1;
        match digest(storage, &key).await? {
            None => report.missing.push(key),
            Some((n, h)) if n != size as u64 || h != sha => {
                report.damaged.push(format!("{key} (size {n}, sha256 {h})"))
            }
            Some(_) => {}
        }
    }
    for r in sqlx::query("SELECT blob_key FROM tus_parts")
        .fetch_all(&db.pool)
        .await?
    {
        referenced.insert(r.try_get("blob_key")?);
    }
    let cutoff = SystemTime::now() - grace;
    for (key, modified) in storage.inventory().await? {
        if referenced.contains(&key) || modified > cutoff || is_watermark_of(&key, &referenced) {
            continue;
        }
        if repair {
            storage.remove_any(&key).await?;
            report.removed += 1;
        }
        report.orphans.push(key);
    }
    Ok(report)
}

/// A watermarked preview (`…/preview-wm-<hash>.jpg`) belongs to its version's preview.
fn is_watermark_of(key: &str, referenced: &HashSet<String>) -> bool {
    match key.split_once("-wm-") {
        Some((stem, _)) => referenced.contains(&format!("{stem}.jpg")),
        None => false,
    }
}

/// Size and SHA-256 of `key`, streamed; `None` when it is not there.
pub(crate) async fn digest(storage: &Storage, key: &str) -> anyhow::Result<Option<(u64, String)>> {
    if storage.size(key).await?.is_none() {
        return Ok(None);
    }
    let mut body = storage.get(key, None).await?;
    let mut hasher = Sha256::new();
    let mut n = 0u64;
    while let Some(chunk) = body.next().await {
        let chunk = chunk?;
        n += chunk.len() as u64;
        hasher.update(&chunk);
    }
    Ok(Some((n, hex::encode(hasher.finalize()))))
}
