//! Creating a share (one link, or one per recipient) and telling the recipients.
use crate::accounts::{password, users, Account};
use crate::app::AppState;
use crate::clock;
use crate::db;
use crate::error::AppError;
use crate::library::{assets, folders};

use super::{new_token, url};

/// Default lifetime when none is given (SPEC: 7 days).
pub const DEFAULT_DAYS: i64 = 7;
const DAY_MS: i64 = 24 * 60 * 60 * 1000;
/// Most assets one share may list explicitly (a folder link has no limit).
const MAX_ASSETS: usize = 10_000;
const MAX_RECIPIENTS: usize = 100;

/// A new share as the API and the form describe it.
#[derive(Debug, Default)]
pub struct NewShare {
    pub asset_ids: Vec<String>,
    pub folder_id: Option<String>,
    pub collection_id: Option<String>,
    pub expires_at: Option<i64>,
    pub password: Option<String>,
    pub allow_original: bool,
    pub max_downloads: Option<i64>,
    pub recipients: Vec<String>,
    pub message: String,
    pub title: String,
    pub terms: String,
    pub per_recipient: bool,
    pub require_code: bool,
}

/// One issued link: the token is in the URL and shown only now.
pub struct Issued {
    pub id: String,
    pub url: String,
    pub recipient: Option<String>,
}

pub struct Created {
    pub share_id: String,
    pub links: Vec<Issued>,
    /// Recipients whose invitation could not be sent (the links exist regardless).
    pub mail_failures: Vec<String>,
}

/// Checks an expiry against now and the configured maximum.
pub fn check_expiry(expires_at: i64, now: i64, max_days: i64) -> Result<i64, AppError> {
    if expires_at <= now {
        return Err(AppError::Unprocessable(
            "expires_at must be in the future".into(),
        ));
    }
    if expires_at > now + max_days * DAY_MS {
        return Err(AppError::Unprocessable(format!(
            "links may last at most {max_days} days"
        )));
    }
    Ok(expires_at)
}

pub fn check_text(what: &str, s: &str, max: usize) -> Result<String, AppError> {
    let s = s.trim();
    if s.chars().count() > max {
        return Err(AppError::BadRequest(format!(
            "{what} is limited to {max} characters"
        )));
    }
    if s.chars()
        .any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t')
    {
        return Err(AppError::BadRequest(format!(
            "{what} contains control characters"
        )));
    }
    Ok(s.to_string())
}

pub fn check_max_downloads(n: Option<i64>) -> Result<Option<i64>, AppError> {
    match n {
        Some(n) if !(1..=1_000_000).contains(&n) => Err(AppError::Unprocessable(
            "max_downloads must be between 1 and 1000000".into(),
        )),
        other => Ok(other),
    }
}

pub async fn create(
    state: &AppState,
    creator: &Account,
    new: NewShare,
) -> Result<Created, AppError> {
    let db = &state.db;
    let now = state.clock.now_ms();
    let max_days = state.config.max_link_days;
    let expires_at = check_expiry(
        new.expires_at.unwrap_or(now + DEFAULT_DAYS * DAY_MS),
        now,
        max_days,
    )?;
    let title = check_text("title", &new.title, 200)?;
    let message = check_text("message", &new.message, 5000)?;
    let terms = check_text("terms", &new.terms, 20_000)?;
    let max_downloads = check_max_downloads(new.max_downloads)?;
    let mut recipients = Vec::new();
    for r in &new.recipients {
        if r.trim().is_empty() {
            continue;
        }
        let email = users::normalize_email(r)?;
        if !recipients.contains(&email) {
            recipients.push(email);
        }
    }
    if recipients.len() > MAX_RECIPIENTS {
        return Err(AppError::Unprocessable(format!(
            "at most {MAX_RECIPIENTS} recipients"
        )));
    }
    if new.per_recipient && recipients.is_empty() {
        return Err(AppError::Unprocessable(
            "one link per recipient needs recipients".into(),
        ));
    }
    if new.require_code && recipients.is_empty() {
        return Err(AppError::Unprocessable(
            "a one-time code is sent to recipients, so add at least one".into(),
        ));
    }
    // Exactly one target.
    let targets = usize::from(!new.asset_ids.is_empty())
        + usize::from(new.folder_id.is_some())
        + usize::from(new.collection_id.is_some());
    if targets != 1 {
        return Err(AppError::BadRequest(
            "give exactly one of asset_ids, folder_id or collection_id".into(),
        ));
    }
    let (kind, folder_id) = match &new.folder_id {
        Some(id) => {
            folders::get(db, id)
                .await?
                .ok_or_else(|| AppError::Unprocessable("no such folder".into()))?;
            ("folder", Some(id.clone()))
        }
        None if new.collection_id.is_some() => ("collection", None),
        None => ("assets", None),
    };
    if let Some(id) = &new.collection_id {
        crate::collections::get(db, id)
            .await?
            .ok_or_else(|| AppError::Unprocessable("no such collection".into()))?;
    }
    let mut asset_ids: Vec<String> = Vec::new();
    for id in &new.asset_ids {
        if !asset_ids.contains(id) {
            asset_ids.push(id.clone());
        }
    }
    if asset_ids.len() > MAX_ASSETS {
        return Err(AppError::Unprocessable(format!(
            "at most {MAX_ASSETS} assets per link; share their folder instead"
        )));
    }
    for id in &asset_ids {
        if assets::get_current(db, id).await?.is_none() {
            return Err(AppError::Unprocessable(format!("no such asset: {id}")));
        }
    }
    let password_hash = match new.password.as_deref().map(str::trim) {
        Some(p) if !p.is_empty() => {
            if p.chars().count() < 6 || p.len() > 200 {
                return Err(AppError::Unprocessable(
                    "link passwords need 6 to 200 characters".into(),
                ));
            }
            Some(password::hash(p.to_string()).await?)
        }
        _ => None,
    };

    let share_id = db::new_id();
    // One link, or one per recipient, each with its own token.
    let holders: Vec<Option<String>> = if new.per_recipient {
        recipients.iter().cloned().map(Some).collect()
    } else {
        vec![None]
    };
    let mut issued = Vec::new();
    let mut tx = db.pool.begin().await?;
    for holder in &holders {
        let id = db::new_id();
        let token = new_token();
        sqlx::query(
            "INSERT INTO links (id, share_id, token_hash, target_kind, folder_id, title, message, \
             terms, password_hash, allow_original, max_downloads, require_code, recipient, \
             recipients, created_by, created_at, expires_at, collection_id) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, \
             $18)",
        )
        .bind(&id)
        .bind(&share_id)
        .bind(crate::accounts::tokens::hash_token(&token))
        .bind(kind)
        .bind(&folder_id)
        .bind(&title)
        .bind(&message)
        .bind(&terms)
        .bind(&password_hash)
        .bind(i64::from(new.allow_original))
        .bind(max_downloads)
        .bind(i64::from(new.require_code))
        .bind(holder)
        .bind(match holder {
            Some(h) => h.clone(),
            None => recipients.join(","),
        })
        .bind(&creator.id)
        .bind(now)
        .bind(expires_at)
        .bind(&new.collection_id)
        .execute(&mut *tx)
        .await?;
        issued.push(Issued {
            id,
            url: url(&state.config.public_url, &token),
            recipient: holder.clone(),
        });
    }
    for (position, asset_id) in asset_ids.iter().enumerate() {
        sqlx::query("INSERT INTO link_assets (share_id, asset_id, position) VALUES ($1, $2, $3)")
            .bind(&share_id)
            .bind(asset_id)
            .bind(position as i64)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;

    // Invitations go out after the commit: a mail failure never undoes a link.
    let mut mail_failures = Vec::new();
    for r in &recipients {
        let link_url = issued
            .iter()
            .find(|i| i.recipient.as_deref() == Some(r.as_str()))
            .or_else(|| issued.first())
            .map(|i| i.url.clone())
            .unwrap_or_default();
        let title_part = if title.is_empty() {
            String::new()
        } else {
            format!(": {title}")
        };
        let message_part = if message.is_empty() {
            String::new()
        } else {
            format!("{message}\n\n")
        };
        let password_note = if password_hash.is_some() {
            "It is protected by a password, which the sender gives you separately.\n"
        } else {
            ""
        };
        let expires = clock::human(expires_at);
        let vars = [
            ("sender", creator.name.as_str()),
            ("title", title_part.as_str()),
            ("message", message_part.as_str()),
            ("link", link_url.as_str()),
            ("expires", expires.as_str()),
            ("password_note", password_note),
        ];
        if let Err(e) = state
            .mailer
            .send_kind(r, &crate::brand::mail::LINK_INVITATION, &vars, None)
            .await
        {
            tracing::warn!(error = %e, "link invitation not sent");
            mail_failures.push(r.clone());
        }
    }
    Ok(Created {
        share_id,
        links: issued,
        mail_failures,
    })
}
