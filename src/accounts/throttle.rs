//! Failed-attempt throttling kept in the database, so the count holds across restarts and
//! across instances (SPEC §2.7). A key is e.g. `login:acct:<email>` or `login:ip:<addr>`.
use sqlx::Row;

use crate::db::Db;
use crate::error::AppError;

/// A policy: at most `limit` failures per `window_ms`.
#[derive(Clone, Copy, Debug)]
pub struct Policy {
    pub limit: i64,
    pub window_ms: i64,
}

pub const LOGIN_PER_ACCOUNT: Policy = Policy {
    limit: 5,
    window_ms: 15 * 60 * 1000,
};
pub const LOGIN_PER_IP: Policy = Policy {
    limit: 30,
    window_ms: 15 * 60 * 1000,
};

/// Refuses with 429 and a Retry-After while `key` is over its limit.
pub async fn check(db: &Db, key: &str, policy: Policy, now: i64) -> Result<(), AppError> {
    let row = sqlx::query("SELECT failures, window_start FROM throttles WHERE key = $1")
        .bind(key)
        .fetch_optional(&db.pool)
        .await?;
    if let Some(row) = row {
        let failures: i64 = row.try_get("failures")?;
        let start: i64 = row.try_get("window_start")?;
        let ends = start + policy.window_ms;
        if failures >= policy.limit && ends > now {
            let retry_after = ((ends - now) + 999) / 1000;
            return Err(AppError::TooManyRequests {
                retry_after: retry_after as u64,
            });
        }
    }
    Ok(())
}

/// Counts one failure; a window that has run out starts again at one.
pub async fn record_failure(
    db: &Db,
    key: &str,
    policy: Policy,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO throttles (key, failures, window_start) VALUES ($1, 1, $2) \
         ON CONFLICT (key) DO UPDATE SET \
           failures = CASE WHEN throttles.window_start <= $3 THEN 1 ELSE throttles.failures + 1 END, \
           window_start = CASE WHEN throttles.window_start <= $3 THEN $2 ELSE throttles.window_start END",
    )
    .bind(key)
    .bind(now)
    .bind(now - policy.window_ms)
    .execute(&db.pool)
    .await?;
    Ok(())
}

pub async fn reset(db: &Db, key: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM throttles WHERE key = $1")
        .bind(key)
        .execute(&db.pool)
        .await?;
    Ok(())
}
