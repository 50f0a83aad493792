//! `assetport backup DIR` and `assetport restore DIR` for the SQLite default (docs/deploy.md).
//!
//! A backup is a directory: `assetport.db` (a consistent snapshot taken with `VACUUM INTO`,
//! safe while the server runs), `blobs/` (every binary the snapshot refers to, checked against
//! its recorded SHA-256 while it is copied) and `manifest.json`. It is written under a
//! temporary name and renamed into place at the end, so a directory with the final name is
//! always complete. Restore checks the whole backup before it touches anything, copies the
//! binaries into the configured storage first and the database last (a database never refers
//! to binaries that are not there yet), then applies migrations and runs fsck.
//!
//! PostgreSQL deployments back up with pg_dump and their bucket's versioning instead: those
//! tools do it better and without stopping anything.
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use serde::{Deserialize, Serialize};
use sqlx::Row;

use crate::db::Db;
use crate::storage::{PutError, Storage};
use crate::Config;

const MANIFEST: &str = "manifest.json";
const DATABASE: &str = "assetport.db";
const BLOBS: &str = "blobs";

#[derive(Debug, Serialize, Deserialize)]
pub struct Manifest {
    /// Layout version of the backup directory.
    pub format: u32,
    pub created_at: String,
    /// Binaries in `blobs/` and their total size.
    pub objects: u64,
    pub bytes: u64,
}

/// One referenced binary: where it is kept, and what it must hash to.
struct Object {
    key: String,
    sha256: String,
    size: u64,
}

/// The live SQLite file behind `config.database_url`, or a clear refusal.
fn sqlite_file(config: &Config) -> anyhow::Result<PathBuf> {
    let Some(rest) = config.database_url.expose().strip_prefix("sqlite:") else {
        bail!(
            "assetport backup and restore cover the SQLite default; back up PostgreSQL with \
             pg_dump and the bucket with its own versioning (docs/deploy.md)"
        );
    };
    let path = rest.trim_start_matches("//");
    let file = path.split('?').next().unwrap_or(path);
    if file.is_empty() || file.contains(":memory:") {
        bail!("an in-memory database cannot be backed up or restored");
    }
    Ok(PathBuf::from(file))
}

/// Every binary the database refers to (originals and renditions).
async fn referenced(db: &Db) -> anyhow::Result<Vec<Object>> {
    let rows = sqlx::query(
        "SELECT blob_key, sha256, size FROM asset_versions \
         UNION SELECT blob_key, sha256, size FROM renditions \
         UNION SELECT blob_key, sha256, size FROM presets ORDER BY blob_key",
    )
    .fetch_all(&db.pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Object {
                key: r.try_get("blob_key")?,
                sha256: r.try_get("sha256")?,
                size: r.try_get::<i64, _>("size")? as u64,
            })
        })
        .collect()
}

/// Streams `key` from `from` into `to`, refusing it unless it hashes to what was recorded.
async fn copy_checked(from: &Storage, to: &Storage, o: &Object) -> anyhow::Result<()> {
    let body = from
        .get(&o.key, None)
        .await
        .with_context(|| format!("{} is missing", o.key))?;
    let stored = to
        .put_stream(&o.key, body, o.size)
        .await
        .map_err(|e| match e {
            PutError::TooLarge(_) => anyhow::anyhow!("{} is larger than recorded", o.key),
            other => anyhow::anyhow!("copying {}: {other}", o.key),
        })?;
    if stored.size != o.size || stored.sha256 != o.sha256 {
        to.delete(&o.key).await.ok();
        bail!(
            "{} is damaged (size {}, sha256 {}; recorded {} and {})",
            o.key,
            stored.size,
            stored.sha256,
            o.size,
            o.sha256
        );
    }
    Ok(())
}

/// Writes a complete backup of the SQLite database and its binaries to `dest`, which must not
/// exist yet.
pub async fn backup(config: &Config, dest: &Path) -> anyhow::Result<Manifest> {
    let live = sqlite_file(config)?;
    if !live.exists() {
        bail!("there is no database at {}", live.display());
    }
    if dest.exists() {
        bail!("{} already exists; give a new directory", dest.display());
    }
    let name = dest
        .file_name()
        .context("the backup needs a directory name")?
        .to_string_lossy();
    let parent = dest.parent().filter(|p| !p.as_os_str().is_empty());
    let parent = parent.unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent)?;
    let partial = parent.join(format!(".{name}.partial-{}", std::process::id()));
    let result = write_backup(config, &live, &partial).await;
    match result {
        Ok(manifest) => {
            std::fs::rename(&partial, dest)
                .with_context(|| format!("moving the backup to {}", dest.display()))?;
            Ok(manifest)
        }
        Err(e) => {
            let _ = std::fs::remove_dir_all(&partial);
            Err(e)
        }
    }
}

async fn write_backup(config: &Config, live: &Path, dir: &Path) -> anyhow::Result<Manifest> {
    std::fs::create_dir_all(dir)?;
    let snapshot = dir.join(DATABASE);
    // VACUUM INTO reads one consistent snapshot, however busy the server is.
    let db = Db::connect(&format!("sqlite://{}", live.display())).await?;
    let quoted = snapshot.to_string_lossy().replace('\'', "''");
    sqlx::query(&format!("VACUUM INTO '{quoted}'"))
        .execute(&db.pool)
        .await
        .context("taking a snapshot of the database")?;
    db.pool.close().await;

    let snap = Db::connect(&format!("sqlite://{}", snapshot.display())).await?;
    // Unfinished resumable uploads are not kept: their parts are not copied, and their
    // senders start again (a restored row pointing at missing parts would fail later).
    sqlx::query("DELETE FROM tus_parts")
        .execute(&snap.pool)
        .await?;
    sqlx::query("DELETE FROM tus_uploads")
        .execute(&snap.pool)
        .await?;
    let objects = referenced(&snap).await;
    snap.pool.close().await;
    let objects = objects?;
    let from = Storage::from_url(&config.storage)?;
    let to = Storage::from_url(&format!("file://{}", dir.join(BLOBS).display()))?;
    let mut bytes = 0;
    for o in &objects {
        copy_checked(&from, &to, o).await?;
        bytes += o.size;
    }
    let manifest = Manifest {
        format: 1,
        created_at: crate::clock::rfc3339(db.clock.now_ms()),
        objects: objects.len() as u64,
        bytes,
    };
    std::fs::write(dir.join(MANIFEST), serde_json::to_vec_pretty(&manifest)?)?;
    Ok(manifest)
}

/// Restores the backup in `src` into the configured database and storage. Refuses to replace
/// an existing database unless `overwrite`; checks every binary of the backup first.
pub async fn restore(config: &Config, src: &Path, overwrite: bool) -> anyhow::Result<Manifest> {
    let target = sqlite_file(config)?;
    let manifest: Manifest = serde_json::from_slice(
        &std::fs::read(src.join(MANIFEST))
            .with_context(|| format!("{} is not an assetport backup", src.display()))?,
    )
    .context("reading the backup's manifest")?;
    if manifest.format != 1 {
        bail!(
            "backup format {} is not known to this version",
            manifest.format
        );
    }
    if target.exists() && !overwrite {
        bail!(
            "{} already holds a database; move it away or pass --overwrite",
            target.display()
        );
    }
    // Work on a private copy of the snapshot: the backup itself stays as it was.
    let staged = target.with_file_name(format!(".assetport-restore-{}.db", std::process::id()));
    if let Some(dir) = staged.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::copy(src.join(DATABASE), &staged).context("copying the database")?;
    let result = restore_staged(config, src, &staged, &manifest).await;
    if let Err(e) = result {
        let _ = std::fs::remove_file(&staged);
        return Err(e);
    }
    // The database goes in last, replacing any old one with its journal files.
    for suffix in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", target.display()));
    }
    std::fs::rename(&staged, &target).context("moving the database into place")?;
    Ok(manifest)
}

async fn restore_staged(
    config: &Config,
    src: &Path,
    staged: &Path,
    manifest: &Manifest,
) -> anyhow::Result<()> {
    let snap = Db::connect(&format!("sqlite://{}", staged.display())).await?;
    let objects = referenced(&snap).await;
    snap.pool.close().await;
    let objects = objects?;
    if objects.len() as u64 != manifest.objects {
        bail!(
            "the backup lists {} binaries but its database refers to {}",
            manifest.objects,
            objects.len()
        );
    }
    let from = Storage::from_url(&format!("file://{}", src.join(BLOBS).display()))?;
    // Check everything before writing anything.
    let mut problems = Vec::new();
    for o in &objects {
        match crate::fsck::digest(&from, &o.key).await? {
            None => problems.push(format!("{} is missing from the backup", o.key)),
            Some((n, h)) if n != o.size || h != o.sha256 => {
                problems.push(format!("{} is damaged in the backup", o.key))
            }
            Some(_) => {}
        }
    }
    if !problems.is_empty() {
        bail!("the backup is not intact:\n  {}", problems.join("\n  "));
    }
    let to = Storage::from_url(&config.storage)?;
    for o in &objects {
        copy_checked(&from, &to, o).await?;
    }
    // A backup from an older version is brought up to this one's schema.
    let db = Db::connect(&format!("sqlite://{}", staged.display())).await?;
    let migrated = db.migrate().await;
    db.pool.close().await;
    migrated
}
