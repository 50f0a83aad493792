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
mod renew;

use askama::Template;
use axum::extract::{FromRequestParts, RawPathParams};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use super::unlock::{self, Unlock};
use super::{by_token, Link, State as LinkState};
use crate::accounts::throttle;
use crate::app::AppState;
use crate::delivery;
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
        .route(
            "/s/{token}/renew",
            get(gates::to_landing).post(renew::ask_renewal),
        )
        .route(
            "/s/{token}/access",
            get(gates::to_landing).post(renew::ask_access),
        )
        .layer(axum::middleware::from_fn(private_headers))
}

/// Unknown tokens from one address: someone guessing links (share and upload links).
const PROBES_PER_IP: throttle::Policy = throttle::Policy {
    limit: 30,
    window_ms: 15 * 60 * 1000,
};
/// Wrong link passwords per link and per address (share and upload links).
pub(crate) const PW_PER_LINK: throttle::Policy = throttle::Policy {
    limit: 10,
    window_ms: 15 * 60 * 1000,
};
pub(crate) const PW_PER_IP: throttle::Policy = throttle::Policy {
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
    /// The request as the download decision reads it.
    fn ask<'a>(&'a self, method: &'a Method, headers: &'a HeaderMap) -> delivery::Ask<'a> {
        delivery::Ask {
            method,
            headers,
            client: &self.client,
            api: false,
        }
    }
}

/// Why a visit is refused, answered as a page or, to a client asking for JSON, as SPEC §3's
/// `{"error", "message"}`.
pub struct Refused {
    error: AppError,
    json: bool,
    /// A share link that ended: the friendly 410 page (`true` if it was revoked).
    gone_revoked: Option<bool>,
    /// No link has this token: the visitor's "does not exist or has been mistyped" page.
    unknown: bool,
}

impl Refused {
    fn new(error: AppError, json: bool) -> Refused {
        Refused {
            error,
            json,
            gone_revoked: None,
            unknown: false,
        }
    }
}

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        match (self.json, self.gone_revoked) {
            (true, _) => self.error.into_response(),
            (false, Some(revoked)) => gone_page(revoked),
            (false, None) if self.unknown => crate::web::error_page::unknown_link(),
            (false, None) => crate::web::error_page::for_visitor(self.error),
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

/// The first steps of every link visit, whatever the kind of link: who knocks (address,
/// whether JSON is wanted) and with which token.
pub(crate) struct Knock {
    pub token: String,
    pub client: ClientInfo,
    json: bool,
}

impl Knock {
    pub async fn read(parts: &mut Parts, state: &AppState) -> Result<Knock, Refused> {
        let json = wants_json(&parts.headers);
        let Ok(client) = ClientInfo::from_request_parts(parts, state).await;
        let token = RawPathParams::from_request_parts(parts, state)
            .await
            .ok()
            .and_then(|params| {
                params
                    .iter()
                    .find(|(k, _)| *k == "token")
                    .map(|(_, v)| v.to_string())
            })
            .ok_or(Refused::new(AppError::NotFound, json))?;
        Ok(Knock {
            token,
            client,
            json,
        })
    }

    pub fn refuse(&self, error: impl Into<AppError>) -> Refused {
        Refused::new(error.into(), self.json)
    }

    /// An unknown token: 404, counted against the caller's address under `kind` (only misses
    /// are counted, so a live link costs no throttle query; with 256-bit tokens the limit is
    /// about noise and load, not about guessing succeeding).
    pub async fn miss(&self, state: &AppState, kind: &str) -> Refused {
        let key = format!("{kind}:{}", self.client.ip);
        match throttle::reserve(&state.db, &key, PROBES_PER_IP, state.clock.now_ms()).await {
            Ok(_miss) => Refused {
                unknown: true,
                ..self.refuse(AppError::NotFound)
            },
            Err(e) => self.refuse(e),
        }
    }
}

impl FromRequestParts<AppState> for LinkVisit {
    type Rejection = Refused;

    /// Resolves the token: unknown → 404 (counted against the caller's address), expired or
    /// revoked → the friendly 410 page, outside `ip_allow` → 403.
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Refused> {
        resolve(parts, state, false).await
    }
}

/// A visit to a live link or to one that expired (not a revoked one): the link's page, its
/// one-time code gate and the renewal request, which is what an expired link still offers
/// (`renew`). Handlers taking it check `expired` themselves.
pub struct AnyVisit {
    pub visit: LinkVisit,
    pub expired: bool,
}

impl FromRequestParts<AppState> for AnyVisit {
    type Rejection = Refused;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Refused> {
        let visit = resolve(parts, state, true).await?;
        let expired = visit.link.state(state.clock.now_ms()) == LinkState::Expired;
        Ok(AnyVisit { visit, expired })
    }
}

async fn resolve(
    parts: &mut Parts,
    state: &AppState,
    expired_ok: bool,
) -> Result<LinkVisit, Refused> {
    let knock = Knock::read(parts, state).await?;
    let found = by_token(&state.db, &knock.token)
        .await
        .map_err(|e| knock.refuse(e))?;
    let Some((link, generation)) = found else {
        return Err(knock.miss(state, "linkprobe").await);
    };
    match link.state(state.clock.now_ms()) {
        LinkState::Active => {}
        LinkState::Expired if expired_ok => {}
        ended => {
            let mut refused = knock.refuse(AppError::Gone);
            refused.gone_revoked = Some(ended == LinkState::Revoked);
            return Err(refused);
        }
    }
    link.ip_allow
        .check(&knock.client)
        .map_err(|e| knock.refuse(e))?;
    let unlock = unlock::read(
        &parts.headers,
        &link,
        state.secret.expose(),
        state.clock.now_ms(),
    );
    Ok(LinkVisit {
        link,
        unlock,
        generation,
        token: knock.token,
        client: knock.client,
    })
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
