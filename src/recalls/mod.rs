//! Recalls and supersede notices (issue 18). When a newer version of an asset is approved,
//! the asset is archived, its availability window closes, or an admin recalls it, everyone
//! with a completed receipt (`receipts`) for an older version — within
//! `ASSETPORT_RECALL_DAYS` — and a known address is told: one notice per person per recall,
//! mailed through the job queue at most once a day per person (`notices`), each with a signed
//! acknowledge address (`ack`). Anonymous link downloads are counted on the recall, not told.
//!
//! `open` is the one function every trigger calls; `dedupe` (unique) makes each trigger open
//! one recall however many times or on however many instances it is seen.
pub mod ack;
pub mod api;
pub mod notices;
pub mod query;

use std::collections::BTreeMap;

use serde::Deserialize;
use sqlx::Row;

use crate::accounts::Account;
use crate::app::AppState;
use crate::db;
use crate::error::AppError;
use crate::events::{Event, EventKind};
use crate::web::client::ClientInfo;

const DAY_MS: i64 = 86_400_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reason {
    /// A newer version was approved.
    Replaced,
    Archived,
    /// Its availability window closed.
    Withdrawn,
    /// An admin recalled it.
    Recalled,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Replaced => "replaced",
            Reason::Archived => "archived",
            Reason::Withdrawn => "withdrawn",
            Reason::Recalled => "recalled",
        }
    }
}

/// What the holder is asked to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Use the current version instead.
    Replace,
    /// Stop using it.
    Stop,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Replace => "replace",
            Mode::Stop => "stop",
        }
    }

    pub fn parse(s: &str) -> Option<Mode> {
        match s {
            "replace" => Some(Mode::Replace),
            "stop" => Some(Mode::Stop),
            _ => None,
        }
    }
}

/// What opens a recall.
pub struct Trigger<'a> {
    pub asset_id: &'a str,
    pub reason: Reason,
    pub mode: Mode,
    pub message: &'a str,
    /// The admin whose decision it is (none: the portal, for a closing window).
    pub by: Option<&'a Account>,
    /// Kept even with nobody to tell (an admin's explicit recall); an automatic one is not.
    pub keep_empty: bool,
    /// One recall per value: `replaced:<version id>`, `archived:<asset>:<time>`,
    /// `withdrawn:<asset>:<window end>`, `recalled:<new id>`.
    pub dedupe: String,
}

/// Most characters of an admin's recall message.
pub const MAX_MESSAGE: usize = 2000;

/// What a recall opened: its id and how many were told and not.
#[derive(Clone, Debug)]
pub struct Opened {
    pub id: String,
    pub notified: usize,
    pub anonymous: i64,
}

/// Opens a recall and queues its notices; records `asset_recalled`. Returns `None` when this
/// trigger was already seen (`dedupe`), or when nobody has an older version and the trigger
/// need not be kept (`keep_empty`).
pub async fn open(
    state: &AppState,
    t: Trigger<'_>,
    client: &ClientInfo,
) -> Result<Option<Opened>, AppError> {
    let message = t.message.trim();
    if message.chars().count() > MAX_MESSAGE {
        return Err(AppError::Unprocessable(format!(
            "the message is longer than {MAX_MESSAGE} characters"
        )));
    }
    let db = &state.db;
    let view = crate::library::assets::get_current(db, t.asset_id)
        .await?
        .ok_or(AppError::NotFound)?;
    // "Use the new version" recalls what is older than the version partners get now; "stop"
    // recalls every version.
    let below = match t.mode {
        Mode::Replace => approved_number(db, &view).await?,
        Mode::Stop => i64::MAX,
    };
    let now = state.clock.now_ms();
    let since = now - state.config.recall_days * DAY_MS;
    let rows = sqlx::query(
        "SELECT version_number, who_kind, user_id, link_id, email, completed_at FROM receipts \
         WHERE asset_id = $1 AND version_number < $2 AND completed_at IS NOT NULL \
         AND completed_at >= $3 ORDER BY completed_at",
    )
    .bind(t.asset_id)
    .bind(below)
    .bind(since)
    .fetch_all(&db.pool)
    .await?;
    let mut holders: BTreeMap<String, Holder> = BTreeMap::new();
    let mut anonymous = 0i64;
    for r in rows {
        let email: Option<String> = r.try_get("email")?;
        let Some(email) = email.filter(|e| !e.is_empty()) else {
            anonymous += 1;
            continue;
        };
        let h = holders.entry(email.to_lowercase()).or_default();
        let version: i64 = r.try_get("version_number")?;
        if !h.versions.contains(&version) {
            h.versions.push(version);
        }
        if let Some(u) = r.try_get::<Option<String>, _>("user_id")? {
            h.user_id = Some(u);
        }
        if r.try_get::<String, _>("who_kind")? == "recipient" {
            // The newest link they completed it through (rows are oldest first).
            h.link_id = r.try_get("link_id")?;
        }
    }
    if !t.keep_empty && holders.is_empty() && anonymous == 0 {
        return Ok(None);
    }
    let id = db::new_id();
    let mut tx = db.pool.begin().await?;
    let inserted = sqlx::query(
        "INSERT INTO recalls (id, asset_id, reason, mode, message, below_version, anonymous, \
         created_by, created_at, dedupe) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
         ON CONFLICT (dedupe) DO NOTHING",
    )
    .bind(&id)
    .bind(t.asset_id)
    .bind(t.reason.as_str())
    .bind(t.mode.as_str())
    .bind(message)
    .bind(below)
    .bind(anonymous)
    .bind(t.by.map(|a| a.id.to_string()))
    .bind(now)
    .bind(&t.dedupe)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if inserted == 0 {
        return Ok(None);
    }
    for (email, h) in &holders {
        let mut versions = h.versions.clone();
        versions.sort_unstable();
        let versions: Vec<String> = versions.iter().map(i64::to_string).collect();
        sqlx::query(
            "INSERT INTO recall_notices (id, recall_id, email, user_id, link_id, versions, \
             created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(db::new_id())
        .bind(&id)
        .bind(email)
        .bind(&h.user_id)
        .bind(&h.link_id)
        .bind(versions.join(", "))
        .bind(now)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    for email in holders.keys() {
        notices::schedule(state, email, now).await?;
    }
    let detail = format!(
        "{}, {}: {} notified, {} anonymous{}",
        t.reason.as_str(),
        t.mode.as_str(),
        holders.len(),
        anonymous,
        if message.is_empty() {
            String::new()
        } else {
            format!(" — {message}")
        }
    );
    let mut e = Event::new(EventKind::AssetRecalled)
        .asset(t.asset_id)
        .detail(&detail);
    if let Some(by) = t.by {
        e = e.by(&by.id);
    }
    state.events.record(e, client).await?;
    Ok(Some(Opened {
        id,
        notified: holders.len(),
        anonymous,
    }))
}

/// The number of the version partners get (the current one if none is approved).
async fn approved_number(
    db: &crate::db::Db,
    view: &crate::library::assets::AssetView,
) -> Result<i64, AppError> {
    let Some(approved) = view.asset.approved_version_id.as_deref() else {
        return Ok(view.version.number);
    };
    if approved == view.version.id {
        return Ok(view.version.number);
    }
    let n = sqlx::query_scalar::<_, i64>("SELECT number FROM asset_versions WHERE id = $1")
        .bind(approved)
        .fetch_optional(&db.pool)
        .await?;
    Ok(n.unwrap_or(view.version.number))
}

/// An admin recalls an asset: the API's `POST …/recall` and the asset page's form.
pub async fn recall(
    state: &AppState,
    admin: &Account,
    asset_id: &str,
    mode: Mode,
    message: &str,
    client: &ClientInfo,
) -> Result<Opened, AppError> {
    let t = Trigger {
        asset_id,
        reason: Reason::Recalled,
        mode,
        message,
        by: Some(admin),
        keep_empty: true,
        dedupe: format!("recalled:{}", db::new_id()),
    };
    open(state, t, client)
        .await?
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("an admin's recall was not opened")))
}

#[derive(Default)]
struct Holder {
    versions: Vec<i64>,
    user_id: Option<String>,
    link_id: Option<String>,
}

/// Assets whose availability window closed recently and that someone has: each opens one
/// "withdrawn" recall (its dedupe names the window's end, so every instance may look). Run
/// every minute by each instance.
pub async fn scan_windows(state: &AppState) -> Result<usize, AppError> {
    let now = state.clock.now_ms();
    let rows = sqlx::query(
        "SELECT a.id, a.available_until FROM assets a WHERE a.status = 'approved' \
         AND a.available_until IS NOT NULL AND a.available_until <= $1 \
         AND a.available_until > $2 \
         AND EXISTS (SELECT 1 FROM receipts r WHERE r.asset_id = a.id \
                     AND r.completed_at IS NOT NULL) \
         AND NOT EXISTS (SELECT 1 FROM recalls c \
                         WHERE c.dedupe = 'withdrawn:' || a.id || ':' || a.available_until) \
         ORDER BY a.available_until LIMIT 500",
    )
    .bind(now)
    .bind(now - 7 * DAY_MS)
    .fetch_all(&state.db.pool)
    .await?;
    let mut opened = 0;
    for r in rows {
        let asset_id: String = r.try_get("id")?;
        let until: i64 = r.try_get("available_until")?;
        let t = Trigger {
            asset_id: &asset_id,
            reason: Reason::Withdrawn,
            mode: Mode::Stop,
            message: "",
            by: None,
            keep_empty: false,
            dedupe: format!("withdrawn:{asset_id}:{until}"),
        };
        if open(state, t, &ClientInfo::system()).await?.is_some() {
            opened += 1;
        }
    }
    Ok(opened)
}
