//! CSRF protection for every state-changing browser request (SPEC §2.6): a per-session token,
//! sent back either as the `csrf_token` form field or as the `X-CSRF-Token` header (uploads from
//! JavaScript). Checked once, in middleware, so no handler can forget it.
use axum::body::{to_bytes, Body};
use axum::extract::{Request, State};
use axum::http::{header, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tower_sessions::Session;

use crate::error::{AppError, PageError};
use crate::token;

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
    let t = token::random_hex(32);
    session
        .insert(KEY, &t)
        .await
        .map_err(|e| AppError::Internal(e.into()))?;
    Ok(t)
}

/// A fresh token (at login, so a token seen before login is worthless after).
pub async fn rotate(session: &Session) -> Result<(), AppError> {
    session
        .insert(KEY, token::random_hex(32))
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

/// A web origin: scheme, host and port (the default port of the scheme when none is given).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Origin {
    scheme: String,
    host: String,
    port: u16,
}

impl Origin {
    /// `http://127.0.0.1`, the origin of last resort for a hand-made config.
    pub fn loopback() -> Origin {
        Origin {
            scheme: "http".into(),
            host: "127.0.0.1".into(),
            port: 80,
        }
    }

    /// Parses `scheme://host[:port]` (a path after it is ignored, so a public URL will do).
    pub fn parse(s: &str) -> Option<Origin> {
        let uri: axum::http::Uri = s.trim().parse().ok()?;
        let scheme = uri.scheme_str()?.to_ascii_lowercase();
        let host = uri.host()?.to_ascii_lowercase();
        let port = uri.port_u16().or(match scheme.as_str() {
            "http" => Some(80),
            "https" => Some(443),
            _ => None,
        })?;
        Some(Origin { scheme, host, port })
    }
}

/// Whether the request's Origin is another origin than this site's. This site is the public
/// URL (scheme, host and port), or the host the request was sent to under the public URL's
/// scheme: TLS usually ends at a proxy in front, so the request itself cannot tell whether the
/// browser used https, and the configured scheme is what a same-site page was served over. So
/// `http://portal` posting to a portal published as `https://portal` is refused.
fn cross_site(req: &Request, public: &Origin) -> bool {
    let h = req.headers();
    let Some(origin) = h.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let Some(origin) = Origin::parse(origin) else {
        return true;
    };
    if origin == *public {
        return false;
    }
    let here = h
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .and_then(|host| Origin::parse(&format!("{}://{host}", public.scheme)));
    here.is_none_or(|here| here != origin)
}

/// Whether a request comes from another site: `Sec-Fetch-Site: cross-site`, or an Origin naming
/// another origin (scheme, host or port). Pages sent with `Referrer-Policy: no-referrer` (share links, the password
/// reset page) are posted by browsers with `Origin: null`, which proves nothing either way;
/// `Sec-Fetch-Site` still tells a cross-site post apart, and the token check does the rest.
fn from_another_site(req: &Request, public: &Origin) -> bool {
    let h = req.headers();
    let fetch_cross = h
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == "cross-site");
    let null_origin = h
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == "null");
    fetch_cross || (!null_origin && cross_site(req, public))
}

/// For forms without a session (share links): they post to a secret URL that only a holder of
/// the link knows, so the secret is the token; cross-site posts are refused on top.
pub async fn same_origin_only(State(public): State<Origin>, req: Request, next: Next) -> Response {
    let unsafe_method = !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if unsafe_method && from_another_site(&req, &public) {
        return refused();
    }
    next.run(req).await
}

pub async fn protect(
    State(public): State<Origin>,
    session: Session,
    req: Request,
    next: Next,
) -> Response {
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return next.run(req).await;
    }
    // A cross-site post is refused outright, whatever token it carries.
    if from_another_site(&req, &public) {
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
        return if token::secret_eq(sent, &expected) {
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
            .any(|(k, v)| k == "csrf_token" && token::secret_eq(v, &expected));
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
        .any(|(k, v)| k == "csrf_token" && token::secret_eq(v, &expected));
    if !ok {
        return refused();
    }
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}
