//! API tokens: made by `crate::token` (256 bits from the OS RNG), shown once, stored only as
//! SHA-256 hashes. A high-entropy token needs no slow hash; looking it up by its hash means
//! the comparison never touches the secret itself.

use super::users::{self, Account};
use crate::db::{self, Db, Param};

use crate::token::{hash_token, new_token};

/// Creates an API token for a user and returns the token (the only time it is visible).
pub async fn create_api_token(db: &Db, user_id: &str, name: &str) -> Result<String, sqlx::Error> {
    Ok(create_api_token_with_id(db, user_id, name).await?.1)
}

/// As `create_api_token`, also returning the new token's id: `(id, token)`.
pub async fn create_api_token_with_id(
    db: &Db,
    user_id: &str,
    name: &str,
) -> Result<(String, String), sqlx::Error> {
    let token = new_token("apt");
    let id = db::new_id();
    sqlx::query(
        "INSERT INTO api_tokens (id, user_id, name, token_hash, created_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(&id)
    .bind(user_id)
    .bind(name)
    .bind(hash_token(&token))
    .bind(db.clock.now_ms())
    .execute(&db.pool)
    .await?;
    Ok((id, token))
}

/// Revokes every live API token of an account. Used when it is disabled (re-enabling it must not
/// bring old tokens back: they may have leaked meanwhile) and on a password reset (the owner
/// lost control of the account). New tokens have to be made.
pub async fn revoke_all_for_user(db: &Db, user_id: &str) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query(
        "UPDATE api_tokens SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL",
    )
    .bind(db.clock.now_ms())
    .bind(user_id)
    .execute(&db.pool)
    .await?
    .rows_affected())
}

/// The account behind a bearer token, if the token is live and the account enabled.
pub async fn authenticate(db: &Db, token: &str) -> Result<Option<Account>, sqlx::Error> {
    if token.len() > 200 {
        return Ok(None);
    }
    let sql = format!(
        "SELECT t.id AS token_id, t.last_used_at, {} FROM api_tokens t JOIN users u ON u.id = t.user_id \
         WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND u.disabled = 0",
        users::COLUMNS
    );
    let hash = hash_token(token);
    let found = db
        .read_optional(&sql, &[Param::Text(&hash)], |r| {
            Ok((
                r.text("token_id")?,
                r.opt_int("last_used_at")?,
                users::from_row(r)?,
            ))
        })
        .await?;
    let Some((token_id, last, account)) = found else {
        return Ok(None);
    };
    let now = db.clock.now_ms();
    // Record use at most once a minute so reads do not turn into writes.
    if last.is_none_or(|l| now - l > 60_000) {
        sqlx::query("UPDATE api_tokens SET last_used_at = $1 WHERE id = $2")
            .bind(now)
            .bind(token_id)
            .execute(&db.pool)
            .await?;
    }
    Ok(Some(account))
}
