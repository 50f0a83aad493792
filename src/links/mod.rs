//! Share links (SPEC §1 "Share link", §2.4–2.5): secret URLs `/s/{token}` to a set of assets or
//! a live folder, with expiry, optional password, one-time code, licence terms and a download
//! limit. The token is shown once; only its hash is stored. What a link may show is decided in
//! `access`, at request time, like everything else.
pub mod actions;
pub mod api;
pub mod create;
pub mod gallery;
pub mod options;
pub mod ownership;
pub mod pages;
pub mod unlock;
pub mod visit;

use serde_json::json;
use sqlx::Row;

use crate::clock;
use crate::db::{Columns, Db, Param};
use crate::error::AppError;
pub use options::{Changes, IpAllow, LinkOptions, LinkPassword};

/// What a link points at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    Assets,
    Folder(String),
    /// A collection, live: what is in it at each request.
    Collection(String),
}

#[derive(Clone, Debug)]
pub struct Link {
    pub id: crate::ids::LinkId,
    pub share_id: String,
    pub target: Target,
    pub title: String,
    pub message: String,
    pub terms: String,
    pub password_hash: Option<String>,
    pub allow_original: bool,
    pub max_downloads: Option<i64>,
    pub downloads: i64,
    pub require_code: bool,
    /// A per-recipient link whose one-time code goes only to its recipient: a forwarded copy
    /// asks the new visitor to request their own access (`requests`).
    pub bind_recipient: bool,
    pub recipient: Option<String>,
    pub recipients: Vec<String>,
    pub unlock_epoch: i64,
    pub created_by: Option<String>,
    pub created_at: i64,
    pub expires_at: i64,
    pub revoked_at: Option<i64>,
    /// Networks the link may be opened from (empty: anywhere).
    pub ip_allow: IpAllow,
    /// The download presets it offers (`delivery` refuses the others).
    pub presets: crate::renditions::presets::PresetSet,
    /// The creator's name, read with the link where a page shows it (`by_token`); else `None`.
    pub creator_name: Option<String>,
    /// The picture its page shows large, when the admin picked one (else the first picture).
    pub cover_asset_id: Option<String>,
}

/// A link's state at a moment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    Active,
    Expired,
    Revoked,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Active => "active",
            State::Expired => "expired",
            State::Revoked => "revoked",
        }
    }
}

const COLS: &str =
    "id, share_id, target_kind, folder_id, collection_id, title, message, terms, password_hash, \
    allow_original, max_downloads, downloads, require_code, recipient, recipients, unlock_epoch, \
    created_by, created_at, expires_at, revoked_at, ip_allow, bind_recipient, presets, \
    cover_asset_id";

fn from_row<R: Columns + ?Sized>(r: &R) -> Result<Link, sqlx::Error> {
    let target = match r.text("target_kind")?.as_str() {
        "folder" => Target::Folder(r.opt_text("folder_id")?.unwrap_or_default()),
        // A deleted collection leaves its links showing nothing.
        "collection" => Target::Collection(r.opt_text("collection_id")?.unwrap_or_default()),
        _ => Target::Assets,
    };
    Ok(Link {
        id: r.text("id")?.into(),
        share_id: r.text("share_id")?,
        target,
        title: r.text("title")?,
        message: r.text("message")?,
        terms: r.text("terms")?,
        password_hash: r.opt_text("password_hash")?,
        allow_original: r.flag("allow_original")?,
        max_downloads: r.opt_int("max_downloads")?,
        downloads: r.int("downloads")?,
        require_code: r.flag("require_code")?,
        bind_recipient: r.flag("bind_recipient")?,
        recipient: r.opt_text("recipient")?,
        recipients: r
            .text("recipients")?
            .split(',')
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect(),
        unlock_epoch: r.int("unlock_epoch")?,
        created_by: r.opt_text("created_by")?,
        created_at: r.int("created_at")?,
        expires_at: r.int("expires_at")?,
        revoked_at: r.opt_int("revoked_at")?,
        ip_allow: IpAllow::from_column(&r.text("ip_allow")?)?,
        presets: crate::renditions::presets::PresetSet::from_column(&r.text("presets")?),
        creator_name: None,
        cover_asset_id: Some(r.text("cover_asset_id")?).filter(|c| !c.is_empty()),
    })
}

impl Link {
    /// Whether the admin picked `asset_id` as the cover (templates).
    pub fn is_cover(&self, asset_id: &str) -> bool {
        self.cover_asset_id.as_deref() == Some(asset_id)
    }

    pub fn state(&self, now: i64) -> State {
        if self.revoked_at.is_some() {
            State::Revoked
        } else if self.expires_at <= now {
            State::Expired
        } else {
            State::Active
        }
    }

    pub fn downloads_left(&self) -> Option<i64> {
        self.max_downloads.map(|m| (m - self.downloads).max(0))
    }

    pub fn to_json(&self, now: i64, asset_count: Option<i64>) -> serde_json::Value {
        let (kind, folder, collection) = match &self.target {
            Target::Assets => ("assets", None, None),
            Target::Folder(f) => ("folder", Some(f.clone()), None),
            Target::Collection(c) => ("collection", None, Some(c.clone())),
        };
        json!({
            "id": self.id, "share_id": self.share_id, "target": kind, "folder_id": folder, "collection_id": collection,
            "asset_count": asset_count,
            "title": self.title, "message": self.message, "terms": self.terms,
            "has_password": self.password_hash.is_some(), "allow_original": self.allow_original,
            "max_downloads": self.max_downloads, "downloads": self.downloads,
            "require_code": self.require_code, "bind_recipient": self.bind_recipient,
            "recipient": self.recipient,
            "recipients": self.recipients, "state": self.state(now).as_str(),
            "created_by": self.created_by, "created_at": clock::rfc3339(self.created_at),
            "expires_at": clock::rfc3339(self.expires_at),
            "revoked_at": self.revoked_at.map(clock::rfc3339),
            "ip_allow": self.ip_allow.strings(),
            "presets": self.presets.names(),
            "cover_asset_id": self.cover_asset_id,
        })
    }
}

/// A new link token: 256 bits from the OS RNG, URL-safe.
pub fn new_token() -> String {
    crate::token::new_token("s")
}

/// The URL a visitor opens.
pub fn url(public_url: &str, token: &str) -> String {
    format!("{public_url}/s/{token}")
}

/// The link behind a token, whatever its state. Looking up by the token's hash means the
/// database compares hashes, never the secret; the final check is constant-time anyway.
/// Also returns the library generation read in the same statement (see `gallery`), so a link
/// page needs one query before its cached gallery, not two.
pub async fn by_token(db: &Db, token: &str) -> Result<Option<(Link, i64)>, sqlx::Error> {
    if token.len() > 100 {
        return Ok(None);
    }
    let hash = crate::token::hash_token(token);
    let sql = format!(
        "SELECT {COLS}, token_hash, \
         (SELECT n FROM library_generation WHERE id = 1) AS library_generation, \
         (SELECT name FROM users WHERE users.id = links.created_by) AS creator_name \
         FROM links WHERE token_hash = $1"
    );
    let found = db
        .read_optional(&sql, &[Param::Text(&hash)], |r| {
            let mut link = from_row(r)?;
            // The share page names who shared it: read in the same statement.
            link.creator_name = r.opt_text("creator_name")?;
            Ok((r.text("token_hash")?, link, r.int("library_generation")?))
        })
        .await?;
    Ok(found.and_then(|(stored, link, generation)| {
        crate::token::secret_eq(&stored, &hash).then_some((link, generation))
    }))
}

pub async fn get(db: &Db, id: &str) -> Result<Link, AppError> {
    let row = sqlx::query(&format!("SELECT {COLS} FROM links WHERE id = $1"))
        .bind(id)
        .fetch_optional(&db.pool)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(from_row(&row)?)
}

/// Filters of the admin list.
#[derive(Debug, Default)]
pub struct Filter {
    pub state: Option<State>,
    /// "assets" or "folder".
    pub target: Option<String>,
    pub creator: Option<String>,
    /// Part of a recipient's address.
    pub recipient: Option<String>,
}

impl Filter {
    pub fn parse_state(s: &str) -> Result<Option<State>, AppError> {
        match s {
            "" | "all" => Ok(None),
            "active" => Ok(Some(State::Active)),
            "expired" => Ok(Some(State::Expired)),
            "revoked" => Ok(Some(State::Revoked)),
            _ => Err(AppError::BadRequest(
                "state must be active, expired or revoked".into(),
            )),
        }
    }
}

/// Links newest first, after `cursor` (`created_at:id` of the last one seen).
pub async fn list(
    db: &Db,
    filter: &Filter,
    cursor: Option<(i64, String)>,
    limit: i64,
    now: i64,
) -> Result<Vec<Link>, sqlx::Error> {
    let state = match filter.state {
        None => "1 = 1",
        Some(State::Active) => "revoked_at IS NULL AND expires_at > $2",
        Some(State::Expired) => "revoked_at IS NULL AND expires_at <= $2",
        Some(State::Revoked) => "revoked_at IS NOT NULL",
    };
    let (after_t, after_id) = cursor.unwrap_or((i64::MAX, String::new()));
    // Every parameter is referenced whatever the filters (`$n = $n`), so binding stays fixed.
    let sql = format!(
        "SELECT {COLS} FROM links WHERE {state} AND $2 = $2 \
         AND ($3 = '' OR target_kind = $3) AND ($4 = '' OR created_by = $4) \
         AND ($5 = '' OR lower(recipients) LIKE $6) \
         AND (created_at < $7 OR (created_at = $7 AND id < $8)) \
         ORDER BY created_at DESC, id DESC LIMIT $1"
    );
    let recipient = filter.recipient.clone().unwrap_or_default().to_lowercase();
    let like = format!("%{}%", recipient.replace(['%', '_'], ""));
    let rows = sqlx::query(&sql)
        .bind(limit)
        .bind(now)
        .bind(filter.target.clone().unwrap_or_default())
        .bind(filter.creator.clone().unwrap_or_default())
        .bind(recipient)
        .bind(like)
        .bind(after_t)
        .bind(if after_t == i64::MAX {
            "\u{10FFFF}".to_string()
        } else {
            after_id
        })
        .fetch_all(&db.pool)
        .await?;
    rows.iter().map(from_row).collect()
}

/// How many assets a share lists explicitly (None for folder links, which are live).
pub async fn asset_count(db: &Db, link: &Link) -> Result<Option<i64>, sqlx::Error> {
    if link.target != Target::Assets {
        return Ok(None);
    }
    let n: i64 = sqlx::query("SELECT COUNT(*) AS n FROM link_assets WHERE share_id = $1")
        .bind(&link.share_id)
        .fetch_one(&db.pool)
        .await?
        .try_get("n")?;
    Ok(Some(n))
}

/// Revokes; revoking twice is harmless. Returns whether the link exists.
pub async fn revoke(db: &Db, id: &str, now: i64) -> Result<bool, sqlx::Error> {
    let exists =
        sqlx::query("UPDATE links SET revoked_at = COALESCE(revoked_at, $1) WHERE id = $2")
            .bind(now)
            .bind(id)
            .execute(&db.pool)
            .await?
            .rows_affected();
    Ok(exists > 0)
}

/// Deletes links that expired or were revoked before `now`; their events stay in the audit log.
pub async fn purge_expired(db: &Db, now: i64) -> Result<u64, sqlx::Error> {
    let mut tx = db.pool.begin().await?;
    let n = sqlx::query("DELETE FROM links WHERE expires_at <= $1 OR revoked_at IS NOT NULL")
        .bind(now)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    sqlx::query("DELETE FROM link_assets WHERE share_id NOT IN (SELECT share_id FROM links)")
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(n)
}

/// The token kept sealed for `link_id`, so its page can show the address again.
pub fn seal_token(secret: &str, link_id: &str, token: &str) -> String {
    crate::sealed::seal(
        secret,
        crate::sealed::Purpose::ShareLinkToken,
        link_id,
        token,
    )
}

/// The link's address again, when its token was kept (links made before addresses were kept
/// have none) and still matches the hash lookups use.
pub async fn address(
    state: &crate::app::AppState,
    link_id: &str,
) -> Result<Option<String>, AppError> {
    let row = sqlx::query("SELECT token_hash, token_sealed FROM links WHERE id = $1")
        .bind(link_id)
        .fetch_optional(&state.db.pool)
        .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    use sqlx::Row;
    let hash: String = row.try_get("token_hash")?;
    let sealed: String = row.try_get("token_sealed")?;
    let purpose = crate::sealed::Purpose::ShareLinkToken;
    Ok(
        crate::sealed::open(state.secret.expose(), purpose, link_id, &sealed)
            .filter(|t| crate::token::secret_eq(&crate::token::hash_token(t), &hash))
            .map(|t| url(&state.config.public_url, &t)),
    )
}

/// A fresh token for an existing link: the old URL stops working at once, and unlock cookies
/// issued for it die with it. Returns the new token.
pub async fn rotate(db: &Db, secret: &str, id: &str) -> Result<String, AppError> {
    let token = new_token();
    let n = sqlx::query(
        "UPDATE links SET token_hash = $1, token_sealed = $3, unlock_epoch = unlock_epoch + 1 \
         WHERE id = $2 AND revoked_at IS NULL",
    )
    .bind(crate::token::hash_token(&token))
    .bind(id)
    .bind(seal_token(secret, id, &token))
    .execute(&db.pool)
    .await?
    .rows_affected();
    if n == 0 {
        get(db, id).await?;
        return Err(AppError::Conflict(
            "a revoked link cannot be rotated".into(),
        ));
    }
    Ok(token)
}

/// Takes one download from the link's allowance. Atomic in the database, so N concurrent
/// requests against a limit of N all pass and the N+1st fails, on any number of instances.
pub async fn take_download(db: &Db, link: &Link) -> Result<bool, sqlx::Error> {
    let n = sqlx::query(
        "UPDATE links SET downloads = downloads + 1 \
         WHERE id = $1 AND (max_downloads IS NULL OR downloads < max_downloads)",
    )
    .bind(&link.id)
    .execute(&db.pool)
    .await?
    .rows_affected();
    Ok(n == 1)
}

/// Gives back a download taken by `take_download` when no byte of it could be sent.
pub async fn give_back_download(db: &Db, link: &Link) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE links SET downloads = downloads - 1 WHERE id = $1 AND downloads > 0")
        .bind(&link.id)
        .execute(&db.pool)
        .await?;
    Ok(())
}

/// Applies checked changes; a new or removed password bumps the unlock epoch, which ends
/// every unlock cookie issued before.
pub async fn update(db: &Db, link: &Link, ch: Changes) -> Result<(), AppError> {
    let password_changed = ch.password.is_some();
    let password_hash = match ch.password {
        Some(Some(p)) => Some(p.hash().await?),
        Some(None) => None,
        None => link.password_hash.clone(),
    };
    let ip_allow = ch.ip_allow.as_ref().unwrap_or(&link.ip_allow).to_column();
    let presets = ch.presets.unwrap_or(link.presets).to_column();
    let cover = ch
        .cover_asset_id
        .unwrap_or_else(|| link.cover_asset_id.clone())
        .unwrap_or_default();
    sqlx::query(
        "UPDATE links SET expires_at = $1, password_hash = $2, max_downloads = $3, \
         allow_original = $4, title = $5, message = $6, terms = $7, \
         unlock_epoch = unlock_epoch + $8, ip_allow = $10, presets = $11, cover_asset_id = $12 \
         WHERE id = $9",
    )
    .bind(ch.expires_at.unwrap_or(link.expires_at))
    .bind(password_hash)
    .bind(ch.max_downloads.unwrap_or(link.max_downloads))
    .bind(i64::from(ch.allow_original.unwrap_or(link.allow_original)))
    .bind(ch.title.unwrap_or_else(|| link.title.clone()))
    .bind(ch.message.unwrap_or_else(|| link.message.clone()))
    .bind(ch.terms.unwrap_or_else(|| link.terms.clone()))
    .bind(i64::from(password_changed))
    .bind(&link.id)
    .bind(ip_allow)
    .bind(presets)
    .bind(cover)
    .execute(&db.pool)
    .await?;
    Ok(())
}

/// One line of a link's access log.
#[derive(Debug, serde::Serialize)]
pub struct Access {
    pub kind: String,
    pub asset_id: Option<String>,
    pub detail: String,
    pub ip: String,
    pub user_agent: String,
    pub created_at: i64,
}

/// A link's events, newest first: views, completed downloads, unlocks, failures.
pub async fn access_log(db: &Db, link_id: &str, limit: i64) -> Result<Vec<Access>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT kind, asset_id, detail, ip, user_agent, created_at FROM events \
         WHERE actor_link_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2",
    )
    .bind(link_id)
    .bind(limit)
    .fetch_all(&db.pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Access {
                kind: r.try_get("kind")?,
                asset_id: r.try_get("asset_id")?,
                detail: r.try_get("detail")?,
                ip: r.try_get::<Option<String>, _>("ip")?.unwrap_or_default(),
                user_agent: r
                    .try_get::<Option<String>, _>("user_agent")?
                    .unwrap_or_default(),
                created_at: r.try_get("created_at")?,
            })
        })
        .collect()
}
