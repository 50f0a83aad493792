//! The digest setting on `/account`, the unsubscribe address every digest carries, and the
//! admin's "send digests now".
use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;

use super::Frequency;
use crate::accounts::{PageAdmin, PageUser};
use crate::app::AppState;
use crate::error::{AppError, PageResult};
use crate::web::layout::{render, Layout};

/// Routes that need a signed-in session.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/account/notifications", post(set_notifications))
        .route("/admin/digests/run", post(run_now))
}

/// Routes for people reading a mail, signed in or not: the token is the credential.
pub fn visitor_routes() -> Router<AppState> {
    Router::new().route(
        "/unsubscribe/{token}",
        get(unsubscribe_page).post(unsubscribe),
    )
}

#[derive(Deserialize)]
struct NotificationsForm {
    frequency: String,
}

async fn set_notifications(
    State(state): State<AppState>,
    me: PageUser,
    Form(f): Form<NotificationsForm>,
) -> PageResult<Response> {
    let freq = Frequency::parse(&f.frequency)
        .ok_or_else(|| AppError::BadRequest("frequency must be off, daily or weekly".into()))?;
    super::set_frequency(&state.db, &me.account.id, freq).await?;
    me.flash(match freq {
        Frequency::Off => "You get no digests.",
        Frequency::Daily => "You get a daily digest when there is something new.",
        Frequency::Weekly => "You get a weekly digest (Mondays) when there is something new.",
    })
    .await;
    // To the top, where the flash says what happened.
    Ok(Redirect::to("/account").into_response())
}

async fn run_now(State(state): State<AppState>, PageAdmin(me): PageAdmin) -> PageResult<Response> {
    super::run_now(&state).await?;
    me.flash(
        "Digests are being sent to everyone subscribed, for what is new since their last one.",
    )
    .await;
    Ok(Redirect::to("/admin/jobs").into_response())
}

#[derive(Template)]
#[template(path = "digests/unsubscribe.html")]
struct UnsubscribePage {
    layout: Layout,
    email: String,
    done: bool,
}

async fn account_of(state: &AppState, token: &str) -> Result<crate::accounts::Account, AppError> {
    let id = super::unsubscribe_user(state.secret.expose(), token).ok_or(AppError::NotFound)?;
    crate::accounts::users::by_id(&state.db, &id)
        .await?
        .ok_or(AppError::NotFound)
}

/// A page with a button, not an unsubscribe on GET: mail scanners open every link in a mail.
async fn unsubscribe_page(
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> PageResult<Response> {
    let who = account_of(&state, &token).await?;
    let page = UnsubscribePage {
        layout: Layout::anonymous("Unsubscribe"),
        email: who.email,
        done: false,
    };
    Ok(render(&page)?.into_response())
}

/// The button, and RFC 8058's one-click POST from mail programs.
async fn unsubscribe(
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> PageResult<Response> {
    let who = account_of(&state, &token).await?;
    super::set_frequency(&state.db, &who.id, Frequency::Off).await?;
    let page = UnsubscribePage {
        layout: Layout::anonymous("Unsubscribed"),
        email: who.email,
        done: true,
    };
    Ok((StatusCode::OK, render(&page)?).into_response())
}
