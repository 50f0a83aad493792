//! Signing as the Standard Webhooks specification says (standardwebhooks.com): the secret is
//! `whsec_` + base64 of random bytes, the key is those bytes, and `webhook-signature` is
//! `v1,` + base64(HMAC-SHA256(key, "{webhook-id}.{webhook-timestamp}.{body}")), the timestamp
//! in Unix seconds. Receivers verify with any Standard Webhooks library, or in a few lines.
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::secret_string::SecretString;

const PREFIX: &str = "whsec_";
/// Random bytes in a new secret (the specification asks for 24 to 64).
const SECRET_BYTES: usize = 24;

/// A new endpoint secret, `whsec_<base64 of 24 random bytes>`.
pub fn new_secret() -> SecretString {
    let raw = crate::token::random_bytes(SECRET_BYTES);
    SecretString::from(format!("{PREFIX}{}", STANDARD.encode(raw)))
}

/// A stored secret that is not `whsec_<base64>` (only a hand-edited row could be).
#[derive(Debug, thiserror::Error)]
#[error("the endpoint's secret is not a whsec_ secret")]
pub struct BadSecret;

/// The `webhook-signature` header for one attempt: `v1,<base64 signature>`.
pub fn signature(
    secret: &SecretString,
    id: &str,
    timestamp: i64,
    body: &str,
) -> Result<String, BadSecret> {
    let key = secret
        .expose()
        .strip_prefix(PREFIX)
        .and_then(|k| STANDARD.decode(k).ok())
        .filter(|k| !k.is_empty())
        .ok_or(BadSecret)?;
    // HMAC takes a key of any length; `new_from_slice` cannot fail for it.
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).map_err(|_| BadSecret)?;
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body.as_bytes());
    Ok(format!(
        "v1,{}",
        STANDARD.encode(mac.finalize().into_bytes())
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example of the Standard Webhooks specification (and of its reference libraries).
    #[test]
    fn signs_the_specifications_example() {
        let secret = SecretString::from("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
        let sig = signature(
            &secret,
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            r#"{"test": 2432232314}"#,
        )
        .unwrap();
        assert_eq!(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    #[test]
    fn new_secrets_are_whsec_with_24_random_bytes() {
        let a = new_secret();
        let b = new_secret();
        assert_ne!(a.expose(), b.expose());
        let raw = STANDARD
            .decode(a.expose().strip_prefix("whsec_").unwrap())
            .unwrap();
        assert_eq!(raw.len(), 24);
        assert_eq!(format!("{a:?}"), "***");
    }

    #[test]
    fn a_malformed_secret_signs_nothing() {
        for s in [
            "",
            "whsec_",
            "whsec_!!!",
            "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        ] {
            assert!(
                signature(&SecretString::from(s), "id", 1, "{}").is_err(),
                "{s}"
            );
        }
    }
}
