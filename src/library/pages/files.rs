//! Bytes from the asset pages: the original, renditions, a selection as one ZIP (all through
//! `delivery`), and asking for a preview to be made again.
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Method};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};

use crate::accounts::{PageAdmin, PageUser};
use crate::app::AppState;
use crate::delivery;
use crate::error::{AppError, PageResult};
use crate::library::assets::{self};
use crate::web::client::ClientInfo;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/assets/{id}/download", get(download))
        .route("/assets/{id}/renditions/{kind}", get(rendition))
        .route("/assets/{id}/presets/{preset}", get(preset))
        .route("/assets/{id}/render", post(rerender))
        .route("/zip", post(zip_download))
}

async fn download(
    State(state): State<AppState>,
    user: PageUser,
    client: ClientInfo,
    Path(id): Path<String>,
    method: Method,
    headers: HeaderMap,
) -> PageResult<Response> {
    let ask = delivery::Ask {
        method: &method,
        headers: &headers,
        client: &client,
        api: false,
    };
    Ok(delivery::member_original(&state, &user.account, &id, &ask).await?)
}

async fn rendition(
    State(state): State<AppState>,
    user: PageUser,
    client: ClientInfo,
    Path((id, kind)): Path<(String, String)>,
    Query(q): Query<crate::library::api::RenditionQuery>,
    method: Method,
    headers: HeaderMap,
) -> PageResult<Response> {
    let ask = delivery::Ask {
        method: &method,
        headers: &headers,
        client: &client,
        api: false,
    };
    let attachment = q.wants_file();
    Ok(delivery::member_rendition(&state, &user.account, &id, &kind, attachment, &ask).await?)
}

/// The asset page's "Other sizes": a download preset (`renditions::presets`).
async fn preset(
    State(state): State<AppState>,
    user: PageUser,
    client: ClientInfo,
    Path((id, preset)): Path<(String, String)>,
    method: Method,
    headers: HeaderMap,
) -> PageResult<Response> {
    let preset = crate::renditions::presets::Preset::parse(&preset).ok_or(AppError::NotFound)?;
    let ask = delivery::Ask {
        method: &method,
        headers: &headers,
        client: &client,
        api: false,
    };
    Ok(delivery::member_preset(&state, &user.account, &id, preset, &ask).await?)
}

async fn rerender(
    State(state): State<AppState>,
    PageAdmin(me): PageAdmin,
    Path(id): Path<String>,
) -> PageResult<Response> {
    let view = assets::get_current(&state.db, &id)
        .await?
        .ok_or(AppError::NotFound)?;
    crate::renditions::rerender(&state, &view.version.id).await?;
    me.flash("The preview is being made again.").await;
    Ok(Redirect::to(&format!("/assets/{id}")).into_response())
}

/// The folder page's "Download selected" / "Download folder" buttons.
async fn zip_download(
    State(state): State<AppState>,
    user: PageUser,
    client: ClientInfo,
    method: Method,
    headers: HeaderMap,
    Form(form): Form<Vec<(String, String)>>,
) -> PageResult<Response> {
    let asset_ids: Vec<String> = form
        .iter()
        .filter(|(k, _)| k == "asset_ids")
        .map(|(_, v)| v.clone())
        .collect();
    let whole_folder = form.iter().any(|(k, v)| k == "whole_folder" && v == "1");
    let folder_id = form
        .iter()
        .find(|(k, v)| k == "folder_id" && !v.is_empty())
        .map(|(_, v)| v.clone());
    let collection_id = form
        .iter()
        .find(|(k, v)| k == "collection_id" && !v.is_empty())
        .map(|(_, v)| v.clone());
    // A selection's ZIP is named after where it was made: its folder, or its search (the
    // results page sends `searched`, since its one `q` is the search box's).
    let searched = form.iter().find(|(k, _)| k == "searched" || k == "q");
    let label = match (&folder_id, searched) {
        (_, Some((_, q))) if !q.trim().is_empty() => Some(format!("search {}", q.trim())),
        (Some(id), _) => crate::access::folder(&state.db, &user.account, id)
            .await
            .ok()
            .map(|(f, _)| f.name),
        _ => None,
    };
    // The folder page's form carries both the folder and the selection; the button decides.
    let (asset_ids, folder_id) = if collection_id.is_some() {
        (Vec::new(), None)
    } else if whole_folder {
        (Vec::new(), folder_id)
    } else if asset_ids.is_empty() {
        return Err(AppError::BadRequest("Select at least one asset to download.".into()).into());
    } else {
        (asset_ids, None)
    };
    let preset = crate::renditions::presets::Preset::from_param(
        form.iter()
            .find(|(k, _)| k == "preset")
            .map(|(_, v)| v.as_str()),
    )?;
    let (listed, name) = crate::library::zip::selection(
        &state,
        &user.account,
        asset_ids,
        folder_id,
        collection_id,
        label,
    )
    .await?;
    let ask = delivery::Ask {
        method: &method,
        headers: &headers,
        client: &client,
        api: false,
    };
    Ok(delivery::member_zip(&state, &user.account, &ask, listed, &name, preset).await?)
}
