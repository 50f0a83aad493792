//! Every audited change to accounts, groups and API tokens, one function each: it validates,
//! changes state and records its event, so the JSON API (`api.rs`) and the pages (`pages.rs`,
//! `self_pages.rs`) only parse, call and render, and a grep for an event kind finds one
//! recorder. Sign-in, setup and password resets record their events where they happen
//! (`pages.rs`, `self_pages.rs`): each of those has one handler.
use super::users::{self, Account, NewUser, UserChanges};
use super::{groups, selfservice, tokens};
use crate::app::AppState;
use crate::error::AppError;
use crate::events::{Event, EventKind};
use crate::ids::UserId;
use crate::web::client::ClientInfo;

/// An admin creates an account.
pub async fn create_user(
    state: &AppState,
    by: &Account,
    new: NewUser<'_>,
    client: &ClientInfo,
) -> Result<Account, AppError> {
    let user = users::create_user(&state.db, new).await?;
    let e = Event::new(EventKind::UserCreated)
        .by(&by.id)
        .detail(&user.email);
    state.events.record(e, client).await?;
    Ok(user)
}

/// An admin changes an account's name, role, password or enabled state. Disabling alone is
/// `disable_user`.
pub async fn update_user(
    state: &AppState,
    by: &Account,
    id: &UserId,
    ch: UserChanges,
    client: &ClientInfo,
) -> Result<Account, AppError> {
    let mut what = Vec::new();
    if ch.name.is_some() {
        what.push("name".to_string());
    }
    if let Some(r) = &ch.role {
        what.push(format!("role {r}"));
    }
    match ch.disabled {
        Some(true) => what.push("disabled".into()),
        Some(false) => what.push("enabled".into()),
        None => {}
    }
    if ch.password.is_some() {
        what.push("password changed".into());
    }
    let user = users::update(&state.db, by, id, ch).await?;
    let detail = if what.is_empty() {
        user.email.clone()
    } else {
        format!("{} ({})", user.email, what.join(", "))
    };
    let e = Event::new(EventKind::UserUpdated)
        .by(&by.id)
        .detail(&detail);
    state.events.record(e, client).await?;
    Ok(user)
}

/// An admin disables an account: its sessions end and its API tokens are revoked; the account
/// and its history stay for the audit log.
pub async fn disable_user(
    state: &AppState,
    by: &Account,
    id: &UserId,
    client: &ClientInfo,
) -> Result<Account, AppError> {
    let ch = UserChanges {
        disabled: Some(true),
        ..Default::default()
    };
    let user = users::update(&state.db, by, id, ch).await?;
    let e = Event::new(EventKind::UserDisabled)
        .by(&by.id)
        .detail(&user.email);
    state.events.record(e, client).await?;
    Ok(user)
}

/// The owner changes their own password, proving the current one (throttled like a login).
/// Every session of the account ends; API tokens stay.
pub async fn change_password(
    state: &AppState,
    me: &Account,
    current: &str,
    new: &str,
    client: &ClientInfo,
) -> Result<(), AppError> {
    selfservice::change_password(&state.db, me, current, new).await?;
    let e = Event::new(EventKind::PasswordChanged).by(&me.id);
    state.events.record(e, client).await
}

/// `by` makes an API token for `owner` (themselves, or an admin for someone): the token's id
/// and the token itself, which is shown this once.
pub async fn create_token(
    state: &AppState,
    by: &Account,
    owner: &Account,
    name: &str,
    client: &ClientInfo,
) -> Result<(String, String), AppError> {
    let name = selfservice::token_name(name)?;
    let made = tokens::create_api_token_with_id(&state.db, &owner.id, &name).await?;
    let detail = format!("{} {name}", owner.email);
    let e = Event::new(EventKind::TokenCreated)
        .by(&by.id)
        .detail(&detail);
    state.events.record(e, client).await?;
    Ok(made)
}

/// The owner revokes one of their own tokens; someone else's is 404.
pub async fn revoke_token(
    state: &AppState,
    me: &Account,
    token_id: &str,
    client: &ClientInfo,
) -> Result<(), AppError> {
    selfservice::revoke_token(&state.db, &me.id, token_id).await?;
    let e = Event::new(EventKind::TokenRevoked)
        .by(&me.id)
        .detail(&me.email);
    state.events.record(e, client).await
}

pub async fn create_group(
    state: &AppState,
    by: &Account,
    name: &str,
    client: &ClientInfo,
) -> Result<groups::Group, AppError> {
    let g = groups::create(&state.db, name).await?;
    let e = Event::new(EventKind::GroupCreated)
        .by(&by.id)
        .detail(&g.name);
    state.events.record(e, client).await?;
    Ok(g)
}

pub async fn add_member(
    state: &AppState,
    by: &Account,
    group_id: &str,
    user_id: &UserId,
    client: &ClientInfo,
) -> Result<(), AppError> {
    groups::add_member(&state.db, group_id, user_id).await?;
    let detail = format!("{group_id} {user_id}");
    let e = Event::new(EventKind::MemberAdded)
        .by(&by.id)
        .detail(&detail);
    state.events.record(e, client).await
}

pub async fn remove_member(
    state: &AppState,
    by: &Account,
    group_id: &str,
    user_id: &UserId,
    client: &ClientInfo,
) -> Result<(), AppError> {
    groups::remove_member(&state.db, group_id, user_id).await?;
    let detail = format!("{group_id} {user_id}");
    let e = Event::new(EventKind::MemberRemoved)
        .by(&by.id)
        .detail(&detail);
    state.events.record(e, client).await
}

/// Deletes a group (an identity provider's deprovisioning through SCIM): its memberships and
/// grants go with it; its members keep their accounts.
pub async fn delete_group(
    state: &AppState,
    by: &Account,
    group_id: &str,
    client: &ClientInfo,
) -> Result<(), AppError> {
    let g = groups::delete(&state.db, group_id).await?;
    let e = Event::new(EventKind::GroupDeleted)
        .by(&by.id)
        .detail(&g.name);
    state.events.record(e, client).await
}
