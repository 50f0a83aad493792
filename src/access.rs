//! The one place that decides what a caller may see or do (SPEC §2). Every handler that lists or
//! fetches folders or assets goes through these functions; none writes its own check.
//!
//! Rules: admins see everything. A member's rights on a folder are the union of the grants its
//! groups hold on that folder or any ancestor. A member sees an asset if it is approved, inside
//! its availability window and the folder grants `view` (downloading also needs `download`), or
//! if the member submitted it. Whatever a caller may not see is `NotFound`, never `Forbidden`.
use sqlx::Row;

use crate::accounts::Account;
use crate::db::{Db, Param};
use crate::error::AppError;
use crate::library::assets::{self, AssetView, COLS};
use crate::library::folders::{self, Folder};

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Rights {
    pub view: bool,
    pub download: bool,
    pub contribute: bool,
}

impl Rights {
    pub const ALL: Rights = Rights {
        view: true,
        download: true,
        contribute: true,
    };

    /// A folder is visible (can be opened) with any right on it.
    pub fn any(&self) -> bool {
        self.view || self.download || self.contribute
    }
}

/// The caller's rights on `folder`, inherited from every ancestor.
pub async fn folder_rights(db: &Db, who: &Account, folder: &Folder) -> Result<Rights, sqlx::Error> {
    if who.is_admin() {
        return Ok(Rights::ALL);
    }
    let row = sqlx::query(
        "SELECT MAX(g.can_view) AS v, MAX(g.can_download) AS d, MAX(g.can_contribute) AS c \
         FROM grants g JOIN folders gf ON gf.id = g.folder_id \
         JOIN group_members m ON m.group_id = g.group_id \
         WHERE m.user_id = $1 AND substr($2, 1, length(gf.id_path)) = gf.id_path",
    )
    .bind(&who.id)
    .bind(&folder.id_path)
    .fetch_one(&db.pool)
    .await?;
    let get = |c: &str| {
        row.try_get::<Option<i64>, _>(c)
            .map(|v| v.unwrap_or(0) != 0)
    };
    // Download without view is meaningless: one cannot download what one cannot see.
    let view = get("v")?;
    Ok(Rights {
        view,
        download: view && get("d")?,
        contribute: get("c")?,
    })
}

/// A folder the caller may open, with its rights; otherwise 404.
pub async fn folder(db: &Db, who: &Account, id: &str) -> Result<(Folder, Rights), AppError> {
    let folder = folders::get(db, id).await?.ok_or(AppError::NotFound)?;
    let rights = folder_rights(db, who, &folder).await?;
    if !rights.any() {
        return Err(AppError::NotFound);
    }
    Ok((folder, rights))
}

/// The top of the caller's library: every top-level folder for admins; for members, the
/// granted folders that are not inside another granted folder (their "areas").
pub async fn roots(db: &Db, who: &Account) -> Result<Vec<Folder>, sqlx::Error> {
    if who.is_admin() {
        return folders::children(db, None).await;
    }
    let ids: Vec<String> = sqlx::query(
        "SELECT DISTINCT g.folder_id FROM grants g JOIN group_members m ON m.group_id = g.group_id \
         WHERE m.user_id = $1 AND (g.can_view = 1 OR g.can_contribute = 1)",
    )
    .bind(&who.id)
    .fetch_all(&db.pool)
    .await?
    .iter()
    .map(|r| r.try_get("folder_id"))
    .collect::<Result<_, _>>()?;
    let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
    let granted = folders::many(db, &refs).await?;
    let mut areas: Vec<Folder> = granted
        .iter()
        .filter(|f| !f.ancestor_ids().iter().any(|a| ids.iter().any(|i| i == a)))
        .cloned()
        .collect();
    areas.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(areas)
}

/// Breadcrumbs for `folder`: its ancestors the caller may open, root first.
pub async fn breadcrumbs(
    db: &Db,
    who: &Account,
    folder: &Folder,
) -> Result<Vec<Folder>, sqlx::Error> {
    let mut out = Vec::new();
    for anc in folders::many(db, &folder.ancestor_ids()).await? {
        if folder_rights(db, who, &anc).await?.any() {
            out.push(anc);
        }
    }
    Ok(out)
}

/// What the caller may do with one asset.
#[derive(Clone, Copy, Debug)]
pub struct AssetRights {
    pub download: bool,
    /// Admin or the submitter: may read review comments and the version timeline.
    pub see_review: bool,
}

/// An asset the caller may see, with the version it is entitled to; otherwise 404.
pub async fn asset(
    db: &Db,
    who: &Account,
    id: &str,
    now: i64,
) -> Result<(AssetView, AssetRights), AppError> {
    if who.is_admin() {
        let v = assets::get_current(db, id)
            .await?
            .ok_or(AppError::NotFound)?;
        return Ok((
            v,
            AssetRights {
                download: true,
                see_review: true,
            },
        ));
    }
    // Partners see the approved version, with their rights on its folder, in one query (this is
    // on every download's path); a submitter sees its own current version.
    let grant = |col: &str| {
        format!(
            "(SELECT MAX(g.{col}) FROM grants g JOIN folders gf ON gf.id = g.folder_id \
             JOIN group_members m ON m.group_id = g.group_id \
             WHERE m.user_id = $2 AND substr(f.id_path, 1, length(gf.id_path)) = gf.id_path)"
        )
    };
    let sql = format!(
        "SELECT {COLS}, {} AS r_view, {} AS r_download FROM assets a \
         JOIN asset_versions v ON v.id = a.approved_version_id \
         JOIN folders f ON f.id = a.folder_id WHERE a.id = $1",
        grant("can_view"),
        grant("can_download"),
    );
    let found = db
        .read_optional(&sql, &[Param::Text(id), Param::Text(&who.id)], |r| {
            let right = |c: &str| Ok::<_, sqlx::Error>(r.opt_int(c)?.unwrap_or(0) != 0);
            Ok((
                assets::view_from_row(r)?,
                right("r_view")?,
                right("r_download")?,
            ))
        })
        .await?;
    if let Some((v, view, download)) = found {
        if v.asset.status == "approved" && v.in_window(now) && view {
            let own = v.asset.submitted_by.as_deref() == Some(who.id.as_str());
            return Ok((
                v,
                AssetRights {
                    download: (view && download) || own,
                    see_review: own,
                },
            ));
        }
    }
    let v = assets::get_current(db, id)
        .await?
        .ok_or(AppError::NotFound)?;
    if v.asset.submitted_by.as_deref() == Some(who.id.as_str()) {
        return Ok((
            v,
            AssetRights {
                download: true,
                see_review: true,
            },
        ));
    }
    Err(AppError::NotFound)
}

/// An asset the caller may download (its entitled version); otherwise 404.
pub async fn downloadable(
    db: &Db,
    who: &Account,
    id: &str,
    now: i64,
) -> Result<AssetView, AppError> {
    match asset(db, who, id, now).await? {
        (v, r) if r.download => Ok(v),
        _ => Err(AppError::NotFound),
    }
}

/// A page of the assets the caller may see in `folder`, ordered by file name, after `cursor`
/// (`(filename, id)` of the last item of the previous page).
pub async fn folder_assets(
    db: &Db,
    who: &Account,
    folder: &Folder,
    rights: Rights,
    cursor: Option<(String, String)>,
    limit: i64,
    now: i64,
) -> Result<Vec<AssetView>, sqlx::Error> {
    let (after_name, after_id) = cursor.unwrap_or_default();
    let (version, filter) = if who.is_admin() {
        ("a.current_version_id", "1 = 1")
    } else if rights.view {
        (
            "CASE WHEN a.status = 'approved' THEN a.approved_version_id ELSE a.current_version_id END",
            "((a.status = 'approved' AND (a.available_from IS NULL OR a.available_from <= $5) \
              AND (a.available_until IS NULL OR a.available_until > $5)) OR a.submitted_by = $6)",
        )
    } else {
        ("a.current_version_id", "a.submitted_by = $6")
    };
    // `$5 = $5 AND $6 = $6` keeps every parameter referenced whichever filter applies.
    let sql = format!(
        "SELECT {COLS} FROM assets a JOIN asset_versions v ON v.id = {version} \
         WHERE a.folder_id = $1 AND (a.filename > $2 OR (a.filename = $2 AND a.id > $3)) \
         AND {filter} AND $5 = $5 AND $6 = $6 ORDER BY a.filename, a.id LIMIT $4"
    );
    let query = sqlx::query(&sql)
        .bind(&folder.id)
        .bind(after_name)
        .bind(after_id)
        .bind(limit)
        .bind(now)
        .bind(&who.id);
    assets::fetch_views(db, query).await
}

/// The newest assets waiting for an admin's decision (drafts and submissions); empty for members.
pub async fn review_queue(
    db: &Db,
    who: &Account,
    limit: i64,
) -> Result<Vec<AssetView>, sqlx::Error> {
    if !who.is_admin() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT {COLS} FROM assets a JOIN asset_versions v ON v.id = a.current_version_id \
         WHERE a.status IN ('draft', 'in_review') ORDER BY a.updated_at DESC, a.id DESC LIMIT $1"
    );
    assets::fetch_views(db, sqlx::query(&sql).bind(limit)).await
}

/// A contributor's own submissions that are not yet published, newest first (SPEC §2.3).
pub async fn own_submissions(
    db: &Db,
    who: &Account,
    limit: i64,
) -> Result<Vec<AssetView>, sqlx::Error> {
    let sql = format!(
        "SELECT {COLS} FROM assets a JOIN asset_versions v ON v.id = a.current_version_id \
         WHERE a.submitted_by = $1 AND a.status IN ('in_review', 'rejected') \
         ORDER BY a.updated_at DESC, a.id DESC LIMIT $2"
    );
    assets::fetch_views(db, sqlx::query(&sql).bind(&who.id).bind(limit)).await
}

/// One asset as a share link shows it, with the folders between the link's folder and the
/// asset (empty for asset links), for ZIP paths.
pub struct LinkedAsset {
    pub view: AssetView,
    pub subpath: Vec<String>,
}

/// The assets a share link shows at `now` (SPEC §2.4): approved, inside their window, and in
/// the link's target at this moment — an asset archived, withdrawn or moved out of a linked
/// folder is gone on the very next request. `only` narrows to one asset.
pub async fn link_assets(
    db: &Db,
    link: &crate::links::Link,
    only: Option<&str>,
    limit: i64,
    now: i64,
) -> Result<Vec<LinkedAsset>, sqlx::Error> {
    link_rows(db, link, COLS, only, limit, now)
        .await?
        .iter()
        .map(|r| {
            Ok(LinkedAsset {
                view: assets::view_from_row(r)?,
                subpath: subpath(r)?,
            })
        })
        .collect()
}

/// What a link's gallery shows of an asset: the same selection as `link_assets`, with only
/// the columns a landing page needs (it is the hot path of a link's page).
pub struct GalleryItem {
    pub id: String,
    pub title: String,
    pub filename: String,
    pub media_type: String,
    pub size: i64,
    pub subpath: Vec<String>,
    /// The version's rendition state: `ready` shows the thumbnail.
    pub render_state: String,
}

pub async fn link_gallery(
    db: &Db,
    link: &crate::links::Link,
    limit: i64,
    now: i64,
) -> Result<Vec<GalleryItem>, sqlx::Error> {
    // The whole gallery comes back as one JSON text in one row: with sqlx every row is a
    // message between threads, and a 50-asset page was spending most of its time on those.
    let Selection {
        from,
        order,
        rel_path,
        key,
    } = link_selection(link);
    let inner = format!(
        "SELECT a.id, a.title, v.filename, v.media_type, v.size, {rel_path} AS rel_path, \
         v.render_state, \
         row_number() OVER (ORDER BY {order}) AS n {from} ORDER BY {order} LIMIT $4"
    );
    let sql = match db.dialect {
        crate::db::Dialect::Sqlite => format!(
            "SELECT json_group_array(json_array(id, title, filename, media_type, size, rel_path, \
             render_state) ORDER BY n) AS j FROM ({inner}) g"
        ),
        crate::db::Dialect::Postgres => format!(
            "SELECT COALESCE(json_agg(json_build_array(id, title, filename, media_type, size, \
             rel_path, render_state) ORDER BY n)::text, '[]') AS j FROM ({inner}) g"
        ),
    };
    let json = db
        .read_optional(
            &sql,
            &[
                Param::Text(key),
                Param::Int(now),
                Param::Text(""),
                Param::Int(limit),
            ],
            |r| r.text("j"),
        )
        .await?
        .unwrap_or_default();
    type Tuple = (String, String, String, String, i64, String, String);
    let items: Vec<Tuple> =
        serde_json::from_str(&json).map_err(|e| sqlx::Error::Decode(Box::new(e)))?;
    Ok(items
        .into_iter()
        .map(
            |(id, title, filename, media_type, size, rel, render_state)| GalleryItem {
                id,
                title,
                filename,
                media_type,
                size,
                subpath: split_rel(&rel),
                render_state,
            },
        )
        .collect())
}

fn subpath(r: &sqlx::any::AnyRow) -> Result<Vec<String>, sqlx::Error> {
    Ok(split_rel(&r.try_get::<String, _>("rel_path")?))
}

fn split_rel(rel: &str) -> Vec<String> {
    rel.split('/')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// What a link shows, as pieces of one query: the FROM/WHERE part (binding $1 = `key`, $2 = now,
/// $3 = one asset id or '', $4 = limit), its ORDER BY, and each asset's folder path below the
/// link's folder (`rel_path`; '' for asset links).
struct Selection<'a> {
    from: String,
    order: &'static str,
    rel_path: &'static str,
    key: &'a str,
}

fn link_selection(link: &crate::links::Link) -> Selection<'_> {
    use crate::links::Target;
    let visible = "a.status = 'approved' \
        AND (a.available_from IS NULL OR a.available_from <= $2) \
        AND (a.available_until IS NULL OR a.available_until > $2) \
        AND ($3 = '' OR a.id = $3)";
    match &link.target {
        Target::Assets => Selection {
            from: format!(
                "FROM link_assets la \
                 JOIN assets a ON a.id = la.asset_id \
                 JOIN asset_versions v ON v.id = a.approved_version_id \
                 WHERE la.share_id = $1 AND {visible}"
            ),
            order: "la.position, a.id",
            rel_path: "''",
            key: &link.share_id,
        },
        Target::Folder(folder_id) => Selection {
            from: format!(
                "FROM folders root JOIN folders f \
                   ON substr(f.id_path, 1, length(root.id_path)) = root.id_path \
                 JOIN assets a ON a.folder_id = f.id \
                 JOIN asset_versions v ON v.id = a.approved_version_id \
                 WHERE root.id = $1 AND {visible}"
            ),
            order: "f.path, a.filename, a.id",
            rel_path: "substr(f.path, length(root.path) + 2)",
            key: folder_id,
        },
        Target::Collection(collection_id) => Selection {
            from: format!(
                "FROM collection_assets ca \
                 JOIN assets a ON a.id = ca.asset_id \
                 JOIN asset_versions v ON v.id = a.approved_version_id \
                 WHERE ca.collection_id = $1 AND {visible}"
            ),
            order: "ca.position, a.id",
            rel_path: "''",
            key: collection_id,
        },
    }
}

/// The one query behind what a link shows; `cols` picks the columns (plus `rel_path`).
async fn link_rows(
    db: &Db,
    link: &crate::links::Link,
    cols: &str,
    only: Option<&str>,
    limit: i64,
    now: i64,
) -> Result<Vec<sqlx::any::AnyRow>, sqlx::Error> {
    let Selection {
        from,
        order,
        rel_path,
        key,
    } = link_selection(link);
    let sql = format!("SELECT {cols}, {rel_path} AS rel_path {from} ORDER BY {order} LIMIT $4");
    sqlx::query(&sql)
        .bind(key)
        .bind(now)
        .bind(only.unwrap_or(""))
        .bind(limit)
        .fetch_all(&db.pool)
        .await
}

/// One asset of a share link, or 404.
pub async fn link_asset(
    db: &Db,
    link: &crate::links::Link,
    asset_id: &str,
    now: i64,
) -> Result<LinkedAsset, AppError> {
    link_assets(db, link, Some(asset_id), 1, now)
        .await?
        .pop()
        .ok_or(AppError::NotFound)
}

/// The assets a member may download among `ids` (others are skipped, as if absent).
pub async fn downloadable_many(
    db: &Db,
    who: &Account,
    ids: &[String],
    now: i64,
) -> Result<Vec<AssetView>, AppError> {
    let mut out = Vec::new();
    for id in ids {
        match downloadable(db, who, id, now).await {
            Ok(v) => out.push(v),
            Err(AppError::NotFound) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(out)
}

/// Every asset a member may download in `folder` and its subfolders, with the subfolder path.
pub async fn downloadable_tree(
    db: &Db,
    who: &Account,
    folder: &Folder,
    now: i64,
) -> Result<Vec<LinkedAsset>, AppError> {
    let sql = format!(
        "SELECT {COLS}, substr(f.path, length($2) + 2) AS rel_path FROM folders f \
         JOIN assets a ON a.folder_id = f.id \
         JOIN asset_versions v ON v.id = a.approved_version_id \
         WHERE substr(f.id_path, 1, length($1)) = $1 AND a.status = 'approved' \
         AND (a.available_from IS NULL OR a.available_from <= $3) \
         AND (a.available_until IS NULL OR a.available_until > $3) \
         ORDER BY f.path, a.filename, a.id"
    );
    let rows = sqlx::query(&sql)
        .bind(&folder.id_path)
        .bind(&folder.path)
        .bind(now)
        .fetch_all(&db.pool)
        .await?;
    // Rights differ per subfolder (grants inherit downwards, and may be added lower down).
    let mut rights_of: std::collections::HashMap<String, bool> = Default::default();
    let mut out = Vec::new();
    for r in &rows {
        let view = assets::view_from_row(r)?;
        let fid = view.asset.folder_id.clone();
        let ok = match rights_of.get(&fid) {
            Some(ok) => *ok,
            None => {
                let f = folders::get(db, &fid).await?.ok_or(AppError::NotFound)?;
                let ok = folder_rights(db, who, &f).await?.download;
                rights_of.insert(fid, ok);
                ok
            }
        };
        if ok {
            out.push(LinkedAsset {
                view,
                subpath: subpath(r)?,
            });
        }
    }
    Ok(out)
}
