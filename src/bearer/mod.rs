//! Bearer access tokens on protected routes: JWTs verified against the provider's keys,
//! opaque tokens through introspection, verified tokens cached until they expire.

pub(crate) mod cache;
pub(crate) mod introspect;
pub(crate) mod introspect_guard;

use std::borrow::Cow;

use http::header::AUTHORIZATION;
use http::HeaderMap;

use crate::token::header::MAX_TOKEN_BYTES;

/// Why a bearer token was not accepted.
#[derive(Debug)]
pub(crate) enum BearerError {
    /// `401 invalid_token`.
    Invalid(String),
    /// The provider (keys, introspection) cannot be asked: `503`.
    Unavailable(String),
    /// The user-detail hook refused this identity: `403`.
    Refused,
    /// The user-detail hook failed: `500`.
    HookFailed(crate::user::HookError),
}

impl BearerError {
    /// The refusal's fixed label, for metrics.
    pub(crate) fn reason_code(&self) -> &'static str {
        match self {
            BearerError::Invalid(_) => "invalid_token",
            BearerError::Unavailable(_) => "provider_unavailable",
            BearerError::Refused => "user_refused",
            BearerError::HookFailed(_) => "user_details_failed",
        }
    }
}

/// The bearer credential of a request.
pub(crate) enum BearerHeader<'a> {
    Missing,
    Token(Cow<'a, str>),
    Malformed(&'static str),
}

/// Reads `Authorization: Bearer <token>`. flaskoidc services send
/// `Bearer <JSON token dict>`; its `access_token` is taken and verified like any token (its
/// `expires_at` is never trusted).
pub(crate) fn from_headers(headers: &HeaderMap) -> BearerHeader<'_> {
    let mut values = headers.get_all(AUTHORIZATION).iter();
    let Some(value) = values.next() else {
        return BearerHeader::Missing;
    };
    if values.next().is_some() {
        return BearerHeader::Malformed("more than one Authorization header");
    }
    let Ok(value) = value.to_str() else {
        return BearerHeader::Malformed("the Authorization header is not ASCII");
    };
    let Some((scheme, credential)) = value.split_once(' ') else {
        return BearerHeader::Malformed("the Authorization header has no credential");
    };
    if !scheme.eq_ignore_ascii_case("bearer") {
        // Other schemes (Basic, ...) are the application's business.
        return BearerHeader::Missing;
    }
    let credential = credential.trim();
    if credential.is_empty() || credential.len() > MAX_TOKEN_BYTES {
        return BearerHeader::Malformed("the bearer token is empty or too large");
    }
    if credential.starts_with('{') {
        return match serde_json::from_str::<serde_json::Value>(credential) {
            Ok(serde_json::Value::Object(dict)) => match dict.get("access_token") {
                Some(serde_json::Value::String(token)) if !token.is_empty() => {
                    BearerHeader::Token(Cow::Owned(token.clone()))
                }
                _ => BearerHeader::Malformed("the JSON bearer credential has no access_token"),
            },
            _ => BearerHeader::Malformed("the bearer credential is not valid JSON"),
        };
    }
    // Without an early exit, so that the check is vectorized: tokens are long.
    let graphic = credential
        .bytes()
        .fold(true, |all, b| all & b.is_ascii_graphic());
    if !graphic {
        return BearerHeader::Malformed("the bearer token has invalid characters");
    }
    BearerHeader::Token(Cow::Borrowed(credential))
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;

    use super::*;

    fn parse(value: &str) -> String {
        let mut headers = HeaderMap::new();
        headers.insert(AUTHORIZATION, HeaderValue::from_str(value).expect("header"));
        match from_headers(&headers) {
            BearerHeader::Missing => "missing".into(),
            BearerHeader::Token(token) => format!("token:{token}"),
            BearerHeader::Malformed(why) => format!("malformed:{why}"),
        }
    }

    #[test]
    fn forms() {
        assert_eq!(parse("Bearer abc.def.ghi"), "token:abc.def.ghi");
        assert_eq!(parse("bearer   abc  "), "token:abc");
        assert_eq!(parse("Basic dXNlcjpwYXNz"), "missing");
        assert_eq!(
            parse(r#"Bearer {"access_token": "a.b.c", "expires_at": 99999999999}"#),
            "token:a.b.c"
        );
        assert!(parse(r#"Bearer {"expires_at": 1}"#).starts_with("malformed"));
        assert!(parse("Bearer {not json").starts_with("malformed"));
        assert!(parse("Bearer ").starts_with("malformed"));
        assert!(parse("Bearer").starts_with("malformed"));
        let mut headers = HeaderMap::new();
        headers.append(AUTHORIZATION, HeaderValue::from_static("Bearer a"));
        headers.append(AUTHORIZATION, HeaderValue::from_static("Bearer b"));
        assert!(matches!(from_headers(&headers), BearerHeader::Malformed(_)));
        assert!(matches!(
            from_headers(&HeaderMap::new()),
            BearerHeader::Missing
        ));
    }

    proptest::proptest! {
        #[test]
        fn any_authorization_header_is_classified(value in "[ -~]{0,200}") {
            if let Ok(value) = HeaderValue::from_str(&value) {
                let mut headers = HeaderMap::new();
                headers.insert(AUTHORIZATION, value);
                let _ = from_headers(&headers);
            }
        }
    }
}
