//! Pages for browsing and managing the library: home (areas), folder, asset, review. One
//! file per page or group of forms; each handler parses, calls an action or a query, renders.
use axum::Router;

use crate::app::AppState;

mod asset;
mod changes;
mod files;
mod folders;
mod review;

pub use changes::form_time;

pub fn routes(max_upload: u64) -> Router<AppState> {
    Router::new()
        .merge(super::bulk::routes())
        .merge(folders::routes(max_upload))
        .merge(asset::routes())
        .merge(changes::routes(max_upload))
        .merge(files::routes())
        .merge(review::routes())
}
