//! `/api/v1/upload-links`: create, list, read, extend, revoke (admin).
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

use super::NewUploadLink;
use crate::accounts::{password, Account, ApiAdmin};
use crate::app::AppState;
use crate::clock;
use crate::error::{ApiResult, AppError};
use crate::events::Event;
use crate::library::{assets, folders};
use crate::links::create::{check_expiry, check_text, DEFAULT_DAYS};
use crate::web::client::ClientInfo;

const DAY_MS: i64 = 24 * 60 * 60 * 1000;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/upload-links", post(create).get(list))
        .route("/upload-links/{id}", get(read).patch(extend).delete(revoke))
}

/// What the API and the admin form both send.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct CreateBody {
    pub folder_id: String,
    #[serde(default)]
    pub expires_at: Option<String>,
    #[serde(default)]
    pub password: Option<String>,
    #[serde(default)]
    pub max_files: Option<i64>,
    #[serde(default)]
    pub max_bytes: Option<i64>,
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub brief: String,
    #[serde(default)]
    pub required_fields: Vec<String>,
    #[serde(default)]
    pub reference_asset_ids: Vec<String>,
}

fn parse_time(field: &str, s: &str) -> Result<i64, AppError> {
    clock::parse_rfc3339(s)
        .ok_or_else(|| AppError::BadRequest(format!("{field} must be an RFC 3339 timestamp")))
}

/// Validates a request and creates the link; returns it with its URL (the token is shown once).
pub async fn create_link(
    state: &AppState,
    admin: &Account,
    b: CreateBody,
    client: &ClientInfo,
) -> Result<(super::UploadLink, String), AppError> {
    let now = state.clock.now_ms();
    let expires_at = match b.expires_at.as_deref().filter(|s| !s.is_empty()) {
        Some(s) => parse_time("expires_at", s)?,
        None => now + DEFAULT_DAYS * DAY_MS,
    };
    let expires_at = check_expiry(expires_at, now, state.config.max_link_days)?;
    folders::get(&state.db, &b.folder_id)
        .await?
        .ok_or_else(|| AppError::Unprocessable("the folder does not exist".into()))?;
    // Approved at creation; the window is not required here (an embargoed guide may be attached
    // ahead of its date): what the brief serves is decided at request time by
    // `access::upload_link_refs`.
    for id in &b.reference_asset_ids {
        let ok = assets::get_approved(&state.db, id)
            .await?
            .is_some_and(|v| v.asset.status == "approved");
        if !ok {
            return Err(AppError::Unprocessable(format!(
                "reference files must be approved assets: {id}"
            )));
        }
    }
    let password_hash = match b.password.as_deref().map(str::trim) {
        Some(p) if !p.is_empty() => {
            if p.chars().count() < 6 || p.len() > 200 {
                return Err(AppError::Unprocessable(
                    "link passwords need 6 to 200 characters".into(),
                ));
            }
            Some(password::hash(p.to_string()).await?)
        }
        _ => None,
    };
    let mut required: Vec<String> = Vec::new();
    for f in &b.required_fields {
        let f = f.trim().to_string();
        if !f.is_empty() && !required.contains(&f) {
            required.push(f);
        }
    }
    let new = NewUploadLink {
        folder_id: b.folder_id.clone(),
        title: check_text("title", &b.title, 200)?,
        brief: check_text("brief", &b.brief, 20_000)?,
        password_hash,
        max_files: b.max_files,
        max_bytes: b.max_bytes,
        required,
        reference_ids: b.reference_asset_ids.clone(),
        expires_at,
    };
    let (link, token) = super::create(&state.db, &admin.id, new).await?;
    state
        .events
        .record(
            Event::new("upload_link_created")
                .by(&admin.id)
                .link(&link.id)
                .folder(&link.folder_id),
            client,
        )
        .await?;
    Ok((link, super::url(&state.config.public_url, &token)))
}

async fn create(
    State(state): State<AppState>,
    ApiAdmin(admin): ApiAdmin,
    client: ClientInfo,
    Json(b): Json<CreateBody>,
) -> ApiResult<Response> {
    let (link, url) = create_link(&state, &admin, b, &client).await?;
    Ok((
        StatusCode::CREATED,
        Json(link.to_json(state.clock.now_ms(), Some(&url))),
    )
        .into_response())
}

async fn list(State(state): State<AppState>, ApiAdmin(_a): ApiAdmin) -> ApiResult<Json<Value>> {
    let now = state.clock.now_ms();
    let items: Vec<Value> = super::list(&state.db, 1000)
        .await?
        .iter()
        .map(|l| l.to_json(now, None))
        .collect();
    Ok(Json(json!({ "items": items })))
}

async fn read(
    State(state): State<AppState>,
    ApiAdmin(_a): ApiAdmin,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let link = super::get(&state.db, &id).await?;
    Ok(Json(link.to_json(state.clock.now_ms(), None)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ExtendBody {
    expires_at: String,
}

async fn extend(
    State(state): State<AppState>,
    ApiAdmin(admin): ApiAdmin,
    client: ClientInfo,
    Path(id): Path<String>,
    Json(b): Json<ExtendBody>,
) -> ApiResult<Json<Value>> {
    let link = super::get(&state.db, &id).await?;
    let now = state.clock.now_ms();
    let t = check_expiry(
        parse_time("expires_at", &b.expires_at)?,
        now,
        state.config.max_link_days,
    )?;
    super::extend(&state.db, &link.id, t).await?;
    state
        .events
        .record(
            Event::new("upload_link_extended")
                .by(&admin.id)
                .link(&id)
                .detail(&b.expires_at),
            &client,
        )
        .await?;
    Ok(Json(super::get(&state.db, &id).await?.to_json(now, None)))
}

async fn revoke(
    State(state): State<AppState>,
    ApiAdmin(admin): ApiAdmin,
    client: ClientInfo,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    super::get(&state.db, &id).await?;
    super::revoke(&state.db, &id, state.clock.now_ms()).await?;
    state
        .events
        .record(
            Event::new("upload_link_revoked").by(&admin.id).link(&id),
            &client,
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
