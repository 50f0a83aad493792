//! Folders form a tree; a folder's `path` (by names) is unique and its `id_path` (by ids) lets
//! one prefix comparison find every ancestor, which is how grants inherit downwards.
use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use crate::db::{self, Db};
use crate::error::AppError;
use crate::sanitize;

#[derive(Clone, Debug, Serialize)]
pub struct Folder {
    pub id: String,
    pub parent_id: Option<String>,
    pub name: String,
    pub path: String,
    #[serde(skip)]
    pub id_path: String,
}

impl Folder {
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({ "id": self.id, "parent_id": self.parent_id, "name": self.name, "path": self.path })
    }

    /// Ids of this folder's ancestors, root first (not including itself).
    pub fn ancestor_ids(&self) -> Vec<&str> {
        self.id_path
            .split('/')
            .filter(|s| !s.is_empty() && *s != self.id)
            .collect()
    }

    fn child_paths(&self, id: &str, name: &str) -> (String, String) {
        (
            format!("{}/{}", self.path, name),
            format!("{}{}/", self.id_path, id),
        )
    }
}

const COLS: &str = "f.id, f.parent_id, f.name, f.path, f.id_path";

fn from_row(r: &AnyRow) -> Result<Folder, sqlx::Error> {
    Ok(Folder {
        id: r.try_get("id")?,
        parent_id: r.try_get("parent_id")?,
        name: r.try_get("name")?,
        path: r.try_get("path")?,
        id_path: r.try_get("id_path")?,
    })
}

pub async fn get(db: &Db, id: &str) -> Result<Option<Folder>, sqlx::Error> {
    sqlx::query(&format!("SELECT {COLS} FROM folders f WHERE f.id = $1"))
        .bind(id)
        .fetch_optional(&db.pool)
        .await?
        .map(|r| from_row(&r))
        .transpose()
}

/// Every folder by path, up to `limit` (an admin's "approve into" choice).
pub async fn all(db: &Db, limit: i64) -> Result<Vec<Folder>, sqlx::Error> {
    sqlx::query(&format!(
        "SELECT {COLS} FROM folders f ORDER BY f.path LIMIT $1"
    ))
    .bind(limit)
    .fetch_all(&db.pool)
    .await?
    .iter()
    .map(from_row)
    .collect()
}

/// Children of `parent` (top-level folders for `None`), by name.
pub async fn children(db: &Db, parent: Option<&str>) -> Result<Vec<Folder>, sqlx::Error> {
    let rows = match parent {
        Some(p) => {
            sqlx::query(&format!(
                "SELECT {COLS} FROM folders f WHERE f.parent_id = $1 ORDER BY f.name"
            ))
            .bind(p)
            .fetch_all(&db.pool)
            .await?
        }
        None => {
            sqlx::query(&format!(
                "SELECT {COLS} FROM folders f WHERE f.parent_id IS NULL ORDER BY f.name"
            ))
            .fetch_all(&db.pool)
            .await?
        }
    };
    rows.iter().map(from_row).collect()
}

/// Folders by id, in the order of `ids` (used for breadcrumbs).
pub async fn many(db: &Db, ids: &[&str]) -> Result<Vec<Folder>, sqlx::Error> {
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        if let Some(f) = get(db, id).await? {
            out.push(f);
        }
    }
    Ok(out)
}

/// Creates a folder; a duplicate path is a 409.
pub async fn create(db: &Db, parent: Option<&Folder>, name: &str) -> Result<Folder, AppError> {
    let name = sanitize::name(name).map_err(AppError::BadRequest)?;
    let id = db::new_id();
    let (path, id_path) = match parent {
        Some(p) => p.child_paths(&id, &name),
        None => (format!("/{name}"), format!("/{id}/")),
    };
    let res = sqlx::query(
        "INSERT INTO folders (id, parent_id, name, path, id_path, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&id)
    .bind(parent.map(|p| p.id.clone()))
    .bind(&name)
    .bind(&path)
    .bind(&id_path)
    .bind(db.clock.now_ms())
    .execute(&db.pool)
    .await;
    match res {
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Err(AppError::Conflict(
            format!("a folder '{path}' already exists"),
        )),
        Err(e) => Err(e.into()),
        Ok(_) => Ok(Folder {
            id,
            parent_id: parent.map(|p| p.id.clone()),
            name,
            path,
            id_path,
        }),
    }
}

/// Finds or creates the subfolders `segments` below `base`, inside the caller's transaction,
/// so a failed upload never leaves a half-made tree. Concurrent uploads creating the same
/// folder meet at the unique path and both use the one row.
pub async fn ensure_path(
    conn: &mut AnyConnection,
    base: &Folder,
    segments: &[String],
    now: i64,
) -> Result<Folder, sqlx::Error> {
    let mut current = base.clone();
    for name in segments {
        let id = db::new_id();
        let (path, id_path) = current.child_paths(&id, name);
        sqlx::query(
            "INSERT INTO folders (id, parent_id, name, path, id_path, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (path) DO NOTHING",
        )
        .bind(&id)
        .bind(&current.id)
        .bind(name)
        .bind(&path)
        .bind(&id_path)
        .bind(now)
        .execute(&mut *conn)
        .await?;
        let row = sqlx::query(&format!("SELECT {COLS} FROM folders f WHERE f.path = $1"))
            .bind(&path)
            .fetch_one(&mut *conn)
            .await?;
        current = from_row(&row)?;
    }
    Ok(current)
}

#[derive(Clone, Debug, Serialize)]
pub struct Grant {
    pub folder_id: String,
    pub group_id: String,
    pub group_name: String,
    pub view: bool,
    pub download: bool,
    pub contribute: bool,
}

/// Sets a group's rights on a folder (replacing earlier ones).
pub async fn set_grant(
    db: &Db,
    folder_id: &str,
    group_id: &str,
    view: bool,
    download: bool,
    contribute: bool,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO grants (folder_id, group_id, can_view, can_download, can_contribute) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (folder_id, group_id) DO UPDATE SET \
         can_view = excluded.can_view, can_download = excluded.can_download, \
         can_contribute = excluded.can_contribute",
    )
    .bind(folder_id)
    .bind(group_id)
    .bind(view as i64)
    .bind(download as i64)
    .bind(contribute as i64)
    .execute(&db.pool)
    .await?;
    Ok(())
}

pub async fn delete_grant(db: &Db, folder_id: &str, group_id: &str) -> Result<bool, sqlx::Error> {
    Ok(
        sqlx::query("DELETE FROM grants WHERE folder_id = $1 AND group_id = $2")
            .bind(folder_id)
            .bind(group_id)
            .execute(&db.pool)
            .await?
            .rows_affected()
            > 0,
    )
}

/// The grants set directly on a folder.
pub async fn grants(db: &Db, folder_id: &str) -> Result<Vec<Grant>, sqlx::Error> {
    sqlx::query(
        "SELECT g.folder_id, g.group_id, ug.name, g.can_view, g.can_download, g.can_contribute \
         FROM grants g JOIN user_groups ug ON ug.id = g.group_id WHERE g.folder_id = $1 ORDER BY ug.name",
    )
    .bind(folder_id)
    .fetch_all(&db.pool)
    .await?
    .iter()
    .map(|r| {
        Ok(Grant {
            folder_id: r.try_get("folder_id")?,
            group_id: r.try_get("group_id")?,
            group_name: r.try_get("name")?,
            view: db::flag(r, "can_view")?,
            download: db::flag(r, "can_download")?,
            contribute: db::flag(r, "can_contribute")?,
        })
    })
    .collect()
}

/// Grants inherited from ancestors, with the folder path they come from (for the admin view).
pub async fn inherited_grants(
    db: &Db,
    folder: &Folder,
) -> Result<Vec<(String, Grant)>, sqlx::Error> {
    let mut out = Vec::new();
    for anc in many(db, &folder.ancestor_ids()).await? {
        for g in grants(db, &anc.id).await? {
            out.push((anc.path.clone(), g));
        }
    }
    Ok(out)
}
