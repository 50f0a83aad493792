//! JSON API for users, groups and the audit log (admin only), and for the caller's own
//! account (password, API tokens).
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, patch, post, put};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

use super::users::{self, NewUser, Role, UserChanges};
use super::{actions, groups, selfservice, ApiAdmin, ApiUser};
use crate::app::AppState;
use crate::clock;
use crate::error::{ApiResult, AppError};
use crate::events;
use crate::ids::UserId;
use crate::web::client::ClientInfo;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/users", get(list_users).post(create_user))
        .route(
            "/users/{id}",
            patch(update_user).delete(disable_user).get(read_user),
        )
        .route("/users/{id}/links/revoke", post(revoke_links))
        .route("/groups", get(list_groups).post(create_group))
        .route("/groups/{id}", get(read_group))
        .route(
            "/groups/{id}/members/{user_id}",
            put(add_member).delete(remove_member),
        )
        .route("/events", get(list_events))
        .route("/account", get(read_account))
        .route("/account/password", post(change_password))
        .route("/account/tokens", get(list_tokens).post(create_token))
        .route("/account/tokens/{id}", delete(revoke_token))
}

// ---- the caller's own account ----------------------------------------------------------

async fn read_account(ApiUser(me): ApiUser) -> Json<Value> {
    Json(me.to_json())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PasswordBody {
    current_password: String,
    new_password: String,
}

/// 204; every session of the account ends (API tokens are separate credentials and stay).
async fn change_password(
    State(state): State<AppState>,
    ApiUser(me): ApiUser,
    client: ClientInfo,
    Json(b): Json<PasswordBody>,
) -> ApiResult<Response> {
    actions::change_password(&state, &me, &b.current_password, &b.new_password, &client).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn list_tokens(
    State(state): State<AppState>,
    ApiUser(me): ApiUser,
) -> ApiResult<Json<Value>> {
    let items: Vec<Value> = selfservice::list_tokens(&state.db, &me.id)
        .await?
        .iter()
        .map(|t| t.to_json())
        .collect();
    Ok(Json(json!({ "items": items, "next": null })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenBody {
    name: String,
}

/// 201 with the token itself, shown this once.
async fn create_token(
    State(state): State<AppState>,
    ApiUser(me): ApiUser,
    client: ClientInfo,
    Json(b): Json<TokenBody>,
) -> ApiResult<Response> {
    let (id, token) = actions::create_token(&state, &me, &me, &b.name, &client).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "id": id, "name": b.name.trim(), "token": token })),
    )
        .into_response())
}

async fn revoke_token(
    State(state): State<AppState>,
    ApiUser(me): ApiUser,
    client: ClientInfo,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    actions::revoke_token(&state, &me, &id, &client).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewUserBody {
    email: String,
    name: String,
    role: String,
    password: String,
}

async fn create_user(
    State(state): State<AppState>,
    ApiAdmin(admin): ApiAdmin,
    client: ClientInfo,
    Json(b): Json<NewUserBody>,
) -> ApiResult<Response> {
    let role = Role::parse(&b.role)?;
    let new = NewUser {
        email: &b.email,
        name: &b.name,
        role,
        password: &b.password,
    };
    let user = actions::create_user(&state, &admin, new, &client).await?;
    Ok((StatusCode::CREATED, Json(user.to_json())).into_response())
}

#[derive(Deserialize)]
struct Cursor {
    cursor: Option<String>,
}

async fn list_users(
    State(state): State<AppState>,
    ApiAdmin(_): ApiAdmin,
    Query(q): Query<Cursor>,
) -> ApiResult<Json<Value>> {
    let limit = 100;
    let list = users::list(&state.db, q.cursor.as_deref(), limit + 1).await?;
    let next = (list.len() as i64 > limit).then(|| list[limit as usize - 1].id.clone());
    let items: Vec<Value> = list
        .iter()
        .take(limit as usize)
        .map(|u| u.to_json())
        .collect();
    Ok(Json(json!({ "items": items, "next": next })))
}

async fn read_user(
    State(state): State<AppState>,
    ApiAdmin(_): ApiAdmin,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let user = users::by_id(&state.db, &id)
        .await?
        .ok_or(AppError::NotFound)?;
    let mut j = user.to_json();
    j["groups"] = json!(groups::of_user(&state.db, &id).await?);
    Ok(Json(j))
}

async fn update_user(
    State(state): State<AppState>,
    ApiAdmin(admin): ApiAdmin,
    client: ClientInfo,
    Path(id): Path<UserId>,
    Json(ch): Json<UserChanges>,
) -> ApiResult<Json<Value>> {
    let user = actions::update_user(&state, &admin, &id, ch, &client).await?;
    Ok(Json(user.to_json()))
}

/// Revokes every live share and upload link the account made (the users page's "Revoke all").
async fn revoke_links(
    State(state): State<AppState>,
    ApiAdmin(admin): ApiAdmin,
    client: ClientInfo,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let user = users::by_id(&state.db, &id)
        .await?
        .ok_or(AppError::NotFound)?;
    let done = crate::links::ownership::revoke_all_of(&state, &admin, &user.id, &client).await?;
    Ok(Json(done.to_json()))
}

/// DELETE disables: the account and its history stay for the audit log.
async fn disable_user(
    State(state): State<AppState>,
    ApiAdmin(admin): ApiAdmin,
    client: ClientInfo,
    Path(id): Path<UserId>,
) -> ApiResult<StatusCode> {
    actions::disable_user(&state, &admin, &id, &client).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewGroup {
    name: String,
}

async fn create_group(
    State(state): State<AppState>,
    ApiAdmin(admin): ApiAdmin,
    client: ClientInfo,
    Json(b): Json<NewGroup>,
) -> ApiResult<Response> {
    let g = actions::create_group(&state, &admin, &b.name, &client).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "id": g.id, "name": g.name })),
    )
        .into_response())
}

async fn list_groups(
    State(state): State<AppState>,
    ApiAdmin(_): ApiAdmin,
) -> ApiResult<Json<Value>> {
    Ok(Json(
        json!({ "items": groups::list(&state.db).await?, "next": null }),
    ))
}

async fn read_group(
    State(state): State<AppState>,
    ApiAdmin(_): ApiAdmin,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let g = groups::get(&state.db, &id).await?;
    let members: Vec<Value> = groups::members(&state.db, &id)
        .await?
        .iter()
        .map(|u| u.to_json())
        .collect();
    Ok(Json(
        json!({ "id": g.id, "name": g.name, "members": members }),
    ))
}

async fn add_member(
    State(state): State<AppState>,
    ApiAdmin(admin): ApiAdmin,
    client: ClientInfo,
    Path((id, user_id)): Path<(String, UserId)>,
) -> ApiResult<StatusCode> {
    actions::add_member(&state, &admin, &id, &user_id, &client).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn remove_member(
    State(state): State<AppState>,
    ApiAdmin(admin): ApiAdmin,
    client: ClientInfo,
    Path((id, user_id)): Path<(String, UserId)>,
) -> ApiResult<StatusCode> {
    actions::remove_member(&state, &admin, &id, &user_id, &client).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
struct EventQuery {
    kind: Option<String>,
    since: Option<String>,
    until: Option<String>,
    cursor: Option<String>,
}

async fn list_events(
    State(state): State<AppState>,
    ApiAdmin(_): ApiAdmin,
    Query(q): Query<EventQuery>,
) -> ApiResult<Json<Value>> {
    let time = |s: &Option<String>, k: &str| -> Result<Option<i64>, AppError> {
        match s.as_deref().filter(|s| !s.is_empty()) {
            None => Ok(None),
            Some(s) => clock::parse_rfc3339(s).map(Some).ok_or_else(|| {
                AppError::BadRequest(format!("'{k}' must be an RFC 3339 timestamp"))
            }),
        }
    };
    let limit = 200;
    let rows = events::list(
        &state.db,
        events::Filter {
            kind: q.kind.as_deref().filter(|k| !k.is_empty()),
            since: time(&q.since, "since")?,
            until: time(&q.until, "until")?,
            before: q.cursor.as_deref(),
            limit: limit + 1,
        },
    )
    .await?;
    let next = (rows.len() as i64 > limit).then(|| rows[limit as usize - 1].id.clone());
    let items: Vec<_> = rows.into_iter().take(limit as usize).collect();
    Ok(Json(json!({ "items": items, "next": next })))
}
