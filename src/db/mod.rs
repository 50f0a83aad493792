//! The database: one query layer over sqlx's `Any` driver, chosen by URL at start-up.
//!
//! Queries are plain SQL written once with `$1` placeholders (SQLite accepts them too) and only
//! portable types (TEXT, BIGINT; booleans are 0/1 integers, times are Unix milliseconds). Each
//! dialect has its own migration folder kept at the same versions; see docs/architecture.md.
use std::borrow::Cow;

use anyhow::Context;
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::{AnyPool, Executor, Row};

pub mod local;
pub use local::{Columns, Param};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

/// Cheap to clone: a pool handle plus the dialect it talks.
#[derive(Clone, Debug)]
pub struct Db {
    pub pool: AnyPool,
    pub dialect: Dialect,
    /// Hot reads on the calling thread (SQLite files only); see `local`.
    pub local: Option<local::LocalReads>,
    /// The app's clock (`AppState::clock` is the same one), for queries that ask "now".
    pub clock: crate::clock::Clock,
}

/// Migrations, one entry per version: (version, description, SQLite SQL, PostgreSQL SQL).
/// Listing both files in one entry keeps the two folders at the same version by construction;
/// `tests/migrations.rs` checks that the folders hold exactly these files.
pub const MIGRATIONS: &[(i64, &str, &str, &str)] = &[
    (
        1,
        "init",
        include_str!("../../migrations/sqlite/0001_init.sql"),
        include_str!("../../migrations/postgres/0001_init.sql"),
    ),
    (
        2,
        "links",
        include_str!("../../migrations/sqlite/0002_links.sql"),
        include_str!("../../migrations/postgres/0002_links.sql"),
    ),
    (
        3,
        "version_crc",
        include_str!("../../migrations/sqlite/0003_version_crc.sql"),
        include_str!("../../migrations/postgres/0003_version_crc.sql"),
    ),
    (
        4,
        "checkout",
        include_str!("../../migrations/sqlite/0004_checkout.sql"),
        include_str!("../../migrations/postgres/0004_checkout.sql"),
    ),
    (
        5,
        "upload_links",
        include_str!("../../migrations/sqlite/0005_upload_links.sql"),
        include_str!("../../migrations/postgres/0005_upload_links.sql"),
    ),
    (
        6,
        "tus",
        include_str!("../../migrations/sqlite/0006_tus.sql"),
        include_str!("../../migrations/postgres/0006_tus.sql"),
    ),
    (
        7,
        "library_generation",
        include_str!("../../migrations/sqlite/0007_library_generation.sql"),
        include_str!("../../migrations/postgres/0007_library_generation.sql"),
    ),
    (
        8,
        "jobs_renditions",
        include_str!("../../migrations/sqlite/0008_jobs_renditions.sql"),
        include_str!("../../migrations/postgres/0008_jobs_renditions.sql"),
    ),
    (
        9,
        "search",
        include_str!("../../migrations/sqlite/0009_search.sql"),
        include_str!("../../migrations/postgres/0009_search.sql"),
    ),
    (
        10,
        "collections",
        include_str!("../../migrations/sqlite/0010_collections.sql"),
        include_str!("../../migrations/postgres/0010_collections.sql"),
    ),
    (
        11,
        "password resets",
        include_str!("../../migrations/sqlite/0011_password_resets.sql"),
        include_str!("../../migrations/postgres/0011_password_resets.sql"),
    ),
    (
        12,
        "email digests",
        include_str!("../../migrations/sqlite/0012_digests.sql"),
        include_str!("../../migrations/postgres/0012_digests.sql"),
    ),
    (
        13,
        "link ip_allow",
        include_str!("../../migrations/sqlite/0013_link_ip_allow.sql"),
        include_str!("../../migrations/postgres/0013_link_ip_allow.sql"),
    ),
    (
        14,
        "receipts",
        include_str!("../../migrations/sqlite/0014_receipts.sql"),
        include_str!("../../migrations/postgres/0014_receipts.sql"),
    ),
    (
        15,
        "webhooks",
        include_str!("../../migrations/sqlite/0015_webhooks.sql"),
        include_str!("../../migrations/postgres/0015_webhooks.sql"),
    ),
    (
        16,
        "requests",
        include_str!("../../migrations/sqlite/0016_requests.sql"),
        include_str!("../../migrations/postgres/0016_requests.sql"),
    ),
    (
        17,
        "upload link slots",
        include_str!("../../migrations/sqlite/0017_upload_slots.sql"),
        include_str!("../../migrations/postgres/0017_upload_slots.sql"),
    ),
    (
        18,
        "invitations",
        include_str!("../../migrations/sqlite/0018_invitations.sql"),
        include_str!("../../migrations/postgres/0018_invitations.sql"),
    ),
    (
        19,
        "single sign-on",
        include_str!("../../migrations/sqlite/0019_sso.sql"),
        include_str!("../../migrations/postgres/0019_sso.sql"),
    ),
    (
        20,
        "link addresses kept sealed",
        include_str!("../../migrations/sqlite/0020_link_addresses.sql"),
        include_str!("../../migrations/postgres/0020_link_addresses.sql"),
    ),
    (
        21,
        "download presets",
        include_str!("../../migrations/sqlite/0021_presets.sql"),
        include_str!("../../migrations/postgres/0021_presets.sql"),
    ),
    (
        22,
        "search words for typo correction",
        include_str!("../../migrations/sqlite/0022_search_words.sql"),
        include_str!("../../migrations/postgres/0022_search_words.sql"),
    ),
    (
        23,
        "review outcomes mailed in batches",
        include_str!("../../migrations/sqlite/0023_review_outcomes.sql"),
        include_str!("../../migrations/postgres/0023_review_outcomes.sql"),
    ),
    (
        24,
        "share links limit their presets",
        include_str!("../../migrations/sqlite/0024_link_presets.sql"),
        include_str!("../../migrations/postgres/0024_link_presets.sql"),
    ),
    (
        25,
        "featured collections",
        include_str!("../../migrations/sqlite/0025_featured_collections.sql"),
        include_str!("../../migrations/postgres/0025_featured_collections.sql"),
    ),
    (
        26,
        "transparent versions",
        include_str!("../../migrations/sqlite/0026_transparent_versions.sql"),
        include_str!("../../migrations/postgres/0026_transparent_versions.sql"),
    ),
    (
        27,
        "link cover",
        include_str!("../../migrations/sqlite/0027_link_cover.sql"),
        include_str!("../../migrations/postgres/0027_link_cover.sql"),
    ),
    (
        28,
        "user time zones",
        include_str!("../../migrations/sqlite/0028_user_time_zones.sql"),
        include_str!("../../migrations/postgres/0028_user_time_zones.sql"),
    ),
];

impl Db {
    /// Reads that fell back from the local SQLite path to sqlx (always 0 without one); shared
    /// with /metrics as `assetport_db_local_read_fallbacks_total`.
    pub fn local_fallbacks(&self) -> prometheus_client::metrics::counter::Counter {
        self.local
            .as_ref()
            .map(local::LocalReads::fallbacks)
            .unwrap_or_default()
    }

    /// The same database with every read through sqlx: for tests that compare the two paths.
    pub fn without_local_reads(&self) -> Db {
        Db {
            local: None,
            ..self.clone()
        }
    }

    pub async fn connect(url: &str) -> anyhow::Result<Db> {
        Db::connect_pool(url, None).await
    }

    /// `connect` with at most `max` connections (`ASSETPORT_DB_POOL`) instead of the default.
    pub async fn connect_pool(url: &str, max: Option<u32>) -> anyhow::Result<Db> {
        sqlx::any::install_default_drivers();
        let mut local = None;
        let (dialect, url) = if let Some(rest) = url.strip_prefix("sqlite:") {
            let path = rest.trim_start_matches("//");
            let file = path.split('?').next().unwrap_or(path);
            if !file.is_empty() && !file.contains(":memory:") && !url.contains("mode=memory") {
                local = Some(local::LocalReads::new(std::path::Path::new(file)));
            }
            if let Some(parent) = std::path::Path::new(file).parent() {
                if !parent.as_os_str().is_empty() {
                    std::fs::create_dir_all(parent)
                        .with_context(|| format!("creating {}", parent.display()))?;
                }
            }
            let url = if url.contains("mode=") {
                url.to_string()
            } else if url.contains('?') {
                format!("{url}&mode=rwc")
            } else {
                format!("{url}?mode=rwc")
            };
            (Dialect::Sqlite, url)
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            (Dialect::Postgres, url.to_string())
        } else {
            anyhow::bail!("ASSETPORT_DATABASE_URL must start with sqlite:// or postgres://");
        };
        let max = max.unwrap_or(match dialect {
            Dialect::Sqlite => 8,
            Dialect::Postgres => 10,
        });
        let pool = AnyPoolOptions::new()
            .max_connections(max)
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    if dialect == Dialect::Sqlite {
                        // WAL lets readers run beside the one writer; NORMAL sync is durable
                        // against process crashes (kill -9), which is what we promise.
                        conn.execute(
                            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; \
                             PRAGMA foreign_keys=ON; PRAGMA busy_timeout=15000;",
                        )
                        .await?;
                    }
                    Ok(())
                })
            })
            .connect(&url)
            .await
            .context("connecting to the database")?;
        Ok(Db {
            pool,
            dialect,
            local,
            clock: crate::clock::Clock::system(),
        })
    }

    /// Applies pending migrations of this dialect.
    pub async fn migrate(&self) -> anyhow::Result<()> {
        let migrations: Vec<Migration> = MIGRATIONS
            .iter()
            .map(|(version, desc, sqlite, pg)| {
                let sql = match self.dialect {
                    Dialect::Sqlite => sqlite,
                    Dialect::Postgres => pg,
                };
                Migration::new(
                    *version,
                    Cow::Borrowed(*desc),
                    MigrationType::Simple,
                    Cow::Borrowed(*sql),
                    false,
                )
            })
            .collect();
        let migrator = Migrator {
            migrations: Cow::Owned(migrations),
            ignore_missing: false,
            locking: true,
            no_tx: false,
        };
        migrator
            .run(&self.pool)
            .await
            .context("running migrations")?;
        Ok(())
    }

    /// Readiness: a trivial round trip.
    pub async fn ping(&self) -> Result<(), sqlx::Error> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map(|_| ())
    }
}

/// A new opaque id: UUIDv7 as 32 hex digits (time-ordered, so ids double as a paging cursor).
pub fn new_id() -> String {
    uuid::Uuid::now_v7().simple().to_string()
}

/// Reads a 0/1 integer column as a bool.
pub fn flag(row: &AnyRow, col: &str) -> Result<bool, sqlx::Error> {
    Ok(row.try_get::<i64, _>(col)? != 0)
}

/// Key/value settings (setup token hash, later branding).
pub async fn get_setting(db: &Db, key: &str) -> Result<Option<String>, sqlx::Error> {
    sqlx::query("SELECT value FROM settings WHERE key = $1")
        .bind(key)
        .fetch_optional(&db.pool)
        .await?
        .map(|r| r.try_get::<String, _>("value"))
        .transpose()
}

pub async fn set_setting(db: &Db, key: &str, value: &str) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO settings (key, value) VALUES ($1, $2) \
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    )
    .bind(key)
    .bind(value)
    .execute(&db.pool)
    .await?;
    Ok(())
}

pub async fn delete_setting(db: &Db, key: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM settings WHERE key = $1")
        .bind(key)
        .execute(&db.pool)
        .await?;
    Ok(())
}
