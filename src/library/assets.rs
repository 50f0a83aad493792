//! Assets, their versions, and the lifecycle: draft / in_review → approved → archived → restored.
//! Partners only ever see the approved version; admins see the current one.
use crate::db::{Columns, Param};
use serde::Serialize;
use sqlx::Row;

use crate::clock;
use crate::db::Db;
use crate::error::AppError;
use crate::sanitize;

#[derive(Clone, Debug, Serialize)]
pub struct Asset {
    pub id: crate::ids::AssetId,
    pub folder_id: String,
    pub filename: String,
    pub status: String,
    pub title: String,
    pub description: String,
    pub keywords: Vec<String>,
    pub current_version_id: Option<String>,
    pub approved_version_id: Option<String>,
    pub available_from: Option<i64>,
    pub available_until: Option<i64>,
    pub checked_out_by: Option<String>,
    pub checked_out_at: Option<i64>,
    pub submitted_by: Option<String>,
    pub review_comment: String,
    pub created_at: i64,
    pub updated_at: i64,
    /// Sent through this upload link, by this name and email (no account behind it).
    pub upload_link_id: Option<String>,
    pub uploader_name: String,
    pub uploader_email: String,
    pub credit: String,
    pub usage_terms: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct Version {
    pub id: String,
    pub number: i64,
    pub blob_key: String,
    pub sha256: String,
    pub size: i64,
    pub media_type: String,
    pub filename: String,
    pub uploaded_by: Option<String>,
    pub comment: String,
    pub created_at: i64,
    /// CRC-32 of the bytes, when known (see migration 0003).
    pub crc32: Option<i64>,
    /// pending | ready | none | failed (see migration 0008).
    pub render_state: String,
    pub width: Option<i64>,
    pub height: Option<i64>,
    pub pages: Option<i64>,
    pub duration_ms: Option<i64>,
    /// What the file says about itself (`media::Extracted` as JSON), GPS included.
    pub extracted: String,
    /// The renderer found transparency: PNG and WebP presets are offered.
    pub transparent: bool,
}

impl Version {
    /// What serving this version's bytes needs.
    pub fn blob(&self) -> crate::http::download::Blob {
        crate::http::download::Blob {
            key: self.blob_key.clone(),
            size: self.size as u64,
            sha256: self.sha256.clone(),
            media_type: self.media_type.clone(),
            filename: self.filename.clone(),
            inline: false,
        }
    }
}

/// An asset as one caller sees it: with the version that caller is entitled to.
#[derive(Clone, Debug)]
pub struct AssetView {
    pub asset: Asset,
    pub version: Version,
}

/// Asset columns (`a`) and version columns (`v`, aliased) for one-row reads.
pub const COLS: &str =
    "a.id, a.folder_id, a.filename, a.status, a.title, a.description, a.keywords, \
    a.current_version_id, a.approved_version_id, a.available_from, a.available_until, \
    a.checked_out_by, a.checked_out_at, a.submitted_by, a.review_comment, a.created_at, a.updated_at, \
    a.upload_link_id, a.uploader_name, a.uploader_email, a.credit, a.usage_terms, \
    v.id AS v_id, v.number AS v_number, v.blob_key AS v_blob_key, v.sha256 AS v_sha256, \
    v.size AS v_size, v.media_type AS v_media_type, v.filename AS v_filename, \
    v.uploaded_by AS v_uploaded_by, v.comment AS v_comment, v.created_at AS v_created_at, \
    v.crc32 AS v_crc32, v.render_state AS v_render_state, v.width AS v_width, \
    v.height AS v_height, v.pages AS v_pages, v.duration_ms AS v_duration_ms, \
    v.extracted AS v_extracted, v.transparent AS v_transparent";

pub fn split_keywords(s: &str) -> Vec<String> {
    s.split(',')
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .map(str::to_string)
        .collect()
}

pub fn view_from_row<R: Columns + ?Sized>(r: &R) -> Result<AssetView, sqlx::Error> {
    Ok(AssetView {
        asset: Asset {
            id: r.text("id")?.into(),
            folder_id: r.text("folder_id")?,
            filename: r.text("filename")?,
            status: r.text("status")?,
            title: r.text("title")?,
            description: r.text("description")?,
            keywords: split_keywords(&r.text("keywords")?),
            current_version_id: r.opt_text("current_version_id")?,
            approved_version_id: r.opt_text("approved_version_id")?,
            available_from: r.opt_int("available_from")?,
            available_until: r.opt_int("available_until")?,
            checked_out_by: r.opt_text("checked_out_by")?,
            checked_out_at: r.opt_int("checked_out_at")?,
            submitted_by: r.opt_text("submitted_by")?,
            review_comment: r.text("review_comment")?,
            created_at: r.int("created_at")?,
            updated_at: r.int("updated_at")?,
            upload_link_id: r.opt_text("upload_link_id")?,
            uploader_name: r.text("uploader_name")?,
            uploader_email: r.text("uploader_email")?,
            credit: r.text("credit")?,
            usage_terms: r.text("usage_terms")?,
        },
        version: Version {
            id: r.text("v_id")?,
            number: r.int("v_number")?,
            blob_key: r.text("v_blob_key")?,
            sha256: r.text("v_sha256")?,
            size: r.int("v_size")?,
            media_type: r.text("v_media_type")?,
            filename: r.text("v_filename")?,
            uploaded_by: r.opt_text("v_uploaded_by")?,
            comment: r.text("v_comment")?,
            created_at: r.int("v_created_at")?,
            crc32: r.opt_int("v_crc32")?,
            render_state: r.text("v_render_state")?,
            width: r.opt_int("v_width")?,
            height: r.opt_int("v_height")?,
            pages: r.opt_int("v_pages")?,
            duration_ms: r.opt_int("v_duration_ms")?,
            extracted: r.text("v_extracted")?,
            transparent: r.int("v_transparent")? != 0,
        },
    })
}

/// Runs a query that selects `COLS` and maps every row.
pub async fn fetch_views<'q>(
    db: &Db,
    query: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
) -> Result<Vec<AssetView>, sqlx::Error> {
    query
        .fetch_all(&db.pool)
        .await?
        .iter()
        .map(view_from_row)
        .collect()
}

impl AssetView {
    /// What people call the asset: its title, or its file name when it has none.
    pub fn label(&self) -> &str {
        if self.asset.title.is_empty() {
            &self.asset.filename
        } else {
            &self.asset.title
        }
    }

    /// The API shape of SPEC §3. The review comment is for admins and the submitter only.
    pub fn to_json(&self, show_review: bool) -> serde_json::Value {
        let a = &self.asset;
        let v = &self.version;
        let mut j = serde_json::json!({
            "id": a.id, "folder_id": a.folder_id, "filename": v.filename, "status": a.status,
            "version": v.number, "title": a.title, "description": a.description,
            "keywords": a.keywords, "media_type": v.media_type, "size": v.size, "sha256": v.sha256,
            "available_from": a.available_from.map(clock::rfc3339),
            "available_until": a.available_until.map(clock::rfc3339),
            "checked_out_by": a.checked_out_by,
            "checked_out_at": a.checked_out_at.map(clock::rfc3339),
            "created_at": clock::rfc3339(a.created_at), "updated_at": clock::rfc3339(a.updated_at),
            "credit": a.credit, "usage_terms": a.usage_terms,
            "width": v.width, "height": v.height, "pages": v.pages, "duration_ms": v.duration_ms,
            "renditions": {
                "state": v.render_state,
                "thumb": format!("/api/v1/assets/{}/renditions/thumb", a.id),
                "preview": format!("/api/v1/assets/{}/renditions/preview", a.id),
            },
            "metadata": self.extracted(false),
            "presets": crate::renditions::presets::offers(
                crate::renditions::presets::Picture::of(v),
            )
            .iter()
            .map(|o| serde_json::json!({
                "name": o.name(), "label": o.label(),
                "url": format!("/api/v1/assets/{}/presets/{}", a.id, o.name()),
            }))
            .collect::<Vec<_>>(),
        });
        if show_review {
            j["review_comment"] = a.review_comment.clone().into();
            j["submitted_by"] = a.submitted_by.clone().into();
            j["pending_review"] = self.pending_review().into();
            if let Some(l) = &a.upload_link_id {
                j["upload_link_id"] = l.clone().into();
                j["uploader_name"] = a.uploader_name.clone().into();
                j["uploader_email"] = a.uploader_email.clone().into();
            }
        }
        j
    }

    /// The API shape for admins: also the GPS position the file carries.
    pub fn to_admin_json(&self) -> serde_json::Value {
        let mut j = self.to_json(true);
        j["metadata"] = self.extracted(true);
        j
    }

    /// What the file says about itself. The GPS position is for admins only (SPEC §1).
    pub fn extracted(&self, with_gps: bool) -> serde_json::Value {
        let mut j: serde_json::Value =
            serde_json::from_str(&self.version.extracted).unwrap_or_else(|_| serde_json::json!({}));
        if !with_gps {
            if let Some(o) = j.as_object_mut() {
                o.remove("gps");
            }
        }
        j
    }

    /// A checked-in version waits for review while partners keep the approved one.
    pub fn pending_review(&self) -> bool {
        self.asset.status == "approved"
            && self.asset.current_version_id != self.asset.approved_version_id
    }
}

/// The asset with its *current* version (what admins see), regardless of status.
pub async fn get_current(db: &Db, id: &str) -> Result<Option<AssetView>, sqlx::Error> {
    let sql = format!(
        "SELECT {COLS} FROM assets a JOIN asset_versions v ON v.id = a.current_version_id WHERE a.id = $1"
    );
    db.read_optional(&sql, &[Param::Text(id)], |r| view_from_row(r))
        .await
}

/// Published assets whose availability ends within `days` of `now`, soonest first (the
/// admin dashboard). Admins only, and about the window's end rather than visibility, so it
/// reads the columns itself instead of `access::published_clause`.
pub async fn expiring(
    db: &Db,
    now: i64,
    days: i64,
    limit: i64,
) -> Result<Vec<AssetView>, sqlx::Error> {
    let sql = format!(
        "SELECT {COLS} FROM assets a JOIN asset_versions v ON v.id = a.approved_version_id \
         WHERE a.status = 'approved' AND a.available_until > $1 AND a.available_until <= $2 \
         ORDER BY a.available_until, a.id LIMIT $3"
    );
    fetch_views(
        db,
        sqlx::query(&sql)
            .bind(now)
            .bind(now + days * 24 * 3600 * 1000)
            .bind(limit),
    )
    .await
}

/// The asset with its *approved* version, if it has one, whatever its status and window (for
/// admins' checks; what members and links get goes through `access`).
pub async fn get_approved(db: &Db, id: &str) -> Result<Option<AssetView>, sqlx::Error> {
    sqlx::query(&format!(
        "SELECT {COLS} FROM assets a JOIN asset_versions v ON v.id = a.approved_version_id WHERE a.id = $1"
    ))
    .bind(id)
    .fetch_optional(&db.pool)
    .await?
    .map(|r| view_from_row(&r))
    .transpose()
}

pub async fn versions(db: &Db, asset_id: &str) -> Result<Vec<Version>, sqlx::Error> {
    sqlx::query(
        "SELECT id AS v_id, number AS v_number, blob_key AS v_blob_key, sha256 AS v_sha256, \
         size AS v_size, media_type AS v_media_type, filename AS v_filename, \
         uploaded_by AS v_uploaded_by, comment AS v_comment, created_at AS v_created_at, \
         crc32 AS v_crc32, render_state AS v_render_state, width AS v_width, \
         height AS v_height, pages AS v_pages, duration_ms AS v_duration_ms, \
         extracted AS v_extracted, transparent AS v_transparent \
         FROM asset_versions WHERE asset_id = $1 ORDER BY number DESC",
    )
    .bind(asset_id)
    .fetch_all(&db.pool)
    .await?
    .iter()
    .map(|r| {
        Ok(Version {
            id: r.try_get("v_id")?,
            number: r.try_get("v_number")?,
            blob_key: r.try_get("v_blob_key")?,
            sha256: r.try_get("v_sha256")?,
            size: r.try_get("v_size")?,
            media_type: r.try_get("v_media_type")?,
            filename: r.try_get("v_filename")?,
            uploaded_by: r.try_get("v_uploaded_by")?,
            comment: r.try_get("v_comment")?,
            created_at: r.try_get("v_created_at")?,
            crc32: r.try_get("v_crc32")?,
            render_state: r.try_get("v_render_state")?,
            width: r.try_get("v_width")?,
            height: r.try_get("v_height")?,
            pages: r.try_get("v_pages")?,
            duration_ms: r.try_get("v_duration_ms")?,
            extracted: r.try_get("v_extracted")?,
            transparent: r.try_get::<i64, _>("v_transparent")? != 0,
        })
    })
    .collect()
}

/// Moves an asset to `status` if it is currently in one of `from`; one conditional UPDATE, so
/// two admins acting at once cannot both succeed.
async fn transition(
    db: &Db,
    id: &str,
    from: &[&str],
    set: &str,
    extra_bind: Option<&str>,
) -> Result<bool, sqlx::Error> {
    let list = from
        .iter()
        .map(|s| format!("'{s}'"))
        .collect::<Vec<_>>()
        .join(", ");
    let sql =
        format!("UPDATE assets SET {set}, updated_at = $2 WHERE id = $1 AND status IN ({list})");
    let mut q = sqlx::query(&sql).bind(id).bind(db.clock.now_ms());
    if let Some(x) = extra_bind {
        q = q.bind(x);
    }
    Ok(q.execute(&db.pool).await?.rows_affected() == 1)
}

async fn status_of(db: &Db, id: &str) -> Result<String, AppError> {
    Ok(sqlx::query("SELECT status FROM assets WHERE id = $1")
        .bind(id)
        .fetch_optional(&db.pool)
        .await?
        .ok_or(AppError::NotFound)?
        .try_get("status")?)
}

/// Approves the current version: it becomes what partners see.
pub async fn approve(db: &Db, id: &str) -> Result<(), AppError> {
    // Also an approved asset whose checked-in version waits for review.
    let done = sqlx::query(
        "UPDATE assets SET status = 'approved', approved_version_id = current_version_id, \
         review_comment = '', updated_at = $2 WHERE id = $1 AND (status IN ('draft', 'in_review', 'rejected') \
         OR (status = 'approved' AND current_version_id <> approved_version_id))",
    )
    .bind(id)
    .bind(db.clock.now_ms())
    .execute(&db.pool)
    .await?;
    if done.rows_affected() == 1 {
        return Ok(());
    }
    Err(match status_of(db, id).await?.as_str() {
        "approved" => AppError::Conflict("the asset is already approved".into()),
        "archived" => AppError::Conflict("restore the asset before approving it".into()),
        s => AppError::Conflict(format!("an asset in status '{s}' cannot be approved")),
    })
}

pub async fn reject(db: &Db, id: &str, comment: &str) -> Result<(), AppError> {
    let comment = comment.trim();
    if comment.is_empty() || comment.chars().count() > 5000 {
        return Err(AppError::BadRequest(
            "a comment of 1 to 5000 characters explains the rejection".into(),
        ));
    }
    let ok = transition(
        db,
        id,
        &["draft", "in_review"],
        "status = 'rejected', review_comment = $3",
        Some(comment),
    )
    .await?;
    // A checked-in version is turned down: partners keep the approved version, which becomes
    // current again; the rejected one stays in the timeline with the comment on the asset.
    let pending = !ok
        && sqlx::query(
            "UPDATE assets SET current_version_id = approved_version_id, review_comment = $3, \
             updated_at = $2 WHERE id = $1 AND status = 'approved' \
             AND current_version_id <> approved_version_id",
        )
        .bind(id)
        .bind(db.clock.now_ms())
        .bind(comment)
        .execute(&db.pool)
        .await?
        .rows_affected()
            == 1;
    if ok || pending {
        Ok(())
    } else {
        let s = status_of(db, id).await?;
        Err(AppError::Conflict(format!(
            "an asset in status '{s}' cannot be rejected"
        )))
    }
}

pub async fn archive(db: &Db, id: &str) -> Result<(), AppError> {
    let ok = transition(
        db,
        id,
        &["draft", "in_review", "approved", "rejected"],
        "status = 'archived'",
        None,
    )
    .await?;
    if ok {
        Ok(())
    } else {
        status_of(db, id).await?;
        Err(AppError::Conflict("the asset is already archived".into()))
    }
}

/// Restores an archived asset to what it was: approved if it had an approved version.
pub async fn restore(db: &Db, id: &str) -> Result<(), AppError> {
    let ok = transition(
        db,
        id,
        &["archived"],
        "status = CASE WHEN approved_version_id IS NULL THEN 'draft' ELSE 'approved' END",
        None,
    )
    .await?;
    if ok {
        Ok(())
    } else {
        status_of(db, id).await?;
        Err(AppError::Conflict(
            "only archived assets can be restored".into(),
        ))
    }
}

/// An admin's edit of metadata, window, name or folder. `None` leaves a field alone;
/// `Some(None)` clears an optional one.
#[derive(Clone, Debug, Default)]
pub struct Changes {
    pub title: Option<String>,
    pub description: Option<String>,
    pub keywords: Option<Vec<String>>,
    pub available_from: Option<Option<i64>>,
    pub available_until: Option<Option<i64>>,
    pub folder_id: Option<String>,
    pub filename: Option<String>,
    pub credit: Option<String>,
    pub usage_terms: Option<String>,
    /// Bulk edits: keywords added to / removed from each asset's own list.
    pub add_keywords: Vec<String>,
    pub remove_keywords: Vec<String>,
}

pub fn check_title(t: &str) -> Result<String, AppError> {
    let t = t.trim();
    if t.chars().count() > 500 || t.chars().any(|c| c.is_control()) {
        return Err(AppError::BadRequest(
            "titles are limited to 500 characters, no control characters".into(),
        ));
    }
    Ok(t.to_string())
}

pub fn check_description(d: &str) -> Result<String, AppError> {
    if d.chars().count() > 10_000
        || d.chars()
            .any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t')
    {
        return Err(AppError::BadRequest(
            "descriptions are limited to 10,000 characters".into(),
        ));
    }
    Ok(d.trim().to_string())
}

/// Keywords: trimmed, de-duplicated case-insensitively, at most 100 of 100 characters each.
pub fn check_keywords(list: &[String]) -> Result<Vec<String>, AppError> {
    let mut out: Vec<String> = Vec::new();
    for k in list {
        let k = k.trim();
        if k.is_empty() {
            continue;
        }
        if k.chars().count() > 100 || k.contains(',') || k.chars().any(char::is_control) {
            return Err(AppError::BadRequest(
                "keywords are up to 100 characters and may not contain commas".into(),
            ));
        }
        if !out.iter().any(|o| o.eq_ignore_ascii_case(k)) {
            out.push(k.to_string());
        }
    }
    if out.len() > 100 {
        return Err(AppError::BadRequest("at most 100 keywords".into()));
    }
    Ok(out)
}

pub async fn update(db: &Db, id: &str, ch: Changes) -> Result<(), AppError> {
    let mut current = get_current(db, id).await?.ok_or(AppError::NotFound)?.asset;
    if let Some(t) = ch.title {
        current.title = check_title(&t)?;
    }
    if let Some(d) = ch.description {
        current.description = check_description(&d)?;
    }
    if let Some(k) = ch.keywords {
        current.keywords = check_keywords(&k)?;
    }
    if !ch.add_keywords.is_empty() || !ch.remove_keywords.is_empty() {
        let mut list = current.keywords.clone();
        list.retain(|k| !ch.remove_keywords.iter().any(|r| r.eq_ignore_ascii_case(k)));
        for k in &ch.add_keywords {
            if !list.iter().any(|x| x.eq_ignore_ascii_case(k)) {
                list.push(k.clone());
            }
        }
        current.keywords = check_keywords(&list)?;
    }
    if let Some(c) = ch.credit {
        current.credit = check_line(&c, "credit", 500)?;
    }
    if let Some(t) = ch.usage_terms {
        current.usage_terms = check_description(&t)?;
    }
    if let Some(f) = ch.available_from {
        current.available_from = f;
    }
    if let Some(u) = ch.available_until {
        current.available_until = u;
    }
    if let (Some(f), Some(u)) = (current.available_from, current.available_until) {
        if f >= u {
            return Err(AppError::Unprocessable(
                "available_from must be before available_until".into(),
            ));
        }
    }
    if let Some(name) = ch.filename {
        current.filename = sanitize::name(&name).map_err(AppError::BadRequest)?;
    }
    if let Some(folder_id) = ch.folder_id {
        super::folders::get(db, &folder_id)
            .await?
            .ok_or_else(|| AppError::Unprocessable("the target folder does not exist".into()))?;
        current.folder_id = folder_id;
    }
    sqlx::query(
        "UPDATE assets SET title = $1, description = $2, keywords = $3, available_from = $4, \
         available_until = $5, filename = $6, folder_id = $7, updated_at = $8, credit = $10, \
         usage_terms = $11 WHERE id = $9",
    )
    .bind(&current.title)
    .bind(&current.description)
    .bind(current.keywords.join(", "))
    .bind(current.available_from)
    .bind(current.available_until)
    .bind(&current.filename)
    .bind(&current.folder_id)
    .bind(db.clock.now_ms())
    .bind(id)
    .bind(&current.credit)
    .bind(&current.usage_terms)
    .execute(&db.pool)
    .await?;
    Ok(())
}

/// One line of text (credit and the like): trimmed, no control characters, at most `max`.
pub fn check_line(s: &str, what: &str, max: usize) -> Result<String, AppError> {
    let s = s.trim();
    if s.chars().count() > max || s.chars().any(char::is_control) {
        return Err(AppError::BadRequest(format!(
            "{what} is limited to {max} characters, no control characters"
        )));
    }
    Ok(s.to_string())
}
