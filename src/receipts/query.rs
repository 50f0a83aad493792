//! Reading receipts: a page of them for an asset or a link (the API, the link's access log),
//! and who holds each version of an asset (the asset page). Admin-only, like the audit log.
use serde_json::{json, Value};
use sqlx::Row;

use crate::clock;
use crate::db::Db;
use crate::error::AppError;

#[derive(Clone, Debug)]
pub struct ReceiptRow {
    pub id: String,
    pub asset_id: String,
    pub version_number: i64,
    pub object: String,
    pub channel: String,
    pub who_kind: String,
    pub user_id: Option<String>,
    pub link_id: Option<String>,
    pub email: Option<String>,
    pub ip: String,
    pub user_agent: String,
    pub size: i64,
    pub bytes_sent: i64,
    pub started_at: i64,
    pub completed_at: Option<i64>,
}

impl ReceiptRow {
    /// `who.id`: the user for a member; the link a visitor came through otherwise.
    pub fn who_id(&self) -> Option<&str> {
        match self.who_kind.as_str() {
            "user" => self.user_id.as_deref(),
            _ => self.link_id.as_deref(),
        }
    }

    /// How the receipt names its holder on a page.
    pub fn who_label(&self) -> String {
        match (&self.who_kind[..], &self.email) {
            (_, Some(e)) => e.clone(),
            _ => "anonymous visitor".into(),
        }
    }

    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "asset_id": self.asset_id,
            "version": self.version_number,
            "object": self.object,
            "who": { "kind": self.who_kind, "id": self.who_id(), "email": self.email },
            "link_id": self.link_id,
            "channel": self.channel,
            "ip": self.ip,
            "user_agent": self.user_agent,
            "started_at": clock::rfc3339(self.started_at),
            "completed_at": self.completed_at.map(clock::rfc3339),
            "bytes_sent": self.bytes_sent,
            "size": self.size,
        })
    }
}

/// Whose receipts.
#[derive(Clone, Copy, Debug)]
pub enum Of<'a> {
    Asset(&'a str),
    Link(&'a str),
}

const COLUMNS: &str = "id, asset_id, version_number, object, channel, who_kind, user_id, link_id, \
     email, ip, user_agent, size, bytes_sent, started_at, completed_at";

/// Newest first; `before` is the cursor (a receipt id from the previous page).
pub async fn page(
    db: &Db,
    of: Of<'_>,
    before: Option<&str>,
    limit: i64,
) -> Result<Vec<ReceiptRow>, AppError> {
    let (column, id) = match of {
        Of::Asset(id) => ("asset_id", id),
        Of::Link(id) => ("link_id", id),
    };
    let sql = format!(
        "SELECT {COLUMNS} FROM receipts WHERE {column} = $1 AND ($2 = '' OR id < $2) \
         ORDER BY id DESC LIMIT $3"
    );
    let rows = sqlx::query(&sql)
        .bind(id)
        .bind(before.unwrap_or(""))
        .bind(limit)
        .fetch_all(&db.pool)
        .await?;
    rows.iter().map(read).collect()
}

fn read(r: &sqlx::any::AnyRow) -> Result<ReceiptRow, AppError> {
    Ok(ReceiptRow {
        id: r.try_get("id")?,
        asset_id: r.try_get("asset_id")?,
        version_number: r.try_get("version_number")?,
        object: r.try_get("object")?,
        channel: r.try_get("channel")?,
        who_kind: r.try_get("who_kind")?,
        user_id: r.try_get("user_id")?,
        link_id: r.try_get("link_id")?,
        email: r.try_get("email")?,
        ip: r.try_get("ip")?,
        user_agent: r.try_get("user_agent")?,
        size: r.try_get("size")?,
        bytes_sent: r.try_get("bytes_sent")?,
        started_at: r.try_get("started_at")?,
        completed_at: r.try_get("completed_at")?,
    })
}

/// One version's holders: the people and recipients who received it whole, and how many
/// anonymous link visitors did.
#[derive(Clone, Debug, Default)]
pub struct Holders {
    pub version: i64,
    /// (label, email or "", first completed at), one per person or address.
    pub named: Vec<(String, String, i64)>,
    pub anonymous: i64,
    /// Downloads of this version that were started and never completed.
    pub started_only: i64,
}

/// "Who has this file": per version, newest version first.
pub async fn holders(db: &Db, asset_id: &str) -> Result<Vec<Holders>, AppError> {
    let rows = sqlx::query(
        "SELECT r.version_number, r.who_kind, r.user_id, r.email, u.name, \
         MIN(r.completed_at) AS first_done, COUNT(r.completed_at) AS done, COUNT(*) AS n \
         FROM receipts r LEFT JOIN users u ON u.id = r.user_id \
         WHERE r.asset_id = $1 \
         GROUP BY r.version_number, r.who_kind, r.user_id, r.email, u.name, \
         CASE WHEN r.who_kind = 'anonymous' THEN r.id ELSE '' END \
         ORDER BY r.version_number DESC, first_done",
    )
    .bind(asset_id)
    .fetch_all(&db.pool)
    .await?;
    let mut out: Vec<Holders> = Vec::new();
    for r in rows {
        let version: i64 = r.try_get("version_number")?;
        if out.last().is_none_or(|h| h.version != version) {
            out.push(Holders {
                version,
                ..Default::default()
            });
        }
        let Some(h) = out.last_mut() else { continue };
        let done: i64 = r.try_get("done")?;
        if done == 0 {
            h.started_only += 1;
            continue;
        }
        let first: i64 = r.try_get::<Option<i64>, _>("first_done")?.unwrap_or(0);
        let kind: String = r.try_get("who_kind")?;
        let email: Option<String> = r.try_get("email")?;
        let name: Option<String> = r.try_get("name")?;
        match (kind.as_str(), email) {
            ("anonymous", _) | (_, None) => h.anonymous += 1,
            (_, Some(email)) => h.named.push((name.unwrap_or_default(), email, first)),
        }
    }
    Ok(out)
}

/// One line of a link's delivery log: one recipient (or all anonymous visitors) and one asset.
#[derive(Clone, Debug)]
pub struct Delivery {
    /// The address, or "" for anonymous visitors.
    pub email: String,
    pub asset_id: String,
    pub first_started: i64,
    pub first_completed: Option<i64>,
    pub downloads: i64,
    pub completed: i64,
    /// Most bytes any one of these downloads reached, and the size.
    pub best: i64,
    pub size: i64,
}

/// A link's receipts by recipient and asset, in the order they were first started.
pub async fn delivery(db: &Db, link_id: &str) -> Result<Vec<Delivery>, AppError> {
    let rows = sqlx::query(
        "SELECT COALESCE(email, '') AS email, asset_id, MIN(started_at) AS first_started, \
         MIN(completed_at) AS first_completed, COUNT(*) AS n, COUNT(completed_at) AS done, \
         MAX(bytes_sent) AS best, MAX(size) AS size FROM receipts WHERE link_id = $1 \
         GROUP BY COALESCE(email, ''), asset_id ORDER BY first_started",
    )
    .bind(link_id)
    .fetch_all(&db.pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Delivery {
                email: r.try_get("email")?,
                asset_id: r.try_get("asset_id")?,
                first_started: r.try_get("first_started")?,
                first_completed: r.try_get("first_completed")?,
                downloads: r.try_get("n")?,
                completed: r.try_get("done")?,
                best: r.try_get("best")?,
                size: r.try_get("size")?,
            })
        })
        .collect()
}
