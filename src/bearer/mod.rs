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
    /// Visible ASCII (`!` to `~`), checked: kept as bytes, since a cached token is found
    /// by them and only one that must be verified is read as text.
    Token(Cow<'a, [u8]>),
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
                    BearerHeader::Token(Cow::Owned(token.clone().into_bytes()))
                }
                _ => malformed("the JSON bearer credential has no access_token"),
            },
            _ => malformed("the bearer credential is not valid JSON"),
        };
    }
    if all_graphic(credential) {
        BearerHeader::Token(Cow::Borrowed(credential))
    } else {
        malformed("the bearer token has invalid characters")
    }
}

/// Whether every byte is visible ASCII (`!` to `~`), as a token's must be. Tokens are
/// hundreds of bytes, checked on every request: the least and the greatest byte are found
/// in lanes the compiler vectorizes (a byte-wise minimum and maximum), with no early exit.
fn all_graphic(bytes: &[u8]) -> bool {
    const LANES: usize = 32;
    // The last lanes' worth is read whole, overlapping the chunk before it: a byte counted
    // twice changes neither bound.
    let Some(last) = bytes
        .len()
        .checked_sub(LANES)
        .and_then(|start| bytes.get(start..))
    else {
        return bytes.iter().all(u8::is_ascii_graphic);
    };
    let mut least = [u8::MAX; LANES];
    let mut greatest = [0u8; LANES];
    let mut bound = |chunk: &[u8]| {
        for ((least, greatest), &byte) in least.iter_mut().zip(&mut greatest).zip(chunk) {
            *least = (*least).min(byte);
            *greatest = (*greatest).max(byte);
        }
    };
    bytes.chunks_exact(LANES).for_each(&mut bound);
    bound(last);
    let least = least.iter().copied().fold(u8::MAX, u8::min);
    let greatest = greatest.iter().copied().fold(0, u8::max);
    least >= b'!' && greatest <= b'~'
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
            BearerHeader::Token(token) => format!("token:{}", String::from_utf8_lossy(&token)),
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

    #[test]
    fn graphic_bytes_are_told_apart_at_any_length_and_place() {
        for len in 0..100 {
            let token: Vec<u8> = (0..len).map(|at| b'!' + (at % 94) as u8).collect();
            assert!(all_graphic(&token), "{len}");
            for at in 0..len {
                for bad in [b' ', b'\t', 0, 0x7f, 0x80, 0xff] {
                    let mut forged = token.clone();
                    forged[at] = bad;
                    assert!(!all_graphic(&forged), "{len} {at} {bad}");
                }
            }
        }
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
            BearerHeader::Token(token) => format!("token:{}", String::from_utf8_lossy(&token)),
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
