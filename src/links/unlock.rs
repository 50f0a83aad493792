//! What a visitor has proven to one link (password, one-time code, accepted terms), remembered in
//! a signed cookie scoped to that link's path. The cookie is a JWT (HS256 with the instances'
//! shared secret, `aud` = the link, required `exp`), so any instance can check it without a
//! lookup, and a cookie from one link is worthless on another. Rotating the token or changing the
//! password bumps the link's epoch, which kills every cookie issued before.
use axum::http::{HeaderMap, HeaderValue};
use serde::{Deserialize, Serialize};

use super::Link;
use crate::web::signed_cookie;

const COOKIE: &str = "assetport_link";
/// An unlock lasts at most this long (and never beyond the link's expiry).
const MAX_AGE_MS: i64 = 12 * 60 * 60 * 1000;

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Unlock {
    /// The password gate was passed.
    pub pw: bool,
    /// The address a one-time code was verified for.
    pub code: Option<String>,
    /// The licence terms were accepted.
    pub terms: bool,
    /// The address a code was last asked for and not yet verified, so the code form need not
    /// ask for it again (and it never travels in a URL).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending: Option<String>,
}

impl Unlock {
    /// Past the password and code gates that hide the link's content.
    pub fn passed_gates(&self, link: &Link) -> bool {
        self.passed_password(link) && self.passed_code(link)
    }
    pub fn passed_password(&self, link: &Link) -> bool {
        link.password_hash.is_none() || self.pw
    }
    pub fn passed_code(&self, link: &Link) -> bool {
        !link.require_code || self.code.is_some()
    }
    /// Licence terms accepted, or none to accept.
    pub fn accepted_terms(&self, link: &Link) -> bool {
        link.terms.is_empty() || self.terms
    }
}

#[derive(Serialize, Deserialize)]
struct Claims {
    aud: String,
    /// Seconds since the epoch, as JWT wants.
    exp: i64,
    epoch: i64,
    #[serde(flatten)]
    unlock: Unlock,
}

/// How long an unlock cookie for an expired link lives (see `cookie_scoped`).
const EXPIRED_LINK_MS: i64 = 60 * 60 * 1000;

/// What an unlock cookie is bound to: a share link (`/s/…`) or an upload link (`/u/…`).
pub struct Scope {
    /// JWT audience: the kind of link and its id.
    pub aud: String,
    /// Bumped to invalidate every cookie issued before.
    pub epoch: i64,
    /// The cookie's path: the link's own secret URL.
    pub path: String,
    pub expires_at: i64,
}

impl Scope {
    pub fn share(link: &Link, token: &str) -> Scope {
        Scope {
            aud: format!("assetport-link:{}", link.id),
            epoch: link.unlock_epoch,
            path: format!("/s/{token}"),
            expires_at: link.expires_at,
        }
    }
}

/// What the request's cookie proves for `link`; nothing if absent, forged, expired, for another
/// link, or from before a rotation.
pub fn read(headers: &HeaderMap, link: &Link, secret: &str, now: i64) -> Unlock {
    read_scoped(headers, &Scope::share(link, ""), secret, now)
}

pub fn read_scoped(headers: &HeaderMap, scope: &Scope, secret: &str, now: i64) -> Unlock {
    match signed_cookie::read::<Claims>(headers, COOKIE, &scope.aud, secret, now) {
        Some(claims) if claims.epoch == scope.epoch => claims.unlock,
        _ => Unlock::default(),
    }
}

/// The `Set-Cookie` value that remembers `unlock` for this link only.
pub fn cookie(
    link: &Link,
    token: &str,
    unlock: &Unlock,
    secret: &str,
    secure: bool,
    now: i64,
) -> anyhow::Result<HeaderValue> {
    cookie_scoped(&Scope::share(link, token), unlock, secret, secure, now)
}

pub fn cookie_scoped(
    scope: &Scope,
    unlock: &Unlock,
    secret: &str,
    secure: bool,
    now: i64,
) -> anyhow::Result<HeaderValue> {
    // A cookie dies with its link; an expired link's (its code gate, passed to ask for a
    // renewal) lives an hour, long enough to send the request.
    let end = if scope.expires_at > now {
        scope.expires_at
    } else {
        now + EXPIRED_LINK_MS
    };
    let expires_ms = (now + MAX_AGE_MS).min(end);
    let claims = Claims {
        aud: scope.aud.clone(),
        exp: expires_ms / 1000,
        epoch: scope.epoch,
        unlock: unlock.clone(),
    };
    signed_cookie::set(
        COOKIE,
        &claims,
        &scope.path,
        expires_ms,
        secret,
        secure,
        now,
    )
}
