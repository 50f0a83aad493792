//! Links belong to the portal, not to the admin who made them: share and upload links keep
//! working when their creator is demoted or disabled (a campaign's links must not die because
//! someone left). What an admin needs instead is to see one person's live links and end them
//! at once: `live_of` for the users page, `revoke_all_of` as the one action behind the page's
//! "Revoke all" and `POST /api/v1/users/{id}/links/revoke`. See docs/architecture.md.
use serde_json::json;

use crate::accounts::Account;
use crate::app::AppState;
use crate::error::AppError;
use crate::events::Event;
use crate::uploadlinks::{self, UploadLink};
use crate::web::client::ClientInfo;

use super::{Filter, Link, State};

/// Most links of one person listed or revoked in one go.
const MAX: i64 = 10_000;

/// One person's share and upload links that still work (not revoked, not expired).
pub struct LiveLinks {
    pub links: Vec<Link>,
    pub upload_links: Vec<UploadLink>,
}

pub async fn live_of(state: &AppState, user_id: &str, now: i64) -> Result<LiveLinks, AppError> {
    let filter = Filter {
        state: Some(State::Active),
        creator: Some(user_id.to_string()),
        ..Default::default()
    };
    let links = super::list(&state.db, &filter, None, MAX, now).await?;
    let upload_links = uploadlinks::live_of(&state.db, user_id, now, MAX).await?;
    Ok(LiveLinks {
        links,
        upload_links,
    })
}

/// How many links `revoke_all_of` ended.
#[derive(Debug, Default)]
pub struct Revoked {
    pub links: usize,
    pub upload_links: usize,
}

impl Revoked {
    pub fn to_json(&self) -> serde_json::Value {
        json!({ "links": self.links, "upload_links": self.upload_links })
    }
}

/// Revokes every live share and upload link `user_id` made, each with the event its own revoke
/// records (`link_revoked`, `upload_link_revoked`, by `actor`). They stop working at once.
pub async fn revoke_all_of(
    state: &AppState,
    actor: &Account,
    user_id: &str,
    client: &ClientInfo,
) -> Result<Revoked, AppError> {
    let now = state.clock.now_ms();
    let live = live_of(state, user_id, now).await?;
    let mut done = Revoked::default();
    for l in &live.links {
        if super::revoke(&state.db, &l.id, now).await? {
            done.links += 1;
            state
                .events
                .record(Event::new("link_revoked").by(&actor.id).link(&l.id), client)
                .await?;
        }
    }
    for u in &live.upload_links {
        if uploadlinks::revoke(&state.db, &u.id, now).await? {
            done.upload_links += 1;
            state
                .events
                .record(
                    Event::new("upload_link_revoked").by(&actor.id).link(&u.id),
                    client,
                )
                .await?;
        }
    }
    Ok(done)
}
