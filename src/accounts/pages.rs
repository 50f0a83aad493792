//! Pages: sign-in, first-run setup, and the admin's users and groups screens.
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;
use tower_sessions::Session;

use super::auth::safe_next;
use super::session_store::USER_KEY;
use super::throttle::{self, LOGIN_PER_ACCOUNT, LOGIN_PER_IP};
use super::users::{self, Account, NewUser, Role, UserChanges};
use super::{actions, groups, password, PageAdmin};
use crate::app::AppState;
use crate::clock;
use crate::db;
use crate::error::{AppError, PageResult};
use crate::events::{Event, EventKind};
use crate::ids::UserId;
use crate::web::client::ClientInfo;
use crate::web::csrf;
use crate::web::layout::{render, Layout};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/login", get(login_page).post(login_submit))
        .route("/logout", post(logout))
        .route("/setup/{token}", get(setup_page).post(setup_submit))
        .route("/admin/users", get(users_page).post(create_user))
        .route("/admin/users/{id}", get(user_page).post(update_user))
        .route("/admin/users/{id}/links/revoke", post(revoke_links))
        .route("/admin/users/{id}/tokens", post(create_token))
        .route("/admin/groups", get(groups_page).post(create_group))
        .route("/admin/groups/{id}", get(group_page))
        .route("/admin/groups/{id}/members", post(add_member))
        .route(
            "/admin/groups/{id}/members/{user_id}/remove",
            post(remove_member),
        )
}

#[derive(Template)]
#[template(path = "accounts/login.html")]
struct LoginPage {
    layout: Layout,
    next: String,
    email: String,
    error: Option<String>,
    /// "Sign in with …" buttons: (id, name).
    providers: Vec<(String, String)>,
}

/// The identity providers offered on the sign-in page.
async fn providers(db: &db::Db) -> Result<Vec<(String, String)>, AppError> {
    Ok(crate::sso::list(db)
        .await?
        .into_iter()
        .map(|p| (p.id, p.name))
        .collect())
}

#[derive(Deserialize)]
struct NextQuery {
    next: Option<String>,
}

async fn login_page(
    State(state): State<AppState>,
    session: Session,
    Query(q): Query<NextQuery>,
) -> PageResult<Response> {
    let mut layout = Layout::anonymous("Sign in");
    layout.csrf = csrf::token(&session).await?;
    // "Your password has been changed" after a reset, and the like.
    layout.flash = session.remove("flash").await.ok().flatten();
    let page = LoginPage {
        layout,
        next: safe_next(q.next.as_deref()),
        email: String::new(),
        error: None,
        providers: providers(&state.db).await?,
    };
    Ok(render(&page)?.into_response())
}

#[derive(Deserialize)]
struct LoginForm {
    email: String,
    password: String,
    next: Option<String>,
}

/// Reserves an attempt (per account and per IP, `throttle::reserve_all`) before any password
/// work, renews the session id on success.
async fn login_submit(
    State(state): State<AppState>,
    session: Session,
    client: ClientInfo,
    Form(f): Form<LoginForm>,
) -> PageResult<Response> {
    let now = state.clock.now_ms();
    let email = f.email.trim().to_lowercase();
    let acct_key = format!("login:acct:{email}");
    let ip_key = format!("login:ip:{}", client.ip);
    let offered = providers(&state.db).await?;
    let again = |status: StatusCode, error: String, csrf: String| -> PageResult<Response> {
        let mut layout = Layout::anonymous("Sign in");
        layout.csrf = csrf;
        let page = LoginPage {
            layout,
            next: safe_next(f.next.as_deref()),
            email: f.email.clone(),
            error: Some(error),
            providers: offered.clone(),
        };
        Ok((status, render(&page)?).into_response())
    };
    let csrf_token = csrf::token(&session).await?;
    // One attempt is reserved per account and per IP before any password work.
    let keys = [
        (acct_key.as_str(), LOGIN_PER_ACCOUNT),
        (ip_key.as_str(), LOGIN_PER_IP),
    ];
    let attempts = match throttle::reserve_all(&state.db, &keys, now).await {
        Ok(a) => a,
        Err(AppError::TooManyRequests { retry_after }) => {
            let mut r = again(
                StatusCode::TOO_MANY_REQUESTS,
                format!(
                    "Too many failed attempts. Try again in {} minutes.",
                    retry_after.div_ceil(60)
                ),
                csrf_token.clone(),
            )?;
            r.headers_mut()
                .insert(header::RETRY_AFTER, retry_after.into());
            return Ok(r);
        }
        Err(e) => return Err(e.into()),
    };
    let creds = users::credentials(&state.db, &email).await?;
    let (account, hash) = match creds {
        Some((a, h)) => (Some(a), Some(h)),
        None => (None, None),
    };
    let ok = password::verify(f.password.clone(), hash).await?;
    let account = account.filter(|a| ok && !a.disabled);
    // The right password, but the organisation signs its members in through its provider
    // ("SSO only"); admins keep their password as the break-glass way in. Told only to
    // someone who knew the password.
    let sso_only = match &account {
        Some(a) => crate::sso::password_refused(&state.db, &email, a.is_admin()).await?,
        None => None,
    };
    let refusal = match (&account, &sso_only) {
        (None, _) => Some((
            StatusCode::UNAUTHORIZED,
            "That email and password do not match.".to_string(),
            email.clone(),
        )),
        (Some(_), Some(p)) => Some((
            StatusCode::FORBIDDEN,
            format!(
                "Your organisation signs you in with {}: use the button below.",
                p.name
            ),
            format!("{email} (SSO only: {})", p.id),
        )),
        _ => None,
    };
    let (Some(account), None) = (account, refusal.as_ref()) else {
        // Both attempts stay counted.
        let (status, message, detail) = refusal.unwrap_or_default();
        state
            .events
            .record(Event::new(EventKind::LoginFailed).detail(&detail), &client)
            .await?;
        return again(status, message, csrf_token);
    };
    // A success clears the account's count and gives the IP's attempt back.
    let mut attempts = attempts.into_iter();
    if let (Some(acct), Some(ip)) = (attempts.next(), attempts.next()) {
        acct.clear(&state.db).await?;
        ip.give_back(&state.db).await?;
    }
    sign_in(&state.db, &session, &account.id, "password").await?;
    state
        .events
        .record(Event::new(EventKind::Login).by(&account.id), &client)
        .await?;
    Ok(Redirect::to(&safe_next(f.next.as_deref())).into_response())
}

/// Binds `user_id` to the session under a new session id (defeating session fixation) and a
/// new CSRF token, so nothing seen before sign-in is worth anything after it.
/// Also notes when and how (`method`: "password" or "sso") the account last signed in.
pub(crate) async fn sign_in(
    db: &db::Db,
    session: &Session,
    user_id: &str,
    method: &str,
) -> Result<(), AppError> {
    let internal = |e: tower_sessions::session::Error| AppError::Internal(e.into());
    session.cycle_id().await.map_err(internal)?;
    session.insert(USER_KEY, user_id).await.map_err(internal)?;
    csrf::rotate(session).await?;
    users::signed_in(db, user_id, method).await?;
    // Pages show times in the person's zone (`clock::viewer_zone` reads it from here).
    let zone = users::time_zone(db, user_id).await?;
    if !zone.is_empty() {
        session
            .insert(crate::clock::ZONE_KEY, zone)
            .await
            .map_err(internal)?;
    }
    Ok(())
}

/// Ends the session; one opened through a provider that supports RP-initiated logout goes on
/// to the provider's end-session address, so the provider's session ends too.
async fn logout(State(state): State<AppState>, session: Session) -> PageResult<Response> {
    let memo = session
        .get::<crate::sso::flow::LogoutMemo>(crate::sso::flow::LOGOUT_KEY)
        .await
        .ok()
        .flatten();
    session
        .flush()
        .await
        .map_err(|e| AppError::Internal(e.into()))?;
    crate::sso::flow::after_logout(&state, memo).await
}

// ---- first-run setup -------------------------------------------------------------------

/// Settings key of the hashed one-time setup token.
pub const SETUP_KEY: &str = "setup_token_sha256";

/// On a portal with no admin yet, creates a one-time setup token and returns it.
pub async fn ensure_setup_token(db: &db::Db) -> anyhow::Result<Option<String>> {
    if users::count_admins(db).await? > 0 {
        db::delete_setting(db, SETUP_KEY).await?;
        return Ok(None);
    }
    let token = crate::token::new_token("setup");
    db::set_setting(db, SETUP_KEY, &crate::token::hash_token(&token)).await?;
    Ok(Some(token))
}

async fn setup_valid(state: &AppState, token: &str) -> Result<bool, AppError> {
    let stored = db::get_setting(&state.db, SETUP_KEY).await?;
    Ok(
        stored.is_some_and(|h| crate::token::secret_eq(&h, &crate::token::hash_token(token)))
            && users::count_admins(&state.db).await? == 0,
    )
}

#[derive(Template)]
#[template(path = "accounts/setup.html")]
struct SetupPage {
    layout: Layout,
    token: String,
    email: String,
    name: String,
    error: Option<String>,
}

async fn setup_page(
    State(state): State<AppState>,
    session: Session,
    Path(token): Path<String>,
) -> PageResult<Response> {
    if !setup_valid(&state, &token).await? {
        return Err(AppError::NotFound.into());
    }
    let mut layout = Layout::anonymous("Set up assetport");
    layout.csrf = csrf::token(&session).await?;
    Ok(render(&SetupPage {
        layout,
        token,
        email: String::new(),
        name: String::new(),
        error: None,
    })?
    .into_response())
}

#[derive(Deserialize)]
struct SetupForm {
    email: String,
    name: String,
    password: String,
}

async fn setup_submit(
    State(state): State<AppState>,
    session: Session,
    client: ClientInfo,
    Path(token): Path<String>,
    Form(f): Form<SetupForm>,
) -> PageResult<Response> {
    if !setup_valid(&state, &token).await? {
        return Err(AppError::NotFound.into());
    }
    let created = users::create_user(
        &state.db,
        NewUser {
            email: &f.email,
            name: &f.name,
            role: Role::Admin,
            password: &f.password,
        },
    )
    .await;
    let account = match created {
        Ok(a) => a,
        Err(e) if e.is_correctable() => {
            let mut layout = Layout::anonymous("Set up assetport");
            layout.csrf = csrf::token(&session).await?;
            let page = SetupPage {
                layout,
                token,
                email: f.email,
                name: f.name,
                error: Some(e.to_string()),
            };
            return Ok((e.status(), render(&page)?).into_response());
        }
        Err(e) => return Err(e.into()),
    };
    db::delete_setting(&state.db, SETUP_KEY).await?;
    sign_in(&state.db, &session, &account.id, "password").await?;
    state
        .events
        .record(
            Event::new(EventKind::Setup)
                .by(&account.id)
                .detail(&account.email),
            &client,
        )
        .await?;
    let _ = session
        .insert(
            "flash",
            "Welcome! Start by creating a folder, then a group for your partners.",
        )
        .await;
    Ok(Redirect::to("/").into_response())
}

// ---- users -----------------------------------------------------------------------------

struct UserRow {
    account: Account,
    groups: String,
    created: String,
    /// "never", or when and how ("4 Dec 2026 17:02 UTC · password").
    last_sign_in: String,
}

/// The users page's filters (`?role=&group=&state=&never=1`).
#[derive(Deserialize, Default)]
struct UserFilter {
    #[serde(default)]
    role: String,
    #[serde(default)]
    group: String,
    /// "active" or "disabled".
    #[serde(default)]
    state: String,
    #[serde(default)]
    never: String,
}

#[derive(Template)]
#[template(path = "accounts/users.html")]
struct UsersPage {
    layout: Layout,
    users: Vec<UserRow>,
    me: String,
    new_token: Option<(String, String)>,
    /// Invitations not accepted (pending, expired, withdrawn), newest first.
    invitations: Vec<InviteRow>,
    /// Every group, for the invitation form and the filter.
    all_groups: Vec<groups::Group>,
    filter: UserFilter,
}

struct InviteRow {
    id: String,
    email: String,
    role: &'static str,
    groups: String,
    state: &'static str,
    sent: String,
    expires: String,
}

async fn users_page(
    State(state): State<AppState>,
    PageAdmin(me): PageAdmin,
    Query(filter): Query<UserFilter>,
) -> PageResult<Response> {
    let list = users::list(&state.db, None, 1000).await?;
    let sign_ins = users::sign_ins(&state.db).await?;
    let in_group: Option<Vec<String>> = if filter.group.is_empty() {
        None
    } else {
        Some(
            groups::members(&state.db, &filter.group)
                .await?
                .into_iter()
                .map(|a| a.id.to_string())
                .collect(),
        )
    };
    let mut rows = Vec::with_capacity(list.len());
    for u in list {
        let last = sign_ins.get(u.id.as_str());
        let keep = (filter.role.is_empty() || filter.role == u.role.as_str())
            && in_group
                .as_ref()
                .is_none_or(|m| m.iter().any(|id| id == u.id.as_str()))
            && match filter.state.as_str() {
                "active" => !u.disabled,
                "disabled" => u.disabled,
                _ => true,
            }
            && (filter.never.is_empty() || last.is_none());
        if !keep {
            continue;
        }
        let groups = groups::of_user(&state.db, &u.id).await?.join(", ");
        rows.push(UserRow {
            created: clock::human(u.created_at_ms),
            last_sign_in: match last {
                Some((t, how)) if how.is_empty() => clock::human(*t),
                Some((t, how)) if how == "sso" => format!("{} · SSO", clock::human(*t)),
                Some((t, how)) => format!("{} · {how}", clock::human(*t)),
                None => "never".into(),
            },
            groups,
            account: u,
        });
    }
    // A token created on the previous request is shown once, then forgotten.
    let new_token: Option<(String, String)> = me.session.remove("new_token").await.ok().flatten();
    let all_groups = groups::list(&state.db).await?;
    let now = state.clock.now_ms();
    let group_name = |id: &String| {
        all_groups
            .iter()
            .find(|g| &g.id == id)
            .map(|g| g.name.clone())
            .unwrap_or_default()
    };
    let invitations = super::invitations::list(&state, 200)
        .await?
        .into_iter()
        .filter(|i| i.accepted_at.is_none())
        .map(|i| InviteRow {
            state: i.state(now),
            groups: i
                .groups
                .iter()
                .map(group_name)
                .collect::<Vec<_>>()
                .join(", "),
            role: i.role.as_str(),
            sent: clock::human(i.sent_at),
            expires: clock::human(i.expires_at),
            id: i.id,
            email: i.email,
        })
        .collect();
    let page = UsersPage {
        layout: Layout::for_user("Users", &me, "users"),
        users: rows,
        me: me.account.id.to_string(),
        new_token,
        invitations,
        all_groups,
        filter,
    };
    Ok(render(&page)?.into_response())
}

struct LiveLinkRow {
    href: String,
    kind: &'static str,
    label: String,
    created: String,
    expires: String,
}

#[derive(Template)]
#[template(path = "accounts/user.html")]
struct UserPage {
    layout: Layout,
    user: Account,
    groups: String,
    created: String,
    links: Vec<LiveLinkRow>,
}

/// One account as an admin sees it, with the share and upload links it made that still work
/// (they outlive a demotion or a disabled account; "Revoke all" ends them).
async fn user_page(
    State(state): State<AppState>,
    PageAdmin(me): PageAdmin,
    Path(id): Path<String>,
) -> PageResult<Response> {
    let user = users::by_id(&state.db, &id)
        .await?
        .ok_or(AppError::NotFound)?;
    let live = crate::links::ownership::live_of(&state, &user.id, state.clock.now_ms()).await?;
    let mut links = Vec::with_capacity(live.links.len() + live.upload_links.len());
    for l in &live.links {
        links.push(LiveLinkRow {
            href: format!("/admin/links/{}", l.id),
            kind: "Share link",
            label: if l.title.is_empty() {
                match &l.recipient {
                    Some(r) => format!("Share for {r}"),
                    None => "Untitled share".into(),
                }
            } else {
                l.title.clone()
            },
            created: clock::human(l.created_at),
            expires: clock::human(l.expires_at),
        });
    }
    for u in &live.upload_links {
        links.push(LiveLinkRow {
            href: "/admin/upload-links".into(),
            kind: "Upload link",
            label: if u.title.is_empty() {
                "Untitled upload link".into()
            } else {
                u.title.clone()
            },
            created: clock::human(u.created_at),
            expires: clock::human(u.expires_at),
        });
    }
    let page = UserPage {
        layout: Layout::for_user(&user.name, &me, "users"),
        groups: groups::of_user(&state.db, &user.id).await?.join(", "),
        created: clock::human(user.created_at_ms),
        user,
        links,
    };
    Ok(render(&page)?.into_response())
}

/// "Revoke all": every live share and upload link the account made stops working.
async fn revoke_links(
    State(state): State<AppState>,
    PageAdmin(me): PageAdmin,
    client: ClientInfo,
    Path(id): Path<String>,
) -> PageResult<Response> {
    let user = users::by_id(&state.db, &id)
        .await?
        .ok_or(AppError::NotFound)?;
    let done =
        crate::links::ownership::revoke_all_of(&state, &me.account, &user.id, &client).await?;
    me.flash(format!(
        "{} share link{} and {} upload link{} of {} revoked.",
        done.links,
        if done.links == 1 { "" } else { "s" },
        done.upload_links,
        if done.upload_links == 1 { "" } else { "s" },
        user.email
    ))
    .await;
    Ok(Redirect::to(&format!("/admin/users/{}", user.id)).into_response())
}

#[derive(Deserialize)]
struct NewUserForm {
    email: String,
    name: String,
    role: String,
    password: String,
}

async fn create_user(
    State(state): State<AppState>,
    PageAdmin(me): PageAdmin,
    client: ClientInfo,
    Form(f): Form<NewUserForm>,
) -> PageResult<Response> {
    let role = Role::parse(&f.role)?;
    let new = NewUser {
        email: &f.email,
        name: &f.name,
        role,
        password: &f.password,
    };
    match actions::create_user(&state, &me.account, new, &client).await {
        Ok(u) => {
            me.flash(format!("Account {} created.", u.email)).await;
        }
        Err(e) if e.is_correctable() => {
            me.flash(format!("Could not create the account: {e}."))
                .await;
        }
        Err(e) => return Err(e.into()),
    }
    Ok(Redirect::to("/admin/users").into_response())
}

#[derive(Deserialize)]
struct UpdateUserForm {
    action: String,
    password: Option<String>,
}

async fn update_user(
    State(state): State<AppState>,
    PageAdmin(me): PageAdmin,
    client: ClientInfo,
    Path(id): Path<UserId>,
    Form(f): Form<UpdateUserForm>,
) -> PageResult<Response> {
    let ch = match f.action.as_str() {
        "disable" => {
            return match actions::disable_user(&state, &me.account, &id, &client).await {
                Ok(u) => {
                    me.flash(format!("{} updated.", u.email)).await;
                    Ok(Redirect::to("/admin/users").into_response())
                }
                Err(e) if e.is_correctable() => {
                    me.flash(format!("Not changed: {e}.")).await;
                    Ok(Redirect::to("/admin/users").into_response())
                }
                Err(e) => Err(e.into()),
            };
        }
        "enable" => UserChanges {
            disabled: Some(false),
            ..Default::default()
        },
        "make_admin" => UserChanges {
            role: Some("admin".into()),
            ..Default::default()
        },
        "make_member" => UserChanges {
            role: Some("member".into()),
            ..Default::default()
        },
        "password" => UserChanges {
            password: f.password.clone(),
            ..Default::default()
        },
        _ => return Err(AppError::BadRequest("unknown action".into()).into()),
    };
    match actions::update_user(&state, &me.account, &id, ch, &client).await {
        Ok(u) => {
            me.flash(format!("{} updated.", u.email)).await;
        }
        Err(e) if e.is_correctable() => {
            me.flash(format!("Not changed: {e}.")).await;
        }
        Err(e) => return Err(e.into()),
    }
    Ok(Redirect::to("/admin/users").into_response())
}

#[derive(Deserialize)]
struct TokenForm {
    name: String,
}

async fn create_token(
    State(state): State<AppState>,
    PageAdmin(me): PageAdmin,
    client: ClientInfo,
    Path(id): Path<String>,
    Form(f): Form<TokenForm>,
) -> PageResult<Response> {
    let user = users::by_id(&state.db, &id)
        .await?
        .ok_or(AppError::NotFound)?;
    // The admin form may leave the name empty.
    let name = if f.name.trim().is_empty() {
        "token"
    } else {
        &f.name
    };
    let (_, token) = actions::create_token(&state, &me.account, &user, name, &client).await?;
    let _ = me
        .session
        .insert("new_token", (user.email.clone(), token))
        .await;
    Ok(Redirect::to("/admin/users").into_response())
}

// ---- groups ----------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "accounts/groups.html")]
struct GroupsPage {
    layout: Layout,
    groups: Vec<groups::Group>,
}

async fn groups_page(
    State(state): State<AppState>,
    PageAdmin(me): PageAdmin,
) -> PageResult<Response> {
    let page = GroupsPage {
        layout: Layout::for_user("Groups", &me, "groups"),
        groups: groups::list(&state.db).await?,
    };
    Ok(render(&page)?.into_response())
}

#[derive(Deserialize)]
struct GroupForm {
    name: String,
}

async fn create_group(
    State(state): State<AppState>,
    PageAdmin(me): PageAdmin,
    client: ClientInfo,
    Form(f): Form<GroupForm>,
) -> PageResult<Response> {
    match actions::create_group(&state, &me.account, &f.name, &client).await {
        Ok(g) => {
            me.flash(format!("Group {} created. Add members below.", g.name))
                .await;
            Ok(Redirect::to(&format!("/admin/groups/{}", g.id)).into_response())
        }
        Err(e) if e.is_correctable() => {
            me.flash(format!("Could not create the group: {e}.")).await;
            Ok(Redirect::to("/admin/groups").into_response())
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "accounts/group.html")]
struct GroupPage {
    layout: Layout,
    group: groups::Group,
    members: Vec<Account>,
    others: Vec<Account>,
}

async fn group_page(
    State(state): State<AppState>,
    PageAdmin(me): PageAdmin,
    Path(id): Path<String>,
) -> PageResult<Response> {
    let group = groups::get(&state.db, &id).await?;
    let members = groups::members(&state.db, &id).await?;
    let others = users::list(&state.db, None, 1000)
        .await?
        .into_iter()
        .filter(|u| !u.disabled && !members.iter().any(|m| m.id == u.id))
        .collect();
    let page = GroupPage {
        layout: Layout::for_user(&group.name, &me, "groups"),
        group,
        members,
        others,
    };
    Ok(render(&page)?.into_response())
}

#[derive(Deserialize)]
struct MemberForm {
    user_id: UserId,
}

async fn add_member(
    State(state): State<AppState>,
    PageAdmin(me): PageAdmin,
    client: ClientInfo,
    Path(id): Path<String>,
    Form(f): Form<MemberForm>,
) -> PageResult<Response> {
    actions::add_member(&state, &me.account, &id, &f.user_id, &client).await?;
    me.flash("Member added.").await;
    Ok(Redirect::to(&format!("/admin/groups/{id}")).into_response())
}

async fn remove_member(
    State(state): State<AppState>,
    PageAdmin(me): PageAdmin,
    client: ClientInfo,
    Path((id, user_id)): Path<(String, UserId)>,
) -> PageResult<Response> {
    actions::remove_member(&state, &me.account, &id, &user_id, &client).await?;
    me.flash("Member removed.").await;
    Ok(Redirect::to(&format!("/admin/groups/{id}")).into_response())
}
