//! The library's home (areas), a folder's page, and what admins do there: create folders,
//! grant and remove access, upload.
use askama::Template;
use axum::extract::{DefaultBodyLimit, Multipart, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use serde::Deserialize;

use crate::access::{self, Rights};
use crate::accounts::{groups, PageAdmin, PageUser};
use crate::app::AppState;
use crate::clock;
use crate::error::{AppError, PageResult};
use crate::ids::FolderId;
use crate::library::assets::{self, AssetView};
use crate::library::card::AssetCard;
use crate::library::folders::{self, Folder, Grant};
use crate::library::{actions, listing, upload};
use crate::web::client::ClientInfo;
use crate::web::layout::{render, Layout};

pub(super) fn routes(max_upload: u64) -> Router<AppState> {
    Router::new()
        .route("/", get(home))
        .route("/folders", post(create_folder))
        .route("/folders/{id}", get(folder_page))
        .route("/folders/{id}/grants", post(set_grant))
        .route("/folders/{id}/grants/{group_id}/remove", post(remove_grant))
        .route(
            "/folders/{id}/upload",
            post(upload_file).layer(DefaultBodyLimit::max(
                (max_upload + upload::MULTIPART_OVERHEAD) as usize,
            )),
        )
}

#[derive(Template)]
#[template(path = "library/home.html")]
struct HomePage {
    layout: Layout,
    folders: Vec<Folder>,
    /// Per area (same order as `folders`): what it holds for the caller and its cover.
    areas: Vec<access::AreaSummary>,
    /// Published in the last seven days where the caller may see it (12 at most, by folder).
    new_this_week: Vec<AssetCard>,
    /// Collections admins feature, that the caller can see something in, with counts.
    featured: Vec<(crate::collections::Collection, i64)>,
    is_admin: bool,
    /// Admins: drafts and submissions waiting for approval.
    queue: Vec<AssetCard>,
    /// Contributors: their own submissions in review or rejected.
    submissions: Vec<AssetCard>,
    /// Cards get a selection checkbox (folder pages only).
    selectable: bool,
    /// Admins: published assets whose window closes within 30 days, soonest first.
    expiring: Vec<(AssetCard, String)>,
    /// Admins: jobs waiting and failed.
    jobs_pending: i64,
    jobs_failed: i64,
}

/// Assets in the home page's "New this week" strip at most.
const NEW_THIS_WEEK: usize = 12;

async fn home(State(state): State<AppState>, user: PageUser) -> PageResult<Response> {
    let db = &state.db;
    let who = &user.account;
    let cards = |v: Vec<AssetView>| v.iter().map(AssetCard::from_view).collect::<Vec<_>>();
    let now = state.clock.now_ms();
    let folders = access::roots(db, who).await?;
    let mut areas = Vec::with_capacity(folders.len());
    for f in &folders {
        areas.push(access::area_summary(db, who, f, now).await?);
    }
    let mut new_this_week = Vec::new();
    let week = 7 * 24 * 60 * 60 * 1000;
    for e in crate::digests::partner::new_for(db, who, now - week, now)
        .await?
        .iter()
        .take(NEW_THIS_WEEK)
    {
        // Each through the one visibility rule once more, as every asset read is.
        if let Ok((view, _)) = access::asset(db, who, &e.id, now).await {
            new_this_week.push(AssetCard::from_view(&view));
        }
    }
    let mut page = HomePage {
        layout: Layout::for_user("Library", &user, "library"),
        is_admin: who.is_admin(),
        folders,
        areas,
        new_this_week,
        featured: crate::collections::featured(db, who, now).await?,
        queue: cards(access::review_queue(db, who, 12).await?),
        submissions: cards(access::own_submissions(db, who, 24).await?),
        selectable: false,
        expiring: if who.is_admin() {
            assets::expiring(db, state.clock.now_ms(), 30, 50)
                .await?
                .iter()
                .map(|v| {
                    let until = v
                        .asset
                        .available_until
                        .map(clock::human)
                        .unwrap_or_default();
                    (AssetCard::from_view(v), until)
                })
                .collect()
        } else {
            Vec::new()
        },
        jobs_pending: 0,
        jobs_failed: 0,
    };
    if who.is_admin() {
        for (s, n) in crate::jobs::counts(db).await? {
            match s.as_str() {
                "pending" | "running" => page.jobs_pending += n,
                "failed" => page.jobs_failed += n,
                _ => {}
            }
        }
    }
    Ok(render(&page)?.into_response())
}

#[derive(Template)]
#[template(path = "library/folder.html")]
struct FolderPage {
    layout: Layout,
    folder: Folder,
    crumbs: Vec<Folder>,
    subfolders: Vec<Folder>,
    assets: Vec<AssetCard>,
    next: Option<String>,
    rights: Rights,
    is_admin: bool,
    grants: Vec<Grant>,
    inherited: Vec<(String, Grant)>,
    groups: Vec<groups::Group>,
    max_upload: u64,
    /// Cards get a selection checkbox (for ZIP downloads and share links).
    selectable: bool,
    /// An admin's collections, for "Add selected to".
    collections: Vec<crate::collections::Collection>,
    /// Assets the caller may see in the whole tree (for a folder holding only subfolders).
    tree_assets: i64,
}

#[derive(Deserialize)]
struct CursorQuery {
    cursor: Option<String>,
}

async fn folder_page(
    State(state): State<AppState>,
    user: PageUser,
    Path(id): Path<String>,
    Query(q): Query<CursorQuery>,
) -> PageResult<Response> {
    let db = &state.db;
    let who = &user.account;
    let listing::FolderPage {
        folder,
        rights,
        items,
        next,
    } = listing::folder_page(db, who, &id, q.cursor.as_deref()).await?;
    let assets: Vec<AssetCard> = items.iter().map(AssetCard::from_view).collect();
    let is_admin = who.is_admin();
    let (grants, inherited, groups) = if is_admin {
        (
            folders::grants(db, &folder.id).await?,
            folders::inherited_grants(db, &folder).await?,
            groups::list(db).await?,
        )
    } else {
        (Vec::new(), Vec::new(), Vec::new())
    };
    let tree_assets = if assets.is_empty() {
        access::area_summary(db, who, &folder, state.clock.now_ms())
            .await?
            .assets
    } else {
        0
    };
    let page = FolderPage {
        tree_assets,
        layout: Layout::for_user(&folder.name, &user, "library"),
        crumbs: access::breadcrumbs(db, who, &folder).await?,
        subfolders: folders::children(db, Some(&folder.id)).await?,
        folder,
        assets,
        next,
        rights,
        is_admin,
        grants,
        inherited,
        groups,
        max_upload: state.config.max_upload_bytes,
        // A viewer selects to ask for downloads ("Request download of selected").
        selectable: rights.download || rights.view,
        collections: if is_admin {
            crate::collections::all(db).await?
        } else {
            Vec::new()
        },
    };
    Ok(render(&page)?.into_response())
}

#[derive(Deserialize)]
struct NewFolderForm {
    parent_id: Option<FolderId>,
    name: String,
}

async fn create_folder(
    State(state): State<AppState>,
    PageAdmin(me): PageAdmin,
    client: ClientInfo,
    Form(f): Form<NewFolderForm>,
) -> PageResult<Response> {
    let parent = f.parent_id.as_ref().filter(|p| !p.is_empty());
    let back = parent
        .map(|p| format!("/folders/{p}"))
        .unwrap_or_else(|| "/".into());
    match actions::create_folder(&state, &me.account, parent, &f.name, &client).await {
        Ok(folder) => {
            me.flash(format!("Folder {} created.", folder.path)).await;
            Ok(Redirect::to(&format!("/folders/{}", folder.id)).into_response())
        }
        Err(e) if e.is_correctable() => {
            me.flash(format!("Could not create the folder: {e}.")).await;
            Ok(Redirect::to(&back).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
struct GrantForm {
    group_id: String,
    view: Option<String>,
    download: Option<String>,
    contribute: Option<String>,
}

async fn set_grant(
    State(state): State<AppState>,
    PageAdmin(me): PageAdmin,
    client: ClientInfo,
    Path(id): Path<FolderId>,
    Form(f): Form<GrantForm>,
) -> PageResult<Response> {
    // On the form, ticking "download" implies "view".
    let rights = actions::Rights {
        view: f.view.is_some() || f.download.is_some(),
        download: f.download.is_some(),
        contribute: f.contribute.is_some(),
    };
    match actions::grant(&state, &me.account, &id, &f.group_id, rights, &client).await {
        Ok((folder, group)) => {
            me.flash(format!("{} can now use {}.", group.name, folder.path))
                .await
        }
        Err(AppError::Unprocessable(_)) => me.flash("Choose at least one right to grant.").await,
        Err(e) => return Err(e.into()),
    }
    Ok(Redirect::to(&format!("/folders/{id}#access")).into_response())
}

async fn remove_grant(
    State(state): State<AppState>,
    PageAdmin(me): PageAdmin,
    client: ClientInfo,
    Path((id, group_id)): Path<(FolderId, String)>,
) -> PageResult<Response> {
    match actions::remove_grant(&state, &me.account, &id, &group_id, &client).await {
        // A second click (or another admin) was first: the access is gone either way.
        Ok(()) | Err(AppError::NotFound) => me.flash("Access removed.").await,
        Err(e) => return Err(e.into()),
    }
    Ok(Redirect::to(&format!("/folders/{id}#access")).into_response())
}

/// The browser's upload endpoint (one file per request, from static/upload.js). Answers JSON
/// so the page can show per-file results; CSRF is checked by the X-CSRF-Token header.
async fn upload_file(
    State(state): State<AppState>,
    user: PageUser,
    client: ClientInfo,
    Path(id): Path<String>,
    headers: HeaderMap,
    multipart: Multipart,
) -> Result<Response, AppError> {
    let view = upload::receive(&state, &user.account, &id, &headers, multipart, &client).await?;
    Ok((StatusCode::CREATED, Json(view.to_json(true))).into_response())
}
