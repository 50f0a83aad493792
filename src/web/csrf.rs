//! CSRF protection for every state-changing browser request (SPEC §2.6): a per-session token,
//! sent back either as the `csrf_token` form field or as the `X-CSRF-Token` header (uploads from
//! JavaScript). Checked once, in middleware, so no handler can forget it.
use axum::body::{to_bytes, Body};
use axum::extract::Request;
use axum::http::{header, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tower_sessions::Session;

use crate::accounts::tokens;
use crate::error::{AppError, PageError};

const KEY: &str = "csrf";
/// Largest url-encoded form the middleware will buffer to find the token.
const MAX_FORM: usize = 256 * 1024;

/// The session's CSRF token, created on first use.
pub async fn token(session: &Session) -> Result<String, AppError> {
    if let Some(t) = session
        .get::<String>(KEY)
        .await
        .map_err(|e| AppError::Internal(e.into()))?
    {
        return Ok(t);
    }
    let t = tokens::random_hex(32);
    session
        .insert(KEY, &t)
        .await
        .map_err(|e| AppError::Internal(e.into()))?;
    Ok(t)
}

/// A fresh token (at login, so a token seen before login is worthless after).
pub async fn rotate(session: &Session) -> Result<(), AppError> {
    session
        .insert(KEY, tokens::random_hex(32))
        .await
        .map_err(|e| AppError::Internal(e.into()))
}

fn refused() -> Response {
    PageError(AppError::Forbidden(
        "This form has expired or did not come from this site. Go back, reload the page and try again."
            .into(),
    ))
    .into_response()
}

/// Whether the request says it comes from another site (its Origin differs from its Host).
fn cross_site(req: &Request) -> bool {
    match (
        req.headers()
            .get(header::ORIGIN)
            .and_then(|v| v.to_str().ok()),
        req.headers()
            .get(header::HOST)
            .and_then(|v| v.to_str().ok()),
    ) {
        (Some(origin), Some(host)) => {
            let origin_host = origin.split_once("://").map(|(_, h)| h).unwrap_or(origin);
            origin_host != host
        }
        _ => false,
    }
}

/// Whether a request comes from another site: `Sec-Fetch-Site: cross-site`, or an Origin naming
/// another host. Pages sent with `Referrer-Policy: no-referrer` (share links, the password
/// reset page) are posted by browsers with `Origin: null`, which proves nothing either way;
/// `Sec-Fetch-Site` still tells a cross-site post apart, and the token check does the rest.
fn from_another_site(req: &Request) -> bool {
    let h = req.headers();
    let fetch_cross = h
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == "cross-site");
    let null_origin = h
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == "null");
    fetch_cross || (!null_origin && cross_site(req))
}

/// For forms without a session (share links): they post to a secret URL that only a holder of
/// the link knows, so the secret is the token; cross-site posts are refused on top.
pub async fn same_origin_only(req: Request, next: Next) -> Response {
    let unsafe_method = !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if unsafe_method && from_another_site(&req) {
        return refused();
    }
    next.run(req).await
}

pub async fn protect(session: Session, req: Request, next: Next) -> Response {
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return next.run(req).await;
    }
    // A cross-site post is refused outright, whatever token it carries.
    if from_another_site(&req) {
        return refused();
    }
    let expected = match session.get::<String>(KEY).await {
        Ok(Some(t)) => t,
        _ => return refused(),
    };
    if let Some(sent) = req
        .headers()
        .get("x-csrf-token")
        .and_then(|v| v.to_str().ok())
    {
        return if tokens::secret_eq(sent, &expected) {
            next.run(req).await
        } else {
            refused()
        };
    }
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if content_type.starts_with("multipart/form-data") {
        // A plain HTML file form (a check-in without JavaScript) cannot set a header, and its
        // body is a file too large to buffer: it carries the token in its action URL instead.
        let fields: Vec<(String, String)> =
            serde_urlencoded::from_str(req.uri().query().unwrap_or("")).unwrap_or_default();
        let ok = fields
            .iter()
            .any(|(k, v)| k == "csrf_token" && tokens::secret_eq(v, &expected));
        return if ok { next.run(req).await } else { refused() };
    }
    if !content_type.starts_with("application/x-www-form-urlencoded") {
        return refused();
    }
    let (parts, body) = req.into_parts();
    let Ok(bytes) = to_bytes(body, MAX_FORM).await else {
        return PageError(AppError::TooLarge("form too large".into())).into_response();
    };
    let fields: Vec<(String, String)> = serde_urlencoded::from_bytes(&bytes).unwrap_or_default();
    let ok = fields
        .iter()
        .any(|(k, v)| k == "csrf_token" && tokens::secret_eq(v, &expected));
    if !ok {
        return refused();
    }
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}
