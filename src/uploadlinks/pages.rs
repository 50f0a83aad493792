//! Admin pages for upload links: the list (state, quotas used, revoke), the form that creates
//! one for a folder, and the page that shows a new link's address once.
use askama::Template;
use axum::extract::{Path, RawQuery, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};

use super::{actions, UploadLinkOptions};
use crate::accounts::PageAdmin;
use crate::app::AppState;
use crate::clock;
use crate::error::{AppError, PageResult};
use crate::ids::UploadLinkId;
use crate::library::folders::{self, Folder};
use crate::links::options::DEFAULT_DAYS;
use crate::links::pages::{all, end_of_day, first, ip_allow_field};
use crate::web::client::ClientInfo;
use crate::web::format::human_size;
use crate::web::layout::{render, Layout};

pub fn routes() -> axum::Router<AppState> {
    Router::new()
        .route("/admin/upload-links", get(list_page).post(create))
        .route("/admin/upload-links/new", get(new_form))
        .route("/admin/upload-links/{id}", get(detail_page))
        .route("/admin/upload-links/{id}/revoke", post(revoke))
        .route("/admin/upload-links/{id}/qr.svg", get(qr))
}

/// How many slot rows the creation form offers (the API takes up to `slots::MAX_SLOTS`).
const SLOT_ROWS: usize = 4;

struct Row {
    id: String,
    title: String,
    folder: String,
    state: &'static str,
    files: String,
    bytes: String,
    expires: String,
    protected: bool,
    /// "2 of 3 filled", or empty for a link without slots.
    slots: String,
}

#[derive(Template)]
#[template(path = "uploads/list.html")]
struct ListPage {
    layout: Layout,
    rows: Vec<Row>,
}

async fn list_page(
    State(state): State<AppState>,
    PageAdmin(me): PageAdmin,
) -> PageResult<Response> {
    let now = state.clock.now_ms();
    let links = super::list(&state.db, 500).await?;
    let ids: Vec<&str> = links.iter().map(|l| l.folder_id.as_str()).collect();
    let folders = folders::many(&state.db, &ids).await?;
    let progress = super::slots::progress(&state.db).await?;
    let rows = links
        .iter()
        .map(|l| row(l, &folders, &progress, now))
        .collect();
    let page = ListPage {
        layout: Layout::for_user("Upload links", &me, "links"),
        rows,
    };
    Ok(render(&page)?.into_response())
}

/// One upload link as the list and its page show it.
fn row(
    l: &super::UploadLink,
    folders: &[Folder],
    progress: &[(String, i64, i64)],
    now: i64,
) -> Row {
    Row {
        id: l.id.to_string(),
        title: if l.title.is_empty() {
            "Untitled upload link".into()
        } else {
            l.title.clone()
        },
        folder: folders
            .iter()
            .find(|f| f.id == l.folder_id)
            .map(|f| f.path.clone())
            .unwrap_or_default(),
        state: l.state(now),
        files: match l.max_files {
            Some(m) => format!("{} / {m}", l.files),
            None => l.files.to_string(),
        },
        bytes: match l.max_bytes {
            Some(m) => format!("{} / {}", human_size(l.bytes), human_size(m)),
            None => human_size(l.bytes),
        },
        expires: clock::human(l.expires_at),
        protected: l.password_hash.is_some(),
        slots: progress
            .iter()
            .find(|(id, ..)| *id == l.id.as_str())
            .map(|(_, n, filled)| format!("{filled} of {n} filled"))
            .unwrap_or_default(),
    }
}

#[derive(Template)]
#[template(path = "uploads/detail.html")]
struct DetailPage {
    layout: Layout,
    row: Row,
    folder_id: String,
    brief: String,
    created: String,
    /// The address, when its token was kept sealed (links made before that have none).
    address: Option<String>,
    active: bool,
    received: Vec<Received>,
}

/// A file that arrived through the link.
struct Received {
    id: String,
    name: String,
    sender: String,
    /// The asset's status ("in_review"): the chip's class, shown in words.
    status: String,
}

/// An upload link's own page: what it asks for and has received, its address again (with
/// Copy and the QR code), and Revoke.
async fn detail_page(
    State(state): State<AppState>,
    PageAdmin(me): PageAdmin,
    Path(id): Path<UploadLinkId>,
) -> PageResult<Response> {
    use sqlx::Row as _;
    let now = state.clock.now_ms();
    let link = super::get(&state.db, id.as_str()).await?;
    let folders = folders::many(&state.db, &[link.folder_id.as_str()]).await?;
    let progress = super::slots::progress(&state.db).await?;
    let row = row(&link, &folders, &progress, now);
    let active = row.state == "active" || row.state == "full";
    // Opened only while the link works: a dead link's page offers no address.
    let address = if active {
        super::address(
            &state.db,
            state.secret.expose(),
            &state.config.public_url,
            id.as_str(),
        )
        .await?
    } else {
        None
    };
    let received = sqlx::query(
        "SELECT id, filename, title, status, uploader_name, uploader_email FROM assets \
         WHERE upload_link_id = $1 ORDER BY created_at DESC LIMIT 200",
    )
    .bind(id.as_str())
    .fetch_all(&state.db.pool)
    .await?
    .iter()
    .map(|r| {
        let title: String = r.try_get("title")?;
        let (name, email): (String, String) =
            (r.try_get("uploader_name")?, r.try_get("uploader_email")?);
        Ok(Received {
            id: r.try_get("id")?,
            name: if title.is_empty() {
                r.try_get("filename")?
            } else {
                title
            },
            sender: match (name.is_empty(), email.is_empty()) {
                (false, false) => format!("{name} <{email}>"),
                (false, true) => name,
                _ => email,
            },
            status: r.try_get("status")?,
        })
    })
    .collect::<Result<Vec<_>, sqlx::Error>>()?;
    let page = DetailPage {
        layout: Layout::for_user(&row.title, &me, "links"),
        active,
        row,
        folder_id: link.folder_id.to_string(),
        brief: link.brief.clone(),
        created: clock::human(link.created_at),
        address,
        received,
    };
    Ok(render(&page)?.into_response())
}

#[derive(Template)]
#[template(path = "uploads/new.html")]
struct NewPage {
    layout: Layout,
    folder: Folder,
    default_expiry: String,
    max_days: i64,
    error: Option<String>,
    /// Empty slot rows the form offers.
    slot_rows: Vec<usize>,
}

async fn new_form(
    State(state): State<AppState>,
    PageAdmin(me): PageAdmin,
    RawQuery(raw): RawQuery,
) -> PageResult<Response> {
    let q: Vec<(String, String)> =
        serde_urlencoded::from_str(raw.as_deref().unwrap_or("")).unwrap_or_default();
    let folder = folders::get(&state.db, &first(&q, "folder_id"))
        .await?
        .ok_or(AppError::NotFound)?;
    let page = NewPage {
        layout: Layout::for_user("Request files", &me, "links"),
        folder,
        default_expiry: clock::local_date(state.clock.now_ms() + DEFAULT_DAYS * 24 * 3600 * 1000),
        max_days: state.config.max_link_days,
        error: None,
        slot_rows: (1..=SLOT_ROWS).collect(),
    };
    Ok(render(&page)?.into_response())
}

#[derive(Template)]
#[template(path = "uploads/created.html")]
struct CreatedPage {
    layout: Layout,
    id: String,
    url: String,
}

/// Number fields of the form: empty means "no limit".
fn number(form: &[(String, String)], key: &str) -> Result<Option<i64>, AppError> {
    match first(form, key).as_str() {
        "" => Ok(None),
        s => s
            .parse::<i64>()
            .map(Some)
            .map_err(|_| AppError::BadRequest(format!("{key} must be a whole number"))),
    }
}

async fn create(
    State(state): State<AppState>,
    PageAdmin(me): PageAdmin,
    client: ClientInfo,
    Form(form): Form<Vec<(String, String)>>,
) -> PageResult<Response> {
    let folder_id = first(&form, "folder_id");
    let expires_at = match first(&form, "expires").as_str() {
        "" => None,
        d => Some(clock::rfc3339(end_of_day(d).ok_or_else(|| {
            AppError::BadRequest("The expiry date is not a valid date.".into())
        })?)),
    };
    let max_mb = number(&form, "max_mb")?;
    let options = UploadLinkOptions {
        folder_id: folder_id.clone(),
        expires_at,
        password: Some(first(&form, "password")),
        max_files: number(&form, "max_files")?,
        max_bytes: max_mb.map(|m| m.saturating_mul(1_000_000)),
        title: first(&form, "title"),
        brief: first(&form, "brief"),
        required_fields: all(&form, "required"),
        reference_asset_ids: Vec::new(),
        ip_allow: ip_allow_field(&form),
        slots: super::slots::from_form(&form)?,
    };
    match actions::create_upload_link(&state, &me.account, options, &client).await {
        Ok((link, url)) => {
            let page = CreatedPage {
                layout: Layout::for_user("Upload link created", &me, "links"),
                id: link.id.to_string(),
                url,
            };
            Ok(render(&page)?.into_response())
        }
        Err(e) if e.is_correctable() => {
            let folder = folders::get(&state.db, &folder_id)
                .await?
                .ok_or(AppError::NotFound)?;
            let page = NewPage {
                layout: Layout::for_user("Request files", &me, "links"),
                folder,
                default_expiry: first(&form, "expires"),
                max_days: state.config.max_link_days,
                error: Some(e.to_string()),
                slot_rows: (1..=SLOT_ROWS).collect(),
            };
            Ok((axum::http::StatusCode::UNPROCESSABLE_ENTITY, render(&page)?).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

/// The upload link's address as a QR code, for a printed brief or a screen.
async fn qr(
    State(state): State<AppState>,
    PageAdmin(_): PageAdmin,
    Path(id): Path<UploadLinkId>,
) -> PageResult<Response> {
    let address = super::address(
        &state.db,
        state.secret.expose(),
        &state.config.public_url,
        id.as_str(),
    )
    .await?
    .ok_or(AppError::NotFound)?;
    Ok(crate::web::qr::response(&address, "upload-link-qr.svg"))
}

async fn revoke(
    State(state): State<AppState>,
    PageAdmin(me): PageAdmin,
    client: ClientInfo,
    Path(id): Path<UploadLinkId>,
) -> PageResult<Response> {
    if actions::revoke_upload_link(&state, &me.account, &id, &client).await? {
        me.flash("Upload link revoked: it stops working at once.")
            .await;
    }
    Ok(Redirect::to("/admin/upload-links").into_response())
}
