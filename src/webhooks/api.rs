//! `/api/v1/webhooks` (admin): register, list, read, delete, turn on again; each endpoint's
//! delivery log and "send again".
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

use super::actions::{self, WebhookOptions};
use crate::accounts::ApiAdmin;
use crate::app::AppState;
use crate::error::ApiResult;
use crate::ids::{DeliveryId, WebhookId};
use crate::web::client::ClientInfo;

/// Deliveries per page of the log.
const PAGE: i64 = 50;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/webhooks", post(create).get(list))
        .route("/webhooks/{id}", get(read).delete(delete))
        .route("/webhooks/{id}/enable", post(enable))
        .route("/webhooks/{id}/deliveries", get(deliveries))
        .route(
            "/webhooks/{id}/deliveries/{delivery_id}/resend",
            post(resend),
        )
}

/// 201 with the endpoint and its `secret`, which no other answer shows.
async fn create(
    State(state): State<AppState>,
    ApiAdmin(admin): ApiAdmin,
    client: ClientInfo,
    Json(options): Json<WebhookOptions>,
) -> ApiResult<Response> {
    let (endpoint, secret) = actions::create_webhook(&state, &admin, options, &client).await?;
    let mut body = endpoint.to_json();
    body["secret"] = Value::String(secret.expose().to_string());
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

async fn list(State(state): State<AppState>, ApiAdmin(_a): ApiAdmin) -> ApiResult<Json<Value>> {
    let items: Vec<Value> = super::list(&state.db)
        .await?
        .iter()
        .map(super::Endpoint::to_json)
        .collect();
    Ok(Json(json!({ "items": items, "next": null })))
}

async fn read(
    State(state): State<AppState>,
    ApiAdmin(_a): ApiAdmin,
    Path(id): Path<WebhookId>,
) -> ApiResult<Json<Value>> {
    Ok(Json(super::get(&state.db, &id).await?.to_json()))
}

async fn delete(
    State(state): State<AppState>,
    ApiAdmin(admin): ApiAdmin,
    client: ClientInfo,
    Path(id): Path<WebhookId>,
) -> ApiResult<StatusCode> {
    actions::delete_webhook(&state, &admin, &id, &client).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn enable(
    State(state): State<AppState>,
    ApiAdmin(admin): ApiAdmin,
    client: ClientInfo,
    Path(id): Path<WebhookId>,
) -> ApiResult<Json<Value>> {
    let endpoint = actions::enable_webhook(&state, &admin, &id, &client).await?;
    Ok(Json(endpoint.to_json()))
}

#[derive(Deserialize)]
struct LogQuery {
    cursor: Option<String>,
}

/// Newest first, `PAGE` at a time; `next` is the cursor of the following page.
async fn deliveries(
    State(state): State<AppState>,
    ApiAdmin(_a): ApiAdmin,
    Path(id): Path<WebhookId>,
    Query(q): Query<LogQuery>,
) -> ApiResult<Json<Value>> {
    super::get(&state.db, &id).await?;
    let page = super::deliveries(&state.db, &id, q.cursor.as_deref(), PAGE).await?;
    let next = match page.last() {
        Some(last) if page.len() as i64 == PAGE => Value::String(last.id.to_string()),
        _ => Value::Null,
    };
    let items: Vec<Value> = page.iter().map(super::Delivery::to_json).collect();
    Ok(Json(json!({ "items": items, "next": next })))
}

/// 202: the delivery is queued again.
async fn resend(
    State(state): State<AppState>,
    ApiAdmin(admin): ApiAdmin,
    client: ClientInfo,
    Path((id, delivery_id)): Path<(WebhookId, DeliveryId)>,
) -> ApiResult<Response> {
    let delivery = actions::resend_delivery(&state, &admin, &id, &delivery_id, &client).await?;
    Ok((StatusCode::ACCEPTED, Json(delivery.to_json())).into_response())
}
