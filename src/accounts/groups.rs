//! Groups: named sets of members; grants are given to groups, never to single users.
use serde::Serialize;
use sqlx::Row;

use super::users::{self, Account};
use crate::db::{self, Db};
use crate::error::AppError;

#[derive(Clone, Debug, Serialize)]
pub struct Group {
    pub id: String,
    pub name: String,
    pub member_count: i64,
}

fn check_name(raw: &str) -> Result<String, AppError> {
    let n = raw.trim();
    if n.is_empty() || n.chars().count() > 200 || n.chars().any(char::is_control) {
        return Err(AppError::BadRequest(
            "a group name of 1 to 200 characters is required".into(),
        ));
    }
    Ok(n.to_string())
}

pub async fn create(db: &Db, name: &str) -> Result<Group, AppError> {
    let name = check_name(name)?;
    let id = db::new_id();
    let res = sqlx::query("INSERT INTO user_groups (id, name, created_at) VALUES ($1, $2, $3)")
        .bind(&id)
        .bind(&name)
        .bind(db.clock.now_ms())
        .execute(&db.pool)
        .await;
    match res {
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Err(AppError::Conflict(
            "a group with that name already exists".into(),
        )),
        Err(e) => Err(e.into()),
        Ok(_) => Ok(Group {
            id,
            name,
            member_count: 0,
        }),
    }
}

const SELECT: &str = "SELECT g.id, g.name, \
    (SELECT COUNT(*) FROM group_members m WHERE m.group_id = g.id) AS member_count \
    FROM user_groups g";

fn from_row(r: &sqlx::any::AnyRow) -> Result<Group, sqlx::Error> {
    Ok(Group {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        member_count: r.try_get("member_count")?,
    })
}

pub async fn list(db: &Db) -> Result<Vec<Group>, sqlx::Error> {
    sqlx::query(&format!("{SELECT} ORDER BY g.name"))
        .fetch_all(&db.pool)
        .await?
        .iter()
        .map(from_row)
        .collect()
}

pub async fn get(db: &Db, id: &str) -> Result<Group, AppError> {
    let row = sqlx::query(&format!("{SELECT} WHERE g.id = $1"))
        .bind(id)
        .fetch_optional(&db.pool)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(from_row(&row)?)
}

pub async fn members(db: &Db, group_id: &str) -> Result<Vec<Account>, sqlx::Error> {
    sqlx::query(&format!(
        "SELECT {} FROM users u JOIN group_members m ON m.user_id = u.id \
         WHERE m.group_id = $1 ORDER BY u.name",
        users::COLUMNS
    ))
    .bind(group_id)
    .fetch_all(&db.pool)
    .await?
    .iter()
    .map(users::from_row)
    .collect()
}

/// Names of the groups a user belongs to.
pub async fn of_user(db: &Db, user_id: &str) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query(
        "SELECT g.name FROM user_groups g JOIN group_members m ON m.group_id = g.id \
         WHERE m.user_id = $1 ORDER BY g.name",
    )
    .bind(user_id)
    .fetch_all(&db.pool)
    .await?
    .iter()
    .map(|r| r.try_get("name"))
    .collect()
}

/// Adds a member; adding twice is not an error.
pub async fn add_member(db: &Db, group_id: &str, user_id: &str) -> Result<(), AppError> {
    get(db, group_id).await?;
    users::by_id(db, user_id).await?.ok_or(AppError::NotFound)?;
    sqlx::query(
        "INSERT INTO group_members (group_id, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
    )
    .bind(group_id)
    .bind(user_id)
    .execute(&db.pool)
    .await?;
    Ok(())
}

pub async fn remove_member(db: &Db, group_id: &str, user_id: &str) -> Result<(), AppError> {
    get(db, group_id).await?;
    sqlx::query("DELETE FROM group_members WHERE group_id = $1 AND user_id = $2")
        .bind(group_id)
        .bind(user_id)
        .execute(&db.pool)
        .await?;
    Ok(())
}

/// Deletes a group with its memberships and grants (its members keep their accounts). 404 if
/// there is none.
pub async fn delete(db: &Db, group_id: &str) -> Result<Group, AppError> {
    let g = get(db, group_id).await?;
    let mut tx = db.pool.begin().await?;
    for sql in [
        "DELETE FROM group_members WHERE group_id = $1",
        "DELETE FROM grants WHERE group_id = $1",
        "DELETE FROM user_groups WHERE id = $1",
    ] {
        sqlx::query(sql).bind(group_id).execute(&mut *tx).await?;
    }
    tx.commit().await?;
    Ok(g)
}
