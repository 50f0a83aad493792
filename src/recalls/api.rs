//! `POST /api/v1/assets/{id}/recall` `{"message","mode":"replace|stop"}` and
//! `GET /api/v1/assets/{id}/recalls`: admins only (members get 404).
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

use super::{query, Mode};
use crate::accounts::ApiAdmin;
use crate::app::AppState;
use crate::error::{ApiResult, AppError};
use crate::web::client::ClientInfo;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/assets/{id}/recall", post(recall))
        .route("/assets/{id}/recalls", get(recalls))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RecallBody {
    #[serde(default)]
    message: String,
    mode: String,
}

async fn recall(
    State(state): State<AppState>,
    ApiAdmin(admin): ApiAdmin,
    client: ClientInfo,
    Path(id): Path<String>,
    Json(body): Json<RecallBody>,
) -> ApiResult<Response> {
    let mode = Mode::parse(&body.mode)
        .ok_or_else(|| AppError::Unprocessable("mode must be \"replace\" or \"stop\"".into()))?;
    let opened = super::recall(&state, &admin, &id, mode, &body.message, &client).await?;
    let row = query::of_asset(&state.db, &id)
        .await?
        .into_iter()
        .find(|r| r.id == opened.id)
        .ok_or(AppError::NotFound)?;
    Ok((StatusCode::CREATED, Json(row.to_json())).into_response())
}

async fn recalls(
    State(state): State<AppState>,
    ApiAdmin(_): ApiAdmin,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    crate::library::assets::get_current(&state.db, &id)
        .await?
        .ok_or(AppError::NotFound)?;
    let items: Vec<Value> = query::of_asset(&state.db, &id)
        .await?
        .iter()
        .map(|r| r.to_json())
        .collect();
    Ok(Json(json!({ "items": items, "next": null })))
}
