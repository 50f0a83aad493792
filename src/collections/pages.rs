//! Collection pages: the list, one collection's grid (with ZIP and share for those allowed),
//! and the admin's curation (create, rename, order, remove, add from an asset page).
use askama::Template;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;

use crate::accounts::{PageAdmin, PageUser};
use crate::app::AppState;
use crate::error::{AppError, PageResult};
use crate::library::card::AssetCard;
use crate::web::layout::{render, Layout};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/collections", get(list_page).post(create))
        .route("/collections/{id}", get(collection_page))
        .route("/collections/{id}/edit", post(edit))
        .route("/collections/{id}/delete", post(delete))
        .route("/collections/{id}/feature", post(feature))
        .route("/collections/add", post(add))
        .route("/collections/{id}/assets/{asset_id}/remove", post(remove))
        .route("/collections/{id}/assets/{asset_id}/move", post(nudge))
}

struct Row {
    id: String,
    name: String,
    description: String,
    count: i64,
}

#[derive(Template)]
#[template(path = "collections/list.html")]
struct ListPage {
    layout: Layout,
    is_admin: bool,
    rows: Vec<Row>,
}

async fn list_page(State(state): State<AppState>, user: PageUser) -> PageResult<Response> {
    let rows = super::list(&state.db, &user.account, state.clock.now_ms())
        .await?
        .into_iter()
        .map(|(c, count)| Row {
            id: c.id,
            name: c.name,
            description: c.description,
            count,
        })
        .collect();
    let page = ListPage {
        layout: Layout::for_user("Collections", &user, "collections"),
        is_admin: user.account.is_admin(),
        rows,
    };
    Ok(render(&page)?.into_response())
}

#[derive(Template)]
#[template(path = "collections/collection.html")]
struct CollectionPage {
    layout: Layout,
    is_admin: bool,
    id: String,
    name: String,
    description: String,
    cards: Vec<AssetCard>,
    can_zip: bool,
    featured: bool,
}

async fn collection_page(
    State(state): State<AppState>,
    user: PageUser,
    Path(id): Path<String>,
) -> PageResult<Response> {
    let who = &user.account;
    let now = state.clock.now_ms();
    let (c, items) = super::open(&state.db, who, &id, now).await?;
    let ids: Vec<String> = items.iter().map(|v| v.asset.id.to_string()).collect();
    let can_zip = !crate::access::downloadable_many(&state.db, who, &ids, now)
        .await?
        .is_empty();
    let page = CollectionPage {
        layout: Layout::for_user(&c.name, &user, "collections"),
        is_admin: who.is_admin(),
        id: c.id,
        name: c.name,
        description: c.description,
        cards: items.iter().map(AssetCard::from_view).collect(),
        can_zip,
        featured: c.featured,
    };
    Ok(render(&page)?.into_response())
}

#[derive(Deserialize)]
struct NameForm {
    name: String,
    #[serde(default)]
    description: String,
}

async fn create(
    State(state): State<AppState>,
    PageAdmin(me): PageAdmin,
    Form(f): Form<NameForm>,
) -> PageResult<Response> {
    match super::create(&state.db, &me.account, &f.name, &f.description).await {
        Ok(c) => Ok(Redirect::to(&format!("/collections/{}", c.id)).into_response()),
        Err(e @ AppError::BadRequest(_)) => {
            me.flash(format!("Not created: {e}.")).await;
            Ok(Redirect::to("/collections").into_response())
        }
        Err(e) => Err(e.into()),
    }
}

async fn edit(
    State(state): State<AppState>,
    PageAdmin(me): PageAdmin,
    Path(id): Path<String>,
    Form(f): Form<NameForm>,
) -> PageResult<Response> {
    match super::update(&state.db, &id, Some(&f.name), Some(&f.description)).await {
        Ok(_) => me.flash("Saved.").await,
        Err(e @ AppError::BadRequest(_)) => me.flash(format!("Not saved: {e}.")).await,
        Err(e) => return Err(e.into()),
    }
    Ok(Redirect::to(&format!("/collections/{id}")).into_response())
}

#[derive(Deserialize)]
struct FeatureForm {
    featured: String,
}

/// "Feature on partners' home" / "Stop featuring".
async fn feature(
    State(state): State<AppState>,
    PageAdmin(me): PageAdmin,
    Path(id): Path<String>,
    Form(f): Form<FeatureForm>,
) -> PageResult<Response> {
    let on = f.featured == "1";
    super::set_featured(&state.db, &id, on).await?;
    me.flash(if on {
        "Featured on partners' home (for those who can see something in it)."
    } else {
        "No longer featured."
    })
    .await;
    Ok(Redirect::to(&format!("/collections/{id}")).into_response())
}

async fn delete(
    State(state): State<AppState>,
    PageAdmin(me): PageAdmin,
    Path(id): Path<String>,
) -> PageResult<Response> {
    if !super::delete(&state.db, &id).await? {
        return Err(AppError::NotFound.into());
    }
    me.flash("Collection deleted.").await;
    Ok(Redirect::to("/collections").into_response())
}

/// "Add to collection" from an asset page, or "Add selected to" wherever cards are selected
/// (a folder's grid, search results: there the field is `add_to_collection`, since the same
/// form's `collection_id` would mean "ZIP this collection").
async fn add(
    State(state): State<AppState>,
    PageAdmin(me): PageAdmin,
    Form(form): Form<Vec<(String, String)>>,
) -> PageResult<Response> {
    let get = |k: &str| {
        form.iter()
            .find(|(key, v)| key == k && !v.is_empty())
            .map(|(_, v)| v.clone())
    };
    let Some(collection_id) = get("add_to_collection").or_else(|| get("collection_id")) else {
        return Err(AppError::BadRequest("Choose a collection.".into()).into());
    };
    let ids: Vec<&String> = form
        .iter()
        .filter(|(k, _)| k == "asset_ids" || k == "asset_id")
        .map(|(_, v)| v)
        .collect();
    if ids.is_empty() {
        return Err(AppError::BadRequest("Select at least one asset.".into()).into());
    }
    for id in &ids {
        super::put_asset(&state.db, &collection_id, id, None).await?;
    }
    let n = ids.len();
    me.flash(format!(
        "{n} asset{} added to the collection.",
        if n == 1 { "" } else { "s" }
    ))
    .await;
    let back = get("back")
        .filter(|b| b.starts_with('/') && !b.starts_with("//"))
        .unwrap_or_else(|| format!("/collections/{collection_id}"));
    Ok(Redirect::to(&back).into_response())
}

async fn remove(
    State(state): State<AppState>,
    PageAdmin(_): PageAdmin,
    Path((id, asset_id)): Path<(String, String)>,
) -> PageResult<Response> {
    super::remove_asset(&state.db, &id, &asset_id).await?;
    Ok(Redirect::to(&format!("/collections/{id}")).into_response())
}

#[derive(Deserialize)]
struct MoveForm {
    /// "up" or "down".
    dir: String,
}

async fn nudge(
    State(state): State<AppState>,
    PageAdmin(_): PageAdmin,
    Path((id, asset_id)): Path<(String, String)>,
    Form(f): Form<MoveForm>,
) -> PageResult<Response> {
    let by = if f.dir == "up" { -1 } else { 1 };
    super::nudge(&state.db, &id, &asset_id, by).await?;
    Ok(Redirect::to(&format!("/collections/{id}#a-{asset_id}")).into_response())
}
