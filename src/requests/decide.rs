//! The signed decision address a decider's mail carries: `/requests/decide/{token}`, a JWT
//! naming the request, the decider and an end (no storage, any instance). GET shows the request
//! and a form, and changes nothing (mail scanners open every address in a mail); POST decides,
//! as the person the mail was sent to. A forged, foreign or expired token is 404, like a
//! request that does not exist; a decided request shows its decision (409 on POST).
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Form, Router};
use serde::Deserialize;

use super::actions::{self, Grant};
use super::{Kind, Request};
use crate::accounts::Account;
use crate::app::AppState;
use crate::error::{AppError, PageResult};
use crate::links::options::DAY_MS;
use crate::web::client::ClientInfo;
use crate::web::layout::{render, Layout};

const AUD: &str = "assetport-request-decision";
/// A decision address works this long after its mail was sent.
const VALID_DAYS: i64 = 30;

/// The decision address for `request_id`, to be used by `user_id`, valid from `now`.
pub fn url(state: &AppState, request_id: &str, user_id: &str, now: i64) -> String {
    let sub = format!("{request_id}|{user_id}|{}", now + VALID_DAYS * DAY_MS);
    let token = crate::token::signed_subject(state.secret.expose(), AUD, &sub);
    format!("{}/requests/decide/{token}", state.config.public_url)
}

/// The request and the decider a token names, if its signature holds, it has not expired, and
/// the decider is still an active admin.
async fn read(state: &AppState, token: &str) -> Result<(Request, Account), AppError> {
    let sub =
        crate::token::subject_of(state.secret.expose(), AUD, token).ok_or(AppError::NotFound)?;
    let mut parts = sub.split('|');
    let (Some(request_id), Some(user_id), Some(end)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err(AppError::NotFound);
    };
    let end: i64 = end.parse().map_err(|_| AppError::NotFound)?;
    if end <= state.clock.now_ms() {
        return Err(AppError::NotFound);
    }
    let decider = crate::accounts::users::by_id(&state.db, user_id)
        .await?
        .filter(|a| a.is_admin() && !a.disabled)
        .ok_or(AppError::NotFound)?;
    let request = super::get(&state.db, request_id).await?;
    Ok((request, decider))
}

pub fn routes() -> Router<AppState> {
    Router::new().route("/requests/decide/{token}", get(page).post(decide))
}

#[derive(Template)]
#[template(path = "requests/decide.html")]
struct DecidePage {
    layout: Layout,
    request: Request,
    what: String,
    /// " (the link's title)" or " (the assets' names)", or nothing.
    about: String,
    /// "7", "30" or "deny": the choice the mail's address preselected.
    choice: String,
    /// A renewal of a link whose downloads are used up: ask how many more.
    ask_downloads: bool,
    error: Option<String>,
}

#[derive(Deserialize)]
struct Choice {
    #[serde(default)]
    choice: String,
}

/// What the request asks and about what, as its decider's mail said it.
async fn described(state: &AppState, request: &Request) -> Result<(String, String), AppError> {
    let link = match &request.link_id {
        Some(l) => Some(crate::links::get(&state.db, l).await?),
        None => None,
    };
    Ok((
        request.summary_for(link.as_ref()),
        super::mail::about(state, request, link.as_ref()).await,
    ))
}

async fn ask_downloads(state: &AppState, request: &Request) -> Result<bool, AppError> {
    if request.kind != Kind::Renewal {
        return Ok(false);
    }
    let Some(link_id) = &request.link_id else {
        return Ok(false);
    };
    let link = crate::links::get(&state.db, link_id).await?;
    Ok(link.downloads_left() == Some(0))
}

async fn page(
    State(state): State<AppState>,
    Path(token): Path<String>,
    Query(q): Query<Choice>,
) -> PageResult<Response> {
    let (request, _) = read(&state, &token).await?;
    let (what, about) = described(&state, &request).await?;
    let page = DecidePage {
        layout: Layout::anonymous("Decide a request"),
        what,
        about,
        ask_downloads: ask_downloads(&state, &request).await?,
        request,
        choice: match q.choice.as_str() {
            "30" | "deny" => q.choice,
            _ => "7".into(),
        },
        error: None,
    };
    Ok(render(&page)?.into_response())
}

#[derive(Deserialize)]
struct DecideForm {
    #[serde(default)]
    action: String,
    #[serde(default)]
    days: String,
    #[serde(default)]
    downloads: String,
    #[serde(default)]
    message: String,
}

/// An approval's terms as a form gives them (blank fields: the defaults).
pub(super) fn grant_from_form(days: &str, downloads: &str) -> Result<Grant, AppError> {
    Ok(Grant {
        days: number("days", days)?,
        downloads: number("downloads", downloads)?,
    })
}

/// Parses a form's whole-number field; blank is "not given".
fn number(field: &str, s: &str) -> Result<Option<i64>, AppError> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    s.parse()
        .map(Some)
        .map_err(|_| AppError::Unprocessable(format!("{field} must be a whole number")))
}

async fn decide(
    State(state): State<AppState>,
    client: ClientInfo,
    Path(token): Path<String>,
    Form(form): Form<DecideForm>,
) -> PageResult<Response> {
    let (request, decider) = read(&state, &token).await?;
    let result = match form.action.as_str() {
        "approve" => {
            let grant = grant_from_form(&form.days, &form.downloads)?;
            actions::approve(&state, &decider, &request.id, grant, &client).await
        }
        "deny" => actions::deny(&state, &decider, &request.id, &form.message, &client).await,
        _ => Err(AppError::Unprocessable(
            "action must be approve or deny".into(),
        )),
    };
    let (status, error) = match result {
        Ok(_) => (StatusCode::OK, None),
        Err(e) if e.is_correctable() => (e.status(), Some(e.to_string())),
        Err(e) => return Err(e.into()),
    };
    let request = super::get(&state.db, &request.id).await?;
    let (what, about) = described(&state, &request).await?;
    let page = DecidePage {
        layout: Layout::anonymous("Decide a request"),
        what,
        about,
        ask_downloads: ask_downloads(&state, &request).await?,
        request,
        choice: "7".into(),
        error,
    };
    Ok((status, render(&page)?).into_response())
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_decision_token_is_not_an_acknowledgement() {
        let t = crate::token::signed_subject("k", super::AUD, "r|u|1");
        assert_eq!(crate::recalls::ack::notice_of("k", &t), None);
        assert_eq!(
            crate::token::subject_of("k", super::AUD, &t).as_deref(),
            Some("r|u|1")
        );
        assert_eq!(crate::token::subject_of("other", super::AUD, &t), None);
    }
}
