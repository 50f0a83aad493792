//! The sender's side of an upload link: `/u/{token}` (the page with the brief and the upload
//! form), its password gate, the upload endpoint, and the brief's reference files. No session:
//! what a sender has proven lives in a cookie scoped to the link's path (`links::unlock`).
use askama::Template;
use axum::extract::{DefaultBodyLimit, Multipart, Path, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use serde::Deserialize;

use super::UploadLink;
use crate::accounts::{password, throttle};
use crate::app::AppState;
use crate::clock;
use crate::error::{AppError, PageError, PageResult};
use crate::events::Event;
use crate::library::pages::human_size;
use crate::library::upload;
use crate::links::unlock::{self, Scope, Unlock};
use crate::web::client::ClientInfo;
use crate::web::layout::{render, Layout};

const PW_PER_LINK: throttle::Policy = throttle::Policy {
    limit: 10,
    window_ms: 15 * 60 * 1000,
};
const PW_PER_IP: throttle::Policy = throttle::Policy {
    limit: 30,
    window_ms: 15 * 60 * 1000,
};
const PROBES_PER_IP: throttle::Policy = throttle::Policy {
    limit: 30,
    window_ms: 15 * 60 * 1000,
};
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
        .layer(axum::middleware::from_fn(private_headers))
}

/// Upload pages are private to whoever holds the link: never cached, never referred.
async fn private_headers(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let mut r = next.run(req).await;
    let h = r.headers_mut();
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(
        "x-robots-tag",
        HeaderValue::from_static("noindex, nofollow"),
    );
    r
}

fn scope(link: &UploadLink, token: &str) -> Scope {
    Scope {
        aud: format!("assetport-upload:{}", link.id),
        epoch: link.unlock_epoch,
        path: format!("/u/{token}"),
        expires_at: link.expires_at,
    }
}

/// A live link and whether its password gate is passed. Unknown → 404 (counted per address);
/// expired or revoked → 410.
async fn visit(
    state: &AppState,
    token: &str,
    headers: &HeaderMap,
    client: &ClientInfo,
) -> Result<(UploadLink, bool), AppError> {
    let now = state.clock.now_ms();
    let Some(link) = super::by_token(&state.db, token).await? else {
        let key = format!("uploadprobe:{}", client.ip);
        let _miss = throttle::reserve(&state.db, &key, PROBES_PER_IP, now).await?;
        return Err(AppError::NotFound);
    };
    if matches!(link.state(now), "expired" | "revoked") {
        return Err(AppError::GoneWith(
            "This upload link has expired or was withdrawn. Ask the person who sent it for a new one."
                .into(),
        ));
    }
    let unlocked = link.password_hash.is_none()
        || unlock::read_scoped(headers, &scope(&link, token), &state.secret, now).pw;
    Ok((link, unlocked))
}

struct Reference {
    id: String,
    name: String,
    size: String,
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
}

async fn page(
    State(state): State<AppState>,
    Path(token): Path<String>,
    headers: HeaderMap,
    client: ClientInfo,
    axum::extract::Query(q): axum::extract::Query<Vec<(String, String)>>,
) -> PageResult<Response> {
    let (link, unlocked) = visit(&state, &token, &headers, &client).await?;
    let received = q.iter().any(|(k, _)| k == "received");
    Ok(
        render(&upload_page(&state, &link, &token, unlocked, None, received).await?)?
            .into_response(),
    )
}

async fn upload_page(
    state: &AppState,
    link: &UploadLink,
    token: &str,
    unlocked: bool,
    error: Option<String>,
    received: bool,
) -> Result<UploadPage, AppError> {
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
                id: v.asset.id.clone(),
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
    })
}

#[derive(Deserialize)]
struct PasswordForm {
    #[serde(default)]
    password: String,
}

async fn unlock_password(
    State(state): State<AppState>,
    Path(token): Path<String>,
    headers: HeaderMap,
    client: ClientInfo,
    Form(form): Form<PasswordForm>,
) -> PageResult<Response> {
    let (link, unlocked) = visit(&state, &token, &headers, &client).await?;
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
                Event::new("upload_link_password_failed").link(&link.id),
                &client,
            )
            .await?;
        let page = upload_page(
            &state,
            &link,
            &token,
            false,
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
        &state.secret,
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
    Path(token): Path<String>,
    headers: HeaderMap,
    client: ClientInfo,
    multipart: Multipart,
) -> Response {
    let wants_json = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/json"));
    let result = receive(&state, &token, &headers, multipart, &client).await;
    match (result, wants_json) {
        (Ok(view), true) => (
            StatusCode::CREATED,
            Json(serde_json::json!({
                "id": view.asset.id, "filename": view.version.filename,
                "size": view.version.size, "sha256": view.version.sha256,
                "status": view.asset.status,
            })),
        )
            .into_response(),
        (Ok(_), false) => Redirect::to(&format!("/u/{token}?received=1")).into_response(),
        (Err(e), true) => e.into_response(),
        (Err(e), false) => PageError(e).into_response(),
    }
}

async fn receive(
    state: &AppState,
    token: &str,
    headers: &HeaderMap,
    multipart: Multipart,
    client: &ClientInfo,
) -> Result<crate::library::assets::AssetView, AppError> {
    let (link, unlocked) = visit(state, token, headers, client).await?;
    if !unlocked {
        return Err(AppError::Forbidden(
            "enter the link's password first".into(),
        ));
    }
    let view = upload::receive_via_link(state, &link, headers, multipart, client).await?;
    notify_owner(state, &link, &view).await;
    Ok(view)
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
    Path((token, asset_id)): Path<(String, String)>,
    method: Method,
    headers: HeaderMap,
    client: ClientInfo,
) -> PageResult<Response> {
    let (link, unlocked) = visit(&state, &token, &headers, &client).await?;
    let ask = crate::delivery::Ask {
        method: &method,
        headers: &headers,
        client: &client,
    };
    Ok(crate::delivery::reference(&state, &link, unlocked, &token, &asset_id, &ask).await?)
}
