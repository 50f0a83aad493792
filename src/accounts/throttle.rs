//! Attempt throttling kept in the database, so the count holds across restarts and across
//! instances (SPEC §2.7). A key is e.g. `login:acct:<email>` or `login:ip:<addr>`.
//!
//! **The rule:** an attempt is *reserved* in one statement before the secret is looked at, and
//! refused (429 with `Retry-After`) when the reservation would go over the limit. There is no
//! "check, then verify, then record": parallel requests cannot all pass a check that none of
//! them has counted yet. A success may give its attempt back (`Attempt::give_back`) or clear
//! the key (`Attempt::clear`, what a successful login does to its account counter).
use sqlx::Row;

use crate::db::Db;
use crate::error::AppError;

/// A policy: at most `limit` attempts per `window_ms` (fixed windows starting at the first).
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

/// One reserved attempt; dropping it keeps it counted (a failure).
#[must_use = "an attempt is counted unless given back"]
#[derive(Debug)]
pub struct Attempt {
    key: String,
    window_start: i64,
}

/// Reserves one attempt under `key`, or refuses with 429 and the seconds until the window ends.
///
/// One statement: a fresh key or a window that has run out starts again at one; otherwise the
/// count goes up only while it is below the limit (`DO UPDATE … WHERE`), and `RETURNING` says
/// whether it did. PostgreSQL re-checks the `WHERE` on the locked, latest row, SQLite has one
/// writer, so N parallel attempts yield at most `limit` reservations on any number of
/// instances. A refused attempt changes nothing.
pub async fn reserve(db: &Db, key: &str, policy: Policy, now: i64) -> Result<Attempt, AppError> {
    let expired = now - policy.window_ms;
    let row = sqlx::query(
        "INSERT INTO throttles (key, failures, window_start) VALUES ($1, 1, $2) \
         ON CONFLICT (key) DO UPDATE SET \
           failures = CASE WHEN throttles.window_start <= $3 THEN 1 ELSE throttles.failures + 1 END, \
           window_start = CASE WHEN throttles.window_start <= $3 THEN $2 ELSE throttles.window_start END \
         WHERE throttles.window_start <= $3 OR throttles.failures < $4 \
         RETURNING window_start",
    )
    .bind(key)
    .bind(now)
    .bind(expired)
    .bind(policy.limit)
    .fetch_optional(&db.pool)
    .await?;
    if let Some(row) = row {
        return Ok(Attempt {
            key: key.to_string(),
            window_start: row.try_get("window_start")?,
        });
    }
    // Refused: only the Retry-After needs the window, read after the fact.
    let start: Option<i64> = sqlx::query("SELECT window_start FROM throttles WHERE key = $1")
        .bind(key)
        .fetch_optional(&db.pool)
        .await?
        .map(|r| r.try_get("window_start"))
        .transpose()?;
    // Another request's clock may be a little ahead: never more than one window.
    let wait = (start.unwrap_or(now) + policy.window_ms - now).clamp(1000, policy.window_ms);
    Err(AppError::TooManyRequests {
        retry_after: (wait as u64).div_ceil(1000),
    })
}

/// Reserves one attempt under each key, in order; if one refuses, those already reserved are
/// given back (the attempt was not judged) and the refusal is returned.
pub async fn reserve_all(
    db: &Db,
    keys: &[(&str, Policy)],
    now: i64,
) -> Result<Vec<Attempt>, AppError> {
    let mut taken = Vec::with_capacity(keys.len());
    for (key, policy) in keys {
        match reserve(db, key, *policy, now).await {
            Ok(a) => taken.push(a),
            Err(e) => {
                give_back_all(db, taken).await?;
                return Err(e);
            }
        }
    }
    Ok(taken)
}

/// Gives every attempt back (see `Attempt::give_back`).
pub async fn give_back_all(db: &Db, attempts: Vec<Attempt>) -> Result<(), sqlx::Error> {
    for a in attempts {
        a.give_back(db).await?;
    }
    Ok(())
}

impl Attempt {
    /// Uncounts this attempt (a success, or an attempt that was never judged). Only within the
    /// window it was counted in: a window that started again since owes it nothing.
    pub async fn give_back(self, db: &Db) -> Result<(), sqlx::Error> {
        sqlx::query(
            "UPDATE throttles SET failures = failures - 1 \
             WHERE key = $1 AND window_start = $2 AND failures > 0",
        )
        .bind(&self.key)
        .bind(self.window_start)
        .execute(&db.pool)
        .await?;
        Ok(())
    }

    /// Clears the whole key (a successful login forgives the account's earlier failures).
    pub async fn clear(self, db: &Db) -> Result<(), sqlx::Error> {
        reset(db, &self.key).await
    }
}

/// Forgets every attempt under `key` (e.g. a completed password reset clears the login count).
pub async fn reset(db: &Db, key: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM throttles WHERE key = $1")
        .bind(key)
        .execute(&db.pool)
        .await?;
    Ok(())
}
