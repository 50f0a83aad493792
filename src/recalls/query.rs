//! Reading recalls: per recall, how many were told, acknowledged, still outstanding, and how
//! many anonymous downloads could not be told (the asset page, reports, the API).
use serde_json::{json, Value};
use sqlx::Row;

use crate::clock;
use crate::db::Db;
use crate::error::AppError;

#[derive(Clone, Debug)]
pub struct RecallRow {
    pub id: String,
    pub asset_id: String,
    /// For reports: the asset's title or file name.
    pub asset: String,
    pub reason: String,
    pub mode: String,
    pub message: String,
    pub created_at: i64,
    /// Notices: all, mailed, acknowledged.
    pub notices: i64,
    pub notified: i64,
    pub acknowledged: i64,
    pub anonymous: i64,
}

impl RecallRow {
    /// Told and not acknowledged yet (including notices whose mail has not gone yet).
    pub fn outstanding(&self) -> i64 {
        self.notices - self.acknowledged
    }

    pub fn when(&self) -> String {
        clock::human(self.created_at)
    }

    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "asset_id": self.asset_id,
            "reason": self.reason,
            "mode": self.mode,
            "message": self.message,
            "created_at": clock::rfc3339(self.created_at),
            "notices": self.notices,
            "notified": self.notified,
            "acknowledged": self.acknowledged,
            "outstanding": self.outstanding(),
            "anonymous": self.anonymous,
        })
    }
}

const SELECT: &str =
    "SELECT c.id, c.asset_id, COALESCE(NULLIF(a.title, ''), a.filename, '') AS asset, \
     c.reason, c.mode, c.message, c.created_at, c.anonymous, \
     (SELECT COUNT(*) FROM recall_notices n WHERE n.recall_id = c.id) AS notices, \
     (SELECT COUNT(n.notified_at) FROM recall_notices n WHERE n.recall_id = c.id) AS notified, \
     (SELECT COUNT(n.acknowledged_at) FROM recall_notices n WHERE n.recall_id = c.id) AS acked \
     FROM recalls c LEFT JOIN assets a ON a.id = c.asset_id";

fn read(r: &sqlx::any::AnyRow) -> Result<RecallRow, sqlx::Error> {
    Ok(RecallRow {
        id: r.try_get("id")?,
        asset_id: r.try_get("asset_id")?,
        asset: r.try_get::<Option<String>, _>("asset")?.unwrap_or_default(),
        reason: r.try_get("reason")?,
        mode: r.try_get("mode")?,
        message: r.try_get("message")?,
        created_at: r.try_get("created_at")?,
        notices: r.try_get("notices")?,
        notified: r.try_get("notified")?,
        acknowledged: r.try_get("acked")?,
        anonymous: r.try_get("anonymous")?,
    })
}

/// An asset's recalls, newest first.
pub async fn of_asset(db: &Db, asset_id: &str) -> Result<Vec<RecallRow>, AppError> {
    let rows = sqlx::query(&format!(
        "{SELECT} WHERE c.asset_id = $1 ORDER BY c.created_at DESC, c.id DESC"
    ))
    .bind(asset_id)
    .fetch_all(&db.pool)
    .await?;
    Ok(rows.iter().map(read).collect::<Result<_, _>>()?)
}

/// Recalls opened in `[from, to)`, newest first (reports).
pub async fn between(db: &Db, from: i64, to: i64) -> Result<Vec<RecallRow>, AppError> {
    let rows = sqlx::query(&format!(
        "{SELECT} WHERE c.created_at >= $1 AND c.created_at < $2 ORDER BY c.created_at DESC, c.id DESC"
    ))
    .bind(from)
    .bind(to)
    .fetch_all(&db.pool)
    .await?;
    Ok(rows.iter().map(read).collect::<Result<_, _>>()?)
}

/// One recall's notices: address, versions, mailed, acknowledged.
pub async fn notices(
    db: &Db,
    recall_id: &str,
) -> Result<Vec<(String, String, Option<i64>, Option<i64>)>, AppError> {
    let rows = sqlx::query(
        "SELECT email, versions, notified_at, acknowledged_at FROM recall_notices \
         WHERE recall_id = $1 ORDER BY email",
    )
    .bind(recall_id)
    .fetch_all(&db.pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok((
                r.try_get("email")?,
                r.try_get("versions")?,
                r.try_get("notified_at")?,
                r.try_get("acknowledged_at")?,
            ))
        })
        .collect::<Result<_, sqlx::Error>>()
        .map_err(Into::into)
}
