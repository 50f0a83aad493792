//! The one-click unsubscribe address every digest carries.

/// The one-click unsubscribe token, naming the account (`token::signed_subject`).
const UNSUBSCRIBE_AUD: &str = "assetport-unsubscribe";

pub fn unsubscribe_token(secret: &str, user_id: &str) -> String {
    crate::token::signed_subject(secret, UNSUBSCRIBE_AUD, user_id)
}

/// The account an unsubscribe token names, if the signature holds.
pub fn unsubscribe_user(secret: &str, token: &str) -> Option<String> {
    crate::token::subject_of(secret, UNSUBSCRIBE_AUD, token)
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
