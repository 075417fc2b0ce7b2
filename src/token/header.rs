//! Reading a JWT's header before trusting anything in it.

use base64::Engine;
use jsonwebtoken::Algorithm;
use serde::Deserialize;

use super::jwt::TokenError;

/// Tokens larger than this are refused unread.
pub(crate) const MAX_TOKEN_BYTES: usize = 16 * 1024;

#[derive(Deserialize)]
struct RawHeader {
    alg: String,
    #[serde(default)]
    kid: Option<String>,
    #[serde(default)]
    crit: Option<serde_json::Value>,
    #[serde(default)]
    typ: Option<String>,
}

pub(crate) struct Header {
    pub(crate) alg: Algorithm,
    pub(crate) kid: Option<String>,
}

/// Whether `alg` is an HMAC algorithm, whose key is a shared secret.
pub(crate) fn is_hmac(alg: Algorithm) -> bool {
    matches!(alg, Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512)
}

/// Parses the header and checks the algorithm against the allowlist. `none` and HMAC are
/// never accepted, whatever the allowlist says.
#[cfg_attr(not(any(test, fuzzing)), allow(dead_code))]
pub(crate) fn parse(token: &str, allowed: &[Algorithm]) -> Result<Header, TokenError> {
    parse_limited(token, allowed, MAX_TOKEN_BYTES)
}

/// [`parse`] for tokens up to `max_bytes`.
pub(crate) fn parse_limited(
    token: &str,
    allowed: &[Algorithm],
    max_bytes: usize,
) -> Result<Header, TokenError> {
    let raw = decode(token, max_bytes)?;
    let alg = raw
        .alg
        .parse::<Algorithm>()
        .ok()
        .filter(|alg| !is_hmac(*alg))
        .filter(|alg| allowed.contains(alg))
        .ok_or_else(|| not_allowed(&raw.alg))?;
    Ok(Header { alg, kid: raw.kid })
}

/// Parses the header of a token that must be HMAC-signed with exactly `expected`.
pub(crate) fn parse_hmac(token: &str, expected: Algorithm) -> Result<Header, TokenError> {
    let raw = decode(token, MAX_TOKEN_BYTES)?;
    match raw.alg.parse::<Algorithm>() {
        Ok(alg) if alg == expected && is_hmac(alg) => Ok(Header { alg, kid: raw.kid }),
        _ => Err(not_allowed(&raw.alg)),
    }
}

/// Parses the header of a token that must be unsigned: `alg` exactly `none`.
pub(crate) fn parse_unsigned(token: &str) -> Result<(), TokenError> {
    let raw = decode(token, MAX_TOKEN_BYTES)?;
    if raw.alg == "none" {
        Ok(())
    } else {
        Err(not_allowed(&raw.alg))
    }
}

fn not_allowed(alg: &str) -> TokenError {
    TokenError::AlgorithmNotAllowed(alg.chars().take(16).collect())
}

/// Size, shape (three parts), base64url and JSON of the header, and no `crit`.
fn decode(token: &str, max_bytes: usize) -> Result<RawHeader, TokenError> {
    if token.len() > max_bytes {
        return Err(TokenError::Malformed("token too large"));
    }
    let mut parts = token.split('.');
    let (Some(header), Some(_), Some(_), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(TokenError::Malformed(
            "not a signed JWT (three parts; encrypted tokens are not supported)",
        ));
    };
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(header.trim_end_matches('='))
        .map_err(|_| TokenError::Malformed("header is not base64url"))?;
    let raw: RawHeader =
        serde_json::from_slice(&bytes).map_err(|_| TokenError::Malformed("header is not JSON"))?;
    if raw.crit.is_some() {
        return Err(TokenError::Malformed(
            "unsupported critical header parameters",
        ));
    }
    Ok(raw)
}

/// The header's `typ`, lower-cased, when the token has a readable header that sets one.
/// Read only after the signature is verified, so it is the issuer's word.
pub(crate) fn typ(token: &str) -> Option<String> {
    let typ = decode(token, MAX_TOKEN_BYTES).ok()?.typ?;
    let typ = typ.to_ascii_lowercase();
    Some(match typ.strip_prefix("application/") {
        Some(bare) => bare.to_owned(),
        None => typ,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(header: &str) -> String {
        let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        format!("{}.e30.sig", engine.encode(header))
    }

    #[test]
    fn refuses_none_and_hmac() {
        let allowed = [Algorithm::RS256, Algorithm::HS256];
        for alg in ["none", "None", "HS256", "HS512", "RS1"] {
            let header = format!(r#"{{"alg":"{alg}"}}"#);
            assert!(
                matches!(
                    parse(&token(&header), &allowed),
                    Err(TokenError::AlgorithmNotAllowed(_))
                ),
                "{alg}"
            );
        }
        let parsed = parse(&token(r#"{"alg":"RS256","kid":"k"}"#), &allowed).expect("valid");
        assert_eq!(parsed.kid.as_deref(), Some("k"));
    }

    #[test]
    fn hmac_and_none_only_when_asked_for_exactly() {
        let hs256 = token(r#"{"alg":"HS256"}"#);
        assert!(parse_hmac(&hs256, Algorithm::HS256).is_ok());
        assert!(parse_hmac(&hs256, Algorithm::HS512).is_err());
        assert!(parse_hmac(&token(r#"{"alg":"RS256"}"#), Algorithm::RS256).is_err());
        assert!(parse_hmac(&token(r#"{"alg":"none"}"#), Algorithm::HS256).is_err());
        assert!(parse_unsigned(&token(r#"{"alg":"none"}"#)).is_ok());
        for alg in ["None", "NONE", "HS256", "RS256", ""] {
            let header = format!(r#"{{"alg":"{alg}"}}"#);
            assert!(parse_unsigned(&token(&header)).is_err(), "{alg}");
        }
    }

    #[test]
    fn typ_is_read_lower_case_without_the_media_type_prefix() {
        assert_eq!(
            typ(&token(r#"{"alg":"RS256","typ":"JWT"}"#)).as_deref(),
            Some("jwt")
        );
        assert_eq!(
            typ(&token(r#"{"alg":"RS256","typ":"application/AT+JWT"}"#)).as_deref(),
            Some("at+jwt")
        );
        assert_eq!(typ(&token(r#"{"alg":"RS256"}"#)), None);
        assert_eq!(typ("not a token"), None);
    }

    #[test]
    fn refuses_malformed() {
        for bad in [
            "",
            "a.b",
            "a.b.c.d",
            "!!!.e30.x",
            &token("[]"),
            &token(r#"{"alg":"RS256","crit":["x"]}"#),
        ] {
            assert!(parse(bad, &[Algorithm::RS256]).is_err(), "{bad}");
        }
        assert!(parse(&"a".repeat(MAX_TOKEN_BYTES + 1), &[Algorithm::RS256]).is_err());
    }

    proptest::proptest! {
        #[test]
        fn any_text_is_parsed_or_refused(token in "\\PC{0,300}") {
            let _ = parse(&token, &[Algorithm::RS256, Algorithm::ES256]);
            let _ = parse_hmac(&token, Algorithm::HS256);
            let _ = parse_unsigned(&token);
        }

        #[test]
        fn any_json_header_is_parsed_or_refused(header in "\\PC{0,120}") {
            let _ = parse(&token(&header), &[Algorithm::RS256]);
        }
    }
}
