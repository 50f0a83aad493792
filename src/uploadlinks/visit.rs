//! The sender's side of an upload link: `/u/{token}` (the page with the brief and the upload
//! form), its password gate, the upload endpoint, and the brief's reference files. No session:
//! what a sender has proven lives in a cookie scoped to the link's path (`links::unlock`).
use askama::Template;
use axum::extract::{DefaultBodyLimit, FromRequestParts, Multipart, Path, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use serde::Deserialize;

use super::UploadLink;
use crate::accounts::{password, throttle};
use crate::app::AppState;
use crate::clock;
use crate::error::{AppError, PageError, PageResult};
use crate::events::{Event, EventKind};
use crate::library::upload;
use crate::links::unlock::{self, Scope, Unlock};
use crate::links::visit::{wants_json, Knock, Refused, PW_PER_IP, PW_PER_LINK};
use crate::web::client::ClientInfo;
use crate::web::format::human_size;
use crate::web::headers::private_headers;
use crate::web::layout::{render, Layout};

/// The owner hears about arrivals at most this often per link.
const NOTIFY_EVERY_MS: i64 = 10 * 60 * 1000;

pub fn routes(max_upload: u64) -> Router<AppState> {
    Router::new()
        .route("/u/{token}", get(page))
        .route("/u/{token}/unlock", post(unlock_password))
        .route(
            "/u/{token}/files",
            post(files).layer(DefaultBodyLimit::max(
                (max_upload + upload::MULTIPART_OVERHEAD) as usize,
            )),
        )
        .route("/u/{token}/refs/{asset_id}", get(reference))
        .route(
            "/u/{token}/files/{asset_id}/revision",
            post(super::revisions::upload_revision).layer(DefaultBodyLimit::max(
                (max_upload + upload::MULTIPART_OVERHEAD) as usize,
            )),
        )
        .merge(super::tus::routes())
        .layer(axum::middleware::from_fn(private_headers))
}

fn scope(link: &UploadLink, token: &str) -> Scope {
    Scope {
        aud: format!("assetport-upload:{}", link.id),
        epoch: link.unlock_epoch,
        path: format!("/u/{token}"),
        expires_at: link.expires_at,
    }
}

/// A live upload link, reached from an allowed network, and whether its password gate is
/// passed. As an extractor it refuses unknown tokens (404, counted per address), expired or
/// revoked links (410) and senders outside the link's networks (403), as a page or as JSON.
pub struct UploadLinkVisit {
    pub link: UploadLink,
    pub unlocked: bool,
    pub token: String,
    pub client: ClientInfo,
}

impl FromRequestParts<AppState> for UploadLinkVisit {
    type Rejection = Refused;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Refused> {
        let knock = Knock::read(parts, state).await?;
        let found = super::by_token(&state.db, &knock.token)
            .await
            .map_err(|e| knock.refuse(e))?;
        let Some(link) = found else {
            return Err(knock.miss(state, "uploadprobe").await);
        };
        let now = state.clock.now_ms();
        if matches!(link.state(now), "expired" | "revoked") {
            return Err(knock.refuse(AppError::GoneWith(
                "This upload link has expired or was withdrawn. Ask the person who sent it for a \
                 new one."
                    .into(),
            )));
        }
        link.ip_allow
            .check(&knock.client)
            .map_err(|e| knock.refuse(e))?;
        let unlocked = link.password_hash.is_none()
            || unlock::read_scoped(
                &parts.headers,
                &scope(&link, &knock.token),
                state.secret.expose(),
                state.clock.now_ms(),
            )
            .pw;
        Ok(UploadLinkVisit {
            link,
            unlocked,
            token: knock.token,
            client: knock.client,
        })
    }
}

struct Reference {
    id: String,
    name: String,
    size: String,
}

/// A slot as the sender's page shows it.
struct SlotView {
    id: String,
    name: String,
    rules: String,
    delivered: i64,
    max: i64,
    min: i64,
    full: bool,
    title_required: bool,
}

/// A file this sender delivered (never another sender's).
struct Delivered {
    asset_id: String,
    filename: String,
    title: String,
    slot: String,
    status: String,
    /// The reviewer's comment while the file waits for a revision.
    changes: Option<String>,
    version: i64,
}

#[derive(Template)]
#[template(path = "uploads/visit.html")]
struct UploadPage {
    layout: Layout,
    token: String,
    locked: bool,
    error: Option<String>,
    heading: String,
    brief: String,
    references: Vec<Reference>,
    full: bool,
    files_left: Option<i64>,
    bytes_left: String,
    max_upload: u64,
    expires: String,
    need_title: bool,
    need_description: bool,
    need_keywords: bool,
    received: bool,
    slots: Vec<SlotView>,
    delivered: Vec<Delivered>,
}

async fn page(
    State(state): State<AppState>,
    v: UploadLinkVisit,
    headers: HeaderMap,
    axum::extract::Query(q): axum::extract::Query<Vec<(String, String)>>,
) -> PageResult<Response> {
    let received = q.iter().any(|(k, _)| k == "received");
    // The sender's cookie is set with the page, so the files its script sends in parallel
    // all belong to one sender.
    let who = v.unlocked.then(|| sender_of(&state, &v, &headers));
    let hash = who.as_ref().map(|w| w.hash.as_str());
    let page = upload_page(&state, &v.link, &v.token, hash, None, received).await?;
    let mut r = render(&page)?.into_response();
    if let Some(c) = who.and_then(|w| w.set_cookie) {
        r.headers_mut().insert(header::SET_COOKIE, c);
    }
    Ok(r)
}

fn sender_of(state: &AppState, v: &UploadLinkVisit, headers: &HeaderMap) -> super::sender::Sender {
    super::sender::of_request(
        headers,
        &v.link,
        &v.token,
        state.config.secure_cookies(),
        state.clock.now_ms(),
    )
}

/// The files `sender` delivered through `link`, oldest first.
async fn delivered_by(
    state: &AppState,
    link: &UploadLink,
    sender: &str,
) -> Result<Vec<Delivered>, sqlx::Error> {
    use sqlx::Row;
    sqlx::query(
        "SELECT a.id, a.filename, a.title, a.status, a.review_comment, v.number, \
         s.name AS slot FROM assets a \
         JOIN asset_versions v ON v.id = a.current_version_id \
         LEFT JOIN upload_link_slots s ON s.id = a.upload_slot_id \
         WHERE a.upload_link_id = $1 AND a.upload_sender = $2 ORDER BY a.created_at, a.id",
    )
    .bind(&link.id)
    .bind(sender)
    .fetch_all(&state.db.pool)
    .await?
    .iter()
    .map(|r| {
        let status: String = r.try_get("status")?;
        Ok(Delivered {
            asset_id: r.try_get("id")?,
            changes: (status == "rejected")
                .then(|| r.try_get("review_comment"))
                .transpose()?,
            version: r.try_get("number")?,
            filename: r.try_get("filename")?,
            title: r.try_get("title")?,
            slot: r.try_get::<Option<String>, _>("slot")?.unwrap_or_default(),
            status: status.replace('_', " "),
        })
    })
    .collect()
}

/// The page; `sender` is the hash of the sender's cookie once past the password gate
/// (`None`: locked, nothing about the link is shown).
async fn upload_page(
    state: &AppState,
    link: &UploadLink,
    token: &str,
    sender: Option<&str>,
    error: Option<String>,
    received: bool,
) -> Result<UploadPage, AppError> {
    let unlocked = sender.is_some();
    let (slots, delivered) = match sender {
        Some(s) => (
            super::slots::of_link(&state.db, &link.id)
                .await?
                .into_iter()
                .map(|f| SlotView {
                    full: f.is_full(),
                    id: f.slot.id.clone(),
                    rules: f.slot.rules(),
                    delivered: f.delivered,
                    max: f.slot.files.max,
                    min: f.slot.files.min,
                    title_required: f.slot.title_required,
                    name: f.slot.name,
                })
                .collect(),
            delivered_by(state, link, s).await?,
        ),
        None => (Vec::new(), Vec::new()),
    };
    // Before the gate, nothing about the link: not even its title.
    let heading = if !unlocked || link.title.is_empty() {
        "Send files".to_string()
    } else {
        link.title.clone()
    };
    let references = if unlocked {
        super::references(&state.db, link)
            .await?
            .into_iter()
            .map(|v| Reference {
                id: v.asset.id.to_string(),
                name: v.version.filename.clone(),
                size: human_size(v.version.size),
            })
            .collect()
    } else {
        Vec::new()
    };
    let max_upload = match link.bytes_left() {
        Some(left) => state.config.max_upload_bytes.min(left.max(0) as u64),
        None => state.config.max_upload_bytes,
    };
    Ok(UploadPage {
        layout: Layout::anonymous(&heading),
        token: token.to_string(),
        locked: !unlocked,
        error,
        heading,
        brief: if unlocked {
            link.brief.clone()
        } else {
            String::new()
        },
        references,
        full: link.state(state.clock.now_ms()) == "full"
            || link.bytes_left().is_some_and(|b| b <= 0),
        files_left: link.files_left(),
        bytes_left: link.bytes_left().map(human_size).unwrap_or_default(),
        max_upload,
        expires: clock::human(link.expires_at),
        need_title: link.requires("title"),
        need_description: link.requires("description"),
        need_keywords: link.requires("keywords"),
        received,
        slots,
        delivered,
    })
}

#[derive(Deserialize)]
struct PasswordForm {
    #[serde(default)]
    password: String,
}

async fn unlock_password(
    State(state): State<AppState>,
    v: UploadLinkVisit,
    Form(form): Form<PasswordForm>,
) -> PageResult<Response> {
    let UploadLinkVisit {
        link,
        unlocked,
        token,
        client,
    } = v;
    if unlocked {
        return Ok(Redirect::to(&format!("/u/{token}")).into_response());
    }
    let now = state.clock.now_ms();
    let link_key = format!("uploadpw:link:{}", link.id);
    let ip_key = format!("uploadpw:ip:{}", client.ip);
    let keys = [
        (link_key.as_str(), PW_PER_LINK),
        (ip_key.as_str(), PW_PER_IP),
    ];
    let attempts = throttle::reserve_all(&state.db, &keys, now).await?;
    let ok = form.password.len() <= 1000
        && password::verify(form.password, link.password_hash.clone()).await?;
    if !ok {
        // The attempts stay counted.
        state
            .events
            .record(
                Event::new(EventKind::UploadLinkPasswordFailed).link(&link.id),
                &client,
            )
            .await?;
        let page = upload_page(
            &state,
            &link,
            &token,
            None,
            Some("That password is not right.".into()),
            false,
        )
        .await?;
        return Ok((StatusCode::FORBIDDEN, render(&page)?).into_response());
    }
    throttle::give_back_all(&state.db, attempts).await?;
    let unlock = Unlock {
        pw: true,
        ..Unlock::default()
    };
    let cookie = unlock::cookie_scoped(
        &scope(&link, &token),
        &unlock,
        state.secret.expose(),
        state.config.secure_cookies(),
        now,
    )
    .map_err(AppError::Internal)?;
    let mut r = Redirect::to(&format!("/u/{token}")).into_response();
    r.headers_mut().insert(header::SET_COOKIE, cookie);
    Ok(r)
}

/// One file per request (the page's script sends many, three at a time). Answers JSON to the
/// script, and a redirect back to the page to a plain form.
async fn files(
    State(state): State<AppState>,
    v: UploadLinkVisit,
    headers: HeaderMap,
    multipart: Multipart,
) -> Response {
    let wants_json = wants_json(&headers);
    let who = sender_of(&state, &v, &headers);
    let result = receive(&state, &v, &who.hash, &headers, multipart).await;
    let mut r = match (result, wants_json) {
        (Ok(view), true) => (
            StatusCode::CREATED,
            Json(serde_json::json!({
                "id": view.asset.id, "filename": view.version.filename,
                "size": view.version.size, "sha256": view.version.sha256,
                "status": view.asset.status,
            })),
        )
            .into_response(),
        (Ok(_), false) => Redirect::to(&format!("/u/{}?received=1", v.token)).into_response(),
        (Err(e), true) => e.into_response(),
        (Err(e), false) => PageError(e).into_response(),
    };
    if let Some(c) = who.set_cookie {
        r.headers_mut().insert(header::SET_COOKIE, c);
    }
    r
}

async fn receive(
    state: &AppState,
    v: &UploadLinkVisit,
    sender: &str,
    headers: &HeaderMap,
    multipart: Multipart,
) -> Result<crate::library::assets::AssetView, AppError> {
    if !v.unlocked {
        return Err(AppError::Forbidden(
            "enter the link's password first".into(),
        ));
    }
    let view =
        upload::receive_via_link(state, &v.link, sender, headers, multipart, &v.client).await?;
    delivered(state, &v.link, sender, &view).await;
    Ok(view)
}

/// What follows a stored file, however it came (multipart or tus): the owner's arrival mail
/// and the slot mails.
pub(crate) async fn delivered(
    state: &AppState,
    link: &UploadLink,
    sender: &str,
    view: &crate::library::assets::AssetView,
) {
    notify_owner(state, link, view).await;
    super::notices::on_delivery(state, link, sender).await;
}

/// Tells the link's owner that files are arriving: at most one mail per link every ten
/// minutes (claimed in the database, so one instance sends it), pointing at the review queue.
async fn notify_owner(
    state: &AppState,
    link: &UploadLink,
    view: &crate::library::assets::AssetView,
) {
    let Some(owner) = link.created_by.as_deref() else {
        return;
    };
    let now = state.clock.now_ms();
    let send = async {
        if !super::claim_notification(&state.db, link, now, NOTIFY_EVERY_MS).await? {
            return Ok::<_, anyhow::Error>(());
        }
        let Some(owner) = crate::accounts::users::by_id(&state.db, owner).await? else {
            return Ok(());
        };
        let name = if link.title.is_empty() {
            "your upload link"
        } else {
            &link.title
        };
        let sender = format!(
            "{} <{}>",
            view.asset.uploader_name, view.asset.uploader_email
        );
        let queue = format!("{}/admin/review", state.config.public_url);
        let vars = [
            ("upload_link", name),
            ("file", view.version.filename.as_str()),
            ("sender", sender.as_str()),
            ("queue", queue.as_str()),
        ];
        state
            .mailer
            .send_kind(
                &owner.email,
                &crate::brand::mail::UPLOAD_LINK_ARRIVALS,
                &vars,
                None,
            )
            .await
    };
    if let Err(e) = send.await {
        tracing::warn!(error = %e, "could not notify the owner of an upload link");
    }
}

/// A reference file of the brief, once past the password gate.
async fn reference(
    State(state): State<AppState>,
    v: UploadLinkVisit,
    Path((_, asset_id)): Path<(String, String)>,
    method: Method,
    headers: HeaderMap,
) -> PageResult<Response> {
    let ask = crate::delivery::Ask {
        method: &method,
        headers: &headers,
        client: &v.client,
        api: false,
    };
    Ok(crate::delivery::reference(&state, &v.link, v.unlocked, &v.token, &asset_id, &ask).await?)
}
