//! `GET /api/v1/assets/{id}/receipts` and `GET /api/v1/links/{id}/receipts`: admins only
//! (members get 404, like every admin route), newest first, paged by `cursor`.
use axum::extract::{Path, Query, State};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

use super::query::{self, Of};
use crate::accounts::ApiAdmin;
use crate::app::AppState;
use crate::error::{ApiResult, AppError};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/assets/{id}/receipts", get(of_asset))
        .route("/links/{id}/receipts", get(of_link))
}

#[derive(Deserialize)]
struct PageQuery {
    cursor: Option<String>,
    limit: Option<i64>,
}

async fn of_asset(
    State(state): State<AppState>,
    ApiAdmin(_): ApiAdmin,
    Path(id): Path<String>,
    Query(q): Query<PageQuery>,
) -> ApiResult<Json<Value>> {
    crate::library::assets::get_current(&state.db, &id)
        .await?
        .ok_or(AppError::NotFound)?;
    listed(&state, Of::Asset(&id), q).await
}

async fn of_link(
    State(state): State<AppState>,
    ApiAdmin(_): ApiAdmin,
    Path(id): Path<String>,
    Query(q): Query<PageQuery>,
) -> ApiResult<Json<Value>> {
    crate::links::get(&state.db, &id).await?;
    listed(&state, Of::Link(&id), q).await
}

async fn listed(state: &AppState, of: Of<'_>, q: PageQuery) -> ApiResult<Json<Value>> {
    let limit = q.limit.unwrap_or(100).clamp(1, 1000);
    let rows = query::page(&state.db, of, q.cursor.as_deref(), limit).await?;
    let next = if rows.len() as i64 == limit {
        rows.last().map(|r| r.id.clone())
    } else {
        None
    };
    let items: Vec<Value> = rows.iter().map(|r| r.to_json()).collect();
    Ok(Json(json!({ "items": items, "next": next })))
}
