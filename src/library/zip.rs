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
/// file name for the archive: what it came from and the day, "Campaigns-2026-12-04.zip" (a
/// selection is named by `label`, its folder or search, else "selection"). Invisible or
/// undownloadable assets are left out; none at all is 404.
pub async fn selection(
    state: &AppState,
    who: &Account,
    asset_ids: Vec<String>,
    folder_id: Option<String>,
    collection_id: Option<String>,
    label: Option<String>,
) -> Result<(Vec<LinkedAsset>, String), AppError> {
    let now = state.clock.now_ms();
    let day = crate::reports::date(now);
    let named = |stem: &str| format!("{}-{day}.zip", stem.trim());
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
        return Ok((listed, named(&c.name)));
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
            let stem = label.filter(|l| !l.trim().is_empty());
            (listed, named(stem.as_deref().unwrap_or("selection")))
        }
        (true, Some(folder_id)) => {
            let (folder, _) = access::folder(&state.db, who, &folder_id).await?;
            let listed = access::downloadable_tree(&state.db, who, &folder, now).await?;
            (listed, named(&folder.name))
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
                data: None,
            }
        })
        .collect()
}

/// The `LICENCE.txt` a ZIP ends with when terms apply to what it holds: `share_terms` (a
/// share link's, which the visitor accepted), then each file's own usage terms under its name
/// in the archive. `None` when there are none, so a ZIP without terms has no such file.
pub fn licence(
    share_terms: &str,
    listed: &[LinkedAsset],
    entries: &[zip::Entry],
) -> Option<zip::Entry> {
    let share_terms = share_terms.trim();
    let own: Vec<(&str, &str)> = listed
        .iter()
        .zip(entries)
        .filter(|(a, _)| !a.view.asset.usage_terms.trim().is_empty())
        .map(|(a, e)| (e.name.as_str(), a.view.asset.usage_terms.trim()))
        .collect();
    if share_terms.is_empty() && own.is_empty() {
        return None;
    }
    let mut text = String::from("USAGE TERMS\n===========\n\n");
    if !share_terms.is_empty() {
        text.push_str("The files in this archive were shared with you under these terms:\n\n");
        text.push_str(share_terms);
        text.push_str("\n\n");
    }
    if !own.is_empty() {
        text.push_str("Terms of individual files\n-------------------------\n\n");
        for (name, terms) in own {
            text.push_str(&format!("{name}:\n{terms}\n\n"));
        }
    }
    // Windows' Notepad and every other reader: CRLF line ends.
    let text = text.trim_end().replace('\n', "\r\n") + "\r\n";
    let taken = |n: &str| entries.iter().any(|e| e.name.eq_ignore_ascii_case(n));
    let name = (1..)
        .map(|i| match i {
            1 => "LICENCE.txt".to_string(),
            i => format!("LICENCE ({i}).txt"),
        })
        .find(|n| !taken(n))
        .unwrap_or_default();
    Some(zip::Entry {
        name,
        key: String::new(),
        media_type: "text/plain".into(),
        size: text.len() as u64,
        crc32: None,
        modified_ms: listed
            .iter()
            .map(|a| a.view.version.created_at)
            .max()
            .unwrap_or(0),
        data: Some(bytes::Bytes::from(text)),
    })
}
