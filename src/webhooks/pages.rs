//! Admin pages for webhooks: the list with the form that registers an endpoint, the page that
//! shows a new endpoint's secret once, and each endpoint's page with its delivery log, "send
//! again", "turn on again" and "delete".
use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};

use super::actions::{self, WebhookOptions};
use super::{Delivery, Endpoint, WebhookKind};
use crate::accounts::PageAdmin;
use crate::app::AppState;
use crate::clock;
use crate::error::PageResult;
use crate::ids::{DeliveryId, WebhookId};
use crate::web::client::ClientInfo;
use crate::web::layout::{render, Layout};

/// Deliveries shown on an endpoint's page (the API pages through all of them).
const SHOWN: i64 = 100;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin/webhooks", get(list_page).post(create))
        .route("/admin/webhooks/{id}", get(detail_page))
        .route("/admin/webhooks/{id}/delete", post(delete))
        .route("/admin/webhooks/{id}/enable", post(enable))
        .route(
            "/admin/webhooks/{id}/deliveries/{delivery_id}/resend",
            post(resend),
        )
}

/// One checkbox of the form.
struct KindChoice {
    name: &'static str,
    label: &'static str,
    checked: bool,
}

fn choices(checked: &[String]) -> Vec<KindChoice> {
    WebhookKind::ALL
        .iter()
        .map(|k| KindChoice {
            name: k.as_str(),
            label: k.label(),
            checked: checked.iter().any(|c| c == k.as_str()),
        })
        .collect()
}

struct Row {
    id: String,
    name: String,
    url: String,
    kinds: String,
    state: &'static str,
    note: String,
}

fn row(e: &Endpoint) -> Row {
    Row {
        id: e.id.to_string(),
        name: if e.description.is_empty() {
            e.url.clone()
        } else {
            e.description.clone()
        },
        url: e.url.clone(),
        kinds: e.kind_names().join(", "),
        state: e.state(),
        note: match (e.disabled_at, e.failing_since) {
            (Some(at), _) => format!("disabled {}", clock::human(at)),
            (None, Some(since)) => format!("failing since {}", clock::human(since)),
            (None, None) => String::new(),
        },
    }
}

#[derive(Template)]
#[template(path = "webhooks/list.html")]
struct ListPage {
    layout: Layout,
    rows: Vec<Row>,
    kinds: Vec<KindChoice>,
    url: String,
    description: String,
    error: Option<String>,
}

async fn list_page(
    State(state): State<AppState>,
    PageAdmin(me): PageAdmin,
) -> PageResult<Response> {
    let rows = super::list(&state.db).await?.iter().map(row).collect();
    let page = ListPage {
        layout: Layout::for_user("Webhooks", &me, "webhooks"),
        rows,
        kinds: choices(&[]),
        url: String::new(),
        description: String::new(),
        error: None,
    };
    Ok(render(&page)?.into_response())
}

#[derive(Template)]
#[template(path = "webhooks/created.html")]
struct CreatedPage {
    layout: Layout,
    id: String,
    url: String,
    secret: String,
}

fn first(form: &[(String, String)], key: &str) -> String {
    form.iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.clone())
        .unwrap_or_default()
}

async fn create(
    State(state): State<AppState>,
    PageAdmin(me): PageAdmin,
    client: ClientInfo,
    Form(form): Form<Vec<(String, String)>>,
) -> PageResult<Response> {
    let kinds: Vec<String> = form
        .iter()
        .filter(|(k, _)| k == "kinds")
        .map(|(_, v)| v.clone())
        .collect();
    let options = WebhookOptions {
        url: first(&form, "url"),
        kinds: kinds.clone(),
        description: first(&form, "description"),
    };
    match actions::create_webhook(&state, &me.account, options.clone(), &client).await {
        Ok((endpoint, secret)) => {
            let page = CreatedPage {
                layout: Layout::for_user("Webhook created", &me, "webhooks"),
                id: endpoint.id.to_string(),
                url: endpoint.url,
                secret: secret.expose().to_string(),
            };
            Ok(render(&page)?.into_response())
        }
        Err(e) if e.is_correctable() => {
            let page = ListPage {
                layout: Layout::for_user("Webhooks", &me, "webhooks"),
                rows: super::list(&state.db).await?.iter().map(row).collect(),
                kinds: choices(&kinds),
                url: options.url,
                description: options.description,
                error: Some(e.to_string()),
            };
            Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&page)?).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

struct LogRow {
    id: String,
    kind: String,
    state: String,
    attempts: i64,
    response: String,
    created: String,
    attempted: String,
    next: String,
    error: String,
}

fn log_row(d: &Delivery) -> LogRow {
    LogRow {
        id: d.id.to_string(),
        kind: d.kind.clone(),
        state: d.state.clone(),
        attempts: d.attempts,
        response: d.response_code.map(|c| c.to_string()).unwrap_or_default(),
        created: clock::human(d.created_at),
        attempted: d.attempted_at.map(clock::human).unwrap_or_default(),
        next: d.next_attempt_at.map(clock::human).unwrap_or_default(),
        error: d.error.clone(),
    }
}

#[derive(Template)]
#[template(path = "webhooks/detail.html")]
struct DetailPage {
    layout: Layout,
    endpoint: Row,
    enabled: bool,
    disabled_reason: String,
    created: String,
    log: Vec<LogRow>,
}

async fn detail_page(
    State(state): State<AppState>,
    PageAdmin(me): PageAdmin,
    Path(id): Path<WebhookId>,
) -> PageResult<Response> {
    let endpoint = super::get(&state.db, &id).await?;
    let log = super::deliveries(&state.db, &id, None, SHOWN).await?;
    let page = DetailPage {
        layout: Layout::for_user("Webhook", &me, "webhooks"),
        endpoint: row(&endpoint),
        enabled: endpoint.enabled,
        disabled_reason: endpoint.disabled_reason.clone(),
        created: clock::human(endpoint.created_at),
        log: log.iter().map(log_row).collect(),
    };
    Ok(render(&page)?.into_response())
}

async fn delete(
    State(state): State<AppState>,
    PageAdmin(me): PageAdmin,
    client: ClientInfo,
    Path(id): Path<WebhookId>,
) -> PageResult<Response> {
    actions::delete_webhook(&state, &me.account, &id, &client).await?;
    me.flash("Webhook deleted: nothing more is sent to it.")
        .await;
    Ok(Redirect::to("/admin/webhooks").into_response())
}

async fn enable(
    State(state): State<AppState>,
    PageAdmin(me): PageAdmin,
    client: ClientInfo,
    Path(id): Path<WebhookId>,
) -> PageResult<Response> {
    actions::enable_webhook(&state, &me.account, &id, &client).await?;
    me.flash("Webhook turned on again: new events are sent to it.")
        .await;
    Ok(Redirect::to(&format!("/admin/webhooks/{id}")).into_response())
}

async fn resend(
    State(state): State<AppState>,
    PageAdmin(me): PageAdmin,
    client: ClientInfo,
    Path((id, delivery_id)): Path<(WebhookId, DeliveryId)>,
) -> PageResult<Response> {
    match actions::resend_delivery(&state, &me.account, &id, &delivery_id, &client).await {
        Ok(_) => me.flash("The message is queued to be sent again.").await,
        Err(e) if e.is_correctable() => me.flash(e.to_string()).await,
        Err(e) => return Err(e.into()),
    }
    Ok(Redirect::to(&format!("/admin/webhooks/{id}")).into_response())
}
