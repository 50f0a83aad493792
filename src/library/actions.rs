//! Every audited change an admin or a contributor makes to folders, grants and assets, one
//! function each: it validates, changes state and records its event, so the JSON API
//! (`api.rs`), the pages (`pages.rs`) and the bulk editor (`bulk.rs`) only parse, call and
//! render, and a grep for an event kind finds one recorder. Uploads and check-ins record in
//! `upload.rs` / `checkout.rs`, review decisions in `review.rs`: one path each.

use super::assets::{self, Changes};
use super::checkout;
use super::folders::{self, Folder};
use crate::accounts::{groups, Account};
use crate::app::AppState;
use crate::error::AppError;
use crate::events::{Event, EventKind};
use crate::ids::{AssetId, FolderId};
use crate::web::client::ClientInfo;

/// Creates a folder under `parent_id` (a root without one). An unknown parent is 422.
pub async fn create_folder(
    state: &AppState,
    by: &Account,
    parent_id: Option<&FolderId>,
    name: &str,
    client: &ClientInfo,
) -> Result<Folder, AppError> {
    let parent = match parent_id {
        Some(id) => Some(
            folders::get(&state.db, id)
                .await?
                .ok_or_else(|| AppError::Unprocessable("parent folder does not exist".into()))?,
        ),
        None => None,
    };
    let folder = folders::create(&state.db, parent.as_ref(), name).await?;
    let e = Event::new(EventKind::FolderCreated)
        .by(&by.id)
        .folder(&folder.id)
        .detail(&folder.path);
    state.events.record(e, client).await?;
    Ok(folder)
}

/// What a grant gives a group on a folder and everything below it.
#[derive(Clone, Copy, Debug)]
pub struct Rights {
    pub view: bool,
    pub download: bool,
    pub contribute: bool,
}

/// Gives `group_id` `rights` on the folder (replacing what it had). At least one right, and
/// `download` only with `view`: one cannot download what one cannot see (422 otherwise).
pub async fn grant(
    state: &AppState,
    by: &Account,
    folder_id: &FolderId,
    group_id: &str,
    r: Rights,
    client: &ClientInfo,
) -> Result<(Folder, groups::Group), AppError> {
    let folder = folders::get(&state.db, folder_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let group = groups::get(&state.db, group_id).await?;
    if !r.view && !r.download && !r.contribute {
        return Err(AppError::Unprocessable(
            "grant at least one of view, download, contribute (or remove the grant)".into(),
        ));
    }
    if r.download && !r.view {
        return Err(AppError::Unprocessable(
            "download needs view: one cannot download what one cannot see".into(),
        ));
    }
    folders::set_grant(
        &state.db,
        &folder.id,
        &group.id,
        r.view,
        r.download,
        r.contribute,
    )
    .await?;
    let detail = format!(
        "{}: view={} download={} contribute={}",
        group.name, r.view, r.download, r.contribute
    );
    let e = Event::new(EventKind::GrantSet)
        .by(&by.id)
        .folder(&folder.id)
        .detail(&detail);
    state.events.record(e, client).await?;
    Ok((folder, group))
}

/// Removes a group's grant on a folder; 404 when it has none there.
pub async fn remove_grant(
    state: &AppState,
    by: &Account,
    folder_id: &FolderId,
    group_id: &str,
    client: &ClientInfo,
) -> Result<(), AppError> {
    if !folders::delete_grant(&state.db, folder_id, group_id).await? {
        return Err(AppError::NotFound);
    }
    let e = Event::new(EventKind::GrantRemoved)
        .by(&by.id)
        .folder(folder_id)
        .detail(group_id);
    state.events.record(e, client).await
}

/// An admin edits an asset's metadata, availability window or place.
pub async fn edit_asset(
    state: &AppState,
    by: &Account,
    id: &AssetId,
    changes: Changes,
    client: &ClientInfo,
) -> Result<(), AppError> {
    edit(state, by, id, changes, "", client).await
}

/// An admin applies one set of changes to each asset, in order; the first refusal stops the
/// run and says which asset.
pub async fn edit_assets(
    state: &AppState,
    by: &Account,
    ids: &[AssetId],
    changes: &Changes,
    client: &ClientInfo,
) -> Result<usize, AppError> {
    for id in ids {
        edit(state, by, id, changes.clone(), "bulk", client).await?;
    }
    Ok(ids.len())
}

async fn edit(
    state: &AppState,
    by: &Account,
    id: &AssetId,
    changes: Changes,
    detail: &str,
    client: &ClientInfo,
) -> Result<(), AppError> {
    assets::update(&state.db, id, changes).await?;
    let e = Event::new(EventKind::AssetEdited)
        .by(&by.id)
        .asset(id)
        .detail(detail);
    state.events.record(e, client).await
}

/// A contributor (or admin) checks an asset out: nobody else can check in until they do or
/// release it.
pub async fn check_out(
    state: &AppState,
    who: &Account,
    id: &AssetId,
    client: &ClientInfo,
) -> Result<(), AppError> {
    let view = checkout::editable(&state.db, who, id, state.clock.now_ms()).await?;
    checkout::check_out(&state.db, who, &view).await?;
    let e = Event::new(EventKind::CheckOut).by(&who.id).asset(id);
    state.events.record(e, client).await
}

/// The holder releases their check-out, or an admin breaks someone else's lock (recorded as
/// `release` or `lock_broken`, naming the holder).
pub async fn release(
    state: &AppState,
    who: &Account,
    id: &AssetId,
    client: &ClientInfo,
) -> Result<(), AppError> {
    let view = checkout::editable(&state.db, who, id, state.clock.now_ms()).await?;
    let holder = view.asset.checked_out_by.clone().unwrap_or_default();
    checkout::release(&state.db, who, &view).await?;
    let kind = if holder == who.id {
        EventKind::Release
    } else {
        EventKind::LockBroken
    };
    let e = Event::new(kind).by(&who.id).asset(id).detail(&holder);
    state.events.record(e, client).await
}

/// An admin makes an earlier version the current one again.
pub async fn make_current(
    state: &AppState,
    by: &Account,
    id: &AssetId,
    version_id: &str,
    client: &ClientInfo,
) -> Result<(), AppError> {
    checkout::make_current(&state.db, id, version_id).await?;
    let e = Event::new(EventKind::VersionMadeCurrent)
        .by(&by.id)
        .asset(id)
        .detail(version_id);
    state.events.record(e, client).await
}
