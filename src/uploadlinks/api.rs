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
    let json = with_slots(
        &state,
        &link,
        link.to_json(state.clock.now_ms(), Some(&url)),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(json)).into_response())
}

/// A link's JSON with its slots and what each holds.
async fn with_slots(
    state: &AppState,
    link: &super::UploadLink,
    mut json: Value,
) -> Result<Value, crate::error::AppError> {
    json["slots"] = super::slots::to_json(&super::slots::of_link(&state.db, &link.id).await?);
    Ok(json)
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
    let json = link.to_json(state.clock.now_ms(), None);
    Ok(Json(with_slots(&state, &link, json).await?))
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
