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
    // Read as bytes: a token is checked once, in one vectorized pass, and the header as a
    // whole only when it is refused (to say whether it was text at all).
    let bytes = value.as_bytes();
    let malformed = |reason| {
        BearerHeader::Malformed(if is_visible_ascii(bytes) {
            reason
        } else {
            "the Authorization header is not ASCII"
        })
    };
    let Some(space) = memchr::memchr(b' ', bytes) else {
        return malformed("the Authorization header has no credential");
    };
    let (scheme, credential) = (&bytes[..space], &bytes[space + 1..]);
    if !scheme.eq_ignore_ascii_case(b"bearer") {
        // Other schemes (Basic, ...) are the application's business.
        return if is_visible_ascii(bytes) {
            BearerHeader::Missing
        } else {
            malformed("")
        };
    }
    let credential = credential.trim_ascii();
    if credential.is_empty() || credential.len() > MAX_TOKEN_BYTES {
        return malformed("the bearer token is empty or too large");
    }
    if credential.starts_with(b"{") {
        return match serde_json::from_slice::<serde_json::Value>(credential) {
            _ if !is_visible_ascii(bytes) => malformed(""),
            Ok(serde_json::Value::Object(dict)) => match dict.get("access_token") {
                Some(serde_json::Value::String(token)) if !token.is_empty() => {
                    BearerHeader::Token(Cow::Owned(token.clone()))
                }
                _ => malformed("the JSON bearer credential has no access_token"),
            },
            _ => malformed("the bearer credential is not valid JSON"),
        };
    }
    // Without an early exit, so that the check is vectorized: tokens are long.
    let graphic = credential
        .iter()
        .fold(true, |all, &b| all & b.is_ascii_graphic());
    match std::str::from_utf8(credential) {
        Ok(credential) if graphic => BearerHeader::Token(Cow::Borrowed(credential)),
        _ => malformed("the bearer token has invalid characters"),
    }
}

/// What `HeaderValue::to_str` accepts: tabs and visible ASCII.
fn is_visible_ascii(bytes: &[u8]) -> bool {
    bytes.iter().fold(true, |all, &b| {
        all & (b == b'\t' || (b' '..=b'~').contains(&b))
    })
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

    /// The header read as text first, as it was before it was read as bytes.
    fn read_as_text(headers: &HeaderMap) -> String {
        let Some(value) = headers.get(AUTHORIZATION) else {
            return "missing".into();
        };
        let Ok(value) = value.to_str() else {
            return "malformed:the Authorization header is not ASCII".into();
        };
        let Some((scheme, credential)) = value.split_once(' ') else {
            return "malformed:the Authorization header has no credential".into();
        };
        if !scheme.eq_ignore_ascii_case("bearer") {
            return "missing".into();
        }
        let credential = credential.trim_matches(|c: char| c.is_ascii_whitespace());
        if credential.is_empty() || credential.len() > MAX_TOKEN_BYTES {
            return "malformed:the bearer token is empty or too large".into();
        }
        if credential.starts_with('{') {
            return match serde_json::from_str::<serde_json::Value>(credential) {
                Ok(serde_json::Value::Object(dict)) => match dict.get("access_token") {
                    Some(serde_json::Value::String(token)) if !token.is_empty() => {
                        format!("token:{token}")
                    }
                    _ => "malformed:the JSON bearer credential has no access_token".into(),
                },
                _ => "malformed:the bearer credential is not valid JSON".into(),
            };
        }
        if credential.bytes().all(|b| b.is_ascii_graphic()) {
            format!("token:{credential}")
        } else {
            "malformed:the bearer token has invalid characters".into()
        }
    }

    fn classified(headers: &HeaderMap) -> String {
        match from_headers(headers) {
            BearerHeader::Missing => "missing".into(),
            BearerHeader::Token(token) => format!("token:{token}"),
            BearerHeader::Malformed(why) => format!("malformed:{why}"),
        }
    }

    proptest::proptest! {
        #[test]
        fn bytes_are_classified_as_the_text_was(
            scheme in "(Bearer|bearer|Basic|Bear|)",
            gap in "[ \t]{0,2}",
            credential in proptest::collection::vec(
                proptest::prop_oneof![
                    proptest::char::range('!', '~'),
                    proptest::strategy::Just(' '),
                    proptest::strategy::Just('\t'),
                    proptest::strategy::Just('{'),
                    proptest::strategy::Just('é'),
                ],
                0..40,
            ),
        ) {
            let value = format!("{scheme}{gap}{}", credential.iter().collect::<String>());
            if let Ok(value) = HeaderValue::from_bytes(value.as_bytes()) {
                let mut headers = HeaderMap::new();
                headers.insert(AUTHORIZATION, value);
                proptest::prop_assert_eq!(classified(&headers), read_as_text(&headers));
            }
        }

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
