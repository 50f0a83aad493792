//! Secrets made in one place: random bytes from the OS RNG (as hex for secrets, error
//! references and multipart boundaries; URL-safe with a readable prefix for API tokens, share
//! and upload links; six digits for one-time codes), the hash they are stored under, and
//! constant-time comparison. Used by accounts, links, upload links, CSRF and errors.
use base64::Engine;
use sha2::{Digest, Sha256};

/// `n` random bytes as hex (secrets, references, multipart boundaries).
pub fn random_hex(n: usize) -> String {
    hex::encode(random_bytes(n))
}

pub fn random_bytes(n: usize) -> Vec<u8> {
    let mut buf = vec![0u8; n];
    fill(&mut buf);
    buf
}

fn fill(buf: &mut [u8]) {
    // The OS RNG failing is not something a request can recover from, and carrying on with
    // predictable secrets would be worse than stopping.
    #[allow(clippy::expect_used)]
    getrandom::fill(buf).expect("OS random number generator unavailable");
}

/// A new URL-safe secret token with a readable prefix (`apt_…`): 32 random bytes.
pub fn new_token(prefix: &str) -> String {
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(random_bytes(32));
    format!("{prefix}_{raw}")
}

/// How tokens are stored: hex SHA-256.
pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Constant-time equality for secrets compared directly (CSRF tokens).
pub fn secret_eq(a: &str, b: &str) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// A uniformly random six-digit code (`000000`–`999999`) for one-time codes sent by mail.
pub fn six_digits() -> String {
    loop {
        let mut b = [0u8; 4];
        fill(&mut b);
        let n = u32::from_le_bytes(b) & 0x00FF_FFFF; // 0..16,777,216
                                                     // Rejection keeps every code equally likely.
        if n < 16_000_000 {
            return format!("{:06}", n % 1_000_000);
        }
    }
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Addressed {
    sub: String,
    aud: String,
}

/// A signed, storage-free address token naming `sub` for one purpose (`aud`): an HS256 JWT with
/// the instances' shared secret, so any instance checks it, for as long as `sub` exists. Used
/// by the digests' unsubscribe and the recall notices' acknowledge addresses.
pub fn signed_subject(secret: &str, aud: &str, sub: &str) -> String {
    let claims = Addressed {
        sub: sub.to_string(),
        aud: aud.to_string(),
    };
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap_or_default()
}

/// What a `signed_subject` token for `aud` names, if its signature holds.
pub fn subject_of(secret: &str, aud: &str, token: &str) -> Option<String> {
    if token.len() > 1000 {
        return None;
    }
    let mut v = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
    v.set_audience(&[aud]);
    v.required_spec_claims = ["aud", "sub"].iter().map(|s| s.to_string()).collect();
    v.validate_exp = false;
    jsonwebtoken::decode::<Addressed>(
        token,
        &jsonwebtoken::DecodingKey::from_secret(secret.as_bytes()),
        &v,
    )
    .ok()
    .map(|d| d.claims.sub)
}
