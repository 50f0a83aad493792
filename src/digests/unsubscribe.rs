//! The one-click unsubscribe address every digest carries.
use serde::{Deserialize, Serialize};

/// The one-click unsubscribe token: a JWT signed with the instances' shared secret, naming the
/// account; it needs no storage and works from any instance, for as long as the account exists.
#[derive(Serialize, Deserialize)]
struct UnsubscribeClaims {
    sub: String,
    aud: String,
}

const UNSUBSCRIBE_AUD: &str = "assetport-unsubscribe";

pub fn unsubscribe_token(secret: &str, user_id: &str) -> String {
    let claims = UnsubscribeClaims {
        sub: user_id.to_string(),
        aud: UNSUBSCRIBE_AUD.into(),
    };
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap_or_default()
}

/// The account an unsubscribe token names, if the signature holds.
pub fn unsubscribe_user(secret: &str, token: &str) -> Option<String> {
    if token.len() > 1000 {
        return None;
    }
    let mut v = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
    v.set_audience(&[UNSUBSCRIBE_AUD]);
    v.required_spec_claims = ["aud", "sub"].iter().map(|s| s.to_string()).collect();
    v.validate_exp = false;
    jsonwebtoken::decode::<UnsubscribeClaims>(
        token,
        &jsonwebtoken::DecodingKey::from_secret(secret.as_bytes()),
        &v,
    )
    .ok()
    .map(|d| d.claims.sub)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsubscribe_tokens_name_their_account_only_with_the_right_key() {
        let t = unsubscribe_token("k1", "user-1");
        assert_eq!(unsubscribe_user("k1", &t).as_deref(), Some("user-1"));
        assert_eq!(unsubscribe_user("k2", &t), None);
        assert_eq!(unsubscribe_user("k1", "garbage"), None);
        let mut forged = t.clone();
        forged.pop();
        assert_eq!(unsubscribe_user("k1", &forged), None);
    }
}
