//! Reading `Authorization: DPoP <token>` and its one `DPoP` proof header.

use http::header::AUTHORIZATION;
use http::HeaderMap;

use crate::token::header::MAX_TOKEN_BYTES;

/// The DPoP credential of a request.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum DpopCredential<'a> {
    /// No `Authorization: DPoP` header (another scheme, or none).
    Absent,
    Present {
        token: &'a str,
        proof: &'a str,
    },
    /// `invalid_dpop_proof` (or `invalid_request` for the token), and why.
    Malformed(&'static str),
}

pub(crate) fn from_headers(headers: &HeaderMap) -> DpopCredential<'_> {
    let mut authorizations = headers.get_all(AUTHORIZATION).iter();
    let (Some(authorization), None) = (authorizations.next(), authorizations.next()) else {
        // None, or several: the bearer reading refuses several.
        return DpopCredential::Absent;
    };
    let Some((scheme, token)) = authorization
        .to_str()
        .ok()
        .and_then(|value| value.split_once(' '))
    else {
        return DpopCredential::Absent;
    };
    if !scheme.eq_ignore_ascii_case("dpop") {
        return DpopCredential::Absent;
    }
    let token = token.trim();
    let token68 = token
        .bytes()
        .fold(true, |all, b| all & b.is_ascii_graphic());
    if token.is_empty() || token.len() > MAX_TOKEN_BYTES || !token68 {
        return DpopCredential::Malformed("the DPoP access token is empty, too large or invalid");
    }
    let mut proofs = headers.get_all(super::DPOP).iter();
    let proof = match (proofs.next(), proofs.next()) {
        (None, _) => return DpopCredential::Malformed("a DPoP token needs a DPoP proof header"),
        (Some(_), Some(_)) => return DpopCredential::Malformed("more than one DPoP header"),
        (Some(proof), None) => proof,
    };
    match proof.to_str() {
        Ok(proof) if !proof.contains(',') && !proof.trim().is_empty() => DpopCredential::Present {
            token,
            proof: proof.trim(),
        },
        _ => DpopCredential::Malformed("the DPoP header is not one proof"),
    }
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;

    use super::*;
    use crate::dpop::DPOP;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.append(
                http::HeaderName::from_bytes(name.as_bytes()).expect("name"),
                HeaderValue::from_str(value).expect("value"),
            );
        }
        headers
    }

    #[test]
    fn one_token_and_one_proof() {
        let h = headers(&[("authorization", "DPoP tok.en"), ("dpop", "a.b.c")]);
        assert_eq!(
            from_headers(&h),
            DpopCredential::Present {
                token: "tok.en",
                proof: "a.b.c"
            }
        );
        let lower = headers(&[("authorization", "dpop t"), ("dpop", "a.b.c")]);
        assert!(matches!(
            from_headers(&lower),
            DpopCredential::Present { .. }
        ));
        for other in [
            headers(&[("authorization", "Bearer t"), ("dpop", "a.b.c")]),
            headers(&[("dpop", "a.b.c")]),
            HeaderMap::new(),
        ] {
            assert_eq!(from_headers(&other), DpopCredential::Absent);
        }
    }

    #[test]
    fn two_dpop_headers_are_refused() {
        let mut h = headers(&[("authorization", "DPoP t"), ("dpop", "a.b.c")]);
        h.append(DPOP, HeaderValue::from_static("d.e.f"));
        assert_eq!(
            from_headers(&h),
            DpopCredential::Malformed("more than one DPoP header")
        );
        let joined = headers(&[("authorization", "DPoP t"), ("dpop", "a.b.c, d.e.f")]);
        assert!(matches!(
            from_headers(&joined),
            DpopCredential::Malformed(_)
        ));
        let none = headers(&[("authorization", "DPoP t")]);
        assert!(matches!(from_headers(&none), DpopCredential::Malformed(_)));
        let empty = headers(&[("authorization", "DPoP  "), ("dpop", "a.b.c")]);
        assert!(matches!(from_headers(&empty), DpopCredential::Malformed(_)));
    }
}
