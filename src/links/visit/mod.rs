//! The visitor's side of a share link: `/s/{token}` and its gates (password, one-time code,
//! licence terms), per-asset downloads and the whole share as one ZIP.
//!
//! Every handler takes a `LinkVisit`: the extractor resolves the token, refuses unknown (404),
//! expired or revoked (410) links and visitors outside the link's networks (403), and reads what
//! this visitor has proven. The handlers live by what they do: `landing` (the page and its
//! gallery), `gates` (password, code, terms), `files` (originals, renditions, the ZIP; the bytes
//! go through `delivery`).
//!
//! Nothing here uses a session: what a visitor has proven lives in a cookie scoped to the link
//! (`unlock`). Forms post back to the link's own secret URL, so only someone holding the link
//! can build them; the Origin check refuses cross-site posts on top of that.
mod files;
mod gates;
mod landing;

use askama::Template;
use axum::extract::{FromRequestParts, RawPathParams};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use super::unlock::{self, Unlock};
use super::{by_token, Link, State as LinkState};
use crate::accounts::throttle;
use crate::app::AppState;
use crate::clock;
use crate::error::{AppError, PageError};
use crate::web::client::ClientInfo;
use crate::web::headers::private_headers;
use crate::web::layout::{render, Layout};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/s/{token}", get(landing::landing))
        .route(
            "/s/{token}/unlock",
            get(gates::to_landing).post(gates::unlock_password),
        )
        .route(
            "/s/{token}/code",
            get(gates::to_landing).post(gates::send_code),
        )
        .route(
            "/s/{token}/verify",
            get(gates::to_landing).post(gates::verify_code),
        )
        .route(
            "/s/{token}/accept",
            get(gates::to_landing).post(gates::accept_terms),
        )
        .route(
            "/s/{token}/assets/{asset_id}/original",
            get(files::original),
        )
        .route("/s/{token}/assets/{asset_id}/{kind}", get(files::rendition))
        .route("/s/{token}/zip", get(files::zip_all))
        .layer(axum::middleware::from_fn(private_headers))
}

/// Unknown tokens from one address: someone guessing links.
const PROBES_PER_IP: throttle::Policy = throttle::Policy {
    limit: 30,
    window_ms: 15 * 60 * 1000,
};

/// A live link, reached from an allowed network, and what this visitor has proven to it.
pub struct LinkVisit {
    pub link: Link,
    pub unlock: Unlock,
    /// The library generation when the link was read (see `gallery`).
    pub generation: i64,
    /// The token as the visitor gave it (it is in every address of the link's pages).
    pub token: String,
    pub client: ClientInfo,
}

impl LinkVisit {
    fn password_ok(&self) -> bool {
        self.unlock.passed_password(&self.link)
    }
    fn code_ok(&self) -> bool {
        self.unlock.passed_code(&self.link)
    }
    /// Past every gate that hides the content.
    fn open(&self) -> bool {
        self.unlock.passed_gates(&self.link)
    }
    fn terms_ok(&self) -> bool {
        self.unlock.accepted_terms(&self.link)
    }
    /// The link's own page.
    fn home(&self) -> String {
        format!("/s/{}", self.token)
    }
}

/// Why a visit is refused, answered as a page or, to a client asking for JSON, as SPEC §3's
/// `{"error", "message"}`.
pub struct Refused {
    error: AppError,
    json: bool,
    /// A share link that ended: the friendly 410 page (`true` if it was revoked).
    gone_revoked: Option<bool>,
}

impl Refused {
    pub(crate) fn new(error: AppError, json: bool) -> Refused {
        Refused {
            error,
            json,
            gone_revoked: None,
        }
    }
}

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        match (self.json, self.gone_revoked) {
            (true, _) => self.error.into_response(),
            (false, Some(revoked)) => gone_page(revoked),
            (false, None) => PageError(self.error).into_response(),
        }
    }
}

/// The client asked for JSON (the upload page's script, API-style clients).
pub(crate) fn wants_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/json"))
}

/// The `{token}` of a link's route.
pub(crate) async fn token_of(parts: &mut Parts) -> Option<String> {
    let params = RawPathParams::from_request_parts(parts, &()).await.ok()?;
    params
        .iter()
        .find(|(k, _)| *k == "token")
        .map(|(_, v)| v.to_string())
}

impl FromRequestParts<AppState> for LinkVisit {
    type Rejection = Refused;

    /// Resolves the token: unknown → 404 (counted against the caller's address), expired or
    /// revoked → the friendly 410 page, outside `ip_allow` → 403.
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Refused> {
        let json = wants_json(&parts.headers);
        let refuse = |e: AppError| Refused::new(e, json);
        let Ok(client) = ClientInfo::from_request_parts(parts, state).await;
        let token = token_of(parts)
            .await
            .ok_or_else(|| refuse(AppError::NotFound))?;
        let now = clock::now_ms();
        let found = by_token(&state.db, &token)
            .await
            .map_err(|e| refuse(e.into()))?;
        let Some((link, generation)) = found else {
            // Only misses are counted, so a live link costs no throttle query. With 256-bit
            // tokens the limit is about noise and load, not about guessing succeeding.
            let probe_key = format!("linkprobe:{}", client.ip);
            let _miss = throttle::reserve(&state.db, &probe_key, PROBES_PER_IP, now)
                .await
                .map_err(refuse)?;
            return Err(refuse(AppError::NotFound));
        };
        match link.state(now) {
            LinkState::Active => {}
            ended => {
                let mut refused = refuse(AppError::Gone);
                refused.gone_revoked = Some(ended == LinkState::Revoked);
                return Err(refused);
            }
        }
        link.ip_allow.check(&client).map_err(refuse)?;
        let unlock = unlock::read(&parts.headers, &link, &state.secret);
        Ok(LinkVisit {
            link,
            unlock,
            generation,
            token,
            client,
        })
    }
}

#[derive(Template)]
#[template(path = "links/gone.html")]
struct GonePage {
    layout: Layout,
    revoked: bool,
}

fn gone_page(revoked: bool) -> Response {
    let page = GonePage {
        layout: Layout::anonymous("Link no longer available"),
        revoked,
    };
    match render(&page) {
        Ok(html) => (StatusCode::GONE, html).into_response(),
        Err(e) => PageError(e).into_response(),
    }
}
