//! tower-sessions store in our own database: sessions survive restarts and are shared by every
//! instance. The owning user id is kept in its own column so a password change can end all of
//! an account's sessions with one statement.
use async_trait::async_trait;
use sqlx::Row;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, SessionStore};

use crate::db::Db;

/// Session key holding the signed-in user's id.
pub const USER_KEY: &str = "user_id";

#[derive(Clone, Debug)]
pub struct DbSessionStore {
    db: Db,
}

impl DbSessionStore {
    pub fn new(db: Db) -> Self {
        DbSessionStore { db }
    }
}

fn backend(e: impl std::fmt::Display) -> session_store::Error {
    session_store::Error::Backend(e.to_string())
}

fn user_of(record: &Record) -> Option<String> {
    record
        .data
        .get(USER_KEY)
        .and_then(|v| v.as_str())
        .map(str::to_string)
}

/// tower-sessions sets the expiry from the system time; stored on our clock.
fn expires_ms(db: &Db, record: &Record) -> i64 {
    db.clock.from_system(record.expiry_date)
}

#[async_trait]
impl SessionStore for DbSessionStore {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        let data = serde_json::to_string(&record.data)
            .map_err(|e| session_store::Error::Encode(e.to_string()))?;
        // A new id on the (astronomically unlikely) collision, as the trait asks.
        loop {
            let res = sqlx::query(
                "INSERT INTO sessions (id, user_id, data, expires_at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (id) DO NOTHING",
            )
            .bind(record.id.to_string())
            .bind(user_of(record))
            .bind(&data)
            .bind(expires_ms(&self.db, record))
            .execute(&self.db.pool)
            .await
            .map_err(backend)?;
            if res.rows_affected() == 1 {
                return Ok(());
            }
            record.id = Id::default();
        }
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        let data = serde_json::to_string(&record.data)
            .map_err(|e| session_store::Error::Encode(e.to_string()))?;
        sqlx::query(
            "INSERT INTO sessions (id, user_id, data, expires_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (id) DO UPDATE SET user_id = excluded.user_id, data = excluded.data, \
             expires_at = excluded.expires_at",
        )
        .bind(record.id.to_string())
        .bind(user_of(record))
        .bind(&data)
        .bind(expires_ms(&self.db, record))
        .execute(&self.db.pool)
        .await
        .map_err(backend)?;
        Ok(())
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        let row =
            sqlx::query("SELECT data, expires_at FROM sessions WHERE id = $1 AND expires_at > $2")
                .bind(id.to_string())
                .bind(self.db.clock.now_ms())
                .fetch_optional(&self.db.pool)
                .await
                .map_err(backend)?;
        let Some(row) = row else { return Ok(None) };
        let data: String = row.try_get("data").map_err(backend)?;
        let expires: i64 = row.try_get("expires_at").map_err(backend)?;
        Ok(Some(Record {
            id: *id,
            data: serde_json::from_str(&data)
                .map_err(|e| session_store::Error::Decode(e.to_string()))?,
            expiry_date: crate::clock::from_ms(expires),
        }))
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        sqlx::query("DELETE FROM sessions WHERE id = $1")
            .bind(id.to_string())
            .execute(&self.db.pool)
            .await
            .map_err(backend)?;
        Ok(())
    }
}

/// Ends every session of an account (password change, disabling).
pub async fn end_all_for_user(db: &Db, user_id: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM sessions WHERE user_id = $1")
        .bind(user_id)
        .execute(&db.pool)
        .await?;
    Ok(())
}

/// Removes expired sessions; run periodically by every instance (idempotent).
pub async fn purge_expired(db: &Db) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
        .bind(db.clock.now_ms())
        .execute(&db.pool)
        .await?
        .rows_affected())
}
