//! Collections in the JSON API (SPEC §3): admins create and curate; everyone lists and reads
//! what they may see.
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::accounts::{ApiAdmin, ApiUser};
use crate::app::AppState;
use crate::error::{ApiResult, AppError};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/collections", get(list).post(create))
        .route("/collections/{id}", get(read).patch(update).delete(delete))
        .route(
            "/collections/{id}/assets/{asset_id}",
            put(put_asset).delete(remove_asset),
        )
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewCollection {
    name: String,
    #[serde(default)]
    description: String,
}

async fn create(
    State(state): State<AppState>,
    ApiAdmin(admin): ApiAdmin,
    Json(b): Json<NewCollection>,
) -> ApiResult<Response> {
    let c = super::create(&state.db, &admin, &b.name, &b.description).await?;
    Ok((StatusCode::CREATED, Json(c.to_json(0))).into_response())
}

async fn list(State(state): State<AppState>, ApiUser(who): ApiUser) -> ApiResult<Json<Value>> {
    let items: Vec<Value> = super::list(&state.db, &who, state.clock.now_ms())
        .await?
        .iter()
        .map(|(c, n)| c.to_json(*n))
        .collect();
    Ok(Json(json!({ "items": items, "next": null })))
}

async fn read(
    State(state): State<AppState>,
    ApiUser(who): ApiUser,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let (c, items) = super::open(&state.db, &who, &id, state.clock.now_ms()).await?;
    let mut j = c.to_json(items.len() as i64);
    j["assets"] = json!({
        "items": items.iter().map(|v| v.to_json(who.is_admin())).collect::<Vec<_>>(),
        "next": null,
    });
    Ok(Json(j))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Changes {
    name: Option<String>,
    description: Option<String>,
}

async fn update(
    State(state): State<AppState>,
    ApiAdmin(_): ApiAdmin,
    Path(id): Path<String>,
    Json(b): Json<Changes>,
) -> ApiResult<Json<Value>> {
    let c = super::update(&state.db, &id, b.name.as_deref(), b.description.as_deref()).await?;
    let n = super::asset_ids(&state.db, &id).await?.len() as i64;
    Ok(Json(c.to_json(n)))
}

async fn delete(
    State(state): State<AppState>,
    ApiAdmin(_): ApiAdmin,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    if super::delete(&state.db, &id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(AppError::NotFound)
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Placement {
    /// 0-based place in the collection; absent: at the end.
    position: Option<i64>,
}

async fn put_asset(
    State(state): State<AppState>,
    ApiAdmin(_): ApiAdmin,
    Path((id, asset_id)): Path<(String, String)>,
    body: Option<Json<Placement>>,
) -> ApiResult<StatusCode> {
    let position = body.and_then(|Json(p)| p.position);
    super::put_asset(&state.db, &id, &asset_id, position).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn remove_asset(
    State(state): State<AppState>,
    ApiAdmin(_): ApiAdmin,
    Path((id, asset_id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    if super::remove_asset(&state.db, &id, &asset_id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(AppError::NotFound)
    }
}
