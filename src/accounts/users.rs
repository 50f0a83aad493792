//! Accounts: email (unique, case-insensitive), name, role, disabled flag, argon2id password.
use crate::db::Columns;
use serde::{Deserialize, Serialize};
use sqlx::Row;

use super::password;
use crate::clock;
use crate::db::{self, Db};
use crate::error::AppError;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Admin,
    Member,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Member => "member",
        }
    }

    pub fn parse(s: &str) -> Result<Role, AppError> {
        match s {
            "admin" => Ok(Role::Admin),
            "member" => Ok(Role::Member),
            _ => Err(AppError::BadRequest(
                "role must be 'admin' or 'member'".into(),
            )),
        }
    }
}

/// A signed-in caller or a listed user. Never carries the password hash.
#[derive(Clone, Debug, Serialize)]
pub struct Account {
    pub id: crate::ids::UserId,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub disabled: bool,
    #[serde(skip)]
    pub created_at_ms: i64,
}

impl Account {
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }

    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "id": self.id, "email": self.email, "name": self.name, "role": self.role,
            "disabled": self.disabled, "created_at": clock::rfc3339(self.created_at_ms),
        })
    }
}

/// The account columns, prefixed for joins.
pub const COLUMNS: &str = "u.id, u.email, u.name, u.role, u.disabled, u.created_at";

pub fn from_row<R: Columns + ?Sized>(row: &R) -> Result<Account, sqlx::Error> {
    Ok(Account {
        id: row.text("id")?.into(),
        email: row.text("email")?,
        name: row.text("name")?,
        role: if row.text("role")? == "admin" {
            Role::Admin
        } else {
            Role::Member
        },
        disabled: row.flag("disabled")?,
        created_at_ms: row.int("created_at")?,
    })
}

/// Emails compare case-insensitively: they are stored trimmed and lower-cased.
pub fn normalize_email(raw: &str) -> Result<String, AppError> {
    let e = raw.trim().to_lowercase();
    // One `@`: `a@partner.test@evil.test` would read as one domain here and another there.
    let valid = e.len() <= 254
        && e.matches('@').count() == 1
        && e.split_once('@').is_some_and(|(l, d)| {
            !l.is_empty() && d.contains('.') && !d.starts_with('.') && !d.ends_with('.')
        })
        && !e
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '<' || c == '>');
    if valid {
        Ok(e)
    } else {
        Err(AppError::BadRequest(
            "a valid email address is required".into(),
        ))
    }
}

fn check_name(raw: &str) -> Result<String, AppError> {
    let n = raw.trim();
    if n.is_empty() || n.chars().count() > 200 || n.chars().any(char::is_control) {
        return Err(AppError::BadRequest(
            "a name of 1 to 200 characters is required".into(),
        ));
    }
    Ok(n.to_string())
}

pub struct NewUser<'a> {
    pub email: &'a str,
    pub name: &'a str,
    pub role: Role,
    pub password: &'a str,
}

pub async fn create_user(db: &Db, new: NewUser<'_>) -> Result<Account, AppError> {
    let email = normalize_email(new.email)?;
    let name = check_name(new.name)?;
    password::check_policy(new.password)?;
    let hash = password::hash(new.password.to_string()).await?;
    let id = db::new_id();
    let now = db.clock.now_ms();
    let res = sqlx::query(
        "INSERT INTO users (id, email, name, role, password_hash, disabled, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, 0, $6, $6)",
    )
    .bind(&id)
    .bind(&email)
    .bind(&name)
    .bind(new.role.as_str())
    .bind(hash)
    .bind(now)
    .execute(&db.pool)
    .await;
    match res {
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Err(AppError::Conflict(
            "an account with that email already exists".into(),
        )),
        Err(e) => Err(e.into()),
        Ok(_) => Ok(Account {
            id: id.into(),
            email,
            name,
            role: new.role,
            disabled: false,
            created_at_ms: now,
        }),
    }
}

/// Display names of the given accounts (unknown ids are left out).
pub async fn names(
    db: &Db,
    ids: &[&str],
) -> Result<std::collections::HashMap<String, String>, sqlx::Error> {
    let mut out = std::collections::HashMap::new();
    for id in ids {
        if out.contains_key(*id) {
            continue;
        }
        if let Some(u) = by_id(db, id).await? {
            out.insert(u.id.into(), u.name);
        }
    }
    Ok(out)
}

pub async fn by_id(db: &Db, id: &str) -> Result<Option<Account>, sqlx::Error> {
    sqlx::query(&format!("SELECT {COLUMNS} FROM users u WHERE u.id = $1"))
        .bind(id)
        .fetch_optional(&db.pool)
        .await?
        .map(|r| from_row(&r))
        .transpose()
}

/// The account behind a page session, and whether the navigation offers "My submissions": the
/// person may contribute somewhere or has submitted before. One query, because every page needs
/// both.
pub async fn for_page(db: &Db, id: &str) -> Result<Option<(Account, bool)>, sqlx::Error> {
    let sql = format!(
        "SELECT {COLUMNS}, CAST(CASE WHEN EXISTS (SELECT 1 FROM grants g \
         JOIN group_members m ON m.group_id = g.group_id \
         WHERE m.user_id = u.id AND g.can_contribute = 1) \
         OR EXISTS (SELECT 1 FROM assets a WHERE a.submitted_by = u.id) \
         THEN 1 ELSE 0 END AS BIGINT) AS contributes FROM users u WHERE u.id = $1"
    );
    sqlx::query(&sql)
        .bind(id)
        .fetch_optional(&db.pool)
        .await?
        .map(|r| Ok((from_row(&r)?, r.flag("contributes")?)))
        .transpose()
}

pub async fn by_email(db: &Db, email: &str) -> Result<Option<Account>, sqlx::Error> {
    sqlx::query(&format!("SELECT {COLUMNS} FROM users u WHERE u.email = $1"))
        .bind(email.trim().to_lowercase())
        .fetch_optional(&db.pool)
        .await?
        .map(|r| from_row(&r))
        .transpose()
}

/// The account and its password hash, for login only.
pub async fn credentials(db: &Db, email: &str) -> Result<Option<(Account, String)>, sqlx::Error> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS}, u.password_hash FROM users u WHERE u.email = $1"
    ))
    .bind(email)
    .fetch_optional(&db.pool)
    .await?;
    match row {
        Some(r) => Ok(Some((from_row(&r)?, r.try_get("password_hash")?))),
        None => Ok(None),
    }
}

/// One page of accounts ordered by id (creation order); `after` is the cursor.
/// Notes a sign-in (the users page's "last sign-in" and its method).
pub async fn signed_in(db: &Db, user_id: &str, method: &str) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE users SET last_sign_in_at = $1, sign_in_method = $2 WHERE id = $3")
        .bind(db.clock.now_ms())
        .bind(method)
        .bind(user_id)
        .execute(&db.pool)
        .await?;
    Ok(())
}

/// The account's time zone ("" when its browser never reported one: UTC).
pub async fn time_zone(db: &Db, user_id: &str) -> Result<String, sqlx::Error> {
    Ok(
        sqlx::query_scalar::<_, String>("SELECT time_zone FROM users WHERE id = $1")
            .bind(user_id)
            .fetch_optional(&db.pool)
            .await?
            .unwrap_or_default(),
    )
}

/// Keeps the account's time zone: an IANA name the database knows (as it spells it), or ""
/// for none. Anything else is a 422 naming it, and nothing changes.
pub async fn set_time_zone(db: &Db, user_id: &str, zone: &str) -> Result<String, AppError> {
    let zone = if zone.trim().is_empty() {
        String::new()
    } else {
        clock::zone_name(zone).ok_or_else(|| {
            let shown: String = zone.chars().filter(|c| !c.is_control()).take(64).collect();
            AppError::Unprocessable(format!("{shown:?} is not a time zone"))
        })?
    };
    sqlx::query("UPDATE users SET time_zone = $1 WHERE id = $2")
        .bind(&zone)
        .bind(user_id)
        .execute(&db.pool)
        .await?;
    Ok(zone)
}

/// When and how each account last signed in (never: absent), by account id.
pub async fn sign_ins(
    db: &Db,
) -> Result<std::collections::HashMap<String, (i64, String)>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT id, last_sign_in_at, sign_in_method FROM users WHERE last_sign_in_at IS NOT NULL",
    )
    .fetch_all(&db.pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok((
                r.try_get("id")?,
                (r.try_get("last_sign_in_at")?, r.try_get("sign_in_method")?),
            ))
        })
        .collect()
}

pub async fn list(db: &Db, after: Option<&str>, limit: i64) -> Result<Vec<Account>, sqlx::Error> {
    sqlx::query(&format!(
        "SELECT {COLUMNS} FROM users u WHERE u.id > $1 ORDER BY u.id LIMIT $2"
    ))
    .bind(after.unwrap_or(""))
    .bind(limit)
    .fetch_all(&db.pool)
    .await?
    .iter()
    .map(from_row)
    .collect()
}

pub async fn count_admins(db: &Db) -> Result<i64, sqlx::Error> {
    sqlx::query("SELECT COUNT(*) AS n FROM users WHERE role = 'admin' AND disabled = 0")
        .fetch_one(&db.pool)
        .await?
        .try_get("n")
}

/// Makes admin `id` a member unless no other active admin would be left (the portal is never
/// locked out); true if it did. The count and the change are one statement, and on PostgreSQL
/// the active admins' rows are locked first, so two demotions at once cannot both see the
/// other still an admin and leave none.
pub async fn demote_unless_last_admin(db: &Db, id: &str) -> Result<bool, sqlx::Error> {
    let mut tx = db.pool.begin().await?;
    if db.dialect == db::Dialect::Postgres {
        sqlx::query(
            "SELECT id FROM users WHERE role = 'admin' AND disabled = 0 ORDER BY id FOR UPDATE",
        )
        .fetch_all(&mut *tx)
        .await?;
    }
    let done = sqlx::query(
        "UPDATE users SET role = 'member', updated_at = $1 WHERE id = $2 AND role = 'admin' \
         AND (SELECT COUNT(*) FROM users WHERE role = 'admin' AND disabled = 0 AND id <> $2) > 0",
    )
    .bind(db.clock.now_ms())
    .bind(id)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    tx.commit().await?;
    Ok(done == 1)
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserChanges {
    pub name: Option<String>,
    pub role: Option<String>,
    pub disabled: Option<bool>,
    pub password: Option<String>,
}

/// Applies an admin's edit. A password set by an admin is a reset (sessions and API tokens
/// end); disabling ends every session and revokes every API token, so re-enabling brings
/// none of them back. An admin cannot lock themselves out, so the last admin stays.
pub async fn update(
    db: &Db,
    actor: &Account,
    id: &str,
    ch: UserChanges,
) -> Result<Account, AppError> {
    let mut user = by_id(db, id).await?.ok_or(AppError::NotFound)?;
    if let Some(n) = &ch.name {
        user.name = check_name(n)?;
    }
    if let Some(r) = &ch.role {
        user.role = Role::parse(r)?;
    }
    if let Some(d) = ch.disabled {
        user.disabled = d;
    }
    if user.id == actor.id && (user.disabled || user.role != Role::Admin) {
        return Err(AppError::Conflict(
            "you cannot disable or demote your own account".into(),
        ));
    }
    if let Some(p) = &ch.password {
        password::check_policy(p)?;
    }
    sqlx::query(
        "UPDATE users SET name = $1, role = $2, disabled = $3, updated_at = $4 WHERE id = $5",
    )
    .bind(&user.name)
    .bind(user.role.as_str())
    .bind(user.disabled as i64)
    .bind(db.clock.now_ms())
    .bind(&user.id)
    .execute(&db.pool)
    .await?;
    // One way to set a password: it also ends every session and pending reset link.
    if let Some(p) = &ch.password {
        use super::selfservice::{set_password, PasswordSet};
        set_password(db, &user.id, p, PasswordSet::Reset).await?;
    }
    if user.disabled {
        super::session_store::end_all_for_user(db, &user.id).await?;
        super::tokens::revoke_all_for_user(db, &user.id).await?;
    }
    Ok(user)
}

#[cfg(test)]
mod tests {
    use super::normalize_email;

    #[test]
    fn an_address_has_one_at_sign() {
        assert_eq!(
            normalize_email("  Ann@Partner.Test ").ok().as_deref(),
            Some("ann@partner.test")
        );
        // Read as partner.test by one reader and as evil.test by another.
        assert!(normalize_email("x@partner.test@evil.test").is_err());
        assert!(normalize_email("x@@partner.test").is_err());
        assert!(normalize_email("partner.test").is_err());
    }
}
