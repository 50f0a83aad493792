//! The one place that decides what a caller may see or do (SPEC §2). Every handler that lists or
//! fetches folders or assets goes through these functions; none writes its own check.
//!
//! Rules: admins see everything. A member's rights on a folder are the union of the grants its
//! groups hold on that folder or any ancestor. A member sees an asset if it is approved, inside
//! its availability window and the folder grants `view` (downloading also needs `download`), or
//! if the member submitted it. A personal download grant (an approved download request,
//! `requests::grants`) lets its member see and download that one published asset while it
//! lasts. Whatever a caller may not see is `NotFound`, never `Forbidden`.
//!
//! **The scope.** "Published" — approved, served at its approved version, inside its window
//! (`available_from <= now < available_until`, a NULL end is open) — is written once, here:
//! [`published_clause`] and [`published_version`] for SQL, [`is_published`] for a row already
//! read. The caller's part is added beside it: a member's `view` grant ([`grant_clause`],
//! [`view_paths`] with [`subtrees_clause`] / [`in_subtrees`]), a share link's target
//! ([`link_assets`]), an upload link's brief ([`upload_link_refs`]). Search, collections,
//! digests, member ZIPs, share links and upload links all build their queries from these
//! pieces; code that deliberately looks at assets another way (admin lists, review queues,
//! cache boundaries) says so where it does.
use sqlx::Row;

use crate::accounts::Account;
use crate::db::{Db, Param};
use crate::error::AppError;
use crate::library::assets::{self, Asset, AssetView, COLS};
use crate::library::folders::{self, Folder};

/// The column of asset alias `a` that names the version members and links are served: the
/// approved one. A checked-in version waits in review while partners keep this one (SPEC §1).
pub fn published_version(a: &str) -> String {
    format!("{a}.approved_version_id")
}

/// SQL condition: asset alias `a` is published at `now` (a placeholder such as `$2`): approved
/// and inside its availability window, `available_from <= now < available_until`, either end
/// open when NULL. Outside its window an approved asset behaves as archived (SPEC §1). Pair it
/// with a join on [`published_version`].
pub fn published_clause(a: &str, now: &str) -> String {
    format!(
        "{a}.status = 'approved' \
         AND ({a}.available_from IS NULL OR {a}.available_from <= {now}) \
         AND ({a}.available_until IS NULL OR {a}.available_until > {now})"
    )
}

/// [`published_clause`] for an asset already read (with its approved version).
pub fn is_published(a: &Asset, now: i64) -> bool {
    a.status == "approved"
        && a.available_from.is_none_or(|f| f <= now)
        && a.available_until.is_none_or(|u| u > now)
}

/// A grant column.
#[derive(Clone, Copy, Debug)]
pub enum Right {
    View,
    Download,
}

impl Right {
    fn column(self) -> &'static str {
        match self {
            Right::View => "can_view",
            Right::Download => "can_download",
        }
    }
}

/// SQL expression: the strongest `right` (1 or 0; NULL for no grant at all) that user `user`
/// (a placeholder) holds through its groups on folder alias `f` or any ancestor.
fn grant_level(f: &str, user: &str, right: Right) -> String {
    format!(
        "(SELECT MAX(g.{col}) FROM grants g JOIN folders gf ON gf.id = g.folder_id \
         JOIN group_members m ON m.group_id = g.group_id \
         WHERE m.user_id = {user} AND substr({f}.id_path, 1, length(gf.id_path)) = gf.id_path)",
        col = right.column()
    )
}

/// SQL condition: user `user` (a placeholder) holds `right` on folder alias `f` or an ancestor.
pub fn grant_clause(f: &str, user: &str, right: Right) -> String {
    format!(
        "EXISTS (SELECT 1 FROM grants g JOIN folders gf ON gf.id = g.folder_id \
         JOIN group_members m ON m.group_id = g.group_id \
         WHERE m.user_id = {user} AND g.{col} = 1 \
         AND substr({f}.id_path, 1, length(gf.id_path)) = gf.id_path)",
        col = right.column()
    )
}

/// The id paths of the folders where one of `who`'s groups holds `view`, without those inside
/// another (a granted folder covers its subtree). Empty: the member may browse nothing.
pub async fn view_paths(db: &Db, who: &Account) -> Result<Vec<String>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT DISTINCT gf.id_path FROM grants g JOIN folders gf ON gf.id = g.folder_id \
         JOIN group_members m ON m.group_id = g.group_id WHERE m.user_id = $1 AND g.can_view = 1",
    )
    .bind(&who.id)
    .fetch_all(&db.pool)
    .await?;
    let mut paths: Vec<String> = rows
        .iter()
        .map(|r| r.try_get("id_path"))
        .collect::<Result<_, _>>()?;
    // A path inside another granted path adds nothing.
    paths.sort();
    let mut kept: Vec<String> = Vec::new();
    for p in paths {
        if !kept.iter().any(|k| p.starts_with(k.as_str())) {
            kept.push(p);
        }
    }
    Ok(kept)
}

/// The `LIKE` pattern of a subtree in [`view_paths`], to bind for [`subtrees_clause`] (id paths
/// are ids and slashes, so they hold no `LIKE` wildcard).
pub fn subtree_pattern(id_path: &str) -> String {
    format!("{id_path}%")
}

/// SQL condition: folder alias `f` lies in one of the subtrees whose [`subtree_pattern`]s are
/// bound as `patterns` (placeholders). Prefix matches on a few granted paths are what keeps
/// search fast; with no pattern nothing matches.
pub fn subtrees_clause(f: &str, patterns: &[String]) -> String {
    if patterns.is_empty() {
        return "1 = 0".into();
    }
    let ors: Vec<String> = patterns
        .iter()
        .map(|p| format!("{f}.id_path LIKE {p}"))
        .collect();
    format!("({})", ors.join(" OR "))
}

/// Whether a folder's `id_path` lies in one of the [`view_paths`] subtrees.
pub fn in_subtrees(paths: &[String], id_path: &str) -> bool {
    paths.iter().any(|p| id_path.starts_with(p.as_str()))
}

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

/// What a folder's whole tree holds for the caller: how many assets they may see in it, and
/// the newest of them with a thumbnail (the area's cover). Members see the published ones, and
/// only under a `view` grant (a contribute-only area shows nothing); admins every asset.
pub struct AreaSummary {
    pub assets: i64,
    pub cover: Option<String>,
}

pub async fn area_summary(
    db: &Db,
    who: &Account,
    folder: &Folder,
    now: i64,
) -> Result<AreaSummary, sqlx::Error> {
    let (version, filter) = if who.is_admin() {
        ("a.current_version_id".to_string(), "$2 = $2".to_string())
    } else {
        let paths = view_paths(db, who).await?;
        if !in_subtrees(&paths, &folder.id_path) {
            return Ok(AreaSummary {
                assets: 0,
                cover: None,
            });
        }
        (published_version("a"), published_clause("a", "$2"))
    };
    let from = format!(
        "FROM assets a JOIN asset_versions v ON v.id = {version}          JOIN folders f ON f.id = a.folder_id          WHERE f.id_path LIKE $1 AND a.status <> 'archived' AND {filter}"
    );
    let pattern = subtree_pattern(&folder.id_path);
    let assets: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) {from}"))
        .bind(&pattern)
        .bind(now)
        .fetch_one(&db.pool)
        .await?;
    let cover: Option<String> = sqlx::query_scalar(&format!(
        "SELECT a.id {from} AND v.render_state = 'ready'          AND v.media_type LIKE 'image/%' ORDER BY a.updated_at DESC, a.id LIMIT 1"
    ))
    .bind(&pattern)
    .bind(now)
    .fetch_optional(&db.pool)
    .await?;
    Ok(AreaSummary { assets, cover })
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
    // on every download's path); a submitter sees its own current version. The published test
    // runs on the row (`is_published`), so the statement stays one lookup by primary key.
    // A personal grant (an approved download request, `requests::grants`) lets its member see
    // and download that one asset while it lasts, like a grant on its folder would.
    let sql = format!(
        "SELECT {COLS}, {} AS r_view, {} AS r_download, \
         CASE WHEN {} THEN 1 ELSE 0 END AS r_personal FROM assets a \
         JOIN asset_versions v ON v.id = {} \
         JOIN folders f ON f.id = a.folder_id WHERE a.id = $1",
        grant_level("f", "$2", Right::View),
        grant_level("f", "$2", Right::Download),
        crate::requests::grants::active_clause("a", "$2", "$3"),
        published_version("a"),
    );
    let params = [Param::Text(id), Param::Text(&who.id), Param::Int(now)];
    let found = db
        .read_optional(&sql, &params, |r| {
            let right = |c: &str| Ok::<_, sqlx::Error>(r.opt_int(c)?.unwrap_or(0) != 0);
            Ok((
                assets::view_from_row(r)?,
                right("r_view")?,
                right("r_download")?,
                right("r_personal")?,
            ))
        })
        .await?;
    if let Some((v, view, download, personal)) = found {
        if is_published(&v.asset, now) && (view || personal) {
            let own = v.asset.submitted_by.as_deref() == Some(who.id.as_str());
            return Ok((
                v,
                AssetRights {
                    download: (view && download) || own || personal,
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
        ("a.current_version_id".to_string(), "1 = 1".to_string())
    } else if rights.view {
        (
            // Published assets at their approved version; the submitter's own unpublished ones
            // at their current version.
            format!(
                "CASE WHEN a.status = 'approved' THEN {} ELSE a.current_version_id END",
                published_version("a")
            ),
            format!("(({}) OR a.submitted_by = $6)", published_clause("a", "$5")),
        )
    } else {
        (
            "a.current_version_id".to_string(),
            "a.submitted_by = $6".to_string(),
        )
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
    /// Pixel size, once the renderer has measured it.
    pub width: Option<i64>,
    pub height: Option<i64>,
    /// Has transparency: the PNG and WebP presets are offered.
    pub transparent: bool,
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
         v.render_state, v.width, v.height, v.transparent, \
         row_number() OVER (ORDER BY {order}) AS n {from} ORDER BY {order} LIMIT $4"
    );
    let sql = match db.dialect {
        crate::db::Dialect::Sqlite => format!(
            "SELECT json_group_array(json_array(id, title, filename, media_type, size, rel_path, \
             render_state, width, height, transparent) ORDER BY n) AS j FROM ({inner}) g"
        ),
        crate::db::Dialect::Postgres => format!(
            "SELECT COALESCE(json_agg(json_build_array(id, title, filename, media_type, size, \
             rel_path, render_state, width, height, transparent) ORDER BY n)::text, '[]') AS j \
             FROM ({inner}) g"
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
    type Tuple = (
        String,
        String,
        String,
        String,
        i64,
        String,
        String,
        Option<i64>,
        Option<i64>,
        i64,
    );
    let items: Vec<Tuple> =
        serde_json::from_str(&json).map_err(|e| sqlx::Error::Decode(Box::new(e)))?;
    Ok(items
        .into_iter()
        .map(
            |(id, title, filename, media_type, size, rel, render_state, width, height, alpha)| {
                GalleryItem {
                    id,
                    title,
                    filename,
                    media_type,
                    size,
                    subpath: split_rel(&rel),
                    render_state,
                    width,
                    height,
                    transparent: alpha != 0,
                }
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
    let visible = format!("{} AND ($3 = '' OR a.id = $3)", published_clause("a", "$2"));
    let version = published_version("a");
    match &link.target {
        Target::Assets => Selection {
            from: format!(
                "FROM link_assets la \
                 JOIN assets a ON a.id = la.asset_id \
                 JOIN asset_versions v ON v.id = {version} \
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
                 JOIN asset_versions v ON v.id = {version} \
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
                 JOIN asset_versions v ON v.id = {version} \
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
         JOIN asset_versions v ON v.id = {} \
         WHERE substr(f.id_path, 1, length($1)) = $1 AND {} \
         ORDER BY f.path, a.filename, a.id",
        published_version("a"),
        published_clause("a", "$3"),
    );
    let rows = sqlx::query(&sql)
        .bind(&folder.id_path)
        .bind(&folder.path)
        .bind(now)
        .fetch_all(&db.pool)
        .await?;
    // Rights differ per subfolder (grants inherit downwards, and may be added lower down);
    // personal grants add single assets.
    let personal: std::collections::HashSet<String> = if who.is_admin() {
        Default::default()
    } else {
        crate::requests::grants::active(db, None, Some(&who.id), now)
            .await?
            .into_iter()
            .map(|g| g.asset_id)
            .collect()
    };
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
        if ok || personal.contains(view.asset.id.as_str()) {
            out.push(LinkedAsset {
                view,
                subpath: subpath(r)?,
            });
        }
    }
    Ok(out)
}

/// The reference files an upload link's brief serves at `now`, in the brief's order: those of
/// its references that are published (the rule share links follow, SPEC §2.4), at their
/// approved version. An archived, withdrawn or out-of-window reference is gone on the next
/// request, like anything behind a share link.
pub async fn upload_link_refs(
    db: &Db,
    upload_link_id: &str,
    now: i64,
) -> Result<Vec<AssetView>, sqlx::Error> {
    let sql = format!(
        "SELECT {COLS} FROM upload_link_refs r JOIN assets a ON a.id = r.asset_id \
         JOIN asset_versions v ON v.id = {} \
         WHERE r.upload_link_id = $1 AND {} ORDER BY r.position",
        published_version("a"),
        published_clause("a", "$2"),
    );
    assets::fetch_views(db, sqlx::query(&sql).bind(upload_link_id).bind(now)).await
}
