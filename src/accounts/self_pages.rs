//! Pages for one's own account: `/account` (password, API tokens), and the forgotten-password
//! flow (`/forgot`, `/reset/{token}`) for people who cannot sign in.
use askama::Template;
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;
use tower_sessions::Session;

use super::selfservice::{self, OwnToken};
use super::session_store::USER_KEY;
use super::{actions, PageUser};
use crate::app::AppState;
use crate::clock;
use crate::error::{AppError, PageError, PageResult};
use crate::events::{Event, EventKind};
use crate::web::client::ClientInfo;
use crate::web::csrf;
use crate::web::layout::{render, Layout};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/account", get(account_page))
        .route("/account/password", post(change_password))
        .route("/account/tokens", post(create_token))
        .route("/account/tokens/{id}/revoke", post(revoke_token))
        .route("/account/time-zone", post(set_time_zone))
        .route("/forgot", get(forgot_page).post(forgot_submit))
        .route("/reset/{token}", get(reset_page).post(reset_submit))
}

struct TokenRow {
    token: OwnToken,
    created: String,
    last_used: String,
}

#[derive(Template)]
#[template(path = "accounts/account.html")]
struct AccountPage {
    layout: Layout,
    name: String,
    email: String,
    role: String,
    tokens: Vec<TokenRow>,
    new_token: Option<(String, String)>,
    error: Option<String>,
    /// The digest setting: off, daily or weekly.
    digest: &'static str,
    is_admin: bool,
    /// The account's time zone ("" for none yet) and the names to choose from.
    zone: String,
    zones: Vec<String>,
}

async fn account_page(State(state): State<AppState>, me: PageUser) -> PageResult<Response> {
    let error: Option<String> = me.session.remove("account_error").await.ok().flatten();
    page(&state, me, error, StatusCode::OK).await
}

async fn page(
    state: &AppState,
    me: PageUser,
    error: Option<String>,
    status: StatusCode,
) -> PageResult<Response> {
    let tokens = selfservice::list_tokens(&state.db, &me.account.id)
        .await?
        .into_iter()
        .map(|t| TokenRow {
            created: clock::human(t.created_at),
            last_used: t.last_used_at.map(clock::human).unwrap_or_default(),
            token: t,
        })
        .collect();
    let new_token: Option<(String, String)> =
        me.session.remove("own_new_token").await.ok().flatten();
    let page = AccountPage {
        layout: Layout::for_user("Your account", &me, "account"),
        name: me.account.name.clone(),
        email: me.account.email.clone(),
        role: me.account.role.as_str().to_string(),
        tokens,
        new_token,
        error,
        digest: crate::digests::frequency(&state.db, &me.account)
            .await?
            .as_str(),
        is_admin: me.account.is_admin(),
        zone: super::users::time_zone(&state.db, &me.account.id).await?,
        zones: clock::zone_names(),
    };
    Ok((status, render(&page)?).into_response())
}

#[derive(Deserialize)]
struct ZoneForm {
    time_zone: String,
    /// Sent by the account page's form (a redirect back); static/app.js's report has none and
    /// gets 204.
    #[serde(default)]
    from_form: Option<String>,
}

/// The account's time zone: reported by the browser (static/app.js, when it differs from the
/// one kept) or chosen on the account page. Pages show times in it from the next one on, and
/// so do the mails the account receives.
async fn set_time_zone(
    State(state): State<AppState>,
    me: PageUser,
    Form(f): Form<ZoneForm>,
) -> PageResult<Response> {
    let zone = match super::users::set_time_zone(&state.db, &me.account.id, &f.time_zone).await {
        Ok(zone) => zone,
        Err(e) if f.from_form.is_some() && e.is_correctable() => {
            let status = e.status();
            return page(&state, me, Some(format!("Not changed: {e}.")), status).await;
        }
        Err(e) => return Err(e.into()),
    };
    let internal = |e: tower_sessions::session::Error| PageError(AppError::Internal(e.into()));
    if zone.is_empty() {
        me.session
            .remove::<String>(clock::ZONE_KEY)
            .await
            .map_err(internal)?;
    } else {
        me.session
            .insert(clock::ZONE_KEY, &zone)
            .await
            .map_err(internal)?;
    }
    if f.from_form.is_none() {
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    me.flash(if zone.is_empty() {
        "Your browser's time zone will be used from the next page on.".to_string()
    } else {
        format!("Times are now shown in {zone}.")
    })
    .await;
    Ok(Redirect::to("/account").into_response())
}

#[derive(Deserialize)]
struct PasswordForm {
    current_password: String,
    new_password: String,
    confirm_password: String,
}

/// Every other session of the account ends; this browser stays signed in under a new id.
async fn change_password(
    State(state): State<AppState>,
    me: PageUser,
    client: ClientInfo,
    Form(f): Form<PasswordForm>,
) -> PageResult<Response> {
    if f.new_password != f.confirm_password {
        return refuse(&state, me, "The two new passwords differ.".into()).await;
    }
    match actions::change_password(
        &state,
        &me.account,
        &f.current_password,
        &f.new_password,
        &client,
    )
    .await
    {
        Ok(()) => {}
        Err(AppError::TooManyRequests { retry_after }) => {
            let mut r = refuse(
                &state,
                me,
                format!(
                    "Too many wrong passwords. Try again in {} minutes.",
                    retry_after.div_ceil(60)
                ),
            )
            .await?;
            *r.status_mut() = StatusCode::TOO_MANY_REQUESTS;
            r.headers_mut()
                .insert(header::RETRY_AFTER, retry_after.into());
            return Ok(r);
        }
        Err(
            e @ (AppError::Forbidden(_) | AppError::BadRequest(_) | AppError::Unprocessable(_)),
        ) => {
            let status = e.status();
            let mut r = refuse(&state, me, format!("Not changed: {e}.")).await?;
            *r.status_mut() = status;
            return Ok(r);
        }
        Err(e) => return Err(e.into()),
    }
    // The session store row is gone with all the others; this browser gets a fresh one.
    let internal = |e: tower_sessions::session::Error| AppError::Internal(e.into());
    me.session.cycle_id().await.map_err(internal)?;
    me.session
        .insert(USER_KEY, &me.account.id)
        .await
        .map_err(internal)?;
    csrf::rotate(&me.session).await?;
    me.flash("Password changed. Every other session of your account has ended.")
        .await;
    Ok(Redirect::to("/account").into_response())
}

async fn refuse(state: &AppState, me: PageUser, error: String) -> PageResult<Response> {
    page(state, me, Some(error), StatusCode::BAD_REQUEST).await
}

#[derive(Deserialize)]
struct TokenForm {
    name: String,
}

async fn create_token(
    State(state): State<AppState>,
    me: PageUser,
    client: ClientInfo,
    Form(f): Form<TokenForm>,
) -> PageResult<Response> {
    let made = actions::create_token(&state, &me.account, &me.account, &f.name, &client).await;
    let token = match made {
        Ok((_, token)) => token,
        Err(e @ AppError::BadRequest(_)) => {
            return refuse(&state, me, format!("No token made: {e}.")).await
        }
        Err(e) => return Err(e.into()),
    };
    let name = f.name.trim().to_string();
    let _ = me.session.insert("own_new_token", (name, token)).await;
    Ok(Redirect::to("/account").into_response())
}

async fn revoke_token(
    State(state): State<AppState>,
    me: PageUser,
    client: ClientInfo,
    Path(id): Path<String>,
) -> PageResult<Response> {
    actions::revoke_token(&state, &me.account, &id, &client).await?;
    me.flash("Token revoked: it no longer works.").await;
    Ok(Redirect::to("/account").into_response())
}

// ---- forgotten passwords -------------------------------------------------------------

#[derive(Template)]
#[template(path = "accounts/forgot.html")]
struct ForgotPage {
    layout: Layout,
    sent: bool,
    error: Option<String>,
}

async fn forgot_page(session: Session) -> PageResult<Response> {
    let mut layout = Layout::anonymous("Forgot your password?");
    layout.csrf = csrf::token(&session).await?;
    Ok(render(&ForgotPage {
        layout,
        sent: false,
        error: None,
    })?
    .into_response())
}

#[derive(Deserialize)]
struct ForgotForm {
    email: String,
}

/// The same answer whether or not the address has an account (no enumeration).
async fn forgot_submit(
    State(state): State<AppState>,
    session: Session,
    client: ClientInfo,
    Form(f): Form<ForgotForm>,
) -> PageResult<Response> {
    let mut layout = Layout::anonymous("Forgot your password?");
    layout.csrf = csrf::token(&session).await?;
    let asked = selfservice::request_reset(
        &state.db,
        &state.mailer,
        &state.config.public_url,
        &f.email,
        &client.ip,
    )
    .await;
    match asked {
        Ok(()) => Ok(render(&ForgotPage {
            layout,
            sent: true,
            error: None,
        })?
        .into_response()),
        Err(AppError::TooManyRequests { retry_after }) => {
            let page = ForgotPage {
                layout,
                sent: false,
                error: Some(format!(
                    "Too many requests. Try again in {} minutes.",
                    retry_after.div_ceil(60)
                )),
            };
            let mut r = (StatusCode::TOO_MANY_REQUESTS, render(&page)?).into_response();
            r.headers_mut()
                .insert(header::RETRY_AFTER, retry_after.into());
            Ok(r)
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "accounts/reset.html")]
struct ResetPage {
    layout: Layout,
    token: String,
    email: String,
    error: Option<String>,
}

/// A spent, expired or unknown link answers 410 with a way to ask for a new one.
fn link_gone() -> PageError {
    PageError(AppError::GoneWith(
        "This reset link has been used or has expired. Ask for a new one from the sign-in page."
            .into(),
    ))
}

async fn reset_page(
    State(state): State<AppState>,
    session: Session,
    Path(token): Path<String>,
) -> PageResult<Response> {
    let Some(account) = selfservice::reset_account(&state.db, &token).await? else {
        return Err(link_gone());
    };
    let mut layout = Layout::anonymous("Choose a new password");
    layout.csrf = csrf::token(&session).await?;
    let mut r = render(&ResetPage {
        layout,
        token,
        email: account.email,
        error: None,
    })?
    .into_response();
    // The token is in this page's URL: keep it out of caches and other sites' Referer.
    crate::web::headers::mark_private(r.headers_mut());
    Ok(r)
}

#[derive(Deserialize)]
struct ResetForm {
    new_password: String,
    confirm_password: String,
}

async fn reset_submit(
    State(state): State<AppState>,
    session: Session,
    client: ClientInfo,
    Path(token): Path<String>,
    Form(f): Form<ResetForm>,
) -> PageResult<Response> {
    let Some(account) = selfservice::reset_account(&state.db, &token).await? else {
        return Err(link_gone());
    };
    let again = |error: String, csrf: String, email: String| -> PageResult<Response> {
        let mut layout = Layout::anonymous("Choose a new password");
        layout.csrf = csrf;
        let page = ResetPage {
            layout,
            token: token.clone(),
            email,
            error: Some(error),
        };
        Ok((StatusCode::BAD_REQUEST, render(&page)?).into_response())
    };
    let csrf_token = csrf::token(&session).await?;
    if f.new_password != f.confirm_password {
        return again(
            "The two passwords differ.".into(),
            csrf_token,
            account.email,
        );
    }
    match selfservice::complete_reset(&state.db, &token, &f.new_password).await {
        Ok(account) => {
            state
                .events
                .record(
                    Event::new(EventKind::PasswordReset).by(&account.id),
                    &client,
                )
                .await?;
            let _ = session
                .insert(
                    "flash",
                    "Your password has been changed. Sign in with the new one.",
                )
                .await;
            Ok(Redirect::to("/login").into_response())
        }
        Err(AppError::Gone) => Err(link_gone()),
        Err(e) if e.is_correctable() => {
            again(format!("Not changed: {e}."), csrf_token, account.email)
        }
        Err(e) => Err(e.into()),
    }
}
