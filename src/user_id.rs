//! The user id: the value of the configured claim, taken the same way for a browser
//! sign-in and for a bearer token.

use serde_json::{Map, Value};

/// Why the claims name no user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum UserIdError {
    /// The configured claim is absent, empty or not a string or number.
    Missing,
    /// The claim is `email` and the provider does not say it verified the address.
    EmailNotVerified,
}

/// The user id from `claim`. With `email` as the claim, the address counts only when
/// `email_verified` is JSON `true` (an absent claim, or the string `"false"` that some
/// userinfo endpoints send, is not), unless `trust_unverified_email`: at providers where
/// users choose their own address, an unverified one lets a user pose as another.
/// There is no fallback to another claim: a token without the configured claim names no
/// one this application knows.
pub(crate) fn from_claims(
    claims: &Map<String, Value>,
    claim: &str,
    trust_unverified_email: bool,
) -> Result<String, UserIdError> {
    let value = match claims.get(claim) {
        Some(Value::String(text)) if !text.is_empty() => text.clone(),
        Some(Value::Number(number)) => number.to_string(),
        _ => return Err(UserIdError::Missing),
    };
    let verified = claims.get("email_verified") == Some(&Value::Bool(true));
    if claim == "email" && !verified && !trust_unverified_email {
        return Err(UserIdError::EmailNotVerified);
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::test_support::claims;

    #[test]
    fn the_configured_claim_or_nothing() {
        let c = claims(json!({"sub": "abc", "n": 7, "client_id": "svc", "empty": ""}));
        assert_eq!(from_claims(&c, "sub", false), Ok("abc".into()));
        assert_eq!(from_claims(&c, "n", false), Ok("7".into()));
        assert_eq!(from_claims(&c, "upn", false), Err(UserIdError::Missing));
        assert_eq!(from_claims(&c, "empty", false), Err(UserIdError::Missing));
    }

    #[test]
    fn an_email_counts_only_when_verified_is_json_true() {
        for verified in [
            json!(false),
            json!("false"),
            json!("true"),
            json!(1),
            Value::Null,
        ] {
            let c = claims(json!({"email": "a@x", "email_verified": verified}));
            assert_eq!(
                from_claims(&c, "email", false),
                Err(UserIdError::EmailNotVerified),
                "{verified}"
            );
            assert_eq!(from_claims(&c, "email", true), Ok("a@x".into()));
        }
        let absent = claims(json!({"email": "a@x"}));
        assert_eq!(
            from_claims(&absent, "email", false),
            Err(UserIdError::EmailNotVerified)
        );
        let verified = claims(json!({"email": "a@x", "email_verified": true}));
        assert_eq!(from_claims(&verified, "email", false), Ok("a@x".into()));
    }
}
