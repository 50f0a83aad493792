//! Collections (SPEC §1): admin-curated, ordered sets of assets from anywhere in the library.
//! Admins see and edit every collection; a member sees a collection's assets that it could see
//! anyway (approved, in window, `view` on the folder), and a collection with none of those is
//! invisible to it (404, like anything else it may not see).
pub mod api;
pub mod pages;

use serde::Serialize;
use sqlx::Row;

use crate::access;
use crate::accounts::Account;
use crate::clock;
use crate::db::{self, Db};
use crate::error::AppError;
use crate::library::assets::{self, AssetView, COLS};

/// Most assets in one collection.
pub const MAX_ASSETS: i64 = 10_000;

#[derive(Clone, Debug, Serialize)]
pub struct Collection {
    pub id: String,
    pub name: String,
    pub description: String,
    pub created_at: i64,
    pub updated_at: i64,
    /// Shown on partners' home (to those who can see something in it).
    pub featured: bool,
}

impl Collection {
    pub fn to_json(&self, asset_count: i64) -> serde_json::Value {
        serde_json::json!({
            "id": self.id, "name": self.name, "description": self.description,
            "asset_count": asset_count, "featured": self.featured,
            "created_at": clock::rfc3339(self.created_at),
            "updated_at": clock::rfc3339(self.updated_at),
        })
    }
}

fn from_row(r: &sqlx::any::AnyRow) -> Result<Collection, sqlx::Error> {
    Ok(Collection {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        description: r.try_get("description")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
        featured: r.try_get::<i64, _>("featured")? != 0,
    })
}

/// Features a collection on partners' home, or stops featuring it.
pub async fn set_featured(db: &Db, id: &str, featured: bool) -> Result<(), AppError> {
    let n = sqlx::query("UPDATE collections SET featured = $2, updated_at = $3 WHERE id = $1")
        .bind(id)
        .bind(i64::from(featured))
        .bind(db.clock.now_ms())
        .execute(&db.pool)
        .await?
        .rows_affected();
    if n == 0 {
        return Err(AppError::NotFound);
    }
    Ok(())
}

/// The featured collections `who` can see something in, with how many assets.
pub async fn featured(
    db: &Db,
    who: &Account,
    now: i64,
) -> Result<Vec<(Collection, i64)>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT id, name, description, created_at, updated_at, featured FROM collections \
         WHERE featured = 1 ORDER BY name, id",
    )
    .fetch_all(&db.pool)
    .await?;
    let mut out = Vec::new();
    for r in &rows {
        let c = from_row(r)?;
        let n = visible_assets(db, who, &c.id, now).await?.len() as i64;
        if n > 0 {
            out.push((c, n));
        }
    }
    Ok(out)
}

pub fn check_name(name: &str) -> Result<String, AppError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 200 || name.chars().any(char::is_control) {
        return Err(AppError::BadRequest(
            "a collection needs a name of 1 to 200 characters".into(),
        ));
    }
    Ok(name.to_string())
}

pub fn check_description(d: &str) -> Result<String, AppError> {
    if d.chars().count() > 5000 {
        return Err(AppError::BadRequest(
            "descriptions are limited to 5,000 characters".into(),
        ));
    }
    Ok(d.trim().to_string())
}

pub async fn create(
    db: &Db,
    by: &Account,
    name: &str,
    description: &str,
) -> Result<Collection, AppError> {
    let name = check_name(name)?;
    let description = check_description(description)?;
    let now = db.clock.now_ms();
    let c = Collection {
        id: db::new_id(),
        name,
        description,
        created_at: now,
        updated_at: now,
        featured: false,
    };
    sqlx::query(
        "INSERT INTO collections (id, name, description, created_by, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $5)",
    )
    .bind(&c.id)
    .bind(&c.name)
    .bind(&c.description)
    .bind(&by.id)
    .bind(now)
    .execute(&db.pool)
    .await?;
    Ok(c)
}

pub async fn get(db: &Db, id: &str) -> Result<Option<Collection>, sqlx::Error> {
    sqlx::query(
        "SELECT id, name, description, created_at, updated_at, featured FROM collections WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(&db.pool)
    .await?
    .map(|r| from_row(&r))
    .transpose()
}

pub async fn update(
    db: &Db,
    id: &str,
    name: Option<&str>,
    description: Option<&str>,
) -> Result<Collection, AppError> {
    let current = get(db, id).await?.ok_or(AppError::NotFound)?;
    let name = match name {
        Some(n) => check_name(n)?,
        None => current.name,
    };
    let description = match description {
        Some(d) => check_description(d)?,
        None => current.description,
    };
    sqlx::query(
        "UPDATE collections SET name = $2, description = $3, updated_at = $4 WHERE id = $1",
    )
    .bind(id)
    .bind(&name)
    .bind(&description)
    .bind(db.clock.now_ms())
    .execute(&db.pool)
    .await?;
    get(db, id).await?.ok_or(AppError::NotFound)
}

/// Deletes a collection. Links that showed it show nothing from now on (they stay listed,
/// so their access log is kept).
pub async fn delete(db: &Db, id: &str) -> Result<bool, sqlx::Error> {
    let mut tx = db.pool.begin().await?;
    sqlx::query("DELETE FROM collection_assets WHERE collection_id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    sqlx::query("UPDATE links SET collection_id = NULL WHERE collection_id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    let gone = sqlx::query("DELETE FROM collections WHERE id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(gone.rows_affected() == 1)
}

/// Adds an asset (at the end, or before the asset now at `position`, counted from 0); adding
/// one already there moves it.
pub async fn put_asset(
    db: &Db,
    id: &str,
    asset_id: &str,
    position: Option<i64>,
) -> Result<(), AppError> {
    get(db, id).await?.ok_or(AppError::NotFound)?;
    assets::get_current(db, asset_id)
        .await?
        .ok_or_else(|| AppError::Unprocessable(format!("no such asset: {asset_id}")))?;
    let mut order = asset_ids(db, id).await?;
    order.retain(|a| a != asset_id);
    if order.len() as i64 >= MAX_ASSETS {
        return Err(AppError::Unprocessable(format!(
            "a collection holds at most {MAX_ASSETS} assets"
        )));
    }
    let at = position
        .map(|p| p.clamp(0, order.len() as i64) as usize)
        .unwrap_or(order.len());
    order.insert(at, asset_id.to_string());
    write_order(db, id, &order).await
}

pub async fn remove_asset(db: &Db, id: &str, asset_id: &str) -> Result<bool, AppError> {
    get(db, id).await?.ok_or(AppError::NotFound)?;
    let r = sqlx::query("DELETE FROM collection_assets WHERE collection_id = $1 AND asset_id = $2")
        .bind(id)
        .bind(asset_id)
        .execute(&db.pool)
        .await?;
    touch(db, id).await?;
    Ok(r.rows_affected() == 1)
}

/// Moves an asset one place up (-1) or down (+1).
pub async fn nudge(db: &Db, id: &str, asset_id: &str, by: i64) -> Result<(), AppError> {
    let mut order = asset_ids(db, id).await?;
    let Some(i) = order.iter().position(|a| a == asset_id) else {
        return Err(AppError::NotFound);
    };
    let j = (i as i64 + by).clamp(0, order.len() as i64 - 1) as usize;
    order.swap(i, j);
    write_order(db, id, &order).await
}

async fn write_order(db: &Db, id: &str, order: &[String]) -> Result<(), AppError> {
    let mut tx = db.pool.begin().await?;
    sqlx::query("DELETE FROM collection_assets WHERE collection_id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    for (i, a) in order.iter().enumerate() {
        sqlx::query(
            "INSERT INTO collection_assets (collection_id, asset_id, position) VALUES ($1, $2, $3)",
        )
        .bind(id)
        .bind(a)
        .bind(i as i64)
        .execute(&mut *tx)
        .await?;
    }
    sqlx::query("UPDATE collections SET updated_at = $2 WHERE id = $1")
        .bind(id)
        .bind(db.clock.now_ms())
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

async fn touch(db: &Db, id: &str) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE collections SET updated_at = $2 WHERE id = $1")
        .bind(id)
        .bind(db.clock.now_ms())
        .execute(&db.pool)
        .await?;
    Ok(())
}

/// Every asset id in the collection, in order (admins' view, any status).
pub async fn asset_ids(db: &Db, id: &str) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query(
        "SELECT asset_id FROM collection_assets WHERE collection_id = $1 ORDER BY position, asset_id",
    )
    .bind(id)
    .fetch_all(&db.pool)
    .await?
    .iter()
    .map(|r| r.try_get("asset_id"))
    .collect()
}

/// The collection's assets `who` may see, in order, with the version each may see.
pub async fn visible_assets(
    db: &Db,
    who: &Account,
    id: &str,
    now: i64,
) -> Result<Vec<AssetView>, sqlx::Error> {
    let sql = if who.is_admin() {
        format!(
            "SELECT {COLS} FROM collection_assets ca JOIN assets a ON a.id = ca.asset_id \
             JOIN asset_versions v ON v.id = a.current_version_id \
             WHERE ca.collection_id = $1 AND $2 = $2 AND $3 = $3 ORDER BY ca.position, a.id"
        )
    } else {
        format!(
            "SELECT {COLS} FROM collection_assets ca JOIN assets a ON a.id = ca.asset_id \
             JOIN asset_versions v ON v.id = {} \
             JOIN folders f ON f.id = a.folder_id \
             WHERE ca.collection_id = $1 AND {} AND ({} OR {}) \
             ORDER BY ca.position, a.id",
            access::published_version("a"),
            access::published_clause("a", "$2"),
            access::grant_clause("f", "$3", access::Right::View),
            crate::requests::grants::active_clause("a", "$3", "$2"),
        )
    };
    assets::fetch_views(db, sqlx::query(&sql).bind(id).bind(now).bind(&who.id)).await
}

/// A collection `who` may open with the assets it sees there; otherwise 404.
pub async fn open(
    db: &Db,
    who: &Account,
    id: &str,
    now: i64,
) -> Result<(Collection, Vec<AssetView>), AppError> {
    let c = get(db, id).await?.ok_or(AppError::NotFound)?;
    let items = visible_assets(db, who, id, now).await?;
    if !who.is_admin() && items.is_empty() {
        return Err(AppError::NotFound);
    }
    Ok((c, items))
}

/// The collections `who` may open, with how many assets it sees in each, by name.
pub async fn list(db: &Db, who: &Account, now: i64) -> Result<Vec<(Collection, i64)>, sqlx::Error> {
    let all: Vec<Collection> = sqlx::query(
        "SELECT id, name, description, created_at, updated_at, featured FROM collections ORDER BY name, id",
    )
    .fetch_all(&db.pool)
    .await?
    .iter()
    .map(from_row)
    .collect::<Result<_, _>>()?;
    let mut out = Vec::new();
    for c in all {
        let n = visible_assets(db, who, &c.id, now).await?.len() as i64;
        if who.is_admin() || n > 0 {
            out.push((c, n));
        }
    }
    Ok(out)
}

/// Collections that hold `asset_id` (for the asset page), and all collections' names.
pub async fn holding(db: &Db, asset_id: &str) -> Result<Vec<Collection>, sqlx::Error> {
    sqlx::query(
        "SELECT c.id, c.name, c.description, c.created_at, c.updated_at, c.featured FROM collections c \
         JOIN collection_assets ca ON ca.collection_id = c.id WHERE ca.asset_id = $1 ORDER BY c.name",
    )
    .bind(asset_id)
    .fetch_all(&db.pool)
    .await?
    .iter()
    .map(from_row)
    .collect()
}

pub async fn all(db: &Db) -> Result<Vec<Collection>, sqlx::Error> {
    sqlx::query(
        "SELECT id, name, description, created_at, updated_at, featured FROM collections ORDER BY name, id",
    )
    .fetch_all(&db.pool)
    .await?
    .iter()
    .map(from_row)
    .collect()
}
