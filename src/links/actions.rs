//! What an admin does to share links, one function per action. Each validates, changes state
//! and records its audit event; the JSON handlers (`api`), the pages (`pages`) and the users
//! page's "Revoke all" (`ownership`) only parse, call and render. So each link event kind has
//! exactly one recorder, here.
use super::create::{self, Created};
use super::{Link, LinkOptions};
use crate::accounts::Account;
use crate::app::AppState;
use crate::clock;
use crate::error::AppError;
use crate::events::{Event, EventKind};
use crate::ids::LinkId;
use crate::web::client::ClientInfo;

/// Creates a share (one link, or one per recipient); records `link_created` for each link.
pub async fn create_link(
    state: &AppState,
    actor: &Account,
    options: LinkOptions,
    client: &ClientInfo,
) -> Result<Created, AppError> {
    let new = options.into_new(state.clock.now_ms(), state.config.max_link_days)?;
    let created = create::create(state, actor, new).await?;
    for l in &created.links {
        record_created(state, actor, &l.id, client).await?;
    }
    Ok(created)
}

/// `link_created`, for a new share and for a link added to one.
async fn record_created(
    state: &AppState,
    actor: &Account,
    id: &str,
    client: &ClientInfo,
) -> Result<(), AppError> {
    state
        .events
        .record(
            Event::new(EventKind::LinkCreated).by(&actor.id).link(id),
            client,
        )
        .await?;
    Ok(())
}

/// Adds a per-recipient link for `email` to `source`'s share (same target and options, its own
/// token, expiry and download count) and mails the invitation: an approved request for access
/// to a forwarded bound link. Records `link_created`.
pub async fn issue_to_recipient(
    state: &AppState,
    actor: &Account,
    source: &Link,
    email: &str,
    expires_at: i64,
    client: &ClientInfo,
) -> Result<create::Issued, AppError> {
    let issued = create::add_recipient(state, actor, source, email, expires_at).await?;
    record_created(state, actor, &issued.id, client).await?;
    Ok(issued)
}

/// Revokes a link; revoking twice is harmless. Records `link_revoked`; `false` if no such link.
pub async fn revoke_link(
    state: &AppState,
    actor: &Account,
    id: &LinkId,
    client: &ClientInfo,
) -> Result<bool, AppError> {
    if !super::revoke(&state.db, id, state.clock.now_ms()).await? {
        return Ok(false);
    }
    state
        .events
        .record(
            Event::new(EventKind::LinkRevoked).by(&actor.id).link(id),
            client,
        )
        .await?;
    Ok(true)
}

/// Gives a link a new token (the old URL stops working at once); records `link_rotated` and
/// returns the new URL.
pub async fn rotate_link(
    state: &AppState,
    actor: &Account,
    id: &LinkId,
    client: &ClientInfo,
) -> Result<String, AppError> {
    let token = super::rotate(&state.db, state.secret.expose(), id).await?;
    state
        .events
        .record(
            Event::new(EventKind::LinkRotated).by(&actor.id).link(id),
            client,
        )
        .await?;
    Ok(super::url(&state.config.public_url, &token))
}

/// Changes a link's options (a patch); a revoked link stays revoked (409). Records
/// `link_changed` and returns the link as it is now.
pub async fn change_link(
    state: &AppState,
    actor: &Account,
    id: &LinkId,
    options: LinkOptions,
    client: &ClientInfo,
) -> Result<Link, AppError> {
    let link = super::get(&state.db, id).await?;
    if link.revoked_at.is_some() {
        return Err(AppError::Conflict(
            "this link is revoked; create a new one".into(),
        ));
    }
    let now = state.clock.now_ms();
    let changes = options.into_changes(now, state.config.max_link_days)?;
    if let Some(Some(cover)) = &changes.cover_asset_id {
        // Only what the link lists can be its cover (its page would fall back anyway).
        let listed = crate::access::link_gallery(&state.db, &link, 1000, now).await?;
        if !listed.iter().any(|a| &a.id == cover) {
            return Err(AppError::Unprocessable(
                "cover_asset_id: the cover must be one of the link's assets".into(),
            ));
        }
    }
    super::update(&state.db, &link, changes).await?;
    state
        .events
        .record(
            Event::new(EventKind::LinkChanged).by(&actor.id).link(id),
            client,
        )
        .await?;
    super::get(&state.db, id).await
}

/// Moves a link's expiry (the admin page's "Change expiry" / "Extend"): a change like any
/// other, given as a time.
pub async fn extend_link(
    state: &AppState,
    actor: &Account,
    id: &LinkId,
    expires_at: i64,
    client: &ClientInfo,
) -> Result<Link, AppError> {
    let options = LinkOptions {
        expires_at: Some(Some(clock::rfc3339(expires_at))),
        ..LinkOptions::default()
    };
    change_link(state, actor, id, options, client).await
}

/// Deletes expired and revoked links (their events stay); records `links_purged`.
pub async fn purge_links(
    state: &AppState,
    actor: &Account,
    client: &ClientInfo,
) -> Result<u64, AppError> {
    let n = super::purge_expired(&state.db, state.clock.now_ms()).await?;
    let detail = format!("{n} links");
    state
        .events
        .record(
            Event::new(EventKind::LinksPurged)
                .by(&actor.id)
                .detail(&detail),
            client,
        )
        .await?;
    Ok(n)
}
