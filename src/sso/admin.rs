//! `/admin/sso`: identity providers (list, add, change, delete) beside SCIM's tokens
//! (`scim::admin`), and the API `GET/POST /api/v1/sso/providers`,
//! `GET/PUT/DELETE /api/v1/sso/providers/{id}`. Both parse, call `providers::save` or
//! `providers::delete`, and render.
use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

use super::providers::{self, ProviderInput, Source};
use super::Provider;
use crate::accounts::{groups, ApiAdmin, PageAdmin};
use crate::app::AppState;
use crate::clock;
use crate::error::{ApiResult, AppError, PageResult};
use crate::scim::tokens;
use crate::web::client::ClientInfo;
use crate::web::layout::{render, Layout};

pub fn page_routes() -> Router<AppState> {
    Router::new()
        .route("/admin/sso", get(page))
        .route("/admin/sso/providers", post(create_form))
        .route("/admin/sso/providers/{id}", post(update_form))
        .route("/admin/sso/providers/{id}/delete", post(delete_form))
}

pub fn api_routes() -> Router<AppState> {
    Router::new()
        .route("/sso/providers", get(api_list).post(api_create))
        .route(
            "/sso/providers/{id}",
            get(api_get).put(api_update).delete(api_delete),
        )
}

pub struct TokenRow {
    id: String,
    name: String,
    created: String,
    used: String,
    revoked: bool,
}

/// A provider as the page shows it, with its settings as the form's text.
pub struct ProviderRow {
    p: Provider,
    callback: String,
    scopes: String,
    group_map: String,
    /// The mapping on one line, for the summary.
    group_map_inline: String,
    admin_values: String,
    domains: String,
}

#[derive(Template)]
#[template(path = "admin/sso.html")]
struct SsoPage {
    layout: Layout,
    providers: Vec<ProviderRow>,
    callback_example: String,
    tokens: Vec<TokenRow>,
    /// A token made on the previous request, shown this once.
    new_token: Option<String>,
    scim_url: String,
}

async fn page(State(state): State<AppState>, PageAdmin(me): PageAdmin) -> PageResult<Response> {
    let new_token: Option<String> = me.session.remove("new_scim_token").await.ok().flatten();
    let tokens = tokens::list(&state)
        .await?
        .into_iter()
        .map(|t| TokenRow {
            created: clock::human(t.created_at),
            used: t
                .last_used_at
                .map(clock::human)
                .unwrap_or_else(|| "never".into()),
            revoked: t.revoked_at.is_some(),
            id: t.id,
            name: t.name,
        })
        .collect();
    let names = groups::list(&state.db).await?;
    let group_name = |id: &str| {
        names
            .iter()
            .find(|g| g.id == id)
            .map(|g| g.name.clone())
            .unwrap_or_else(|| id.to_string())
    };
    let public = state.config.public_url.clone();
    let providers = super::list(&state.db)
        .await?
        .into_iter()
        .map(|p| {
            let lines: Vec<String> = p
                .group_map
                .iter()
                .map(|(v, g)| format!("{v} = {}", group_name(g)))
                .collect();
            ProviderRow {
                callback: p.redirect_uri(&public),
                scopes: p.scopes.join(" "),
                group_map: lines.join("\n"),
                group_map_inline: lines.join("; "),
                admin_values: p.admin_values.join(", "),
                domains: p.allowed_domains.join(", "),
                p,
            }
        })
        .collect();
    let page = SsoPage {
        layout: Layout::for_user("Single sign-on and provisioning", &me, "sso"),
        providers,
        callback_example: format!("{}/sso/<id>/callback", public.trim_end_matches('/')),
        tokens,
        new_token,
        scim_url: format!("{public}/scim/v2"),
    };
    Ok(render(&page)?.into_response())
}

/// The form's fields; lists are text (one mapping per line, values separated by commas).
#[derive(Deserialize)]
struct ProviderForm {
    #[serde(default)]
    id: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    issuer: String,
    #[serde(default)]
    client_id: String,
    #[serde(default)]
    client_secret: String,
    #[serde(default)]
    scopes: String,
    #[serde(default)]
    groups_claim: String,
    #[serde(default)]
    group_map: String,
    #[serde(default)]
    admin_values: String,
    #[serde(default)]
    allowed_domains: String,
    jit: Option<String>,
    sso_only: Option<String>,
}

fn split_list(s: &str) -> Vec<String> {
    s.split([',', '\n'])
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_string)
        .collect()
}

impl ProviderForm {
    fn input(self) -> Result<ProviderInput, AppError> {
        let mut group_map = std::collections::BTreeMap::<String, Vec<String>>::new();
        for line in self
            .group_map
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
        {
            let Some((value, group)) = line.split_once('=') else {
                return Err(AppError::Unprocessable(format!(
                    "group_map: write each line as \"claim value = group\" (not {line:?})"
                )));
            };
            group_map
                .entry(value.trim().to_string())
                .or_default()
                .push(group.trim().to_string());
        }
        Ok(ProviderInput {
            id: self.id,
            name: self.name,
            issuer: self.issuer,
            client_id: self.client_id,
            client_secret: Some(self.client_secret.into()),
            scopes: Some(self.scopes.split_whitespace().map(str::to_string).collect()),
            groups_claim: Some(self.groups_claim).filter(|c| !c.trim().is_empty()),
            group_map,
            admin_values: split_list(&self.admin_values),
            allowed_domains: split_list(&self.allowed_domains),
            jit: Some(self.jit.is_some()),
            sso_only: Some(self.sso_only.is_some()),
        })
    }
}

/// A refused form comes back to the page with the reason; anything else is an error page.
async fn saved(
    me: &crate::accounts::PageUser,
    r: Result<Provider, AppError>,
) -> PageResult<Response> {
    match r {
        Ok(p) => me.flash(format!("Saved the provider {}.", p.name)).await,
        Err(AppError::Unprocessable(m) | AppError::Conflict(m) | AppError::BadRequest(m)) => {
            me.flash(format!("Not saved: {m}")).await
        }
        Err(e) => return Err(e.into()),
    }
    Ok(Redirect::to("/admin/sso#providers").into_response())
}

async fn create_form(
    State(state): State<AppState>,
    PageAdmin(me): PageAdmin,
    client: ClientInfo,
    Form(f): Form<ProviderForm>,
) -> PageResult<Response> {
    let r = match f.input() {
        Ok(input) => {
            let src = Source::Admin { create: true };
            providers::save(&state, Some(&me.account), &input, src, &client).await
        }
        Err(e) => Err(e),
    };
    saved(&me, r).await
}

async fn update_form(
    State(state): State<AppState>,
    PageAdmin(me): PageAdmin,
    client: ClientInfo,
    Path(id): Path<String>,
    Form(mut f): Form<ProviderForm>,
) -> PageResult<Response> {
    f.id = id;
    let r = match f.input() {
        Ok(input) => {
            let src = Source::Admin { create: false };
            providers::save(&state, Some(&me.account), &input, src, &client).await
        }
        Err(e) => Err(e),
    };
    saved(&me, r).await
}

async fn delete_form(
    State(state): State<AppState>,
    PageAdmin(me): PageAdmin,
    client: ClientInfo,
    Path(id): Path<String>,
) -> PageResult<Response> {
    match providers::delete(&state, &me.account, &id, &client).await {
        Ok(()) => {
            me.flash("Provider deleted; its button is gone from the sign-in page.")
                .await
        }
        Err(AppError::Conflict(m)) => me.flash(format!("Not deleted: {m}")).await,
        Err(e) => return Err(e.into()),
    }
    Ok(Redirect::to("/admin/sso#providers").into_response())
}

async fn api_list(State(state): State<AppState>, ApiAdmin(_): ApiAdmin) -> ApiResult<Json<Value>> {
    let items: Vec<Value> = super::list(&state.db)
        .await?
        .iter()
        .map(|p| p.to_json())
        .collect();
    Ok(Json(json!({ "items": items, "next": null })))
}

async fn api_get(
    State(state): State<AppState>,
    ApiAdmin(_): ApiAdmin,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    Ok(Json(super::get(&state.db, &id).await?.to_json()))
}

async fn api_create(
    State(state): State<AppState>,
    ApiAdmin(admin): ApiAdmin,
    client: ClientInfo,
    Json(b): Json<ProviderInput>,
) -> ApiResult<Response> {
    let src = Source::Admin { create: true };
    let p = providers::save(&state, Some(&admin), &b, src, &client).await?;
    Ok((StatusCode::CREATED, Json(p.to_json())).into_response())
}

async fn api_update(
    State(state): State<AppState>,
    ApiAdmin(admin): ApiAdmin,
    client: ClientInfo,
    Path(id): Path<String>,
    Json(mut b): Json<ProviderInput>,
) -> ApiResult<Json<Value>> {
    if !b.id.is_empty() && b.id != id {
        return Err(AppError::Unprocessable("id: cannot be changed".into()));
    }
    b.id = id;
    let src = Source::Admin { create: false };
    let p = providers::save(&state, Some(&admin), &b, src, &client).await?;
    Ok(Json(p.to_json()))
}

async fn api_delete(
    State(state): State<AppState>,
    ApiAdmin(admin): ApiAdmin,
    client: ClientInfo,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    providers::delete(&state, &admin, &id, &client).await?;
    Ok(StatusCode::NO_CONTENT)
}
