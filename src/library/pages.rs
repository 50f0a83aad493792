//! Pages for browsing and managing the library: home (areas), folder, asset.
use askama::Template;
use axum::extract::{DefaultBodyLimit, Multipart, Path, Query, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use serde::Deserialize;

use super::assets::{self, AssetView, Changes};
use super::folders::{self, Folder, Grant};
use super::listing;
use super::{checkout, review, upload};
use crate::access::{self, Rights};
use crate::accounts::{groups, users, PageAdmin, PageUser};
use crate::app::AppState;
use crate::clock;
use crate::delivery;
use crate::error::{AppError, PageError, PageResult};
use crate::events::Event;
use crate::web::client::ClientInfo;
use crate::web::layout::{render, Layout};

pub fn routes(max_upload: u64) -> Router<AppState> {
    Router::new()
        .merge(super::bulk::routes())
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
        .route("/assets/{id}", get(asset_page))
        .route("/assets/{id}/edit", post(edit_asset))
        .route("/assets/{id}/lifecycle", post(lifecycle))
        .route("/assets/{id}/checkout", post(checkout_action))
        .route("/admin/review", get(review_page))
        .route("/admin/review/bulk", post(review_bulk))
        .route("/submissions", get(submissions_page))
        .route(
            "/assets/{id}/checkin",
            post(checkin).layer(DefaultBodyLimit::max(
                (max_upload + upload::MULTIPART_OVERHEAD) as usize,
            )),
        )
        .route(
            "/assets/{id}/versions/{version_id}/current",
            post(make_current),
        )
        .route("/assets/{id}/download", get(download))
        .route("/assets/{id}/renditions/{kind}", get(rendition))
        .route("/assets/{id}/render", post(rerender))
        .route("/zip", post(zip_download))
}

/// Human-readable byte counts for pages.
pub fn human_size(n: i64) -> String {
    const UNITS: [&str; 5] = ["B", "KB", "MB", "GB", "TB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1000.0 && u < UNITS.len() - 1 {
        v /= 1000.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

/// The coarse kind of a file, for the typed placeholder tile until renditions exist.
pub fn kind_of(media_type: &str) -> &'static str {
    match media_type {
        m if m.starts_with("image/") => "image",
        m if m.starts_with("video/") => "video",
        m if m.starts_with("audio/") => "audio",
        "application/pdf" | "application/postscript" => "pdf",
        m if m.contains("zip") || m.contains("compressed") || m.contains("tar") => "archive",
        m if m.starts_with("text/")
            || m.contains("document")
            || m.contains("msword")
            || m.contains("sheet")
            || m.contains("presentation") =>
        {
            "document"
        }
        _ => "file",
    }
}

pub fn extension(filename: &str) -> String {
    match filename.rsplit_once('.') {
        Some((_, ext)) if !ext.is_empty() && ext.len() <= 5 => ext.to_uppercase(),
        _ => "FILE".into(),
    }
}

/// One tile in a grid.
pub struct AssetCard {
    pub id: String,
    pub label: String,
    pub filename: String,
    pub kind: &'static str,
    pub ext: String,
    pub status: String,
    pub size: String,
    /// A thumbnail exists (else the typed tile shows).
    pub thumb: bool,
}

impl AssetCard {
    /// A card from the few columns a gallery reads.
    pub fn new(item: &crate::access::GalleryItem) -> AssetCard {
        let (id, title, filename, media_type, size) = (
            &item.id,
            &item.title,
            &item.filename,
            &item.media_type,
            item.size,
        );
        AssetCard {
            id: id.to_string(),
            label: if title.is_empty() {
                filename.to_string()
            } else {
                title.to_string()
            },
            filename: filename.to_string(),
            kind: kind_of(media_type),
            ext: extension(filename),
            status: "approved".into(),
            size: human_size(size),
            thumb: item.render_state == "ready",
        }
    }

    pub fn from_view(v: &AssetView) -> AssetCard {
        AssetCard {
            id: v.asset.id.clone(),
            label: if v.asset.title.is_empty() {
                v.version.filename.clone()
            } else {
                v.asset.title.clone()
            },
            filename: v.version.filename.clone(),
            kind: kind_of(&v.version.media_type),
            ext: extension(&v.version.filename),
            status: v.asset.status.clone(),
            size: human_size(v.version.size),
            thumb: v.version.render_state == "ready",
        }
    }
}

#[derive(Template)]
#[template(path = "library/home.html")]
struct HomePage {
    layout: Layout,
    folders: Vec<Folder>,
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

async fn home(State(state): State<AppState>, user: PageUser) -> PageResult<Response> {
    let db = &state.db;
    let who = &user.account;
    let cards = |v: Vec<AssetView>| v.iter().map(AssetCard::from_view).collect::<Vec<_>>();
    let mut page = HomePage {
        layout: Layout::for_user("Library", &user, "library"),
        is_admin: who.is_admin(),
        folders: access::roots(db, who).await?,
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
    let assets = items.iter().map(AssetCard::from_view).collect();
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
    let page = FolderPage {
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
        selectable: rights.download,
    };
    Ok(render(&page)?.into_response())
}

#[derive(Deserialize)]
struct NewFolderForm {
    parent_id: Option<String>,
    name: String,
}

async fn create_folder(
    State(state): State<AppState>,
    PageAdmin(me): PageAdmin,
    client: ClientInfo,
    Form(f): Form<NewFolderForm>,
) -> PageResult<Response> {
    let parent = match f.parent_id.as_deref().filter(|p| !p.is_empty()) {
        Some(id) => Some(
            folders::get(&state.db, id)
                .await?
                .ok_or(AppError::NotFound)?,
        ),
        None => None,
    };
    let back = parent
        .as_ref()
        .map(|p| format!("/folders/{}", p.id))
        .unwrap_or_else(|| "/".into());
    match folders::create(&state.db, parent.as_ref(), &f.name).await {
        Ok(folder) => {
            state
                .events
                .record(
                    Event::new("folder_created")
                        .by(&me.account.id)
                        .folder(&folder.id)
                        .detail(&folder.path),
                    &client,
                )
                .await?;
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
    Path(id): Path<String>,
    Form(f): Form<GrantForm>,
) -> PageResult<Response> {
    let folder = folders::get(&state.db, &id)
        .await?
        .ok_or(AppError::NotFound)?;
    let group = groups::get(&state.db, &f.group_id).await?;
    let (view, download, contribute) = (
        f.view.is_some() || f.download.is_some(),
        f.download.is_some(),
        f.contribute.is_some(),
    );
    if !view && !contribute {
        me.flash("Choose at least one right to grant.").await;
    } else {
        folders::set_grant(&state.db, &folder.id, &group.id, view, download, contribute).await?;
        let detail = format!(
            "{}: view={view} download={download} contribute={contribute}",
            group.name
        );
        state
            .events
            .record(
                Event::new("grant_set")
                    .by(&me.account.id)
                    .folder(&folder.id)
                    .detail(&detail),
                &client,
            )
            .await?;
        me.flash(format!("{} can now use {}.", group.name, folder.path))
            .await;
    }
    Ok(Redirect::to(&format!("/folders/{id}#access")).into_response())
}

async fn remove_grant(
    State(state): State<AppState>,
    PageAdmin(me): PageAdmin,
    client: ClientInfo,
    Path((id, group_id)): Path<(String, String)>,
) -> PageResult<Response> {
    folders::delete_grant(&state.db, &id, &group_id).await?;
    state
        .events
        .record(
            Event::new("grant_removed")
                .by(&me.account.id)
                .folder(&id)
                .detail(&group_id),
            &client,
        )
        .await?;
    me.flash("Access removed.").await;
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

struct Row {
    label: &'static str,
    value: String,
}

/// What the file says about itself, for the details list (GPS for admins only).
fn media_details(view: &AssetView, admin: bool) -> Vec<Row> {
    let v = &view.version;
    let mut rows = Vec::new();
    let mut push = |label: &'static str, value: Option<String>| {
        if let Some(value) = value.filter(|s| !s.is_empty()) {
            rows.push(Row { label, value });
        }
    };
    push(
        "Pixels",
        v.width.zip(v.height).map(|(w, h)| format!("{w} × {h}")),
    );
    push("Pages", v.pages.map(|p| p.to_string()));
    push(
        "Duration",
        v.duration_ms
            .map(|d| format!("{}:{:02}", d / 60_000, (d / 1000) % 60)),
    );
    push("Credit", Some(view.asset.credit.clone()));
    push("Usage terms", Some(view.asset.usage_terms.clone()));
    let meta = view.extracted(admin);
    let text = |k: &str| meta.get(k).and_then(|x| x.as_str()).map(str::to_string);
    push("Copyright", text("copyright"));
    push(
        "Taken",
        text("captured_at").map(|t| t.replace('T', " ").trim_end_matches('Z').to_string()),
    );
    push("Camera", text("camera"));
    if admin {
        let gps = meta.get("gps").and_then(|g| g.as_array()).and_then(|g| {
            Some(format!(
                "{:.5}, {:.5}",
                g.first()?.as_f64()?,
                g.get(1)?.as_f64()?
            ))
        });
        push("GPS (admins only)", gps);
    }
    rows
}

struct VersionRow {
    id: String,
    uploader: String,
    number: i64,
    filename: String,
    size: String,
    created: String,
    comment: String,
    current: bool,
    approved: bool,
}

#[derive(Template)]
#[template(path = "library/asset.html")]
struct AssetPage {
    layout: Layout,
    card: AssetCard,
    title: String,
    description: String,
    keywords: String,
    status: String,
    review_comment: String,
    see_review: bool,
    can_download: bool,
    is_admin: bool,
    crumbs: Vec<Folder>,
    details: Vec<Row>,
    versions: Vec<VersionRow>,
    available_from: String,
    available_until: String,
    /// May check out / check in (contribute right or admin).
    can_contribute: bool,
    /// Who holds the lock and since when ("" if nobody).
    locked_by: String,
    locked_since: String,
    locked_by_me: bool,
    pending_review: bool,
    /// Folders an admin may approve the asset into (empty for others).
    move_targets: Vec<Folder>,
    /// Why the typed tile shows instead of a preview.
    preview_note: &'static str,
    credit: String,
    usage_terms: String,
    /// Admins: every collection (for "Add to collection") and those holding this asset.
    collections: Vec<crate::collections::Collection>,
    in_collections: Vec<crate::collections::Collection>,
}

async fn asset_page(
    State(state): State<AppState>,
    user: PageUser,
    Path(id): Path<String>,
) -> PageResult<Response> {
    let db = &state.db;
    let who = &user.account;
    let (view, rights) = access::asset(db, who, &id, state.clock.now_ms()).await?;
    let folder = folders::get(db, &view.asset.folder_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let folder_of = folder.clone();
    let mut crumbs = access::breadcrumbs(db, who, &folder).await?;
    if access::folder_rights(db, who, &folder).await?.any() {
        crumbs.push(folder);
    }
    let v = &view.version;
    let a = &view.asset;
    let mut details = vec![
        Row {
            label: "File name",
            value: v.filename.clone(),
        },
        Row {
            label: "Type",
            value: v.media_type.clone(),
        },
        Row {
            label: "Size",
            value: human_size(v.size),
        },
        Row {
            label: "Version",
            value: v.number.to_string(),
        },
        Row {
            label: "Updated",
            value: clock::human(a.updated_at),
        },
        Row {
            label: "SHA-256",
            value: v.sha256.clone(),
        },
    ];
    details.extend(media_details(&view, who.is_admin()));
    if let Some(f) = a.available_from {
        details.push(Row {
            label: "Available from",
            value: clock::human(f),
        });
    }
    if let Some(u) = a.available_until {
        details.push(Row {
            label: "Available until",
            value: clock::human(u),
        });
    }
    let all_versions = if rights.see_review {
        assets::versions(db, &a.id).await?
    } else {
        Vec::new()
    };
    let mut people: Vec<&str> = all_versions
        .iter()
        .filter_map(|x| x.uploaded_by.as_deref())
        .collect();
    people.extend(a.checked_out_by.as_deref());
    let names = users::names(db, &people).await?;
    let versions = if rights.see_review {
        all_versions
            .iter()
            .map(|x| VersionRow {
                uploader: x
                    .uploaded_by
                    .as_ref()
                    .and_then(|u| names.get(u).cloned())
                    .unwrap_or_default(),
                id: x.id.clone(),
                current: Some(&x.id) == a.current_version_id.as_ref(),
                approved: Some(&x.id) == a.approved_version_id.as_ref(),
                number: x.number,
                filename: x.filename.clone(),
                size: human_size(x.size),
                created: clock::human(x.created_at),
                comment: x.comment.clone(),
            })
            .collect()
    } else {
        Vec::new()
    };
    let date = |ms: Option<i64>| {
        ms.map(|m| clock::rfc3339(m).chars().take(16).collect())
            .unwrap_or_default()
    };
    let page = AssetPage {
        layout: Layout::for_user(
            if a.title.is_empty() {
                &v.filename
            } else {
                &a.title
            },
            &user,
            "library",
        ),
        card: AssetCard::from_view(&view),
        title: a.title.clone(),
        description: a.description.clone(),
        keywords: a.keywords.join(", "),
        status: a.status.clone(),
        review_comment: a.review_comment.clone(),
        see_review: rights.see_review,
        can_download: rights.download,
        is_admin: who.is_admin(),
        crumbs,
        details,
        versions,
        available_from: date(a.available_from),
        available_until: date(a.available_until),
        can_contribute: a.status != "archived"
            && (who.is_admin() || access::folder_rights(db, who, &folder_of).await?.contribute),
        locked_by: a
            .checked_out_by
            .as_ref()
            .map(|u| names.get(u).cloned().unwrap_or_else(|| "someone".into()))
            .unwrap_or_default(),
        locked_since: a.checked_out_at.map(clock::human).unwrap_or_default(),
        locked_by_me: a.checked_out_by.as_deref() == Some(who.id.as_str()),
        pending_review: view.pending_review(),
        credit: a.credit.clone(),
        usage_terms: a.usage_terms.clone(),
        collections: if who.is_admin() {
            crate::collections::all(db).await?
        } else {
            Vec::new()
        },
        in_collections: if who.is_admin() {
            crate::collections::holding(db, &a.id).await?
        } else {
            Vec::new()
        },
        preview_note: match v.render_state.as_str() {
            "pending" => "preview being prepared",
            "failed" => "no preview: the file could not be read",
            _ => "no preview for this type",
        },
        move_targets: if who.is_admin() {
            folders::all(db, 2000).await?
        } else {
            Vec::new()
        },
    };
    Ok(render(&page)?.into_response())
}

#[derive(Deserialize)]
struct EditForm {
    title: String,
    description: String,
    keywords: String,
    available_from: String,
    available_until: String,
    #[serde(default)]
    credit: String,
    #[serde(default)]
    usage_terms: String,
}

/// `datetime-local` inputs carry no zone; the form says they are UTC.
pub fn form_time(s: &str) -> Result<Option<i64>, AppError> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    let full = if s.len() == 16 {
        format!("{s}:00Z")
    } else {
        format!("{s}Z")
    };
    clock::parse_rfc3339(&full)
        .map(Some)
        .ok_or_else(|| AppError::BadRequest(format!("'{s}' is not a date and time")))
}

async fn edit_asset(
    State(state): State<AppState>,
    PageAdmin(me): PageAdmin,
    client: ClientInfo,
    Path(id): Path<String>,
    Form(f): Form<EditForm>,
) -> PageResult<Response> {
    let changes = Changes {
        title: Some(f.title),
        description: Some(f.description),
        keywords: Some(assets::split_keywords(&f.keywords)),
        available_from: Some(form_time(&f.available_from)?),
        available_until: Some(form_time(&f.available_until)?),
        credit: Some(f.credit),
        usage_terms: Some(f.usage_terms),
        ..Default::default()
    };
    match assets::update(&state.db, &id, changes).await {
        Ok(()) => {
            state
                .events
                .record(
                    Event::new("asset_edited").by(&me.account.id).asset(&id),
                    &client,
                )
                .await?;
            me.flash("Changes saved.").await;
        }
        Err(e) if e.is_correctable() => me.flash(format!("Not saved: {e}.")).await,
        Err(e) => return Err(e.into()),
    }
    Ok(Redirect::to(&format!("/assets/{id}")).into_response())
}

#[derive(Deserialize)]
struct LifecycleForm {
    action: String,
    comment: Option<String>,
    /// Approve into another folder.
    folder_id: Option<String>,
    /// Where to return (only the review queue; otherwise the asset page).
    back: Option<String>,
}

async fn lifecycle(
    State(state): State<AppState>,
    PageAdmin(me): PageAdmin,
    client: ClientInfo,
    Path(id): Path<String>,
    Form(f): Form<LifecycleForm>,
) -> PageResult<Response> {
    let comment = f.comment.as_deref().unwrap_or("");
    let action = review::Action::parse(&f.action)
        .ok_or_else(|| PageError(AppError::BadRequest("unknown action".into())))?;
    let done = match action {
        review::Action::Approve => "Approved: partners with access can now see it.",
        review::Action::Reject => "Changes requested; the contributor can read your comment.",
        review::Action::Archive => "Archived: withdrawn from partners.",
        review::Action::Restore => "Restored.",
    };
    let into = f.folder_id.as_deref().filter(|s| !s.is_empty());
    match review::decide(&state, &me.account, &id, action, comment, into, &client).await {
        Ok(()) => me.flash(done).await,
        Err(e) if e.is_correctable() => me.flash(format!("Not done: {e}.")).await,
        Err(e) => return Err(e.into()),
    }
    let back = f
        .back
        .as_deref()
        .filter(|b| *b == "/admin/review")
        .unwrap_or("");
    if !back.is_empty() {
        return Ok(Redirect::to(back).into_response());
    }
    Ok(Redirect::to(&format!("/assets/{id}")).into_response())
}

async fn download(
    State(state): State<AppState>,
    user: PageUser,
    client: ClientInfo,
    Path(id): Path<String>,
    method: Method,
    headers: HeaderMap,
) -> PageResult<Response> {
    let ask = delivery::Ask {
        method: &method,
        headers: &headers,
        client: &client,
    };
    Ok(delivery::member_original(&state, &user.account, &id, &ask).await?)
}

async fn rendition(
    State(state): State<AppState>,
    user: PageUser,
    client: ClientInfo,
    Path((id, kind)): Path<(String, String)>,
    Query(q): Query<super::api::RenditionQuery>,
    method: Method,
    headers: HeaderMap,
) -> PageResult<Response> {
    let ask = delivery::Ask {
        method: &method,
        headers: &headers,
        client: &client,
    };
    let attachment = q.wants_file();
    Ok(delivery::member_rendition(&state, &user.account, &id, &kind, attachment, &ask).await?)
}

async fn rerender(
    State(state): State<AppState>,
    PageAdmin(me): PageAdmin,
    Path(id): Path<String>,
) -> PageResult<Response> {
    let view = assets::get_current(&state.db, &id)
        .await?
        .ok_or(AppError::NotFound)?;
    crate::renditions::rerender(&state, &view.version.id).await?;
    me.flash("The preview is being made again.").await;
    Ok(Redirect::to(&format!("/assets/{id}")).into_response())
}

/// The folder page's "Download selected" / "Download folder" buttons.
async fn zip_download(
    State(state): State<AppState>,
    user: PageUser,
    client: ClientInfo,
    method: Method,
    headers: HeaderMap,
    Form(form): Form<Vec<(String, String)>>,
) -> PageResult<Response> {
    let asset_ids: Vec<String> = form
        .iter()
        .filter(|(k, _)| k == "asset_ids")
        .map(|(_, v)| v.clone())
        .collect();
    let whole_folder = form.iter().any(|(k, v)| k == "whole_folder" && v == "1");
    let folder_id = form
        .iter()
        .find(|(k, v)| k == "folder_id" && !v.is_empty())
        .map(|(_, v)| v.clone());
    let collection_id = form
        .iter()
        .find(|(k, v)| k == "collection_id" && !v.is_empty())
        .map(|(_, v)| v.clone());
    // The folder page's form carries both the folder and the selection; the button decides.
    let (asset_ids, folder_id) = if collection_id.is_some() {
        (Vec::new(), None)
    } else if whole_folder {
        (Vec::new(), folder_id)
    } else if asset_ids.is_empty() {
        return Err(AppError::BadRequest("Select at least one asset to download.".into()).into());
    } else {
        (asset_ids, None)
    };
    let (listed, name) =
        crate::library::zip::selection(&state, &user.account, asset_ids, folder_id, collection_id)
            .await?;
    let ask = delivery::Ask {
        method: &method,
        headers: &headers,
        client: &client,
    };
    Ok(delivery::member_zip(&state, &user.account, &ask, listed, &name).await?)
}

#[derive(Deserialize)]
struct CheckoutForm {
    /// "out" or "release".
    action: String,
}

/// Check out, release, or (admins) break someone else's lock.
async fn checkout_action(
    State(state): State<AppState>,
    user: PageUser,
    client: ClientInfo,
    Path(id): Path<String>,
    Form(f): Form<CheckoutForm>,
) -> PageResult<Response> {
    let who = &user.account;
    let view = checkout::editable(&state.db, who, &id, state.clock.now_ms()).await?;
    let holder = view.asset.checked_out_by.clone().unwrap_or_default();
    let (result, kind, done) = match f.action.as_str() {
        "out" => (
            checkout::check_out(&state.db, who, &view).await,
            "check_out",
            "Checked out: nobody else can check in a new version until you do or release it.",
        ),
        "release" => (
            checkout::release(&state.db, who, &view).await,
            if holder == who.id {
                "release"
            } else {
                "lock_broken"
            },
            "Released.",
        ),
        _ => return Err(PageError(AppError::BadRequest("unknown action".into()))),
    };
    match result {
        Ok(()) => {
            state
                .events
                .record(
                    Event::new(kind).by(&who.id).asset(&id).detail(&holder),
                    &client,
                )
                .await?;
            user.flash(done).await;
        }
        Err(e @ AppError::Conflict(_)) => user.flash(format!("Not done: {e}.")).await,
        Err(e) => return Err(e.into()),
    }
    Ok(Redirect::to(&format!("/assets/{id}")).into_response())
}

/// A check-in from the asset page's file form.
async fn checkin(
    State(state): State<AppState>,
    user: PageUser,
    client: ClientInfo,
    Path(id): Path<String>,
    headers: HeaderMap,
    multipart: Multipart,
) -> PageResult<Response> {
    let outcome =
        upload::receive_version(&state, &user.account, &id, &headers, multipart, &client).await;
    match outcome {
        Ok(checkout::CheckIn::Created(v)) => {
            user.flash(format!(
                "Version {} checked in; it waits for review while partners keep the published version.",
                v.number
            ))
            .await
        }
        Ok(checkout::CheckIn::Unchanged(v)) => {
            user.flash(format!(
                "That file is identical to version {}: no new version was made. The lock is released.",
                v.number
            ))
            .await
        }
        Err(e) if e.is_correctable() => {
            user.flash(format!("Not checked in: {e}.")).await
        }
        Err(e) => return Err(e.into()),
    }
    Ok(Redirect::to(&format!("/assets/{id}")).into_response())
}

async fn make_current(
    State(state): State<AppState>,
    PageAdmin(me): PageAdmin,
    client: ClientInfo,
    Path((id, version_id)): Path<(String, String)>,
) -> PageResult<Response> {
    match checkout::make_current(&state.db, &id, &version_id).await {
        Ok(()) => {
            state
                .events
                .record(
                    Event::new("version_made_current")
                        .by(&me.account.id)
                        .asset(&id)
                        .detail(&version_id),
                    &client,
                )
                .await?;
            me.flash("That version is current again.").await;
        }
        Err(e @ AppError::Conflict(_)) => me.flash(format!("Not done: {e}.")).await,
        Err(e) => return Err(e.into()),
    }
    Ok(Redirect::to(&format!("/assets/{id}")).into_response())
}

struct ReviewItem {
    card: AssetCard,
    id: String,
    label: String,
    filename: String,
    size: String,
    folder: String,
    version: String,
    comment: String,
    uploader: String,
    sent: String,
    stage: &'static str,
    status_class: &'static str,
    review_comment: String,
}

impl ReviewItem {
    fn new(s: &review::Submission) -> ReviewItem {
        let a = &s.view.asset;
        let v = &s.view.version;
        let stage = review::stage(&s.view);
        ReviewItem {
            card: AssetCard::from_view(&s.view),
            id: a.id.clone(),
            label: if a.title.is_empty() {
                a.filename.clone()
            } else {
                a.title.clone()
            },
            filename: v.filename.clone(),
            size: human_size(v.size),
            folder: s.folder_path.clone(),
            version: format!("v{}", v.number),
            comment: v.comment.clone(),
            uploader: s.uploader.clone(),
            sent: clock::human(v.created_at),
            stage,
            status_class: match stage {
                "new version in review" | "in review" => "in_review",
                "changes requested" | "new version not approved" => "rejected",
                "approved" => "approved",
                "archived" => "archived",
                _ => "draft",
            },
            review_comment: a.review_comment.clone(),
        }
    }
}

#[derive(Template)]
#[template(path = "library/review.html")]
struct ReviewPage {
    layout: Layout,
    admin_view: bool,
    items: Vec<ReviewItem>,
}

async fn review_page(
    State(state): State<AppState>,
    PageAdmin(me): PageAdmin,
) -> PageResult<Response> {
    let items = review::queue(&state.db, true, 1000)
        .await?
        .iter()
        .map(ReviewItem::new)
        .collect();
    let page = ReviewPage {
        layout: Layout::for_user("Review queue", &me, "review"),
        admin_view: true,
        items,
    };
    Ok(render(&page)?.into_response())
}

async fn submissions_page(State(state): State<AppState>, user: PageUser) -> PageResult<Response> {
    let items = review::submitted_by(&state.db, &user.account.id, 1000)
        .await?
        .iter()
        .map(ReviewItem::new)
        .collect();
    let page = ReviewPage {
        layout: Layout::for_user("My submissions", &user, "submissions"),
        admin_view: false,
        items,
    };
    Ok(render(&page)?.into_response())
}

/// The queue's bulk form: one decision on every selected asset, each on its own.
async fn review_bulk(
    State(state): State<AppState>,
    PageAdmin(me): PageAdmin,
    client: ClientInfo,
    Form(form): Form<Vec<(String, String)>>,
) -> PageResult<Response> {
    let field = |name: &str| {
        form.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    };
    let action = review::Action::parse(field("action"))
        .filter(|a| matches!(a, review::Action::Approve | review::Action::Reject))
        .ok_or_else(|| PageError(AppError::BadRequest("unknown action".into())))?;
    let ids: Vec<&str> = form
        .iter()
        .filter(|(k, _)| k == "asset_ids")
        .map(|(_, v)| v.as_str())
        .collect();
    if ids.is_empty() {
        me.flash("Select at least one asset.").await;
        return Ok(Redirect::to("/admin/review").into_response());
    }
    let comment = field("comment");
    let (mut done, mut failed) = (0, Vec::new());
    for id in &ids {
        match review::decide(&state, &me.account, id, action, comment, None, &client).await {
            Ok(()) => done += 1,
            Err(e @ (AppError::Conflict(_) | AppError::BadRequest(_) | AppError::NotFound)) => {
                failed.push(e.to_string())
            }
            Err(e) => return Err(e.into()),
        }
    }
    let verb = if action == review::Action::Approve {
        "Approved"
    } else {
        "Sent back with your comment"
    };
    let mut msg = format!("{verb}: {done} of {}.", ids.len());
    if let Some(first) = failed.first() {
        msg.push_str(&format!(" Not done for {}: {first}.", failed.len()));
    }
    me.flash(msg).await;
    Ok(Redirect::to("/admin/review").into_response())
}
