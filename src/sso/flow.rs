//! The browser's way through a provider: `GET /sso/{id}/start` (from the sign-in page's
//! button) sends it to the provider with a fresh state, nonce and PKCE challenge, remembered
//! in the session; `GET /sso/{id}/callback` takes that memory out of the session (one use:
//! a replayed callback finds nothing), checks the state, trades the code, verifies the ID
//! token, finds or makes the account (`accounts.rs`) and signs it in. Sessions live in the
//! database, so the callback may reach another instance than the start.
//!
//! Anything that goes wrong is a page in plain words (never an account) and an
//! `sso_login_failed` event with the technical detail.
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use serde::{Deserialize, Serialize};
use tower_sessions::Session;

use super::oidc::{self, Failure, Started};
use super::{accounts, get as provider, Provider};
use crate::accounts::auth::safe_next;
use crate::app::AppState;
use crate::error::{AppError, PageResult};
use crate::events::{Event, EventKind};
use crate::sealed::{self, Purpose};
use crate::web::client::ClientInfo;
use crate::web::layout::{render, Layout};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/sso/{id}/start", get(start))
        .route("/sso/{id}/callback", get(callback))
}

/// Session key of the flow in progress (one per session: a new start replaces it).
const FLOW_KEY: &str = "sso_flow";
/// Session key of what logout needs: the provider and the ID token as `id_token_hint`.
pub const LOGOUT_KEY: &str = "sso_logout";
/// How long a started flow waits for its callback.
const FLOW_MS: i64 = 10 * 60 * 1000;

#[derive(Deserialize, Serialize)]
struct Flow {
    provider: String,
    redirect_uri: String,
    next: String,
    started_at: i64,
    #[serde(flatten)]
    started: Started,
}

#[derive(Deserialize, Serialize)]
pub struct LogoutMemo {
    pub provider: String,
    pub id_token: String,
}

#[derive(Template)]
#[template(path = "accounts/sso_failed.html")]
struct FailedPage {
    layout: Layout,
    message: String,
}

/// The person's page and the audit event for a failure.
async fn failed(
    state: &AppState,
    provider_id: &str,
    status: StatusCode,
    f: Failure,
    client: &ClientInfo,
) -> PageResult<Response> {
    tracing::info!(provider = provider_id, detail = %f.detail, "single sign-on refused");
    let detail = format!("{provider_id}: {}", f.detail);
    let e = Event::new(EventKind::SsoLoginFailed).detail(&detail);
    state.events.record(e, client).await?;
    let page = FailedPage {
        layout: Layout::anonymous("Sign-in did not complete"),
        message: f.message.to_string(),
    };
    Ok((status, render(&page)?).into_response())
}

#[derive(Template)]
#[template(path = "accounts/sso_continue.html")]
struct ContinuePage {
    layout: Layout,
    heading: String,
    message: String,
    url: String,
    button: String,
}

/// A page that goes on to `url` by itself (and by its button), for the way from a form to the
/// provider: a redirect answering a form would be blocked by the pages' CSP `form-action
/// 'self'`, which browsers apply to every redirect after a form is sent; a page's own refresh
/// is a new navigation.
pub fn continue_to(heading: &str, message: &str, url: &str, button: &str) -> PageResult<Response> {
    let page = ContinuePage {
        layout: Layout::anonymous(heading),
        heading: heading.into(),
        message: message.into(),
        url: url.into(),
        button: button.into(),
    };
    Ok(render(&page)?.into_response())
}

const UNKNOWN: &str =
    "This sign-in option does not exist (any more). Start again from the sign-in page.";
const STALE: &str =
    "This sign-in has expired or was already used. Start again from the sign-in page.";

/// The provider, and its client secret opened.
async fn load(state: &AppState, id: &str) -> Result<(Provider, Option<String>), AppError> {
    let p = provider(&state.db, id).await?;
    let secret = if p.client_secret_sealed.is_empty() {
        None
    } else {
        sealed::open(
            state.secret.expose(),
            Purpose::SsoClientSecret,
            &p.id,
            &p.client_secret_sealed,
        )
    };
    Ok((p, secret))
}

#[derive(Deserialize)]
struct StartQuery {
    next: Option<String>,
}

async fn start(
    State(state): State<AppState>,
    session: Session,
    client: ClientInfo,
    Path(id): Path<String>,
    Query(q): Query<StartQuery>,
) -> PageResult<Response> {
    let (p, secret) = match load(&state, &id).await {
        Ok(x) => x,
        Err(AppError::NotFound) => {
            let f = Failure::new(UNKNOWN, "unknown provider");
            return failed(&state, &id, StatusCode::NOT_FOUND, f, &client).await;
        }
        Err(e) => return Err(e.into()),
    };
    let redirect_uri = p.redirect_uri(&state.config.public_url);
    let discovered = match oidc::discover(&p, secret, &redirect_uri).await {
        Ok(d) => d,
        Err(f) => return failed(&state, &id, StatusCode::BAD_GATEWAY, f, &client).await,
    };
    let (url, started) = discovered.authorize(&p.scopes);
    let flow = Flow {
        provider: p.id.clone(),
        redirect_uri,
        next: safe_next(q.next.as_deref()),
        started_at: state.clock.now_ms(),
        started,
    };
    session
        .insert(FLOW_KEY, flow)
        .await
        .map_err(|e| AppError::Internal(e.into()))?;
    Ok(Redirect::to(&url).into_response())
}

#[derive(Deserialize)]
struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

async fn callback(
    State(state): State<AppState>,
    session: Session,
    client: ClientInfo,
    Path(id): Path<String>,
    Query(q): Query<CallbackQuery>,
) -> PageResult<Response> {
    // Taken out whatever happens next: a flow is good for one callback.
    let flow: Option<Flow> = session.remove(FLOW_KEY).await.ok().flatten();
    let now = state.clock.now_ms();
    let flow = match flow {
        Some(f)
            if f.provider == id
                && now - f.started_at <= FLOW_MS
                && q.state
                    .as_deref()
                    .is_some_and(|s| crate::token::secret_eq(s, &f.started.state)) =>
        {
            f
        }
        other => {
            let why = match other {
                None => "no sign-in in progress in this session (replayed or foreign callback)",
                Some(f) if f.provider != id => "the callback names another provider",
                Some(f) if now - f.started_at > FLOW_MS => "the sign-in took too long",
                Some(_) => "state does not match",
            };
            let f = Failure::new(STALE, why);
            return failed(&state, &id, StatusCode::BAD_REQUEST, f, &client).await;
        }
    };
    if let Some(err) = q.error.as_deref() {
        let detail = format!(
            "provider answered {err}: {}",
            q.error_description.as_deref().unwrap_or("")
        );
        let f = Failure::new(
            "Your identity provider did not sign you in. Start again from the sign-in page.",
            detail,
        );
        return failed(&state, &id, StatusCode::FORBIDDEN, f, &client).await;
    }
    let Some(code) = q.code.as_deref().filter(|c| !c.is_empty()) else {
        let f = Failure::new(STALE, "no code in the callback");
        return failed(&state, &id, StatusCode::BAD_REQUEST, f, &client).await;
    };
    let (p, secret) = match load(&state, &id).await {
        Ok(x) => x,
        Err(AppError::NotFound) => {
            let f = Failure::new(UNKNOWN, "provider deleted during the sign-in");
            return failed(&state, &id, StatusCode::NOT_FOUND, f, &client).await;
        }
        Err(e) => return Err(e.into()),
    };
    let who = match oidc::discover(&p, secret, &flow.redirect_uri).await {
        Ok(d) => d.finish(code, &flow.started, now).await,
        Err(f) => Err(f),
    };
    let who = match who {
        Ok(w) => w,
        Err(f) => return failed(&state, &id, StatusCode::FORBIDDEN, f, &client).await,
    };
    let account = match accounts::resolve(&state, &p, &who, &client).await {
        Ok(a) => a,
        Err(f) => return failed(&state, &id, StatusCode::FORBIDDEN, f, &client).await,
    };
    crate::accounts::pages::sign_in(&state.db, &session, &account.id, "sso").await?;
    let memo = LogoutMemo {
        provider: p.id.clone(),
        id_token: who.id_token,
    };
    session
        .insert(LOGOUT_KEY, memo)
        .await
        .map_err(|e| AppError::Internal(e.into()))?;
    let detail = format!("{} via {}", account.email, p.id);
    let e = Event::new(EventKind::SsoLogin)
        .by(&account.id)
        .detail(&detail);
    state.events.record(e, &client).await?;
    Ok(Redirect::to(&flow.next).into_response())
}

/// What logout answers: the sign-in page, or — when the session was opened through a provider
/// that supports RP-initiated logout — a page going on to the provider's end-session address,
/// so the provider's session ends too (a page, not a redirect: see `continue_to`).
pub async fn after_logout(state: &AppState, memo: Option<LogoutMemo>) -> PageResult<Response> {
    let back = format!("{}/login", state.config.public_url.trim_end_matches('/'));
    let to_provider = match memo {
        None => None,
        Some(memo) => match load(state, &memo.provider).await {
            Err(_) => None,
            Ok((p, secret)) => {
                let redirect_uri = p.redirect_uri(&state.config.public_url);
                oidc::discover(&p, secret, &redirect_uri)
                    .await
                    .ok()
                    .and_then(|d| d.logout_url(&memo.id_token, &back))
                    .map(|url| (p.name, url))
            }
        },
    };
    match to_provider {
        None => Ok(Redirect::to("/login").into_response()),
        Some((name, url)) => continue_to(
            "You are signed out",
            &format!("Signing you out of {name} too…"),
            &url,
            &format!("Sign out of {name}"),
        ),
    }
}
