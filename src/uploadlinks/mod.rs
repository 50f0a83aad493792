//! Upload links (SPEC §1 "Upload link"): a secret URL `/u/{token}` through which someone without
//! an account sends files into one folder until the link expires, within optional file and byte
//! quotas, behind an optional password. Everything arrives `in_review`; senders never see each
//! other's files (the page lists only what this browser's sender delivered, `sender`). The link
//! can carry a brief with reference files, required metadata fields and delivery slots
//! (`slots`); its owner is told when files arrive and when every slot is filled (`notices`).
pub mod actions;
pub mod api;
pub mod notices;
pub mod options;
pub mod pages;
pub mod quota;
pub mod revisions;
pub mod seal;
pub mod sender;
pub mod slots;
pub mod tus;
pub mod visit;

use crate::clock;
use crate::db::{Columns, Db, Param};
use crate::error::AppError;
use crate::links::IpAllow;
pub use options::{NewUploadLink, UploadLinkOptions};

/// The metadata fields a link may require of senders.
pub const FIELDS: [&str; 3] = ["title", "description", "keywords"];

#[derive(Clone, Debug)]
pub struct UploadLink {
    pub id: crate::ids::UploadLinkId,
    pub folder_id: crate::ids::FolderId,
    pub title: String,
    pub brief: String,
    pub password_hash: Option<String>,
    pub max_files: Option<i64>,
    pub max_bytes: Option<i64>,
    pub files: i64,
    pub bytes: i64,
    pub required: String,
    pub unlock_epoch: i64,
    pub notified_at: Option<i64>,
    pub created_by: Option<String>,
    pub created_at: i64,
    pub expires_at: i64,
    pub revoked_at: Option<i64>,
    /// Networks senders may use the link from (empty: anywhere).
    pub ip_allow: IpAllow,
}

const COLS: &str = "id, folder_id, title, brief, password_hash, max_files, max_bytes, files, \
    bytes, required_fields, unlock_epoch, notified_at, created_by, created_at, expires_at, \
    revoked_at, ip_allow";

fn from_row<R: Columns + ?Sized>(r: &R) -> Result<UploadLink, sqlx::Error> {
    Ok(UploadLink {
        id: r.text("id")?.into(),
        folder_id: r.text("folder_id")?.into(),
        title: r.text("title")?,
        brief: r.text("brief")?,
        password_hash: r.opt_text("password_hash")?,
        max_files: r.opt_int("max_files")?,
        max_bytes: r.opt_int("max_bytes")?,
        files: r.int("files")?,
        bytes: r.int("bytes")?,
        required: r.text("required_fields")?,
        unlock_epoch: r.int("unlock_epoch")?,
        notified_at: r.opt_int("notified_at")?,
        created_by: r.opt_text("created_by")?,
        created_at: r.int("created_at")?,
        expires_at: r.int("expires_at")?,
        revoked_at: r.opt_int("revoked_at")?,
        ip_allow: IpAllow::from_column(&r.text("ip_allow")?)?,
    })
}

impl UploadLink {
    /// "active", "expired", "revoked" or "full" (its file quota is used up).
    pub fn state(&self, now: i64) -> &'static str {
        if self.revoked_at.is_some() {
            "revoked"
        } else if self.expires_at <= now {
            "expired"
        } else if self.max_files.is_some_and(|m| self.files >= m) {
            "full"
        } else {
            "active"
        }
    }

    pub fn bytes_left(&self) -> Option<i64> {
        self.max_bytes.map(|m| m - self.bytes)
    }

    pub fn files_left(&self) -> Option<i64> {
        self.max_files.map(|m| m - self.files)
    }

    pub fn required_fields(&self) -> impl Iterator<Item = &str> {
        self.required.split(',').filter(|f| FIELDS.contains(f))
    }

    pub fn requires(&self, field: &str) -> bool {
        self.required_fields().any(|f| f == field)
    }

    pub fn to_json(&self, now: i64, url: Option<&str>) -> serde_json::Value {
        serde_json::json!({
            "id": self.id, "folder_id": self.folder_id, "title": self.title, "brief": self.brief,
            "url": url, "state": self.state(now), "has_password": self.password_hash.is_some(),
            "max_files": self.max_files, "max_bytes": self.max_bytes,
            "files": self.files, "bytes": self.bytes,
            "required_fields": self.required_fields().collect::<Vec<_>>(),
            "created_by": self.created_by, "created_at": clock::rfc3339(self.created_at),
            "expires_at": clock::rfc3339(self.expires_at),
            "revoked_at": self.revoked_at.map(clock::rfc3339),
            "ip_allow": self.ip_allow.strings(),
        })
    }
}

/// A new upload-link token: 256 bits from the OS RNG, URL-safe.
pub fn new_token() -> String {
    crate::token::new_token("u")
}

pub fn url(public_url: &str, token: &str) -> String {
    format!("{public_url}/u/{token}")
}

/// The link behind a token, whatever its state (compared by hash, then in constant time).
pub async fn by_token(db: &Db, token: &str) -> Result<Option<UploadLink>, sqlx::Error> {
    if token.len() > 100 {
        return Ok(None);
    }
    let hash = crate::token::hash_token(token);
    let sql = format!("SELECT {COLS}, token_hash FROM upload_links WHERE token_hash = $1");
    let found = db
        .read_optional(&sql, &[Param::Text(&hash)], |r| {
            Ok((r.text("token_hash")?, from_row(r)?))
        })
        .await?;
    Ok(found.and_then(|(stored, l)| crate::token::secret_eq(&stored, &hash).then_some(l)))
}

pub async fn get(db: &Db, id: &str) -> Result<UploadLink, AppError> {
    let sql = format!("SELECT {COLS} FROM upload_links WHERE id = $1");
    db.read_optional(&sql, &[Param::Text(id)], |r| from_row(r))
        .await?
        .ok_or(AppError::NotFound)
}

/// Newest first.
pub async fn list(db: &Db, limit: i64) -> Result<Vec<UploadLink>, sqlx::Error> {
    sqlx::query(&format!(
        "SELECT {COLS} FROM upload_links ORDER BY created_at DESC, id DESC LIMIT $1"
    ))
    .bind(limit)
    .fetch_all(&db.pool)
    .await?
    .iter()
    .map(from_row)
    .collect()
}

/// The links `user_id` made that still work (not revoked, not expired), newest first.
pub async fn live_of(
    db: &Db,
    user_id: &str,
    now: i64,
    limit: i64,
) -> Result<Vec<UploadLink>, sqlx::Error> {
    sqlx::query(&format!(
        "SELECT {COLS} FROM upload_links WHERE created_by = $1 AND revoked_at IS NULL \
         AND expires_at > $2 ORDER BY created_at DESC, id DESC LIMIT $3"
    ))
    .bind(user_id)
    .bind(now)
    .bind(limit)
    .fetch_all(&db.pool)
    .await?
    .iter()
    .map(from_row)
    .collect()
}

/// Stores a checked link; returns it and its token (shown once). Called by
/// `actions::create_upload_link`, which records the event.
pub async fn create(
    db: &Db,
    secret: &str,
    creator: &str,
    new: NewUploadLink,
) -> Result<(UploadLink, String), AppError> {
    let password_hash = match new.password {
        Some(p) => Some(p.hash().await?),
        None => None,
    };
    let id = crate::db::new_id();
    let token = new_token();
    let now = db.clock.now_ms();
    let mut tx = db.pool.begin().await?;
    sqlx::query(
        "INSERT INTO upload_links (id, token_hash, folder_id, title, brief, password_hash, \
         max_files, max_bytes, required_fields, created_by, created_at, expires_at, ip_allow, \
         token_sealed) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
    )
    .bind(&id)
    .bind(crate::token::hash_token(&token))
    .bind(&new.folder_id)
    .bind(&new.title)
    .bind(&new.brief)
    .bind(&password_hash)
    .bind(new.max_files)
    .bind(new.max_bytes)
    .bind(new.required.join(","))
    .bind(creator)
    .bind(now)
    .bind(new.expires_at)
    .bind(new.ip_allow.to_column())
    .bind(seal::seal(secret, &id, &token))
    .execute(&mut *tx)
    .await?;
    slots::insert(&mut tx, &id, &new.slots).await?;
    for (i, asset_id) in new.reference_ids.iter().enumerate() {
        sqlx::query(
            "INSERT INTO upload_link_refs (upload_link_id, asset_id, position) VALUES ($1, $2, $3) \
             ON CONFLICT DO NOTHING",
        )
        .bind(&id)
        .bind(asset_id)
        .bind(i as i64)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok((get(db, &id).await?, token))
}

/// The link's address again (for a mail sent later), if its token was sealed at creation
/// (`seal`); links made before that have none.
pub async fn address(
    db: &Db,
    secret: &str,
    public_url: &str,
    id: &str,
) -> Result<Option<String>, sqlx::Error> {
    use sqlx::Row;
    let row = sqlx::query("SELECT token_hash, token_sealed FROM upload_links WHERE id = $1")
        .bind(id)
        .fetch_optional(&db.pool)
        .await?;
    Ok(row.and_then(|r| {
        let hash: String = r.try_get("token_hash").ok()?;
        let sealed: String = r.try_get("token_sealed").ok()?;
        seal::open(secret, id, &sealed, &hash).map(|t| url(public_url, &t))
    }))
}

pub async fn revoke(db: &Db, id: &str, now: i64) -> Result<bool, sqlx::Error> {
    Ok(
        sqlx::query("UPDATE upload_links SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL")
            .bind(id)
            .bind(now)
            .execute(&db.pool)
            .await?
            .rows_affected()
            == 1,
    )
}

pub async fn extend(db: &Db, id: &str, expires_at: i64) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE upload_links SET expires_at = $2 WHERE id = $1")
        .bind(id)
        .bind(expires_at)
        .execute(&db.pool)
        .await?;
    Ok(())
}

/// The brief's reference files it serves now: published ones only, by the rule share links
/// follow (`access::upload_link_refs`), so an embargoed or expired reference is not served.
pub async fn references(
    db: &Db,
    link: &UploadLink,
) -> Result<Vec<crate::library::assets::AssetView>, sqlx::Error> {
    crate::access::upload_link_refs(db, &link.id, db.clock.now_ms()).await
}

/// Marks that the owner is being told about new files, at most once per `every_ms`; true if
/// this caller should send the mail (one conditional UPDATE, so one instance wins).
pub async fn claim_notification(
    db: &Db,
    link: &UploadLink,
    now: i64,
    every_ms: i64,
) -> Result<bool, sqlx::Error> {
    Ok(sqlx::query(
        "UPDATE upload_links SET notified_at = $2 WHERE id = $1 \
         AND (notified_at IS NULL OR notified_at <= $3)",
    )
    .bind(&link.id)
    .bind(now)
    .bind(now - every_ms)
    .execute(&db.pool)
    .await?
    .rows_affected()
        == 1)
}
