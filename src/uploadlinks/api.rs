//! `/api/v1/upload-links`: create, list, read, extend, revoke (admin).
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

use super::{actions, UploadLinkOptions};
use crate::accounts::ApiAdmin;
use crate::app::AppState;
use crate::error::ApiResult;
use crate::ids::UploadLinkId;
use crate::web::client::ClientInfo;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/upload-links", post(create).get(list))
        .route("/upload-links/{id}", get(read).patch(extend).delete(revoke))
}

async fn create(
    State(state): State<AppState>,
    ApiAdmin(admin): ApiAdmin,
    client: ClientInfo,
    Json(options): Json<UploadLinkOptions>,
) -> ApiResult<Response> {
    let (link, url) = actions::create_upload_link(&state, &admin, options, &client).await?;
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
    Path(id): Path<UploadLinkId>,
    Json(b): Json<ExtendBody>,
) -> ApiResult<Json<Value>> {
    let link = actions::extend_upload_link(&state, &admin, &id, &b.expires_at, &client).await?;
    Ok(Json(link.to_json(state.clock.now_ms(), None)))
}

async fn revoke(
    State(state): State<AppState>,
    ApiAdmin(admin): ApiAdmin,
    client: ClientInfo,
    Path(id): Path<UploadLinkId>,
) -> ApiResult<StatusCode> {
    actions::revoke_upload_link(&state, &admin, &id, &client).await?;
    Ok(StatusCode::NO_CONTENT)
}
