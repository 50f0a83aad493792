//! A member's ZIP of a selection or a folder tree (`POST /api/v1/zip`, and the folder page's
//! "Download as ZIP"): only what the member may download goes in, streamed by `http::zip`.

use crate::access::{self, LinkedAsset};
use crate::accounts::Account;
use crate::app::AppState;
use crate::error::AppError;
use crate::http::download::Blob;
use crate::http::zip;

/// Most assets one selection may name.
const MAX_SELECTION: usize = 10_000;

/// The downloadable assets of a selection (`asset_ids`) or a folder tree (`folder_id`), and a
/// file name for the archive. Invisible or undownloadable assets are left out; none at all is 404.
pub async fn selection(
    state: &AppState,
    who: &Account,
    asset_ids: Vec<String>,
    folder_id: Option<String>,
    collection_id: Option<String>,
) -> Result<(Vec<LinkedAsset>, String), AppError> {
    let now = state.clock.now_ms();
    if let Some(cid) = collection_id {
        if !asset_ids.is_empty() || folder_id.is_some() {
            return Err(AppError::BadRequest(
                "give one of asset_ids, folder_id or collection_id".into(),
            ));
        }
        let (c, views) = crate::collections::open(&state.db, who, &cid, now).await?;
        let ids: Vec<String> = views.into_iter().map(|v| v.asset.id.into()).collect();
        let listed: Vec<LinkedAsset> = access::downloadable_many(&state.db, who, &ids, now)
            .await?
            .into_iter()
            .map(|view| LinkedAsset {
                view,
                subpath: Vec::new(),
            })
            .collect();
        if listed.is_empty() {
            return Err(AppError::NotFound);
        }
        return Ok((listed, format!("{}.zip", c.name)));
    }
    let (listed, name) = match (asset_ids.is_empty(), folder_id) {
        (false, None) => {
            if asset_ids.len() > MAX_SELECTION {
                return Err(AppError::BadRequest(format!(
                    "at most {MAX_SELECTION} assets per ZIP; download their folder instead"
                )));
            }
            // A selection naming an asset twice still holds it once (and counts once).
            let mut seen = std::collections::HashSet::new();
            let ids: Vec<String> = asset_ids
                .into_iter()
                .filter(|id| seen.insert(id.clone()))
                .collect();
            let views = access::downloadable_many(&state.db, who, &ids, now).await?;
            let listed = views
                .into_iter()
                .map(|view| LinkedAsset {
                    view,
                    subpath: Vec::new(),
                })
                .collect();
            (listed, "assets.zip".to_string())
        }
        (true, Some(folder_id)) => {
            let (folder, _) = access::folder(&state.db, who, &folder_id).await?;
            let listed = access::downloadable_tree(&state.db, who, &folder, now).await?;
            (listed, format!("{}.zip", folder.name))
        }
        _ => {
            return Err(AppError::BadRequest(
                "give one of asset_ids, folder_id or collection_id".into(),
            ))
        }
    };
    if listed.is_empty() {
        return Err(AppError::NotFound);
    }
    Ok((listed, name))
}

/// ZIP entries for listed assets, each as `blobs` says (the original, or a preset): their
/// subfolders as directories, names safe and unique.
pub fn entries_of(listed: &[LinkedAsset], blobs: &[Blob]) -> Vec<zip::Entry> {
    let mut names = zip::Names::default();
    listed
        .iter()
        .zip(blobs)
        .map(|(a, b)| {
            let original = b.key == a.view.version.blob_key;
            zip::Entry {
                name: names.unique(&a.subpath, &b.filename),
                key: b.key.clone(),
                media_type: b.media_type.clone(),
                size: b.size,
                crc32: a.view.version.crc32.filter(|_| original).map(|c| c as u32),
                modified_ms: a.view.version.created_at,
            }
        })
        .collect()
}
