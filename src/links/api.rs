//! `/api/v1/links`: create, list, read, extend/edit, revoke (one or many), rotate, purge, and
//! each link's access log. Admins only; members get 404 as for any admin route.
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::create::{self, NewShare};
use super::{Changes, Filter};
use crate::accounts::{password, ApiAdmin};
use crate::app::AppState;
use crate::clock;
use crate::error::{ApiResult, AppError};
use crate::events::Event;
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateBody {
    #[serde(default)]
    asset_ids: Vec<String>,
    folder_id: Option<String>,
    collection_id: Option<String>,
    expires_at: Option<String>,
    password: Option<String>,
    allow_original: Option<bool>,
    max_downloads: Option<i64>,
    #[serde(default)]
    recipients: Vec<String>,
    #[serde(default)]
    message: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    terms: String,
    #[serde(default)]
    per_recipient: bool,
    #[serde(default)]
    require_code: bool,
}

fn parse_time(field: &str, s: &str) -> Result<i64, AppError> {
    clock::parse_rfc3339(s)
        .ok_or_else(|| AppError::BadRequest(format!("{field} must be an RFC 3339 timestamp")))
}

async fn create_link(
    State(state): State<AppState>,
    ApiAdmin(admin): ApiAdmin,
    client: ClientInfo,
    Json(b): Json<CreateBody>,
) -> ApiResult<Response> {
    let expires_at = b
        .expires_at
        .as_deref()
        .map(|s| parse_time("expires_at", s))
        .transpose()?;
    let created = create::create(
        &state,
        &admin,
        NewShare {
            asset_ids: b.asset_ids,
            folder_id: b.folder_id,
            collection_id: b.collection_id,
            expires_at,
            password: b.password,
            allow_original: b.allow_original.unwrap_or(true),
            max_downloads: b.max_downloads,
            recipients: b.recipients,
            message: b.message,
            title: b.title,
            terms: b.terms,
            per_recipient: b.per_recipient,
            require_code: b.require_code,
        },
    )
    .await?;
    for l in &created.links {
        state
            .events
            .record(
                Event::new("link_created").by(&admin.id).link(&l.id),
                &client,
            )
            .await?;
    }
    let first = &created.links[0];
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
/// `max_downloads: null` removes the limit. A revoked link stays revoked.
async fn patch_link(
    State(state): State<AppState>,
    ApiAdmin(admin): ApiAdmin,
    client: ClientInfo,
    Path(id): Path<String>,
    Json(body): Json<Map<String, Value>>,
) -> ApiResult<Json<Value>> {
    let link = super::get(&state.db, &id).await?;
    let now = state.clock.now_ms();
    if link.revoked_at.is_some() {
        return Err(AppError::Conflict(
            "this link is revoked; create a new one".into(),
        ));
    }
    let mut ch = Changes::default();
    let text = |v: &Value, field: &str| -> Result<String, AppError> {
        v.as_str()
            .map(str::to_string)
            .ok_or_else(|| AppError::BadRequest(format!("{field} must be a string")))
    };
    for (k, v) in &body {
        match k.as_str() {
            "expires_at" => {
                let t = parse_time("expires_at", &text(v, k)?)?;
                ch.expires_at = Some(create::check_expiry(t, now, state.config.max_link_days)?);
            }
            "password" => {
                let p = if v.is_null() {
                    String::new()
                } else {
                    text(v, k)?.trim().to_string()
                };
                ch.password_hash = Some(if p.is_empty() {
                    None
                } else if p.chars().count() < 6 || p.len() > 200 {
                    return Err(AppError::Unprocessable(
                        "link passwords need 6 to 200 characters".into(),
                    ));
                } else {
                    Some(password::hash(p).await?)
                });
            }
            "max_downloads" => {
                ch.max_downloads = Some(if v.is_null() {
                    None
                } else {
                    create::check_max_downloads(Some(v.as_i64().ok_or_else(|| {
                        AppError::BadRequest("max_downloads must be a number or null".into())
                    })?))?
                });
            }
            "allow_original" => {
                ch.allow_original = Some(v.as_bool().ok_or_else(|| {
                    AppError::BadRequest("allow_original must be true or false".into())
                })?);
            }
            "title" => ch.title = Some(create::check_text(k, &text(v, k)?, 200)?),
            "message" => ch.message = Some(create::check_text(k, &text(v, k)?, 5000)?),
            "terms" => ch.terms = Some(create::check_text(k, &text(v, k)?, 20_000)?),
            other => return Err(AppError::BadRequest(format!("unknown field {other}"))),
        }
    }
    super::update(&state.db, &link, ch).await?;
    state
        .events
        .record(
            Event::new("link_changed").by(&admin.id).link(&link.id),
            &client,
        )
        .await?;
    let link = super::get(&state.db, &id).await?;
    let count = super::asset_count(&state.db, &link).await?;
    Ok(Json(link.to_json(now, count)))
}

async fn revoke_link(
    State(state): State<AppState>,
    ApiAdmin(admin): ApiAdmin,
    client: ClientInfo,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    if !super::revoke(&state.db, &id, state.clock.now_ms()).await? {
        return Err(AppError::NotFound);
    }
    state
        .events
        .record(Event::new("link_revoked").by(&admin.id).link(&id), &client)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Ids {
    ids: Vec<String>,
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
    let now = state.clock.now_ms();
    let mut revoked = 0;
    for id in &body.ids {
        if super::revoke(&state.db, id, now).await? {
            revoked += 1;
            state
                .events
                .record(Event::new("link_revoked").by(&admin.id).link(id), &client)
                .await?;
        }
    }
    Ok(Json(json!({ "revoked": revoked })))
}

async fn purge(
    State(state): State<AppState>,
    ApiAdmin(admin): ApiAdmin,
    client: ClientInfo,
) -> ApiResult<Json<Value>> {
    let n = super::purge_expired(&state.db, state.clock.now_ms()).await?;
    let detail = format!("{n} links");
    state
        .events
        .record(
            Event::new("links_purged").by(&admin.id).detail(&detail),
            &client,
        )
        .await?;
    Ok(Json(json!({ "purged": n })))
}

async fn rotate_link(
    State(state): State<AppState>,
    ApiAdmin(admin): ApiAdmin,
    client: ClientInfo,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let token = super::rotate(&state.db, &id).await?;
    state
        .events
        .record(Event::new("link_rotated").by(&admin.id).link(&id), &client)
        .await?;
    Ok(Json(
        json!({ "id": id, "url": super::url(&state.config.public_url, &token) }),
    ))
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
