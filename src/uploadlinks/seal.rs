//! An upload link's token, kept sealed so that a mail sent later (a reviewer's "changes
//! requested", issue 19 part 5) can point back to the same link: tokens are otherwise stored
//! only as their hash and shown once.
//!
//! Sealing is a one-time pad: the token's 32 random bytes XOR HMAC-SHA256(shared secret,
//! "assetport-upload-link-token" ‖ link id). HMAC is a PRF, each link id gets its own pad and
//! each link has exactly one token (upload links are never rotated), so the pad is used once.
//! Opening checks the result against the stored hash, so a damaged or foreign column opens to
//! nothing. The seal is as strong as the shared secret: set `ASSETPORT_SECRET` outside the
//! database if database dumps leave the house (the same caveat as webhook secrets).
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::URL_SAFE_NO_PAD;

fn pad(secret: &str, link_id: &str) -> Option<[u8; 32]> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).ok()?;
    mac.update(b"assetport-upload-link-token\0");
    mac.update(link_id.as_bytes());
    Some(mac.finalize().into_bytes().into())
}

/// The sealed form of `token` (`u_` + 32 bytes), hex; empty if it has another shape.
pub fn seal(secret: &str, link_id: &str, token: &str) -> String {
    let raw = token.strip_prefix("u_").and_then(|t| B64.decode(t).ok());
    match (raw, pad(secret, link_id)) {
        (Some(raw), Some(pad)) if raw.len() == 32 => {
            hex::encode(raw.iter().zip(pad).map(|(a, b)| a ^ b).collect::<Vec<u8>>())
        }
        _ => String::new(),
    }
}

/// The token again, if `sealed` opens to one whose hash is `token_hash`.
pub fn open(secret: &str, link_id: &str, sealed: &str, token_hash: &str) -> Option<String> {
    let bytes = hex::decode(sealed).ok().filter(|b| b.len() == 32)?;
    let pad = pad(secret, link_id)?;
    let raw: Vec<u8> = bytes.iter().zip(pad).map(|(a, b)| a ^ b).collect();
    let token = format!("u_{}", B64.encode(raw));
    crate::token::secret_eq(&crate::token::hash_token(&token), token_hash).then_some(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_only_with_the_same_secret_and_link() {
        let token = crate::token::new_token("u");
        let hash = crate::token::hash_token(&token);
        let sealed = seal("s3cret", "link1", &token);
        assert_eq!(sealed.len(), 64);
        assert!(!sealed.contains(&token[2..]));
        assert_eq!(open("s3cret", "link1", &sealed, &hash), Some(token));
        assert_eq!(open("other", "link1", &sealed, &hash), None);
        assert_eq!(open("s3cret", "link2", &sealed, &hash), None);
        assert_eq!(open("s3cret", "link1", "", &hash), None);
    }
}
