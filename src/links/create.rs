//! Creating a share (one link, or one per recipient) and telling the recipients.
use super::options::NewShare;
use crate::accounts::Account;
use crate::app::AppState;
use crate::clock;
use crate::db;
use crate::error::AppError;
use crate::library::{assets, folders};

use super::{new_token, url};

/// Most assets one share may list explicitly (a folder link has no limit).
const MAX_ASSETS: usize = 10_000;

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

/// Stores a checked share (one link, or one per recipient) and mails the recipients. Called by
/// `actions::create_link`, which records the events.
pub async fn create(
    state: &AppState,
    creator: &Account,
    new: NewShare,
) -> Result<Created, AppError> {
    let db = &state.db;
    let now = state.clock.now_ms();
    let NewShare {
        asset_ids,
        expires_at,
        title,
        message,
        terms,
        max_downloads,
        recipients,
        ..
    } = &new;
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
    if asset_ids.len() > MAX_ASSETS {
        return Err(AppError::Unprocessable(format!(
            "at most {MAX_ASSETS} assets per link; share their folder instead"
        )));
    }
    for id in asset_ids {
        if assets::get_current(db, id).await?.is_none() {
            return Err(AppError::Unprocessable(format!("no such asset: {id}")));
        }
    }
    let password_hash = match new.password.clone() {
        Some(p) => Some(p.hash().await?),
        None => None,
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
             recipients, created_by, created_at, expires_at, collection_id, ip_allow, bind_recipient, \
             token_sealed, presets, cover_asset_id) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, \
             $18, $19, $20, $21, $22, $23)",
        )
        .bind(&id)
        .bind(&share_id)
        .bind(crate::token::hash_token(&token))
        .bind(kind)
        .bind(&folder_id)
        .bind(title)
        .bind(message)
        .bind(terms)
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
        .bind(new.ip_allow.to_column())
        .bind(i64::from(new.bind_recipient))
        .bind(super::seal_token(state.secret.expose(), &id, &token))
        .bind(new.presets.to_column())
        .bind(new.cover_asset_id.clone().unwrap_or_default())
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
    for r in recipients {
        let link_url = issued
            .iter()
            .find(|i| i.recipient.as_deref() == Some(r.as_str()))
            .or_else(|| issued.first())
            .map(|i| i.url.clone())
            .unwrap_or_default();
        let invitation = Invitation {
            sender: &creator.name,
            sender_email: &creator.email,
            title,
            message,
            has_password: password_hash.is_some(),
            expires_at: *expires_at,
        };
        if let Err(e) = invitation.send(state, r, &link_url).await {
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

/// A new per-recipient link for `email` under `source`'s share: the same target, title,
/// message, terms, password, originals setting, download limit, code and binding, with its own
/// token, expiry and count. The recipient is mailed the usual invitation. Called by
/// `actions::issue_to_recipient`, which records the event.
pub async fn add_recipient(
    state: &AppState,
    creator: &Account,
    source: &super::Link,
    email: &str,
    expires_at: i64,
) -> Result<Issued, AppError> {
    let id = db::new_id();
    let token = new_token();
    let now = state.clock.now_ms();
    let n = sqlx::query(
        "INSERT INTO links (id, share_id, token_hash, target_kind, folder_id, title, message, \
         terms, password_hash, allow_original, max_downloads, require_code, recipient, \
         recipients, created_by, created_at, expires_at, collection_id, ip_allow, bind_recipient, \
         token_sealed, presets, cover_asset_id) \
         SELECT $1, share_id, $2, target_kind, folder_id, title, message, terms, password_hash, \
         allow_original, max_downloads, require_code, $3, $3, $4, $5, $6, collection_id, \
         ip_allow, bind_recipient, $8, presets, cover_asset_id FROM links WHERE id = $7",
    )
    .bind(&id)
    .bind(crate::token::hash_token(&token))
    .bind(email)
    .bind(&creator.id)
    .bind(now)
    .bind(expires_at)
    .bind(&source.id)
    .bind(super::seal_token(state.secret.expose(), &id, &token))
    .execute(&state.db.pool)
    .await?
    .rows_affected();
    if n == 0 {
        return Err(AppError::NotFound);
    }
    let link_url = url(&state.config.public_url, &token);
    let invitation = Invitation {
        sender: &creator.name,
        sender_email: &creator.email,
        title: &source.title,
        message: &source.message,
        has_password: source.password_hash.is_some(),
        expires_at,
    };
    if let Err(e) = invitation.send(state, email, &link_url).await {
        tracing::warn!(error = %e, "link invitation not sent");
    }
    Ok(Issued {
        id,
        url: link_url,
        recipient: Some(email.to_string()),
    })
}

/// The invitation mail a link's recipient gets (`brand::mail::LINK_INVITATION`).
struct Invitation<'a> {
    sender: &'a str,
    /// Replies go to the person who shared.
    sender_email: &'a str,
    title: &'a str,
    message: &'a str,
    has_password: bool,
    expires_at: i64,
}

impl Invitation<'_> {
    async fn send(&self, state: &AppState, to: &str, link_url: &str) -> anyhow::Result<()> {
        let title_part = if self.title.is_empty() {
            String::new()
        } else {
            format!(": {}", self.title)
        };
        let message_part = if self.message.is_empty() {
            String::new()
        } else {
            format!("{}\n\n", self.message)
        };
        let password_note = if self.has_password {
            "It is protected by a password, which the sender gives you separately.\n"
        } else {
            ""
        };
        let expires = clock::human(self.expires_at);
        let headline = if self.title.is_empty() {
            format!("{} shared files with you", self.sender)
        } else {
            self.title.to_string()
        };
        let vars = [
            ("sender", self.sender),
            ("title", title_part.as_str()),
            ("headline", headline.as_str()),
            ("message", message_part.as_str()),
            ("link", link_url),
            ("expires", expires.as_str()),
            ("password_note", password_note),
        ];
        let extras = crate::mail::Extras {
            reply_to: crate::mail::mailbox(self.sender, self.sender_email),
            ..Default::default()
        };
        state
            .mailer
            .send_kind_with(to, &crate::brand::mail::LINK_INVITATION, &vars, extras)
            .await
    }
}
