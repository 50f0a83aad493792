//! SCIM bearer tokens: made by an admin (shown once, only the hash kept), revocable; a token
//! acts as the admin who made it, while that admin is an active admin.
use serde_json::json;
use sqlx::Row;

use crate::accounts::{users, Account};
use crate::app::AppState;
use crate::clock;
use crate::db;
use crate::error::AppError;
use crate::events::{Event, EventKind};
use crate::web::client::ClientInfo;

pub struct ScimToken {
    pub id: String,
    pub name: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

impl ScimToken {
    pub fn to_json(&self) -> serde_json::Value {
        json!({
            "id": self.id, "name": self.name, "created_at": clock::rfc3339(self.created_at),
            "last_used_at": self.last_used_at.map(clock::rfc3339),
            "revoked_at": self.revoked_at.map(clock::rfc3339),
        })
    }
}

/// Makes a token; returns it with the secret, shown this once. Records `scim_token_created`.
pub async fn create(
    state: &AppState,
    by: &Account,
    name: &str,
    client: &ClientInfo,
) -> Result<(ScimToken, String), AppError> {
    let name = crate::links::options::check_text("name", name, 100)?;
    let secret = crate::token::new_token("scim");
    let id = db::new_id();
    let now = state.clock.now_ms();
    sqlx::query(
        "INSERT INTO scim_tokens (id, name, token_hash, created_by, created_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(&id)
    .bind(&name)
    .bind(crate::token::hash_token(&secret))
    .bind(&by.id)
    .bind(now)
    .execute(&state.db.pool)
    .await?;
    state
        .events
        .record(
            Event::new(EventKind::ScimTokenCreated)
                .by(&by.id)
                .detail(&name),
            client,
        )
        .await?;
    Ok((
        ScimToken {
            id,
            name,
            created_at: now,
            last_used_at: None,
            revoked_at: None,
        },
        secret,
    ))
}

pub async fn list(state: &AppState) -> Result<Vec<ScimToken>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT id, name, created_at, last_used_at, revoked_at FROM scim_tokens \
         ORDER BY created_at DESC, id DESC",
    )
    .fetch_all(&state.db.pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(ScimToken {
                id: r.try_get("id")?,
                name: r.try_get("name")?,
                created_at: r.try_get("created_at")?,
                last_used_at: r.try_get("last_used_at")?,
                revoked_at: r.try_get("revoked_at")?,
            })
        })
        .collect()
}

/// Revokes a token at once; twice is harmless; unknown is 404. Records `scim_token_revoked`.
pub async fn revoke(
    state: &AppState,
    by: &Account,
    id: &str,
    client: &ClientInfo,
) -> Result<(), AppError> {
    let exists = sqlx::query("SELECT name FROM scim_tokens WHERE id = $1")
        .bind(id)
        .fetch_optional(&state.db.pool)
        .await?
        .ok_or(AppError::NotFound)?;
    let name: String = exists.try_get("name")?;
    let n =
        sqlx::query("UPDATE scim_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
            .bind(state.clock.now_ms())
            .bind(id)
            .execute(&state.db.pool)
            .await?
            .rows_affected();
    if n == 1 {
        state
            .events
            .record(
                Event::new(EventKind::ScimTokenRevoked)
                    .by(&by.id)
                    .detail(&name),
                client,
            )
            .await?;
    }
    Ok(())
}

/// The admin a live token acts as, if any.
pub async fn check(state: &AppState, token: &str) -> Result<Option<Account>, AppError> {
    if token.len() > 200 {
        return Ok(None);
    }
    let row = sqlx::query(
        "SELECT id, created_by FROM scim_tokens WHERE token_hash = $1 AND revoked_at IS NULL",
    )
    .bind(crate::token::hash_token(token))
    .fetch_optional(&state.db.pool)
    .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let id: String = row.try_get("id")?;
    let by: Option<String> = row.try_get("created_by")?;
    sqlx::query("UPDATE scim_tokens SET last_used_at = $1 WHERE id = $2")
        .bind(state.clock.now_ms())
        .bind(&id)
        .execute(&state.db.pool)
        .await?;
    let Some(by) = by else {
        return Ok(None);
    };
    Ok(users::by_id(&state.db, &by)
        .await?
        .filter(|a| a.is_admin() && !a.disabled))
}
