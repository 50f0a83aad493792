//! What an admin does to upload links, one function per action: each validates, changes state
//! and records its audit event, so each upload-link event kind has one recorder, here. The
//! JSON handlers (`api`), the pages (`pages`) and the users page's "Revoke all"
//! (`links::ownership`) only parse, call and render.
use super::{UploadLink, UploadLinkOptions};
use crate::accounts::Account;
use crate::app::AppState;
use crate::error::AppError;
use crate::events::{Event, EventKind};
use crate::ids::UploadLinkId;
use crate::library::{assets, folders};
use crate::links::options::{check_expiry, parse_time};
use crate::web::client::ClientInfo;

/// Creates an upload link; records `upload_link_created`. Returns it with its URL (the token
/// is shown once).
pub async fn create_upload_link(
    state: &AppState,
    actor: &Account,
    options: UploadLinkOptions,
    client: &ClientInfo,
) -> Result<(UploadLink, String), AppError> {
    let new = options.into_new(state.clock.now_ms(), state.config.max_link_days)?;
    folders::get(&state.db, &new.folder_id)
        .await?
        .ok_or_else(|| AppError::Unprocessable("the folder does not exist".into()))?;
    // Approved at creation; the window is not required here (an embargoed guide may be attached
    // ahead of its date): what the brief serves is decided at request time by
    // `access::upload_link_refs`.
    for id in &new.reference_ids {
        let ok = assets::get_approved(&state.db, id)
            .await?
            .is_some_and(|v| v.asset.status == "approved");
        if !ok {
            return Err(AppError::Unprocessable(format!(
                "reference files must be approved assets: {id}"
            )));
        }
    }
    let (link, token) = super::create(&state.db, state.secret.expose(), &actor.id, new).await?;
    state
        .events
        .record(
            Event::new(EventKind::UploadLinkCreated)
                .by(&actor.id)
                .link(&link.id)
                .folder(&link.folder_id),
            client,
        )
        .await?;
    Ok((link, super::url(&state.config.public_url, &token)))
}

/// Moves an upload link's expiry (RFC 3339, within the configured maximum); records
/// `upload_link_extended` with the time as given.
pub async fn extend_upload_link(
    state: &AppState,
    actor: &Account,
    id: &UploadLinkId,
    expires_at: &str,
    client: &ClientInfo,
) -> Result<UploadLink, AppError> {
    let link = super::get(&state.db, id).await?;
    let t = check_expiry(
        parse_time("expires_at", expires_at)?,
        state.clock.now_ms(),
        state.config.max_link_days,
    )?;
    super::extend(&state.db, &link.id, t).await?;
    state
        .events
        .record(
            Event::new(EventKind::UploadLinkExtended)
                .by(&actor.id)
                .link(id)
                .detail(expires_at),
            client,
        )
        .await?;
    super::get(&state.db, id).await
}

/// Revokes an upload link (404 if there is none); records `upload_link_revoked` when this call
/// ended it. Returns whether it did (`false`: it was revoked already).
pub async fn revoke_upload_link(
    state: &AppState,
    actor: &Account,
    id: &UploadLinkId,
    client: &ClientInfo,
) -> Result<bool, AppError> {
    super::get(&state.db, id).await?;
    if !super::revoke(&state.db, id, state.clock.now_ms()).await? {
        return Ok(false);
    }
    state
        .events
        .record(
            Event::new(EventKind::UploadLinkRevoked)
                .by(&actor.id)
                .link(id),
            client,
        )
        .await?;
    Ok(true)
}
