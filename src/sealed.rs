//! A secret kept at rest so it can be shown or used again — an identity provider's client
//! secret, a share link's token (only its hash is used for lookups): ChaCha20-Poly1305 (ring)
//! under a key derived from the shared secret and the value's purpose, a random nonce per
//! sealing, the row's id as associated data (a sealed value moved to another row does not
//! open). Stored as hex `nonce ‖ ciphertext`. Like every secret kept in the database, it is as
//! strong as `ASSETPORT_SECRET`: set that outside the database when dumps leave the house.
use hmac::{Hmac, Mac};
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, CHACHA20_POLY1305, NONCE_LEN};
use sha2::Sha256;

/// What a sealed value is; each purpose has its own key.
#[derive(Clone, Copy)]
pub enum Purpose {
    SsoClientSecret,
    ShareLinkToken,
}

impl Purpose {
    fn label(self) -> &'static [u8] {
        match self {
            Purpose::SsoClientSecret => b"assetport-sso-client-secret",
            Purpose::ShareLinkToken => b"assetport-share-link-token",
        }
    }
}

fn key(secret: &str, purpose: Purpose) -> Option<LessSafeKey> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).ok()?;
    mac.update(purpose.label());
    let k = mac.finalize().into_bytes();
    UnboundKey::new(&CHACHA20_POLY1305, &k)
        .ok()
        .map(LessSafeKey::new)
}

/// `value` sealed for row `id`; empty for an empty value.
pub fn seal(secret: &str, purpose: Purpose, id: &str, value: &str) -> String {
    if value.is_empty() {
        return String::new();
    }
    let Some(key) = key(secret, purpose) else {
        return String::new();
    };
    let nonce_bytes: [u8; NONCE_LEN] = crate::token::random_bytes(NONCE_LEN)
        .try_into()
        .unwrap_or([0; NONCE_LEN]);
    let mut buf = value.as_bytes().to_vec();
    let nonce = Nonce::assume_unique_for_key(nonce_bytes);
    if key
        .seal_in_place_append_tag(nonce, Aad::from(id.as_bytes()), &mut buf)
        .is_err()
    {
        return String::new();
    }
    let mut out = nonce_bytes.to_vec();
    out.extend(buf);
    hex::encode(out)
}

/// The value again, if `sealed` was sealed for `id` and `purpose` under this secret.
pub fn open(secret: &str, purpose: Purpose, id: &str, sealed: &str) -> Option<String> {
    let bytes = hex::decode(sealed).ok().filter(|b| b.len() > NONCE_LEN)?;
    let (n, ct) = bytes.split_at(NONCE_LEN);
    let nonce = Nonce::try_assume_unique_for_key(n).ok()?;
    let mut buf = ct.to_vec();
    let plain = key(secret, purpose)?
        .open_in_place(nonce, Aad::from(id.as_bytes()), &mut buf)
        .ok()?;
    String::from_utf8(plain.to_vec()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_only_with_the_same_secret_purpose_and_row() {
        const SSO: Purpose = Purpose::SsoClientSecret;
        let s = seal("k", SSO, "okta", "client secret");
        assert!(!s.contains("client"));
        assert_ne!(
            s,
            seal("k", SSO, "okta", "client secret"),
            "a fresh nonce each time"
        );
        assert_eq!(open("k", SSO, "okta", &s).as_deref(), Some("client secret"));
        assert_eq!(open("other", SSO, "okta", &s), None);
        assert_eq!(open("k", SSO, "entra", &s), None);
        assert_eq!(open("k", Purpose::ShareLinkToken, "okta", &s), None);
        assert_eq!(open("k", SSO, "okta", "00"), None);
        assert_eq!(seal("k", SSO, "okta", ""), "");
    }
}
