//! An upload link's `max_files` and `max_bytes`, decided in one place.
//!
//! **The rule:** a file and its bytes are *reserved* on the link's row before a byte of the file
//! is stored, and the stream is cut as soon as it passes what was reserved. `files` and `bytes`
//! on `upload_links` count what is stored plus what is reserved by uploads still arriving, so
//! parallel senders, on any number of instances, can never together exceed either limit, and a
//! refused upload writes nothing beyond the allowance.
//!
//! - `reserve` takes one file and `min(declared size, bytes left)` in one transaction whose
//!   first statement is a conditional `UPDATE` (it locks the row on PostgreSQL and takes the
//!   write lock on SQLite, so the second statement sees nobody else's change). The declared
//!   size is the request's `Content-Length`; without one the whole remaining allowance is
//!   reserved. A link with no file left or no byte left refuses at once (409 / 413).
//! - `Reservation::settle` (in the transaction that creates the asset) turns the reservation
//!   into the file's real size and gives the unused part back.
//! - `Reservation::release` gives everything back when an upload fails or is refused; a
//!   reservation dropped without either (a cancelled request) is released in the background.
use sqlx::Row;

use super::UploadLink;
use crate::db::Db;
use crate::error::AppError;

/// One file's reservation against a link's quota.
#[must_use = "a reservation is released when dropped unless settled"]
#[derive(Debug)]
pub struct Reservation {
    db: Db,
    link_id: String,
    /// Bytes reserved (0 when the link has no byte limit: nothing to protect).
    bytes: i64,
    /// Most bytes the file may have: the reservation, or `None` without a byte limit.
    limit: Option<u64>,
    done: bool,
}

/// Reserves one file of at most `declared` bytes (`None`: unknown) on `link`, or refuses:
/// 410 when the link is revoked or expired, 409 when it takes no more files, 413 when no byte
/// is left (or the declared size cannot fit at all).
pub async fn reserve(
    db: &Db,
    link: &UploadLink,
    declared: Option<u64>,
    now: i64,
) -> Result<Reservation, AppError> {
    let mut tx = db.pool.begin().await?;
    let row = sqlx::query(
        "UPDATE upload_links SET files = files + 1 \
         WHERE id = $1 AND revoked_at IS NULL AND expires_at > $2 \
         AND (max_files IS NULL OR files < max_files) \
         AND (max_bytes IS NULL OR bytes < max_bytes) \
         RETURNING bytes, max_bytes",
    )
    .bind(&link.id)
    .bind(now)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(row) = row else {
        drop(tx);
        return Err(refusal(db, &link.id, now).await?);
    };
    let used: i64 = row.try_get("bytes")?;
    let max: Option<i64> = row.try_get("max_bytes")?;
    let bytes = match max {
        None => 0,
        Some(max) => {
            let left = max - used;
            match declared {
                Some(n) if n <= left as u64 => n as i64,
                _ => left,
            }
        }
    };
    if bytes > 0 {
        sqlx::query("UPDATE upload_links SET bytes = bytes + $2 WHERE id = $1")
            .bind(&link.id)
            .bind(bytes)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(Reservation {
        db: db.clone(),
        link_id: link.id.to_string(),
        bytes,
        limit: max.map(|_| bytes as u64),
        done: false,
    })
}

/// Why a link refused a reservation, read after the fact.
async fn refusal(db: &Db, link_id: &str, now: i64) -> Result<AppError, AppError> {
    let row = sqlx::query(
        "SELECT files, bytes, max_files, max_bytes, expires_at, revoked_at \
         FROM upload_links WHERE id = $1",
    )
    .bind(link_id)
    .fetch_optional(&db.pool)
    .await?
    .ok_or(AppError::NotFound)?;
    let files: i64 = row.try_get("files")?;
    let max_files: Option<i64> = row.try_get("max_files")?;
    let revoked: Option<i64> = row.try_get("revoked_at")?;
    let expires: i64 = row.try_get("expires_at")?;
    Ok(if revoked.is_some() || expires <= now {
        AppError::Gone
    } else if max_files.is_some_and(|m| files >= m) {
        AppError::Conflict("this upload link accepts no more files".into())
    } else {
        too_large()
    })
}

/// The answer when a file does not fit in what is left of a link's byte limit.
pub fn too_large() -> AppError {
    AppError::TooLarge("this file would exceed the upload link's size limit".into())
}

impl Reservation {
    /// The most bytes the file may have (where to cut the stream); `None` without a byte limit.
    pub fn limit(&self) -> Option<u64> {
        self.limit
    }

    /// Turns the reservation into a stored file of `size` bytes, inside the transaction that
    /// creates the asset: the unused part goes back. Refuses (410) if the link was revoked or
    /// expired meanwhile; the transaction then rolls back and the reservation is released.
    pub async fn settle(
        &mut self,
        tx: &mut sqlx::Transaction<'_, sqlx::Any>,
        size: u64,
        now: i64,
    ) -> Result<(), AppError> {
        if self.limit.is_some_and(|l| size > l) {
            return Err(too_large());
        }
        let done = sqlx::query(
            "UPDATE upload_links SET bytes = bytes - $2 + $3 \
             WHERE id = $1 AND revoked_at IS NULL AND expires_at > $4",
        )
        .bind(&self.link_id)
        .bind(self.bytes)
        .bind(size as i64)
        .bind(now)
        .execute(&mut **tx)
        .await?;
        if done.rows_affected() != 1 {
            return Err(AppError::Gone);
        }
        Ok(())
    }

    /// Marks the reservation as spent once the transaction that settled it has committed.
    pub fn committed(&mut self) {
        self.done = true;
    }

    /// Gives the file and its bytes back (the upload failed or was refused); nothing once
    /// the reservation was committed.
    pub async fn release(mut self) -> Result<(), sqlx::Error> {
        if self.done {
            return Ok(());
        }
        self.done = true;
        give_back(&self.db, &self.link_id, self.bytes).await
    }
}

async fn give_back(db: &Db, link_id: &str, bytes: i64) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE upload_links SET files = files - 1, bytes = bytes - $2 WHERE id = $1")
        .bind(link_id)
        .bind(bytes)
        .execute(&db.pool)
        .await?;
    Ok(())
}

impl Drop for Reservation {
    /// A request cancelled mid-upload (the client went away) drops its reservation: give it
    /// back in the background. (A process killed meanwhile keeps it; see docs/architecture.md.)
    fn drop(&mut self) {
        if self.done {
            return;
        }
        let (db, link_id, bytes) = (self.db.clone(), self.link_id.clone(), self.bytes);
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(async move {
                if let Err(e) = give_back(&db, &link_id, bytes).await {
                    tracing::warn!(error = %e, "could not give back an upload-link reservation");
                }
            });
        }
    }
}
