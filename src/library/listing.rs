//! Paged folder listings, shared by the API and the pages: keyset paging over
//! `(filename, id)` with an opaque cursor.
use base64::Engine;

use super::assets::AssetView;
use super::folders::Folder;
use crate::access::{self, Rights};
use crate::accounts::Account;
use crate::db::Db;
use crate::error::AppError;

/// Assets per page.
pub const PAGE_SIZE: usize = 100;

/// One page of a folder as the caller may see it.
pub struct FolderPage {
    pub folder: Folder,
    pub rights: Rights,
    pub items: Vec<AssetView>,
    /// Cursor of the next page, if there is one.
    pub next: Option<String>,
}

fn encode_cursor(name: &str, id: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{name}\u{0}{id}"))
}

fn decode_cursor(c: Option<&str>) -> Result<Option<(String, String)>, AppError> {
    let Some(c) = c.filter(|c| !c.is_empty()) else {
        return Ok(None);
    };
    let bad = || AppError::BadRequest("invalid cursor".into());
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(c)
        .map_err(|_| bad())?;
    let s = String::from_utf8(raw).map_err(|_| bad())?;
    let (n, i) = s.split_once('\u{0}').ok_or_else(bad)?;
    Ok(Some((n.to_string(), i.to_string())))
}

/// The folder `id` (404 if the caller may not open it) and one page of its visible assets.
pub async fn folder_page(
    db: &Db,
    who: &Account,
    id: &str,
    cursor: Option<&str>,
) -> Result<FolderPage, AppError> {
    let (folder, rights) = access::folder(db, who, id).await?;
    let cursor = decode_cursor(cursor)?;
    // One extra row tells whether another page follows.
    let mut items = access::folder_assets(
        db,
        who,
        &folder,
        rights,
        cursor,
        PAGE_SIZE as i64 + 1,
        db.clock.now_ms(),
    )
    .await?;
    let next = if items.len() > PAGE_SIZE {
        items.truncate(PAGE_SIZE);
        items
            .last()
            .map(|v| encode_cursor(&v.asset.filename, &v.asset.id))
    } else {
        None
    };
    Ok(FolderPage {
        folder,
        rights,
        items,
        next,
    })
}
