//! Who a sender is, without an account: a random token in a cookie scoped to the link's path
//! (`assetport_sender`, `Path=/u/<token>`, `HttpOnly`, `SameSite=Lax`, until 90 days after the
//! link's end as it stands, so a link extended later keeps its senders).
//! Files a sender delivers carry the token's hash (`assets.upload_sender`), so after a reload
//! the page lists that sender's deliveries and nobody else's. The token is 256 random bits and
//! stored only as its hash, like every other token; a browser without it is a new sender.
use axum::http::{HeaderMap, HeaderValue};

use super::UploadLink;
use crate::web::signed_cookie;

const COOKIE: &str = "assetport_sender";
/// How long the cookie outlives the link's end as it stands when the cookie is set.
const KEEP_AFTER_MS: i64 = 90 * 24 * 3600 * 1000;

/// A sender: the hash that marks their files, and the cookie to set when the token is new.
pub struct Sender {
    pub hash: String,
    pub set_cookie: Option<HeaderValue>,
}

/// The sender of this request, or a new one (then `set_cookie` carries the new token).
pub fn of_request(
    headers: &HeaderMap,
    link: &UploadLink,
    link_token: &str,
    secure: bool,
    now: i64,
) -> Sender {
    let given =
        signed_cookie::value(headers, COOKIE).filter(|t| t.starts_with("s_") && t.len() <= 100);
    if let Some(t) = given {
        return Sender {
            hash: crate::token::hash_token(t),
            set_cookie: None,
        };
    }
    let token = crate::token::new_token("s");
    let max_age = ((link.expires_at + KEEP_AFTER_MS - now) / 1000).max(0);
    let cookie = format!(
        "{COOKIE}={token}; Path=/u/{link_token}; Max-Age={max_age}; HttpOnly; SameSite=Lax{}",
        if secure { "; Secure" } else { "" }
    );
    Sender {
        hash: crate::token::hash_token(&token),
        set_cookie: HeaderValue::from_str(&cookie).ok(),
    }
}
