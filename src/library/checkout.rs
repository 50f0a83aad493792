//! Check-out / check-in (SPEC §1 "Check-out"): a contributor locks an asset, works on it, and
//! checks in a new binary with a comment. The new version waits in review while partners keep
//! the last approved one; an admin approves it, turns it down, or makes any earlier version
//! current again. Every change is one conditional UPDATE, so two people acting at once cannot
//! both win a lock or both check in over one.
use sqlx::Row;

use crate::access;
use crate::accounts::Account;
use crate::app::AppState;
use crate::clock;
use crate::db::Db;
use crate::error::AppError;
use crate::events::{Event, EventKind};
use crate::library::assets::{self, AssetView, Version};
use crate::library::folders;
use crate::library::upload::Received;
use crate::web::client::ClientInfo;

/// Longest check-in comment.
const MAX_COMMENT: usize = 5000;

/// The asset, if `who` sees it and may contribute to its folder (admins always may).
pub async fn editable(db: &Db, who: &Account, id: &str, now: i64) -> Result<AssetView, AppError> {
    let (view, _) = access::asset(db, who, id, now).await?;
    if !who.is_admin() {
        let folder = folders::get(db, &view.asset.folder_id)
            .await?
            .ok_or(AppError::NotFound)?;
        if !access::folder_rights(db, who, &folder).await?.contribute {
            return Err(AppError::Forbidden(
                "checking out needs the contribute right on the asset's folder".into(),
            ));
        }
    }
    if view.asset.status == "archived" {
        return Err(AppError::Conflict("restore the asset first".into()));
    }
    Ok(view)
}

/// Who holds the lock, for a 409 that says so.
async fn lock_conflict(db: &Db, id: &str) -> Result<AppError, AppError> {
    let row = sqlx::query(
        "SELECT u.name, a.checked_out_at FROM assets a JOIN users u ON u.id = a.checked_out_by \
         WHERE a.id = $1",
    )
    .bind(id)
    .fetch_optional(&db.pool)
    .await?;
    Ok(match row {
        Some(r) => {
            let name: String = r.try_get("name")?;
            let since: Option<i64> = r.try_get("checked_out_at")?;
            AppError::Conflict(format!(
                "checked out by {name} since {}; an admin can break the lock",
                since.map(clock::human).unwrap_or_default()
            ))
        }
        None => AppError::Conflict("the asset is not checked out".into()),
    })
}

/// Locks the asset for `who` (again, if it already holds it).
pub async fn check_out(db: &Db, who: &Account, view: &AssetView) -> Result<(), AppError> {
    let done = sqlx::query(
        "UPDATE assets SET checked_out_by = $2, checked_out_at = $3 \
         WHERE id = $1 AND status <> 'archived' AND (checked_out_by IS NULL OR checked_out_by = $2)",
    )
    .bind(&view.asset.id)
    .bind(&who.id)
    .bind(db.clock.now_ms())
    .execute(&db.pool)
    .await?;
    if done.rows_affected() == 1 {
        Ok(())
    } else {
        Err(lock_conflict(db, &view.asset.id).await?)
    }
}

/// Releases the lock: its holder, or an admin breaking someone else's.
pub async fn release(db: &Db, who: &Account, view: &AssetView) -> Result<(), AppError> {
    let done = sqlx::query(
        "UPDATE assets SET checked_out_by = NULL, checked_out_at = NULL \
         WHERE id = $1 AND checked_out_by IS NOT NULL AND (checked_out_by = $2 OR $3 = 1)",
    )
    .bind(&view.asset.id)
    .bind(&who.id)
    .bind(i64::from(who.is_admin()))
    .execute(&db.pool)
    .await?;
    if done.rows_affected() == 1 {
        Ok(())
    } else {
        Err(lock_conflict(db, &view.asset.id).await?)
    }
}

pub enum CheckIn {
    /// A new version, now current and waiting for review.
    Created(Version),
    /// The bytes equal the current version: nothing new (the lock is released all the same).
    Unchanged(Version),
}

/// Commits a received binary as the asset's next version.
pub async fn check_in(
    state: &AppState,
    who: &Account,
    view: &AssetView,
    r: &Received,
    comment: &str,
    client: &ClientInfo,
) -> Result<CheckIn, AppError> {
    let comment = comment.trim();
    if comment.chars().count() > MAX_COMMENT || comment.chars().any(|c| c.is_control() && c != '\n')
    {
        return Err(AppError::BadRequest(format!(
            "a check-in comment has at most {MAX_COMMENT} characters"
        )));
    }
    let db = &state.db;
    let id = &view.asset.id;
    let now = state.clock.now_ms();
    if r.blob.sha256 == view.version.sha256 {
        let done = sqlx::query(
            "UPDATE assets SET checked_out_by = NULL, checked_out_at = NULL \
             WHERE id = $1 AND (checked_out_by IS NULL OR checked_out_by = $2)",
        )
        .bind(id)
        .bind(&who.id)
        .execute(&db.pool)
        .await?;
        if done.rows_affected() == 0 {
            return Err(lock_conflict(db, id).await?);
        }
        return Ok(CheckIn::Unchanged(view.version.clone()));
    }
    let media_type = mime_guess::from_path(&r.filename)
        .first_or_octet_stream()
        .to_string();
    let mut tx = db.pool.begin().await?;
    // The lock condition and the new current version in one statement: a check-in over
    // someone else's lock changes nothing. A rejected asset goes back into review.
    let done = sqlx::query(
        "UPDATE assets SET current_version_id = $2, review_comment = '', updated_at = $3, \
         status = CASE WHEN status = 'rejected' THEN 'in_review' ELSE status END, \
         checked_out_by = NULL, checked_out_at = NULL \
         WHERE id = $1 AND status <> 'archived' AND (checked_out_by IS NULL OR checked_out_by = $4)",
    )
    .bind(id)
    .bind(&r.version_id)
    .bind(now)
    .bind(&who.id)
    .execute(&mut *tx)
    .await?;
    if done.rows_affected() == 0 {
        drop(tx);
        return Err(lock_conflict(db, id).await?);
    }
    sqlx::query(
        "INSERT INTO asset_versions (id, asset_id, number, blob_key, sha256, size, media_type, \
         filename, uploaded_by, comment, created_at, crc32) \
         VALUES ($1, $2, (SELECT COALESCE(MAX(number), 0) + 1 FROM asset_versions WHERE asset_id = $2), \
         $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(&r.version_id)
    .bind(id)
    .bind(&r.key)
    .bind(&r.blob.sha256)
    .bind(r.blob.size as i64)
    .bind(&media_type)
    .bind(&r.filename)
    .bind(&who.id)
    .bind(comment)
    .bind(now)
    .bind(i64::from(r.blob.crc32))
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    let version = assets::versions(db, id)
        .await?
        .into_iter()
        .find(|v| v.id == r.version_id)
        .ok_or(AppError::NotFound)?;
    let detail = format!("v{}: {comment}", version.number);
    state
        .events
        .record(
            Event::new(EventKind::CheckIn)
                .by(&who.id)
                .asset(id)
                .detail(&detail),
            client,
        )
        .await?;
    if !who.is_admin() {
        let view = assets::get_current(db, id)
            .await?
            .ok_or(AppError::NotFound)?;
        super::review::notify_admins_of_submission(state, who, &view).await;
        let sender = super::review::Sender::Member(who);
        super::review::submission_received(state, &view, sender, "check_in").await;
    }
    Ok(CheckIn::Created(version))
}

/// An admin makes an earlier version current again; on a published asset it is also what
/// partners see from now on.
pub async fn make_current(db: &Db, asset_id: &str, version_id: &str) -> Result<(), AppError> {
    let belongs =
        sqlx::query("SELECT 1 AS one FROM asset_versions WHERE id = $1 AND asset_id = $2")
            .bind(version_id)
            .bind(asset_id)
            .fetch_optional(&db.pool)
            .await?
            .is_some();
    if !belongs {
        return Err(AppError::NotFound);
    }
    let done = sqlx::query(
        "UPDATE assets SET current_version_id = $2, updated_at = $3, review_comment = '', \
         approved_version_id = CASE WHEN status = 'approved' THEN $2 ELSE approved_version_id END \
         WHERE id = $1 AND status <> 'archived'",
    )
    .bind(asset_id)
    .bind(version_id)
    .bind(db.clock.now_ms())
    .execute(&db.pool)
    .await?;
    if done.rows_affected() == 0 {
        return Err(AppError::Conflict("restore the asset first".into()));
    }
    Ok(())
}
