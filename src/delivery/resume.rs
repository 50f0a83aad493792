//! The proof that a Range request continues a download that was already counted: a signed
//! token the server sets as a cookie on the counted response. It is bound to who downloads
//! (a member, a share link, an upload link), to the stored object (so to asset, version and
//! rendition) and lasts 24 hours. Without it a Range request is a new download, whatever its
//! shape; with it, a request for bytes after the first one is a resume and never counts again.
//!
//! The token is a signed cookie (`web::signed_cookie`), so any instance checks it without a
//! lookup, like the unlock cookie (`links::unlock`).
use axum::http::{HeaderMap, HeaderValue};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::web::signed_cookie;

/// How long a counted download may be resumed.
pub const VALID_MS: i64 = 24 * 60 * 60 * 1000;

#[derive(Serialize, Deserialize)]
struct Claims {
    /// `assetport-resume:<subject>:<object key>`.
    aud: String,
    /// Seconds since the epoch, as JWT wants.
    exp: i64,
    /// The counted download this token continues.
    dl: String,
}

impl signed_cookie::Expires for Claims {
    fn exp(&self) -> i64 {
        self.exp
    }
}

/// Who a token belongs to and where its cookie is sent.
pub struct Holder {
    /// `user:<id>`, `link:<id>` or `upload:<id>`.
    pub subject: String,
    /// The cookie's path: `/` for members, the link's own secret URL for visitors.
    pub path: String,
    /// The token never outlives this (a link's expiry), in ms.
    pub until: i64,
}

fn audience(holder: &Holder, key: &str) -> String {
    format!("assetport-resume:{}:{key}", holder.subject)
}

/// One cookie per stored object, so resuming one file does not forget another.
fn cookie_name(key: &str) -> String {
    let digest = Sha256::digest(key.as_bytes());
    format!("assetport_dl_{}", hex::encode(&digest[..8]))
}

/// The counted download that this request may continue, if it carries a valid token for
/// `holder` and the object `key`.
pub fn read(
    headers: &HeaderMap,
    holder: &Holder,
    key: &str,
    secret: &str,
    now: i64,
) -> Option<String> {
    let aud = audience(holder, key);
    signed_cookie::read::<Claims>(headers, &cookie_name(key), &aud, secret, now).map(|c| c.dl)
}

/// The `Set-Cookie` value that lets download `dl` of `key` be resumed by `holder`.
pub fn cookie(
    holder: &Holder,
    key: &str,
    dl: &str,
    secret: &str,
    secure: bool,
    now: i64,
) -> anyhow::Result<HeaderValue> {
    let expires_ms = (now + VALID_MS).min(holder.until);
    let claims = Claims {
        aud: audience(holder, key),
        exp: expires_ms / 1000,
        dl: dl.to_string(),
    };
    let name = cookie_name(key);
    signed_cookie::set(
        &name,
        &claims,
        &holder.path,
        expires_ms,
        secret,
        secure,
        now,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn holder(subject: &str) -> Holder {
        Holder {
            subject: subject.into(),
            path: "/".into(),
            until: i64::MAX / 2,
        }
    }

    fn request_with(set_cookie: &HeaderValue) -> HeaderMap {
        let pair = set_cookie.to_str().unwrap().split(';').next().unwrap();
        let mut h = HeaderMap::new();
        h.insert(
            axum::http::header::COOKIE,
            HeaderValue::from_str(pair).unwrap(),
        );
        h
    }

    #[test]
    fn a_token_continues_only_its_own_download() {
        let now = crate::clock::Clock::system().now_ms();
        let c = cookie(
            &holder("link:a"),
            "originals/1",
            "dl1",
            "s3cret",
            false,
            now,
        )
        .unwrap();
        let h = request_with(&c);
        assert_eq!(
            read(&h, &holder("link:a"), "originals/1", "s3cret", now).as_deref(),
            Some("dl1")
        );
        // Another link, another object, another secret: nothing.
        assert_eq!(
            read(&h, &holder("link:b"), "originals/1", "s3cret", now),
            None
        );
        assert_eq!(
            read(&h, &holder("link:a"), "originals/2", "s3cret", now),
            None
        );
        assert_eq!(
            read(&h, &holder("link:a"), "originals/1", "other", now),
            None
        );
    }

    #[test]
    fn an_expired_token_is_worthless() {
        let now = crate::clock::Clock::system().now_ms();
        let mut past = holder("user:u");
        past.until = now - 1000;
        let c = cookie(&past, "k", "dl", "s", false, now).unwrap();
        assert_eq!(read(&request_with(&c), &past, "k", "s", now), None);
    }
}
