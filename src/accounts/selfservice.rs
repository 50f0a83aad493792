//! Account self-service (issue 7): changing one's own password, resetting a forgotten one by
//! email, and personal API tokens. Pages and API call these; the rules live here.
use serde_json::json;
use sqlx::Row;

use super::throttle::{self, Policy, LOGIN_PER_ACCOUNT};
use super::users::{self, Account};
use super::{password, session_store, tokens};
use crate::clock;
use crate::db::{self, Db};
use crate::error::AppError;
use crate::mail::Mailer;

/// How long an emailed reset link works.
pub const RESET_VALID_MS: i64 = 60 * 60 * 1000;

/// Reset requests per address: a mail bomb through "forgot password" stops at three an hour.
/// Counted for every address asked about, known or not, so the 429 tells nothing either.
pub const RESETS_PER_EMAIL: Policy = Policy {
    limit: 3,
    window_ms: 60 * 60 * 1000,
};
pub const RESETS_PER_IP: Policy = Policy {
    limit: 20,
    window_ms: 60 * 60 * 1000,
};

/// Changes the caller's own password after checking the current one (throttled like a login,
/// so a borrowed session cannot guess it), then ends every session of the account. The
/// caller signs the current browser back in (see `pages`); API tokens are separate
/// credentials and stay valid (the form says so): whoever knows the current password is the
/// owner, who can revoke tokens one by one. A reset is different, see `PasswordSet::Reset`.
pub async fn change_password(
    db: &Db,
    account: &Account,
    current: &str,
    new: &str,
) -> Result<(), AppError> {
    let now = db.clock.now_ms();
    let key = format!("login:acct:{}", account.email);
    let attempt = throttle::reserve(db, &key, LOGIN_PER_ACCOUNT, now).await?;
    let stored = users::credentials(db, &account.email)
        .await?
        .map(|(_, hash)| hash);
    if !password::verify(current.to_string(), stored).await? {
        // The attempt stays counted.
        return Err(AppError::Forbidden(
            "the current password is not right".into(),
        ));
    }
    // The right current password is a success, like a login: the account's count is cleared.
    attempt.clear(db).await?;
    password::check_policy(new)?;
    if new == current {
        return Err(AppError::Unprocessable(
            "the new password must differ from the current one".into(),
        ));
    }
    set_password(db, &account.id, new, PasswordSet::Change).await?;
    Ok(())
}

/// Why a password is being set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PasswordSet {
    /// The owner, proving the current password: API tokens stay.
    Change,
    /// Someone lost control of the account (a "forgot password" link, or an admin setting a
    /// password for them): whoever had it may have made API tokens too, so they are revoked.
    Reset,
}

/// Stores a new password hash and ends every session and pending reset of the account; a
/// reset also revokes its API tokens.
pub(crate) async fn set_password(
    db: &Db,
    user_id: &str,
    new: &str,
    why: PasswordSet,
) -> Result<(), AppError> {
    let hash = password::hash(new.to_string()).await?;
    sqlx::query("UPDATE users SET password_hash = $1, updated_at = $2 WHERE id = $3")
        .bind(hash)
        .bind(db.clock.now_ms())
        .bind(user_id)
        .execute(&db.pool)
        .await?;
    sqlx::query("DELETE FROM password_resets WHERE user_id = $1")
        .bind(user_id)
        .execute(&db.pool)
        .await?;
    session_store::end_all_for_user(db, user_id).await?;
    if why == PasswordSet::Reset {
        tokens::revoke_all_for_user(db, user_id).await?;
    }
    Ok(())
}

/// "Forgot password": when `email` belongs to an active account, mails it a one-time link.
/// The caller answers the same whatever happens here. The mail is sent in the background, so
/// the answer takes the same time for known and unknown addresses.
pub async fn request_reset(
    db: &Db,
    mailer: &Mailer,
    public_url: &str,
    email: &str,
    ip: &str,
) -> Result<(), AppError> {
    let now = db.clock.now_ms();
    let email = email.trim().to_lowercase();
    let email_key = format!("reset:email:{email}");
    let ip_key = format!("reset:ip:{ip}");
    // Every request is an attempt that stays counted (a mail may go out): reserved before
    // anything is looked up, so parallel requests cannot pass together.
    let _counted = throttle::reserve_all(
        db,
        &[
            (email_key.as_str(), RESETS_PER_EMAIL),
            (ip_key.as_str(), RESETS_PER_IP),
        ],
        now,
    )
    .await?;
    if email.len() > 320 {
        return Ok(());
    }
    let Some(account) = users::by_email(db, &email).await? else {
        return Ok(());
    };
    if account.disabled {
        return Ok(());
    }
    let token = crate::token::new_token("reset");
    sqlx::query(
        "INSERT INTO password_resets (id, user_id, token_hash, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(db::new_id())
    .bind(&account.id)
    .bind(crate::token::hash_token(&token))
    .bind(now)
    .bind(now + RESET_VALID_MS)
    .execute(&db.pool)
    .await?;
    let mailer = mailer.clone();
    let to = account.email.clone();
    let name = account.name.clone();
    let link = format!("{public_url}/reset/{token}");
    tokio::spawn(async move {
        let vars = [("name", name.as_str()), ("link", link.as_str())];
        let kind = &crate::brand::mail::PASSWORD_RESET;
        if let Err(e) = mailer.send_kind(&to, kind, &vars, None).await {
            tracing::warn!(error = %e, "sending a password reset mail failed");
        }
    });
    Ok(())
}

/// The account a reset token is for, if it is known, unused and unexpired.
pub async fn reset_account(db: &Db, token: &str) -> Result<Option<Account>, AppError> {
    if token.len() > 200 {
        return Ok(None);
    }
    let row = sqlx::query(
        "SELECT user_id FROM password_resets \
         WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2",
    )
    .bind(crate::token::hash_token(token))
    .bind(db.clock.now_ms())
    .fetch_optional(&db.pool)
    .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let user_id: String = row.try_get("user_id")?;
    Ok(users::by_id(db, &user_id).await?.filter(|a| !a.disabled))
}

/// Sets a new password through a reset token. The token is spent atomically first, so two
/// racing submissions cannot both use it; every session, API token and other reset link then
/// ends.
pub async fn complete_reset(db: &Db, token: &str, new: &str) -> Result<Account, AppError> {
    password::check_policy(new)?;
    let account = reset_account(db, token).await?.ok_or(AppError::Gone)?;
    let spent = sqlx::query(
        "UPDATE password_resets SET used_at = $1 \
         WHERE token_hash = $2 AND used_at IS NULL AND expires_at > $1",
    )
    .bind(db.clock.now_ms())
    .bind(crate::token::hash_token(token))
    .execute(&db.pool)
    .await?
    .rows_affected();
    if spent != 1 {
        return Err(AppError::Gone);
    }
    set_password(db, &account.id, new, PasswordSet::Reset).await?;
    // A forgotten password is proof enough of a locked-out owner: clear the login throttle.
    throttle::reset(db, &format!("login:acct:{}", account.email)).await?;
    Ok(account)
}

/// One of the caller's API tokens, as listed (never the token itself).
pub struct OwnToken {
    pub id: String,
    pub name: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

impl OwnToken {
    pub fn to_json(&self) -> serde_json::Value {
        json!({
            "id": self.id,
            "name": self.name,
            "created_at": clock::rfc3339(self.created_at),
            "last_used_at": self.last_used_at.map(clock::rfc3339),
            "revoked_at": self.revoked_at.map(clock::rfc3339),
        })
    }
}

/// The account's tokens, newest first.
pub async fn list_tokens(db: &Db, user_id: &str) -> Result<Vec<OwnToken>, AppError> {
    let rows = sqlx::query(
        "SELECT id, name, created_at, last_used_at, revoked_at FROM api_tokens \
         WHERE user_id = $1 ORDER BY created_at DESC, id DESC",
    )
    .bind(user_id)
    .fetch_all(&db.pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(OwnToken {
                id: r.try_get("id")?,
                name: r.try_get("name")?,
                created_at: r.try_get("created_at")?,
                last_used_at: r.try_get("last_used_at")?,
                revoked_at: r.try_get("revoked_at")?,
            })
        })
        .collect::<Result<_, sqlx::Error>>()
        .map_err(Into::into)
}

/// A token name as given, or a clear refusal.
pub fn token_name(raw: &str) -> Result<String, AppError> {
    let name = raw.trim();
    if name.is_empty() {
        return Err(AppError::BadRequest("give the token a name".into()));
    }
    if name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(AppError::BadRequest(
            "a token name is at most 100 characters, without control characters".into(),
        ));
    }
    Ok(name.to_string())
}

/// Revokes one of the account's own tokens; someone else's is 404 (SPEC §2.1).
pub async fn revoke_token(db: &Db, user_id: &str, token_id: &str) -> Result<(), AppError> {
    let done = sqlx::query(
        "UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, $1) WHERE id = $2 AND user_id = $3",
    )
    .bind(db.clock.now_ms())
    .bind(token_id)
    .bind(user_id)
    .execute(&db.pool)
    .await?
    .rows_affected();
    if done == 0 {
        return Err(AppError::NotFound);
    }
    Ok(())
}
