//! Requests in the API (issue 19):
//! - `GET /api/v1/requests[?state=pending|all][&link_id=]` — admins see every request, members
//!   their own download requests;
//! - `POST /api/v1/requests` `{"asset_ids","reason"}` — a member asks to download (201);
//! - `POST /api/v1/requests/{id}/approve` `{"days","downloads"}` and
//!   `POST /api/v1/requests/{id}/deny` `{"message"}` — admins (members 404); a decided request
//!   is 409;
//! - `GET /api/v1/grants[?asset_id=][&user_id=]`, `DELETE /api/v1/grants/{id}` — admins: the
//!   personal download grants in force, and revoking one.
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

use super::actions::{self, Grant};
use super::Show;
use crate::accounts::{ApiAdmin, ApiUser};
use crate::app::AppState;
use crate::error::{ApiResult, AppError};
use crate::web::client::ClientInfo;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/requests", get(list).post(ask))
        .route("/requests/{id}/approve", post(approve))
        .route("/requests/{id}/deny", post(deny))
        .route("/grants", get(grants))
        .route("/grants/{id}", delete(revoke_grant))
}

#[derive(Deserialize)]
struct ListQuery {
    #[serde(default)]
    state: String,
    #[serde(default)]
    link_id: String,
}

async fn list(
    State(state): State<AppState>,
    ApiUser(who): ApiUser,
    Query(q): Query<ListQuery>,
) -> ApiResult<Json<Value>> {
    let show = match q.state.as_str() {
        "" | "pending" => Show::Pending,
        "all" => Show::All,
        _ => return Err(AppError::BadRequest("state must be pending or all".into())),
    };
    let (link, user) = if who.is_admin() {
        ((!q.link_id.is_empty()).then_some(q.link_id.as_str()), None)
    } else {
        (None, Some(who.id.to_string()))
    };
    let items: Vec<Value> = super::list(&state.db, show, link, user.as_deref(), None, 500)
        .await?
        .iter()
        .map(|r| r.to_json())
        .collect();
    Ok(Json(json!({ "items": items, "next": null })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AskBody {
    asset_ids: Vec<String>,
    #[serde(default)]
    reason: String,
}

async fn ask(
    State(state): State<AppState>,
    ApiUser(who): ApiUser,
    client: ClientInfo,
    Json(body): Json<AskBody>,
) -> ApiResult<Response> {
    let r = actions::ask_download(&state, &who, &body.asset_ids, &body.reason, &client).await?;
    Ok((StatusCode::CREATED, Json(r.to_json())).into_response())
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ApproveBody {
    days: Option<i64>,
    downloads: Option<i64>,
}

async fn approve(
    State(state): State<AppState>,
    ApiAdmin(admin): ApiAdmin,
    client: ClientInfo,
    Path(id): Path<String>,
    body: Option<Json<ApproveBody>>,
) -> ApiResult<Json<Value>> {
    let body = body.map(|Json(b)| b).unwrap_or_default();
    let grant = Grant {
        days: body.days,
        downloads: body.downloads,
    };
    let r = actions::approve(&state, &admin, &id, grant, &client).await?;
    Ok(Json(r.to_json()))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct DenyBody {
    #[serde(default)]
    message: String,
}

async fn deny(
    State(state): State<AppState>,
    ApiAdmin(admin): ApiAdmin,
    client: ClientInfo,
    Path(id): Path<String>,
    body: Option<Json<DenyBody>>,
) -> ApiResult<Json<Value>> {
    let body = body.map(|Json(b)| b).unwrap_or_default();
    let r = actions::deny(&state, &admin, &id, &body.message, &client).await?;
    Ok(Json(r.to_json()))
}

#[derive(Deserialize)]
struct GrantsQuery {
    asset_id: Option<String>,
    user_id: Option<String>,
}

async fn grants(
    State(state): State<AppState>,
    ApiAdmin(_): ApiAdmin,
    Query(q): Query<GrantsQuery>,
) -> ApiResult<Json<Value>> {
    let items: Vec<Value> = super::grants::active(
        &state.db,
        q.asset_id.as_deref(),
        q.user_id.as_deref(),
        state.clock.now_ms(),
    )
    .await?
    .iter()
    .map(|g| g.to_json())
    .collect();
    Ok(Json(json!({ "items": items, "next": null })))
}

async fn revoke_grant(
    State(state): State<AppState>,
    ApiAdmin(admin): ApiAdmin,
    client: ClientInfo,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    super::grants::revoke(&state, &admin, &id, &client).await?;
    Ok(StatusCode::NO_CONTENT)
}
