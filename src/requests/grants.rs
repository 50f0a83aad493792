//! Personal download grants: an approved download request lets one member download exactly the
//! assets named, until a time. They are part of the visibility scope: `access::asset` reads
//! them through [`active_clause`], so every channel that asks it (asset JSON, originals,
//! renditions, member ZIPs, search's "downloadable" filter) follows, and a grant that ends or is
//! revoked is gone on the next request.
use serde_json::json;
use sqlx::Row;

use crate::accounts::Account;
use crate::app::AppState;
use crate::clock;
use crate::db::{self, Db};
use crate::error::AppError;
use crate::events::{Event, EventKind};
use crate::web::client::ClientInfo;

/// SQL condition: user `user` (a placeholder) holds an active personal grant on asset alias `a`
/// at `now` (a placeholder).
pub fn active_clause(a: &str, user: &str, now: &str) -> String {
    format!(
        "EXISTS (SELECT 1 FROM download_grants dg WHERE dg.user_id = {user} \
         AND dg.asset_id = {a}.id AND dg.revoked_at IS NULL AND dg.expires_at > {now})"
    )
}

/// Gives `user` a grant on each asset until `until` (called by `actions::approve`, which
/// records the decision).
pub(super) async fn give(
    state: &AppState,
    actor: &Account,
    user: &str,
    asset_ids: &[String],
    request_id: &str,
    until: i64,
) -> Result<(), AppError> {
    let now = state.clock.now_ms();
    let mut tx = state.db.pool.begin().await?;
    for asset in asset_ids {
        sqlx::query(
            "INSERT INTO download_grants (id, user_id, asset_id, request_id, granted_by, \
             created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(db::new_id())
        .bind(user)
        .bind(asset)
        .bind(request_id)
        .bind(&actor.id)
        .bind(now)
        .bind(until)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// One grant as lists show it.
#[derive(Clone, Debug)]
pub struct PersonalGrant {
    pub id: String,
    pub user_id: String,
    pub email: String,
    pub asset_id: String,
    pub created_at: i64,
    pub expires_at: i64,
}

impl PersonalGrant {
    pub fn to_json(&self) -> serde_json::Value {
        json!({
            "id": self.id, "user_id": self.user_id, "email": self.email,
            "asset_id": self.asset_id,
            "created_at": clock::rfc3339(self.created_at),
            "expires_at": clock::rfc3339(self.expires_at),
        })
    }
}

/// Active grants, narrowed to an asset and/or a member.
pub async fn active(
    db: &Db,
    asset_id: Option<&str>,
    user_id: Option<&str>,
    now: i64,
) -> Result<Vec<PersonalGrant>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT g.id, g.user_id, u.email, g.asset_id, g.created_at, g.expires_at \
         FROM download_grants g JOIN users u ON u.id = g.user_id \
         WHERE g.revoked_at IS NULL AND g.expires_at > $1 \
         AND ($2 = '' OR g.asset_id = $2) AND ($3 = '' OR g.user_id = $3) \
         ORDER BY g.expires_at DESC, g.id LIMIT 500",
    )
    .bind(now)
    .bind(asset_id.unwrap_or(""))
    .bind(user_id.unwrap_or(""))
    .fetch_all(&db.pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(PersonalGrant {
                id: r.try_get("id")?,
                user_id: r.try_get("user_id")?,
                email: r.try_get("email")?,
                asset_id: r.try_get("asset_id")?,
                created_at: r.try_get("created_at")?,
                expires_at: r.try_get("expires_at")?,
            })
        })
        .collect()
}

/// Until when `who` may download `asset_id` by a personal grant, if they may.
pub async fn until(
    db: &Db,
    who: &Account,
    asset_id: &str,
    now: i64,
) -> Result<Option<i64>, sqlx::Error> {
    Ok(active(db, Some(asset_id), Some(&who.id), now)
        .await?
        .iter()
        .map(|g| g.expires_at)
        .max())
}

/// Ends a grant at once; records `download_grant_revoked`. Revoking twice is harmless; an
/// unknown grant is 404.
pub async fn revoke(
    state: &AppState,
    actor: &Account,
    id: &str,
    client: &ClientInfo,
) -> Result<(), AppError> {
    let row = sqlx::query("SELECT user_id, asset_id FROM download_grants WHERE id = $1")
        .bind(id)
        .fetch_optional(&state.db.pool)
        .await?
        .ok_or(AppError::NotFound)?;
    let asset: String = row.try_get("asset_id")?;
    let user: String = row.try_get("user_id")?;
    let n = sqlx::query(
        "UPDATE download_grants SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL",
    )
    .bind(state.clock.now_ms())
    .bind(id)
    .execute(&state.db.pool)
    .await?
    .rows_affected();
    if n == 1 {
        let detail = format!("personal grant of user {user}");
        state
            .events
            .record(
                Event::new(EventKind::DownloadGrantRevoked)
                    .by(&actor.id)
                    .asset(&asset)
                    .detail(&detail),
                client,
            )
            .await?;
    }
    Ok(())
}
