//! `/api/v1/links`: create, list, read, extend/edit, revoke (one or many), rotate, purge, and
//! each link's access log. Admins only; members get 404 as for any admin route.
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::{actions, Filter, LinkOptions};
use crate::accounts::ApiAdmin;
use crate::app::AppState;
use crate::clock;
use crate::error::{ApiResult, AppError};
use crate::ids::LinkId;
use crate::web::client::ClientInfo;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/links", post(create_link).get(list_links))
        .route("/links/revoke", post(bulk_revoke))
        .route("/links/purge-expired", post(purge))
        .route(
            "/links/{id}",
            get(read_link).patch(patch_link).delete(revoke_link),
        )
        .route("/links/{id}/rotate", post(rotate_link))
        .route("/links/{id}/events", get(link_events))
}

async fn create_link(
    State(state): State<AppState>,
    ApiAdmin(admin): ApiAdmin,
    client: ClientInfo,
    Json(options): Json<LinkOptions>,
) -> ApiResult<Response> {
    let created = actions::create_link(&state, &admin, options, &client).await?;
    let Some(first) = created.links.first() else {
        return Err(AppError::Internal(anyhow::anyhow!("a share without links")));
    };
    let links: Vec<Value> = created
        .links
        .iter()
        .map(|l| json!({"id": l.id, "url": l.url, "recipient": l.recipient}))
        .collect();
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "id": first.id, "url": first.url, "share_id": created.share_id,
            "links": links, "mail_failures": created.mail_failures,
        })),
    )
        .into_response())
}

#[derive(Deserialize)]
struct ListQuery {
    #[serde(default)]
    state: String,
    target: Option<String>,
    creator: Option<String>,
    recipient: Option<String>,
    cursor: Option<String>,
    limit: Option<i64>,
}

async fn list_links(
    State(state): State<AppState>,
    ApiAdmin(_): ApiAdmin,
    Query(q): Query<ListQuery>,
) -> ApiResult<Json<Value>> {
    let now = state.clock.now_ms();
    let filter = Filter {
        state: Filter::parse_state(&q.state)?,
        target: q.target.filter(|t| !t.is_empty()),
        creator: q.creator.filter(|c| !c.is_empty()),
        recipient: q.recipient.filter(|r| !r.is_empty()),
    };
    let cursor = match q.cursor.as_deref() {
        Some(c) => {
            let (t, id) = c
                .split_once(':')
                .ok_or_else(|| AppError::BadRequest("bad cursor".into()))?;
            Some((
                t.parse()
                    .map_err(|_| AppError::BadRequest("bad cursor".into()))?,
                id.to_string(),
            ))
        }
        None => None,
    };
    let limit = q.limit.unwrap_or(50).clamp(1, 200);
    let page = super::list(&state.db, &filter, cursor, limit, now).await?;
    let next = if page.len() as i64 == limit {
        page.last().map(|l| format!("{}:{}", l.created_at, l.id))
    } else {
        None
    };
    let mut items = Vec::with_capacity(page.len());
    for l in &page {
        items.push(l.to_json(now, super::asset_count(&state.db, l).await?));
    }
    Ok(Json(json!({ "items": items, "next": next })))
}

async fn read_link(
    State(state): State<AppState>,
    ApiAdmin(_): ApiAdmin,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let link = super::get(&state.db, &id).await?;
    let count = super::asset_count(&state.db, &link).await?;
    Ok(Json(link.to_json(state.clock.now_ms(), count)))
}

/// Extends, shortens or edits a link. `password: null` or `""` removes the password;
/// `max_downloads: null` removes the limit; `ip_allow: []` lifts the network restriction.
/// A revoked link stays revoked.
async fn patch_link(
    State(state): State<AppState>,
    ApiAdmin(admin): ApiAdmin,
    client: ClientInfo,
    Path(id): Path<LinkId>,
    Json(body): Json<Map<String, Value>>,
) -> ApiResult<Json<Value>> {
    let options = LinkOptions::from_patch(body)?;
    let link = actions::change_link(&state, &admin, &id, options, &client).await?;
    let count = super::asset_count(&state.db, &link).await?;
    Ok(Json(link.to_json(state.clock.now_ms(), count)))
}

async fn revoke_link(
    State(state): State<AppState>,
    ApiAdmin(admin): ApiAdmin,
    client: ClientInfo,
    Path(id): Path<LinkId>,
) -> ApiResult<StatusCode> {
    if !actions::revoke_link(&state, &admin, &id, &client).await? {
        return Err(AppError::NotFound);
    }
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Ids {
    ids: Vec<LinkId>,
}

async fn bulk_revoke(
    State(state): State<AppState>,
    ApiAdmin(admin): ApiAdmin,
    client: ClientInfo,
    Json(body): Json<Ids>,
) -> ApiResult<Json<Value>> {
    if body.ids.len() > 1000 {
        return Err(AppError::BadRequest("at most 1000 ids at once".into()));
    }
    let mut revoked = 0;
    for id in &body.ids {
        if actions::revoke_link(&state, &admin, id, &client).await? {
            revoked += 1;
        }
    }
    Ok(Json(json!({ "revoked": revoked })))
}

async fn purge(
    State(state): State<AppState>,
    ApiAdmin(admin): ApiAdmin,
    client: ClientInfo,
) -> ApiResult<Json<Value>> {
    let n = actions::purge_links(&state, &admin, &client).await?;
    Ok(Json(json!({ "purged": n })))
}

async fn rotate_link(
    State(state): State<AppState>,
    ApiAdmin(admin): ApiAdmin,
    client: ClientInfo,
    Path(id): Path<LinkId>,
) -> ApiResult<Json<Value>> {
    let url = actions::rotate_link(&state, &admin, &id, &client).await?;
    Ok(Json(json!({ "id": id, "url": url })))
}

async fn link_events(
    State(state): State<AppState>,
    ApiAdmin(_): ApiAdmin,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    super::get(&state.db, &id).await?;
    let items: Vec<Value> = super::access_log(&state.db, &id, 1000)
        .await?
        .into_iter()
        .map(|a| {
            json!({
                "kind": a.kind, "asset_id": a.asset_id, "detail": a.detail, "ip": a.ip,
                "user_agent": a.user_agent, "created_at": clock::rfc3339(a.created_at),
            })
        })
        .collect();
    Ok(Json(json!({ "items": items, "next": null })))
}
