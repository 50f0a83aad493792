//! Admin pages for share links: the list (filters, bulk revoke, purge), the form that creates a
//! share from a selection or a folder, the page that shows new URLs once, and each link's page
//! with its access log and actions (extend, revoke, rotate).
use askama::Template;
use axum::extract::{Path, RawQuery, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;

use super::options::DEFAULT_DAYS;
use super::{actions, create, Filter, IpAllow, Link, LinkOptions, State as LinkState, Target};
use crate::accounts::{users, PageAdmin};
use crate::app::AppState;
use crate::clock;
use crate::error::{AppError, PageResult};
use crate::ids::LinkId;
use crate::library::card::AssetCard;
use crate::library::{assets, folders};
use crate::web::client::ClientInfo;
use crate::web::layout::{render, Layout};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin/links", get(list_page).post(create_share))
        .route("/admin/links/new", get(new_form).post(new_form_post))
        .route("/admin/links/revoke", post(bulk_revoke))
        .route("/admin/links/purge", post(purge))
        .route("/admin/links/watermark", post(set_watermark))
        .route("/admin/links/{id}", get(detail_page))
        .route("/admin/links/{id}/extend", post(extend))
        .route("/admin/links/{id}/change", post(change))
        .route("/admin/links/{id}/revoke", post(revoke))
        .route("/admin/links/{id}/rotate", post(rotate))
        .route("/admin/links/{id}/qr.svg", get(qr))
}

/// Repeated form or query keys (`asset_ids=a&asset_ids=b`) as pairs.
fn pairs(raw: &str) -> Vec<(String, String)> {
    serde_urlencoded::from_str(raw).unwrap_or_default()
}

pub(crate) fn first(pairs: &[(String, String)], key: &str) -> String {
    pairs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.trim().to_string())
        .unwrap_or_default()
}

pub(crate) fn all(pairs: &[(String, String)], key: &str) -> Vec<String> {
    pairs
        .iter()
        .filter(|(k, _)| k == key)
        .map(|(_, v)| v.clone())
        .collect()
}

pub struct LinkRow {
    pub id: String,
    pub label: String,
    pub target: String,
    pub recipients: String,
    pub creator: String,
    /// The creator's account is disabled (the link still works: links belong to the portal).
    pub creator_disabled: bool,
    pub created: String,
    pub expires: String,
    pub state: &'static str,
    pub downloads: String,
    pub protected: bool,
}

async fn row(state: &AppState, l: &Link, now: i64) -> Result<LinkRow, AppError> {
    let target = match &l.target {
        Target::Folder(id) => match folders::get(&state.db, id).await? {
            Some(f) => format!("Folder {}", f.path),
            None => "Folder (deleted)".into(),
        },
        Target::Collection(id) => match crate::collections::get(&state.db, id).await? {
            Some(c) => format!("Collection {}", c.name),
            None => "Collection (deleted)".into(),
        },
        Target::Assets => {
            let n = super::asset_count(&state.db, l).await?.unwrap_or(0);
            format!("{n} asset{}", if n == 1 { "" } else { "s" })
        }
    };
    let (creator, creator_disabled) = match &l.created_by {
        Some(id) => users::by_id(&state.db, id)
            .await?
            .map(|u| (u.name, u.disabled))
            .unwrap_or_default(),
        None => (String::new(), false),
    };
    Ok(LinkRow {
        id: l.id.to_string(),
        label: if l.title.is_empty() {
            target.clone()
        } else {
            l.title.clone()
        },
        target,
        recipients: match &l.recipient {
            Some(r) => r.clone(),
            None => l.recipients.join(", "),
        },
        creator,
        creator_disabled,
        created: clock::human(l.created_at),
        expires: clock::human(l.expires_at),
        state: l.state(now).as_str(),
        downloads: match l.max_downloads {
            Some(m) => format!("{} / {m}", l.downloads),
            None => l.downloads.to_string(),
        },
        protected: l.password_hash.is_some() || l.require_code,
    })
}

#[derive(Template)]
#[template(path = "links/list.html")]
struct ListPage {
    layout: Layout,
    rows: Vec<LinkRow>,
    state: String,
    target: String,
    recipient: String,
    mine: bool,
    watermark: String,
}

async fn list_page(
    State(state): State<AppState>,
    PageAdmin(me): PageAdmin,
    RawQuery(raw): RawQuery,
) -> PageResult<Response> {
    let q = pairs(raw.as_deref().unwrap_or(""));
    let now = state.clock.now_ms();
    let st = first(&q, "state");
    let target = first(&q, "target");
    let recipient = first(&q, "recipient");
    let mine = first(&q, "mine") == "1";
    let filter = Filter {
        state: Filter::parse_state(&st)?,
        target: Some(target.clone())
            .filter(|t| t == "assets" || t == "folder" || t == "collection"),
        creator: mine.then(|| me.account.id.to_string()),
        recipient: Some(recipient.clone()).filter(|r| !r.is_empty()),
    };
    let links = super::list(&state.db, &filter, None, 200, now).await?;
    let mut rows = Vec::with_capacity(links.len());
    for l in &links {
        rows.push(row(&state, l, now).await?);
    }
    let page = ListPage {
        layout: Layout::for_user("Share links", &me, "links"),
        rows,
        state: st,
        target,
        recipient,
        mine,
        watermark: crate::renditions::watermark::text(&state.db).await?,
    };
    Ok(render(&page)?.into_response())
}

#[derive(Template)]
#[template(path = "links/new.html")]
struct NewPage {
    layout: Layout,
    folder: Option<folders::Folder>,
    collection: Option<crate::collections::Collection>,
    assets: Vec<AssetCard>,
    /// The chosen assets with a preview: the cover's choices.
    pictures: Vec<AssetCard>,
    default_expiry: String,
    max_days: i64,
    error: Option<String>,
}

/// `?folder_id=` shares a folder (live).
async fn new_form(
    State(state): State<AppState>,
    PageAdmin(me): PageAdmin,
    RawQuery(raw): RawQuery,
) -> PageResult<Response> {
    let q = pairs(raw.as_deref().unwrap_or(""));
    show_new_form(&state, &me, &q, None).await
}

/// A selection from a folder page arrives as a POST (it carries the CSRF token).
async fn new_form_post(
    State(state): State<AppState>,
    PageAdmin(me): PageAdmin,
    Form(form): Form<Vec<(String, String)>>,
) -> PageResult<Response> {
    show_new_form(&state, &me, &form, None).await
}

async fn show_new_form(
    state: &AppState,
    me: &crate::accounts::PageUser,
    q: &[(String, String)],
    error: Option<String>,
) -> PageResult<Response> {
    // The folder page's selection form names its folder too; ticked assets mean "these".
    let asset_ids = all(q, "asset_ids");
    let folder_id = if asset_ids.is_empty() {
        first(q, "folder_id")
    } else {
        String::new()
    };
    let folder = if folder_id.is_empty() {
        None
    } else {
        Some(
            folders::get(&state.db, &folder_id)
                .await?
                .ok_or(AppError::NotFound)?,
        )
    };
    let collection_id = first(q, "collection_id");
    let collection = if collection_id.is_empty() {
        None
    } else {
        Some(
            crate::collections::get(&state.db, &collection_id)
                .await?
                .ok_or(AppError::NotFound)?,
        )
    };
    let mut cards = Vec::new();
    for id in asset_ids {
        if let Some(v) = assets::get_current(&state.db, &id).await? {
            cards.push(AssetCard::from_view(&v));
        }
    }
    if folder.is_none() && collection.is_none() && cards.is_empty() {
        return Err(AppError::BadRequest(
            "Select some assets, or share a whole folder from its page.".into(),
        )
        .into());
    }
    let default_expiry = clock::local_date(state.clock.now_ms() + DEFAULT_DAYS * 24 * 3600 * 1000);
    let page = NewPage {
        layout: Layout::for_user("New share link", me, "links"),
        folder,
        collection,
        pictures: cards.iter().filter(|c| c.thumb).cloned().collect(),
        assets: cards,
        default_expiry,
        max_days: state.config.max_link_days,
        error,
    };
    let status = if page.error.is_some() {
        axum::http::StatusCode::UNPROCESSABLE_ENTITY
    } else {
        axum::http::StatusCode::OK
    };
    Ok((status, render(&page)?).into_response())
}

#[derive(Template)]
#[template(path = "links/created.html")]
struct CreatedPage {
    layout: Layout,
    links: Vec<create::Issued>,
    mail_failures: Vec<String>,
    emailed: usize,
}

/// A date from `<input type=date>` means the end of that day where the admin is (their time
/// zone, else UTC), as the pages show times.
pub(crate) fn end_of_day(date: &str) -> Option<i64> {
    clock::end_of_local_day(date)
}

/// The admin form's fields as the one `LinkOptions` (the API reads the same type).
fn form_options(form: &[(String, String)]) -> Result<LinkOptions, AppError> {
    let f = |k: &str| first(form, k);
    let expires_at = match f("expires").as_str() {
        "" => None,
        d => Some(clock::rfc3339(end_of_day(d).ok_or_else(|| {
            AppError::BadRequest("The expiry date is not a valid date.".into())
        })?)),
    };
    let max_downloads = match f("max_downloads").as_str() {
        "" => None,
        n => Some(n.parse::<i64>().map_err(|_| {
            AppError::BadRequest("Maximum downloads must be a whole number.".into())
        })?),
    };
    let folder_id = Some(f("folder_id")).filter(|s| !s.is_empty());
    let collection_id = Some(f("collection_id")).filter(|s| !s.is_empty());
    Ok(LinkOptions {
        asset_ids: if folder_id.is_some() || collection_id.is_some() {
            Vec::new()
        } else {
            all(form, "asset_ids")
        },
        folder_id,
        collection_id,
        expires_at: Some(expires_at),
        password: Some(Some(f("password"))),
        allow_original: Some(Some(f("allow_original") == "on")),
        max_downloads: Some(max_downloads),
        recipients: f("recipients")
            .split([',', '\n', ';', ' '])
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect(),
        message: Some(f("message")),
        title: Some(f("title")),
        terms: Some(f("terms")),
        per_recipient: f("per_recipient") == "on",
        require_code: f("require_code") == "on",
        bind_recipient: f("bind_recipient") == "on",
        ip_allow: Some(ip_allow_field(form)),
        presets: presets_field(form),
        cover_asset_id: cover_field(form),
    })
}

/// The forms' "Cover" choice; "" is "the first picture", `None` where a form does not show it.
fn cover_field(form: &[(String, String)]) -> Option<Option<String>> {
    (first(form, "cover_shown") == "1")
        .then(|| Some(first(form, "cover_asset_id")).filter(|c| !c.is_empty()))
}

/// The forms' "Other sizes offered" boxes; `None` (all) where a form does not show them.
fn presets_field(form: &[(String, String)]) -> Option<Vec<String>> {
    (first(form, "presets_shown") == "1").then(|| all(form, "presets"))
}

/// The form's "Allowed networks" box.
pub(crate) fn ip_allow_field(form: &[(String, String)]) -> Vec<String> {
    IpAllow::form_entries(&first(form, "ip_allow"))
}

async fn create_share(
    State(state): State<AppState>,
    PageAdmin(me): PageAdmin,
    client: ClientInfo,
    Form(form): Form<Vec<(String, String)>>,
) -> PageResult<Response> {
    let options = form_options(&form)?;
    let emailed = options.recipients.len();
    let created = match actions::create_link(&state, &me.account, options, &client).await {
        Ok(c) => c,
        Err(e @ (AppError::BadRequest(_) | AppError::Unprocessable(_) | AppError::NotFound)) => {
            return show_new_form(&state, &me, &form, Some(e.to_string())).await;
        }
        Err(e) => return Err(e.into()),
    };
    let page = CreatedPage {
        layout: Layout::for_user("Share link created", &me, "links"),
        emailed: emailed - created.mail_failures.len(),
        links: created.links,
        mail_failures: created.mail_failures,
    };
    Ok(render(&page)?.into_response())
}

pub struct AccessRow {
    pub when: String,
    pub what: String,
    pub ip: String,
    pub user_agent: String,
}

#[derive(Template)]
#[template(path = "links/detail.html")]
struct DetailPage {
    layout: Layout,
    row: LinkRow,
    link: Link,
    active: bool,
    assets: Vec<AssetCard>,
    views: Vec<AccessRow>,
    downloads: Vec<AccessRow>,
    started: Vec<AccessRow>,
    other: Vec<AccessRow>,
    expires_date: String,
    /// Receipts by recipient and asset.
    delivery: Vec<DeliveryRow>,
    /// When the link's page was first opened ("" if never): for a per-recipient link, by
    /// its recipient.
    first_opened: String,
    /// Requests about this link (renewals, access to a forwarded copy), newest first.
    rows: Vec<crate::requests::pages::RequestRow>,
    back: String,
    /// The link's address, shown again (with Copy) when its token was kept.
    address: Option<String>,
    /// Some listed asset has a preview: the form offers a cover.
    has_pictures: bool,
    /// The listed assets with a preview: the cover's choices.
    pictures: Vec<AssetCard>,
}

/// A line of the delivery table, ready to show.
struct DeliveryRow {
    who: String,
    asset: String,
    started: String,
    completed: String,
    /// "2 downloads, 1 completed" or "1.2 MB of 4.0 MB".
    note: String,
}

async fn detail_page(
    State(state): State<AppState>,
    PageAdmin(me): PageAdmin,
    Path(id): Path<String>,
) -> PageResult<Response> {
    let now = state.clock.now_ms();
    let link = super::get(&state.db, &id).await?;
    let log = super::access_log(&state.db, &id, 500).await?;
    let mut names = std::collections::HashMap::new();
    let mut views = Vec::new();
    let mut downloads = Vec::new();
    let mut started = Vec::new();
    let mut other = Vec::new();
    for a in log {
        let mut what = a.kind.replace('_', " ");
        if let Some(asset_id) = &a.asset_id {
            if !names.contains_key(asset_id) {
                let name = assets::get_current(&state.db, asset_id)
                    .await?
                    .map(|v| v.version.filename)
                    .unwrap_or_else(|| "deleted asset".into());
                names.insert(asset_id.clone(), name);
            }
            what = names[asset_id].clone();
        }
        if !a.detail.is_empty() {
            what = format!("{what} ({})", a.detail);
        }
        let r = AccessRow {
            when: clock::human(a.created_at),
            what,
            ip: a.ip,
            user_agent: a.user_agent,
        };
        match a.kind.as_str() {
            "link_view" => views.push(r),
            "link_download" => downloads.push(r),
            "link_download_started" => started.push(r),
            _ => other.push(r),
        }
    }
    let mut delivery = Vec::new();
    for d in crate::receipts::query::delivery(&state.db, &id).await? {
        if !names.contains_key(&d.asset_id) {
            let name = assets::get_current(&state.db, &d.asset_id)
                .await?
                .map(|v| v.version.filename)
                .unwrap_or_else(|| "deleted asset".into());
            names.insert(d.asset_id.clone(), name);
        }
        let note = if d.completed > 0 {
            format!("{} download(s), {} completed", d.downloads, d.completed)
        } else {
            format!(
                "{} of {} at most",
                crate::web::format::human_size(d.best),
                crate::web::format::human_size(d.size)
            )
        };
        delivery.push(DeliveryRow {
            who: if d.email.is_empty() {
                "anonymous visitors".into()
            } else {
                d.email
            },
            asset: names[&d.asset_id].clone(),
            started: clock::human(d.first_started),
            completed: d.first_completed.map(clock::human).unwrap_or_default(),
            note,
        });
    }
    let first_opened = views.last().map(|v| v.when.clone()).unwrap_or_default();
    let assets: Vec<AssetCard> = if link.target == Target::Assets {
        crate::access::link_assets(&state.db, &link, None, 200, now)
            .await?
            .iter()
            .map(|a| AssetCard::from_view(&a.view))
            .collect()
    } else {
        Vec::new()
    };
    // A folder's or collection's pictures, for the cover (what its page lists).
    let pictures: Vec<AssetCard> = if link.target == Target::Assets {
        assets.iter().filter(|a| a.thumb).cloned().collect()
    } else {
        crate::access::link_gallery(&state.db, &link, 200, now)
            .await?
            .iter()
            .map(AssetCard::new)
            .filter(|a| a.thumb)
            .collect()
    };
    let address = super::address(&state, &link.id).await?;
    let page = DetailPage {
        address,
        has_pictures: !pictures.is_empty(),
        pictures,
        layout: Layout::for_user("Share link", &me, "links"),
        row: row(&state, &link, now).await?,
        active: link.state(now) == LinkState::Active,
        expires_date: clock::local_date(link.expires_at),
        link,
        assets,
        views,
        downloads,
        started,
        other,
        delivery,
        first_opened,
        rows: crate::requests::pages::RequestRow::list(
            &state,
            &crate::requests::list(
                &state.db,
                crate::requests::Show::All,
                Some(&id),
                None,
                None,
                50,
            )
            .await?,
        )
        .await?,
        back: format!("/admin/links/{id}"),
    };
    Ok(render(&page)?.into_response())
}

async fn extend(
    State(state): State<AppState>,
    PageAdmin(me): PageAdmin,
    client: ClientInfo,
    Path(id): Path<LinkId>,
    Form(form): Form<Vec<(String, String)>>,
) -> PageResult<Response> {
    let t = end_of_day(&first(&form, "expires"))
        .ok_or_else(|| AppError::BadRequest("The expiry date is not a valid date.".into()))?;
    let link = actions::extend_link(&state, &me.account, &id, t, &client).await?;
    me.flash(format!(
        "The link now works until {}.",
        clock::human(link.expires_at)
    ))
    .await;
    Ok(Redirect::to(&format!("/admin/links/{id}")).into_response())
}

/// The link page's options form: the allowed networks, the sizes offered, the cover.
async fn change(
    State(state): State<AppState>,
    PageAdmin(me): PageAdmin,
    client: ClientInfo,
    Path(id): Path<LinkId>,
    Form(form): Form<Vec<(String, String)>>,
) -> PageResult<Response> {
    let options = LinkOptions {
        ip_allow: Some(ip_allow_field(&form)),
        presets: presets_field(&form),
        cover_asset_id: cover_field(&form),
        ..LinkOptions::default()
    };
    match actions::change_link(&state, &me.account, &id, options, &client).await {
        Ok(_) => me.flash("Link changed.").await,
        Err(e) if e.is_correctable() => me.flash(format!("Not changed: {e}.")).await,
        Err(e) => return Err(e.into()),
    }
    Ok(Redirect::to(&format!("/admin/links/{id}")).into_response())
}

async fn revoke(
    State(state): State<AppState>,
    PageAdmin(me): PageAdmin,
    client: ClientInfo,
    Path(id): Path<LinkId>,
) -> PageResult<Response> {
    if !actions::revoke_link(&state, &me.account, &id, &client).await? {
        return Err(AppError::NotFound.into());
    }
    me.flash("Link revoked. It stops working at once.").await;
    Ok(Redirect::to(&format!("/admin/links/{id}")).into_response())
}

async fn rotate(
    State(state): State<AppState>,
    PageAdmin(me): PageAdmin,
    client: ClientInfo,
    Path(id): Path<LinkId>,
) -> PageResult<Response> {
    let url = actions::rotate_link(&state, &me.account, &id, &client).await?;
    let page = CreatedPage {
        layout: Layout::for_user("New link address", &me, "links"),
        links: vec![create::Issued {
            id: id.to_string(),
            url,
            recipient: None,
        }],
        mail_failures: Vec::new(),
        emailed: 0,
    };
    Ok(render(&page)?.into_response())
}

async fn bulk_revoke(
    State(state): State<AppState>,
    PageAdmin(me): PageAdmin,
    client: ClientInfo,
    Form(form): Form<Vec<(String, String)>>,
) -> PageResult<Response> {
    let mut n = 0;
    for id in all(&form, "ids").iter().take(1000) {
        if actions::revoke_link(&state, &me.account, &LinkId::from(id.as_str()), &client).await? {
            n += 1;
        }
    }
    me.flash(format!(
        "{n} link{} revoked.",
        if n == 1 { "" } else { "s" }
    ))
    .await;
    Ok(Redirect::to("/admin/links").into_response())
}

async fn purge(
    State(state): State<AppState>,
    PageAdmin(me): PageAdmin,
    client: ClientInfo,
) -> PageResult<Response> {
    let n = actions::purge_links(&state, &me.account, &client).await?;
    me.flash(format!(
        "{n} expired or revoked link{} removed; their history stays in the audit log.",
        if n == 1 { "" } else { "s" }
    ))
    .await;
    Ok(Redirect::to("/admin/links").into_response())
}

#[derive(Deserialize)]
struct WatermarkForm {
    text: String,
}

/// The text across previews served by renditions-only links ("" for none).
async fn set_watermark(
    State(state): State<AppState>,
    PageAdmin(me): PageAdmin,
    Form(f): Form<WatermarkForm>,
) -> PageResult<Response> {
    match crate::renditions::watermark::set_text(&state.db, &f.text).await {
        Ok(()) => me.flash("Watermark saved.").await,
        Err(e @ AppError::BadRequest(_)) => me.flash(format!("Not saved: {e}.")).await,
        Err(e) => return Err(e.into()),
    }
    Ok(Redirect::to("/admin/links").into_response())
}

/// The link's address as a QR code (links made before addresses were kept have none: 404).
async fn qr(
    State(state): State<AppState>,
    PageAdmin(_): PageAdmin,
    Path(id): Path<LinkId>,
) -> PageResult<Response> {
    let address = super::address(&state, id.as_str())
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(crate::web::qr::response(&address, "share-link-qr.svg"))
}
