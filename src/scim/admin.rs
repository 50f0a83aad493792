//! Admins' side of SCIM tokens: the forms on `/admin/sso` (the page itself is `sso::admin`'s)
//! and `GET/POST /api/v1/scim/tokens`, `DELETE /api/v1/scim/tokens/{id}`.
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{delete, get, post};
use axum::{Form, Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

use super::tokens;
use crate::accounts::{ApiAdmin, PageAdmin};
use crate::app::AppState;
use crate::error::{ApiResult, PageResult};
use crate::web::client::ClientInfo;

pub fn page_routes() -> Router<AppState> {
    Router::new()
        .route("/admin/sso/scim-tokens", post(create_form))
        .route("/admin/sso/scim-tokens/{id}/revoke", post(revoke_form))
}

pub fn api_routes() -> Router<AppState> {
    Router::new()
        .route("/scim/tokens", get(api_list).post(api_create))
        .route("/scim/tokens/{id}", delete(api_revoke))
}

#[derive(Deserialize)]
struct NameForm {
    #[serde(default)]
    name: String,
}

async fn create_form(
    State(state): State<AppState>,
    PageAdmin(me): PageAdmin,
    client: ClientInfo,
    Form(f): Form<NameForm>,
) -> PageResult<Response> {
    let (_, secret) = tokens::create(&state, &me.account, &f.name, &client).await?;
    let _ = me.session.insert("new_scim_token", secret).await;
    Ok(Redirect::to("/admin/sso#scim").into_response())
}

async fn revoke_form(
    State(state): State<AppState>,
    PageAdmin(me): PageAdmin,
    client: ClientInfo,
    Path(id): Path<String>,
) -> PageResult<Response> {
    tokens::revoke(&state, &me.account, &id, &client).await?;
    me.flash("Token revoked; the provider can no longer use it.")
        .await;
    Ok(Redirect::to("/admin/sso#scim").into_response())
}

async fn api_list(State(state): State<AppState>, ApiAdmin(_): ApiAdmin) -> ApiResult<Json<Value>> {
    let items: Vec<Value> = tokens::list(&state)
        .await?
        .iter()
        .map(|t| t.to_json())
        .collect();
    Ok(Json(json!({ "items": items, "next": null })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NameBody {
    #[serde(default)]
    name: String,
}

async fn api_create(
    State(state): State<AppState>,
    ApiAdmin(admin): ApiAdmin,
    client: ClientInfo,
    Json(b): Json<NameBody>,
) -> ApiResult<Response> {
    let (t, secret) = tokens::create(&state, &admin, &b.name, &client).await?;
    let mut j = t.to_json();
    j["token"] = json!(secret);
    Ok((StatusCode::CREATED, Json(j)).into_response())
}

async fn api_revoke(
    State(state): State<AppState>,
    ApiAdmin(admin): ApiAdmin,
    client: ClientInfo,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    tokens::revoke(&state, &admin, &id, &client).await?;
    Ok(StatusCode::NO_CONTENT)
}
