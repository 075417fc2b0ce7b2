//! The payload and signature of a compact JWS whose header was already read.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{Map, Value};

use super::jwt::TokenError;

/// A token's decoded parts. The claims are not trusted until the signature is verified.
pub(crate) struct Body<'a> {
    /// `header.payload`, the bytes the signature covers.
    pub(crate) signing_input: &'a str,
    /// The signature as sent, base64url (checked decodable).
    pub(crate) signature: &'a str,
    pub(crate) signature_is_empty: bool,
    pub(crate) claims: Map<String, Value>,
}

/// Splits and decodes a token. A payload that is not base64url or not a JSON object makes
/// the token malformed; a signature that is not base64url is a bad signature, as for any
/// signature that does not verify.
pub(crate) fn split(token: &str) -> Result<Body<'_>, TokenError> {
    let Some((signing_input, signature)) = token.rsplit_once('.') else {
        return Err(TokenError::Malformed("not a signed JWT (three parts)"));
    };
    let Some((_, payload)) = signing_input.split_once('.') else {
        return Err(TokenError::Malformed("not a signed JWT (three parts)"));
    };
    let bytes = URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .map_err(|_| TokenError::Malformed("payload is not base64url"))?;
    let claims: Map<String, Value> = serde_json::from_slice(&bytes)
        .map_err(|_| TokenError::Malformed("payload is not a JSON object"))?;
    let signature = signature.trim_end_matches('=');
    if URL_SAFE_NO_PAD.decode(signature).is_err() {
        return Err(TokenError::BadSignature("the signature is not base64url"));
    }
    Ok(Body {
        signing_input,
        signature,
        signature_is_empty: signature.is_empty(),
        claims,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(text: &str) -> String {
        URL_SAFE_NO_PAD.encode(text)
    }

    #[test]
    fn decodes_payload_and_checks_the_signature_encoding() {
        let header = b64(r#"{"alg":"RS256"}"#);
        let token = format!("{header}.{}.{}", b64(r#"{"sub":"a"}"#), b64("sig"));
        let body = split(&token).expect("valid");
        assert_eq!(body.claims["sub"], "a");
        assert_eq!(
            body.signing_input,
            format!("{header}.{}", b64(r#"{"sub":"a"}"#))
        );
        assert!(!body.signature_is_empty);

        let unsigned = format!("{header}.{}.", b64("{}"));
        assert!(split(&unsigned).expect("valid").signature_is_empty);
    }

    #[test]
    fn tells_malformed_payloads_from_bad_signatures() {
        let header = b64(r#"{"alg":"RS256"}"#);
        let cases = [
            (
                format!("{header}.!!!.{}", b64("s")),
                "payload is not base64url",
            ),
            (
                format!("{header}.{}.{}", b64("[1]"), b64("s")),
                "payload is not a JSON object",
            ),
            (
                format!("{header}.{}.{}", b64("{"), b64("s")),
                "payload is not a JSON object",
            ),
        ];
        for (token, reason) in cases {
            assert_eq!(split(&token).err(), Some(TokenError::Malformed(reason)));
        }
        let bad_signature = format!("{header}.{}.a+b/c", b64("{}"));
        assert!(matches!(
            split(&bad_signature).err(),
            Some(TokenError::BadSignature(_))
        ));
    }
}
