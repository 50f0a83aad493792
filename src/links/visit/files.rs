//! What a link delivers: originals, renditions and the whole share as one ZIP. Whether the
//! visitor may have them, whether it counts and what is recorded is decided in `delivery`.
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Method};
use axum::response::Response;

use super::LinkVisit;
use crate::app::AppState;
use crate::delivery;
use crate::error::{AppError, PageResult};

/// Most assets in one link ZIP.
const ZIP_LIMIT: i64 = 100_000;

pub(super) async fn original(
    State(state): State<AppState>,
    v: LinkVisit,
    Path((_, asset_id)): Path<(String, String)>,
    method: Method,
    headers: HeaderMap,
) -> PageResult<Response> {
    let ask = v.ask(&method, &headers);
    Ok(delivery::link_file(
        &state, &v.link, &v.unlock, &v.token, &asset_id, "original", false, &ask,
    )
    .await?)
}

/// A thumbnail or preview through a link; saved as a file (`download=1`) it is a download like
/// an original. What each needs is decided in `delivery`.
pub(super) async fn rendition(
    State(state): State<AppState>,
    v: LinkVisit,
    Path((_, asset_id, kind)): Path<(String, String, String)>,
    Query(q): Query<crate::library::api::RenditionQuery>,
    method: Method,
    headers: HeaderMap,
) -> PageResult<Response> {
    if kind == "original" {
        return Err(AppError::NotFound.into());
    }
    let ask = v.ask(&method, &headers);
    Ok(delivery::link_file(
        &state,
        &v.link,
        &v.unlock,
        &v.token,
        &asset_id,
        &kind,
        q.wants_file(),
        &ask,
    )
    .await?)
}

#[derive(serde::Deserialize)]
pub(super) struct ZipQuery {
    /// A download preset's name: pictures at that size (`renditions::presets`).
    preset: Option<String>,
}

pub(super) async fn zip_all(
    State(state): State<AppState>,
    v: LinkVisit,
    Query(q): Query<ZipQuery>,
    method: Method,
    headers: HeaderMap,
) -> PageResult<Response> {
    let preset = crate::renditions::presets::Preset::from_param(q.preset.as_deref())?;
    let ask = v.ask(&method, &headers);
    Ok(delivery::link_zip(
        &state, &v.link, &v.unlock, &v.token, &ask, ZIP_LIMIT, preset,
    )
    .await?)
}
