//! Which sessions a verified back-channel logout token ends.

use serde_json::{Map, Value};

/// The store index keys of the sessions a logout token names (Back-Channel Logout 1.0,
/// section 2.4): with a `sid`, that provider session only, even when a `sub` comes along;
/// with only a `sub`, every session of that user. An unknown `sid` therefore ends nothing,
/// which is also what a session already ended at RP-initiated logout looks like.
pub(crate) fn session_keys(claims: &Map<String, Value>, provider: Option<&str>) -> Vec<String> {
    let named = |claim: &str| {
        claims
            .get(claim)
            .and_then(Value::as_str)
            .filter(|value| !value.is_empty())
    };
    match (named("sid"), named("sub")) {
        (Some(sid), _) => vec![key(provider, "sid", sid)],
        (None, Some(sub)) => vec![key(provider, "sub", sub)],
        (None, None) => Vec::new(),
    }
}

/// The index key of a provider's `sid` or `sub` claim: with several providers, prefixed
/// by the provider's name, since two providers' `sub` values may be equal.
pub(crate) fn key(provider: Option<&str>, claim: &str, value: &str) -> String {
    match provider {
        Some(provider) => format!("{provider}/{claim}:{value}"),
        None => format!("{claim}:{value}"),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn keys(claims: Value) -> Vec<String> {
        session_keys(claims.as_object().expect("object"), None)
    }

    #[test]
    fn a_sid_narrows_the_logout_to_that_session() {
        assert_eq!(keys(json!({"sid": "s1", "sub": "alice"})), ["sid:s1"]);
        assert_eq!(keys(json!({"sub": "alice"})), ["sub:alice"]);
        let claims = json!({"sub": "alice"});
        assert_eq!(
            session_keys(claims.as_object().expect("object"), Some("okta")),
            ["okta/sub:alice"]
        );
        assert_eq!(keys(json!({"sid": "", "sub": "alice"})), ["sub:alice"]);
        assert!(keys(json!({"sid": 5})).is_empty());
    }
}
