//! The `htu` claim against the request's URL (RFC 9449, section 4.3): scheme, authority and
//! path, compared after RFC 3986 syntax-based normalisation; a claim carrying a query or
//! a fragment is refused.

use url::Url;

use crate::config::{Config, RedirectUri};
use crate::request::RequestView;

/// The URL the client addressed: the public origin (the configured redirect URI's, else the
/// request's as the layer reads it for callback URLs) and the request's path.
pub(crate) fn expected(config: &Config, request: &RequestView<'_>) -> Option<Url> {
    let origin = match &config.redirect_uri {
        RedirectUri::Absolute(url) => url.origin().ascii_serialization(),
        RedirectUri::Path(_) => request.origin(config)?,
    };
    if !request.path.starts_with('/') {
        return None;
    }
    Url::parse(&format!("{origin}{}", request.path)).ok()
}

/// Whether the proof's `htu` names `expected`.
pub(crate) fn check(htu: &str, expected: &Url) -> Result<(), &'static str> {
    let claimed = Url::parse(htu).map_err(|_| "htu is not an absolute URL")?;
    if claimed.query().is_some() || claimed.fragment().is_some() {
        return Err("htu must not carry a query or a fragment");
    }
    let same = claimed.scheme() == expected.scheme()
        && claimed.host() == expected.host()
        && claimed.port_or_known_default() == expected.port_or_known_default()
        && normalize_path(claimed.path()) == normalize_path(expected.path());
    if same {
        Ok(())
    } else {
        Err("htu does not match the request's URL")
    }
}

/// Percent-encoded unreserved characters decoded, other percent-encodings upper case
/// (RFC 3986, sections 6.2.2.1 and 6.2.2.2); dot segments are already gone from a parsed URL.
fn normalize_path(path: &str) -> String {
    let bytes = path.as_bytes();
    let mut out = String::with_capacity(path.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = path.get(i + 1..i + 3).unwrap_or_default();
            if let Some(byte) = (hex.len() == 2)
                .then(|| u8::from_str_radix(hex, 16).ok())
                .flatten()
            {
                if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
                    out.push(char::from(byte));
                } else {
                    out.push('%');
                    out.push_str(&hex.to_ascii_uppercase());
                }
                i += 3;
                continue;
            }
        }
        let next = path[i..].chars().next().unwrap_or_default();
        out.push(next);
        i += next.len_utf8().max(1);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(text: &str) -> Url {
        Url::parse(text).expect("url")
    }

    #[test]
    fn scheme_authority_and_path_must_match() {
        let expected = url("https://api.example.com/orders/7");
        for same in [
            "https://api.example.com/orders/7",
            "HTTPS://API.EXAMPLE.COM/orders/7",
            "https://api.example.com:443/orders/7",
            "https://api.example.com/orders/./7",
            "https://api.example.com/%6Frders/7",
        ] {
            assert_eq!(check(same, &expected), Ok(()), "{same}");
        }
        for other in [
            "http://api.example.com/orders/7",
            "https://evil.example.com/orders/7",
            "https://api.example.com:8443/orders/7",
            "https://api.example.com/orders/8",
            "https://api.example.com/Orders/7",
            "/orders/7",
        ] {
            assert!(check(other, &expected).is_err(), "{other}");
        }
    }

    #[test]
    fn a_query_or_fragment_in_htu_is_refused() {
        let expected = url("https://api.example.com/orders");
        for bad in [
            "https://api.example.com/orders?id=7",
            "https://api.example.com/orders?",
            "https://api.example.com/orders#top",
        ] {
            assert_eq!(
                check(bad, &expected),
                Err("htu must not carry a query or a fragment"),
                "{bad}"
            );
        }
    }

    #[test]
    fn percent_encodings_are_normalised() {
        assert_eq!(normalize_path("/a%2fb%7e%41"), "/a%2Fb~A");
        assert_eq!(normalize_path("/50%"), "/50%");
        assert_eq!(normalize_path("/%zz"), "/%zz");
    }
}
