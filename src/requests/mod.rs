//! Requests that close a loop (issue 19): someone asks, an admin decides once, and the answer
//! takes effect where the question was asked.
//!
//! - **renewal**: a visitor of an expired or used-up share link asks for more time (or more
//!   downloads); approval reactivates the same URL (`links::actions::change_link`).
//! - **access**: a visitor of a bound per-recipient link who is not its recipient asks for their
//!   own; approval issues a new per-recipient link under the same share.
//! - **download**: a member who may only view asks to download some assets; approval gives a
//!   personal, time-limited grant on exactly those (`grants`, part of `access`'s scope).
//!
//! Every change is one function in `actions` (validates, changes, records its event). Deciders
//! are told by mail with signed addresses (`decide`), and see the same requests in the admins'
//! inbox (`pages`), on the link's page, and in the API (`api`).
pub mod actions;
pub mod api;
pub mod decide;
pub mod grants;
pub mod mail;
pub mod pages;

use serde_json::json;
use sqlx::Row;

use crate::clock;
use crate::db::{Columns, Db};
use crate::error::AppError;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Renewal,
    Access,
    Download,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Renewal => "renewal",
            Kind::Access => "access",
            Kind::Download => "download",
        }
    }

    fn parse(s: &str) -> Kind {
        match s {
            "access" => Kind::Access,
            "download" => Kind::Download,
            _ => Kind::Renewal,
        }
    }
}

#[derive(Clone, Debug)]
pub struct Request {
    pub id: String,
    pub kind: Kind,
    /// "pending", "approved" or "denied".
    pub state: String,
    pub link_id: Option<String>,
    pub user_id: Option<String>,
    pub name: String,
    pub email: String,
    pub reason: String,
    pub asset_ids: Vec<String>,
    pub ip: String,
    pub created_at: i64,
    pub decided_at: Option<i64>,
    pub decided_by: Option<String>,
    pub answer: String,
    pub result_link_id: Option<String>,
}

const COLS: &str = "id, kind, state, link_id, user_id, name, email, reason, asset_ids, ip, \
    created_at, decided_at, decided_by, answer, result_link_id";

fn from_row<R: Columns + ?Sized>(r: &R) -> Result<Request, sqlx::Error> {
    Ok(Request {
        id: r.text("id")?,
        kind: Kind::parse(&r.text("kind")?),
        state: r.text("state")?,
        link_id: r.opt_text("link_id")?,
        user_id: r.opt_text("user_id")?,
        name: r.text("name")?,
        email: r.text("email")?,
        reason: r.text("reason")?,
        asset_ids: r
            .text("asset_ids")?
            .split(',')
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect(),
        ip: r.text("ip")?,
        created_at: r.int("created_at")?,
        decided_at: r.opt_int("decided_at")?,
        decided_by: r.opt_text("decided_by")?,
        answer: r.text("answer")?,
        result_link_id: r.opt_text("result_link_id")?,
    })
}

impl Request {
    pub fn pending(&self) -> bool {
        self.state == "pending"
    }

    pub fn to_json(&self) -> serde_json::Value {
        json!({
            "id": self.id, "kind": self.kind.as_str(), "state": self.state,
            "link_id": self.link_id, "user_id": self.user_id,
            "name": self.name, "email": self.email, "reason": self.reason,
            "asset_ids": self.asset_ids,
            "created_at": clock::rfc3339(self.created_at),
            "decided_at": self.decided_at.map(clock::rfc3339),
            "decided_by": self.decided_by, "answer": self.answer,
            "result_link_id": self.result_link_id,
        })
    }

    /// What is asked, in a few words for deciders' mails and lists.
    pub fn summary(&self) -> String {
        self.summary_for(None)
    }

    /// `summary`, knowing the link asked about: a live link whose downloads are used up asks
    /// for more downloads, not more time.
    pub fn summary_for(&self, link: Option<&crate::links::Link>) -> String {
        match self.kind {
            Kind::Renewal
                if link
                    .is_some_and(|l| l.revoked_at.is_none() && l.downloads_left() == Some(0)) =>
            {
                "more downloads on a share link".into()
            }
            Kind::Renewal => "more time on a share link".into(),
            Kind::Access => "their own access to a forwarded share link".into(),
            Kind::Download => self.downloads(),
        }
    }

    /// What was asked, as the asker reads it in their answer.
    pub fn summary_to_asker(&self) -> String {
        match self.kind {
            Kind::Renewal => "more time or downloads on a shared link".into(),
            Kind::Access => "your own access to a shared link".into(),
            Kind::Download => self.downloads(),
        }
    }

    /// The first `n` of a download request's assets that still exist: id and label (title, or
    /// file name), for the inbox, the decision page and the deciders' mail.
    pub async fn asset_labels(
        &self,
        db: &Db,
        n: usize,
    ) -> Result<Vec<(String, String)>, sqlx::Error> {
        let mut out = Vec::new();
        for id in self.asset_ids.iter().take(n) {
            if let Some(v) = crate::library::assets::get_current(db, id).await? {
                out.push((id.clone(), v.label().to_string()));
            }
        }
        Ok(out)
    }

    fn downloads(&self) -> String {
        match self.asset_ids.len() {
            1 => "permission to download 1 asset".into(),
            n => format!("permission to download {n} assets"),
        }
    }
}

pub async fn get(db: &Db, id: &str) -> Result<Request, AppError> {
    let row = sqlx::query(&format!("SELECT {COLS} FROM requests WHERE id = $1"))
        .bind(id)
        .fetch_optional(&db.pool)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(from_row(&row)?)
}

/// Which requests a list shows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Show {
    /// Pending ones.
    #[default]
    Pending,
    /// Everything, newest first.
    All,
}

/// Requests newest first, after the cursor (`created_at:id` of the last one seen); narrowed to
/// one link or one member when given.
pub async fn list(
    db: &Db,
    show: Show,
    link_id: Option<&str>,
    user_id: Option<&str>,
    cursor: Option<(i64, String)>,
    limit: i64,
) -> Result<Vec<Request>, sqlx::Error> {
    let (after_t, after_id) = cursor.unwrap_or((i64::MAX, "\u{10FFFF}".into()));
    let sql = format!(
        "SELECT {COLS} FROM requests WHERE ($1 = 'all' OR state = 'pending') \
         AND ($2 = '' OR link_id = $2) AND ($3 = '' OR user_id = $3) \
         AND (created_at < $4 OR (created_at = $4 AND id < $5)) \
         ORDER BY created_at DESC, id DESC LIMIT $6"
    );
    let rows = sqlx::query(&sql)
        .bind(if show == Show::All { "all" } else { "pending" })
        .bind(link_id.unwrap_or(""))
        .bind(user_id.unwrap_or(""))
        .bind(after_t)
        .bind(after_id)
        .bind(limit)
        .fetch_all(&db.pool)
        .await?;
    rows.iter().map(from_row).collect()
}

/// How many requests wait for a decision (the inbox's count in the navigation).
pub async fn pending_count(db: &Db) -> Result<i64, sqlx::Error> {
    sqlx::query("SELECT COUNT(*) AS n FROM requests WHERE state = 'pending'")
        .fetch_one(&db.pool)
        .await?
        .try_get("n")
}
