//! The admin's bulk edit page: one set of metadata, window and collection changes applied to
//! every selected asset (the same rules as `POST /api/v1/assets/bulk`).
use askama::Template;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::post;
use axum::{Form, Router};
use serde_json::{Map, Value};

use super::assets;
use super::card::AssetCard;
use crate::accounts::PageAdmin;
use crate::app::AppState;
use crate::error::{AppError, PageResult};
use crate::ids::AssetId;
use crate::web::client::ClientInfo;
use crate::web::layout::{render, Layout};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/assets/bulk-edit", post(form_page))
        .route("/assets/bulk-edit/apply", post(apply))
}

#[derive(Template)]
#[template(path = "library/bulk.html")]
struct BulkPage {
    layout: Layout,
    cards: Vec<AssetCard>,
    collections: Vec<crate::collections::Collection>,
    back: String,
}

fn field<'a>(form: &'a [(String, String)], key: &str) -> &'a str {
    form.iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.trim())
        .unwrap_or("")
}

fn ids(form: &[(String, String)]) -> Vec<AssetId> {
    let mut out: Vec<AssetId> = Vec::new();
    for (k, v) in form {
        if k == "asset_ids" && !out.iter().any(|id| id == v) {
            out.push(v.as_str().into());
        }
    }
    out
}

async fn form_page(
    State(state): State<AppState>,
    PageAdmin(me): PageAdmin,
    Form(form): Form<Vec<(String, String)>>,
) -> PageResult<Response> {
    let mut cards = Vec::new();
    for id in ids(&form) {
        if let Some(v) = assets::get_current(&state.db, &id).await? {
            cards.push(AssetCard::from_view(&v));
        }
    }
    if cards.is_empty() {
        return Err(AppError::BadRequest("Select at least one asset.".into()).into());
    }
    let folder = field(&form, "folder_id");
    let page = BulkPage {
        layout: Layout::for_user("Edit selected assets", &me, "library"),
        cards,
        collections: crate::collections::all(&state.db).await?,
        back: if folder.is_empty() {
            "/".into()
        } else {
            format!("/folders/{folder}")
        },
    };
    Ok(render(&page)?.into_response())
}

async fn apply(
    State(state): State<AppState>,
    PageAdmin(me): PageAdmin,
    client: ClientInfo,
    Form(form): Form<Vec<(String, String)>>,
) -> PageResult<Response> {
    let ids = ids(&form);
    if ids.is_empty() {
        return Err(AppError::BadRequest("Select at least one asset.".into()).into());
    }
    let mut changes = Map::new();
    let mut put = |k: &str, v: &str| {
        if !v.is_empty() {
            changes.insert(k.into(), Value::String(v.into()));
        }
    };
    put("add_keywords", field(&form, "add_keywords"));
    put("remove_keywords", field(&form, "remove_keywords"));
    put("credit", field(&form, "credit"));
    put("usage_terms", field(&form, "usage_terms"));
    for key in ["available_from", "available_until"] {
        if field(&form, &format!("clear_{key}")) == "on" {
            changes.insert(key.into(), Value::Null);
        } else if let Some(ms) = super::pages::form_time(field(&form, key))? {
            changes.insert(key.into(), Value::String(crate::clock::rfc3339(ms)));
        }
    }
    let back = field(&form, "back");
    let back = if back.starts_with('/') && !back.starts_with("//") {
        back.to_string()
    } else {
        "/".to_string()
    };
    let mut done = Vec::new();
    if !changes.is_empty() {
        let saved = match super::api::parse_changes(changes) {
            Ok(ch) => super::actions::edit_assets(&state, &me.account, &ids, &ch, &client).await,
            Err(e) => Err(e),
        };
        match saved {
            Ok(n) => done.push(format!("{n} assets updated")),
            Err(e) if e.is_correctable() => {
                me.flash(format!("Not saved: {e}.")).await;
                return Ok(Redirect::to(&back).into_response());
            }
            Err(e) => return Err(e.into()),
        }
    }
    let collection = field(&form, "collection_id");
    if !collection.is_empty() {
        for id in &ids {
            crate::collections::put_asset(&state.db, collection, id, None).await?;
        }
        done.push(format!("{} added to the collection", ids.len()));
    }
    me.flash(if done.is_empty() {
        "Nothing to change.".to_string()
    } else {
        format!("{}.", done.join("; "))
    })
    .await;
    Ok(Redirect::to(&back).into_response())
}
