//! Signature and standard-claim verification: with the provider's key set (asymmetric
//! algorithms), with the client secret (HMAC, when registered), or none at all (`none`,
//! when registered, for ID tokens from the token endpoint only).
//!
//! A token is read in three stages, and a refusal names its stage: malformed (size, shape,
//! base64url, JSON), signature (algorithm, key, signature), claims.

use jsonwebtoken::{Algorithm, DecodingKey};
use serde_json::{Map, Value};

use super::body::{self, Body};
use super::header::{self, MAX_TOKEN_BYTES};
use super::registered_claims;
use crate::provider::keys::KeySet;
use crate::provider::Provider;

/// Why a token was refused. Messages are safe to show: they never contain the token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum TokenError {
    #[error("malformed token: {0}")]
    Malformed(&'static str),
    #[error("bad signature: the algorithm `{0}` is not allowed")]
    AlgorithmNotAllowed(String),
    #[error("bad signature: no key of the provider matches the token")]
    UnknownKey,
    #[error("bad signature: {0}")]
    BadSignature(&'static str),
    #[error("claim check failed: token expired")]
    Expired,
    #[error("claim check failed: token not valid yet")]
    NotYetValid,
    #[error("claim check failed: wrong issuer")]
    WrongIssuer,
    #[error("claim check failed: wrong audience")]
    WrongAudience,
    #[error("claim check failed: missing claim `{0}`")]
    MissingClaim(String),
    #[error("claim check failed: invalid claim `{0}`")]
    InvalidClaim(&'static str),
}

/// The signature does not verify with the key tried.
const DOES_NOT_VERIFY: TokenError = TokenError::BadSignature("the signature does not verify");

/// What a token must satisfy besides its signature.
pub(crate) struct Rules<'a> {
    pub(crate) issuer: &'a str,
    pub(crate) audiences: &'a [String],
    pub(crate) algorithms: &'a [Algorithm],
    pub(crate) leeway_secs: u64,
    pub(crate) required: &'a [&'static str],
}

/// Verifies the signature with the provider's keys (fetching them again when the `kid` is
/// unknown, within the provider's limits) and the standard claims; returns the claims.
pub(crate) async fn verify(
    provider: &Provider,
    token: &str,
    rules: &Rules<'_>,
) -> Result<Map<String, Value>, TokenError> {
    verify_limited(provider, token, rules, MAX_TOKEN_BYTES).await
}

/// [`verify`] for tokens up to `max_bytes`.
pub(crate) async fn verify_limited(
    provider: &Provider,
    token: &str,
    rules: &Rules<'_>,
    max_bytes: usize,
) -> Result<Map<String, Value>, TokenError> {
    let header = header::parse_limited(token, rules.algorithms, max_bytes)?;
    let body = body::split(token)?;
    let keys = provider.keys_for(header.kid.as_deref(), header.alg).await;
    verify_with_keys(&keys, &header, &body)?;
    finish(body, rules)
}

/// Verifies an HMAC-signed token with `secret` as the key (RFC 7518, section 3.2): the
/// header must name exactly `alg`.
pub(crate) fn verify_hmac(
    token: &str,
    secret: &[u8],
    alg: Algorithm,
    rules: &Rules<'_>,
) -> Result<Map<String, Value>, TokenError> {
    let header = header::parse_hmac(token, alg)?;
    let body = body::split(token)?;
    if !signature_verifies(&body, &DecodingKey::from_secret(secret), header.alg) {
        return Err(DOES_NOT_VERIFY);
    }
    finish(body, rules)
}

/// Accepts an unsigned token (`alg` exactly `none`, empty signature) after the claim
/// checks. Only for tokens whose origin vouches for them: see `id_token::verify`.
pub(crate) fn verify_unsigned(
    token: &str,
    rules: &Rules<'_>,
) -> Result<Map<String, Value>, TokenError> {
    header::parse_unsigned(token)?;
    let body = body::split(token)?;
    if !body.signature_is_empty {
        return Err(TokenError::BadSignature(
            "an unsigned token must have an empty signature",
        ));
    }
    finish(body, rules)
}

fn finish(body: Body<'_>, rules: &Rules<'_>) -> Result<Map<String, Value>, TokenError> {
    registered_claims::check(&body.claims, rules, crate::session::now())?;
    Ok(body.claims)
}

/// Without a `kid`, every key of the algorithm's family is tried.
fn verify_with_keys(
    keys: &KeySet,
    header: &header::Header,
    body: &Body<'_>,
) -> Result<(), TokenError> {
    let mut tried = false;
    for candidate in keys.candidates(header.kid.as_deref(), header.alg) {
        tried = true;
        if signature_verifies(body, &candidate.key, header.alg) {
            return Ok(());
        }
    }
    Err(if tried {
        DOES_NOT_VERIFY
    } else {
        TokenError::UnknownKey
    })
}

fn signature_verifies(body: &Body<'_>, key: &DecodingKey, alg: Algorithm) -> bool {
    jsonwebtoken::crypto::verify(body.signature, body.signing_input.as_bytes(), key, alg)
        .unwrap_or(false)
}

impl TokenError {
    /// The stage that refused the token, for logs: `malformed`, `signature` or `claims`.
    pub(crate) fn stage(&self) -> &'static str {
        match self {
            TokenError::Malformed(_) => "malformed",
            TokenError::AlgorithmNotAllowed(_)
            | TokenError::UnknownKey
            | TokenError::BadSignature(_) => "signature",
            TokenError::Expired
            | TokenError::NotYetValid
            | TokenError::WrongIssuer
            | TokenError::WrongAudience
            | TokenError::MissingClaim(_)
            | TokenError::InvalidClaim(_) => "claims",
        }
    }
}

#[cfg(test)]
mod tests {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;
    use jsonwebtoken::{EncodingKey, Header};
    use serde_json::json;

    use super::*;

    const SECRET: &[u8] = b"a client secret of reasonable length";

    fn rules() -> Rules<'static> {
        static AUDIENCES: std::sync::OnceLock<[String; 1]> = std::sync::OnceLock::new();
        Rules {
            issuer: "https://op.example",
            audiences: AUDIENCES.get_or_init(|| ["me".to_owned()]),
            algorithms: &[Algorithm::RS256],
            leeway_secs: 60,
            required: &["iss", "aud", "exp"],
        }
    }

    fn claims() -> Value {
        let now = crate::session::now();
        json!({"iss": "https://op.example", "aud": "me", "exp": now + 60, "sub": "a"})
    }

    fn hs(alg: Algorithm, secret: &[u8], claims: &Value) -> String {
        jsonwebtoken::encode(&Header::new(alg), claims, &EncodingKey::from_secret(secret))
            .expect("sign")
    }

    fn unsigned(header: &str, claims: &Value, signature: &str) -> String {
        format!(
            "{}.{}.{signature}",
            URL_SAFE_NO_PAD.encode(header),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        )
    }

    #[test]
    fn hmac_with_the_secret_and_the_registered_algorithm_only() {
        let token = hs(Algorithm::HS256, SECRET, &claims());
        assert!(verify_hmac(&token, SECRET, Algorithm::HS256, &rules()).is_ok());
        assert_eq!(
            verify_hmac(&token, b"another secret", Algorithm::HS256, &rules()),
            Err(DOES_NOT_VERIFY)
        );
        assert!(matches!(
            verify_hmac(&token, SECRET, Algorithm::HS384, &rules()),
            Err(TokenError::AlgorithmNotAllowed(_))
        ));
        let hs512 = hs(Algorithm::HS512, SECRET, &claims());
        assert!(verify_hmac(&hs512, SECRET, Algorithm::HS512, &rules()).is_ok());
        let mut wrong_issuer = claims();
        wrong_issuer["iss"] = json!("https://elsewhere.example");
        let token = hs(Algorithm::HS256, SECRET, &wrong_issuer);
        assert_eq!(
            verify_hmac(&token, SECRET, Algorithm::HS256, &rules()),
            Err(TokenError::WrongIssuer)
        );
    }

    #[test]
    fn unsigned_tokens_need_alg_none_and_no_signature() {
        let token = unsigned(r#"{"alg":"none"}"#, &claims(), "");
        assert!(verify_unsigned(&token, &rules()).is_ok());
        let with_signature = unsigned(r#"{"alg":"none"}"#, &claims(), "c2ln");
        assert!(matches!(
            verify_unsigned(&with_signature, &rules()),
            Err(TokenError::BadSignature(_))
        ));
        let signed_header = unsigned(r#"{"alg":"RS256"}"#, &claims(), "");
        assert!(matches!(
            verify_unsigned(&signed_header, &rules()),
            Err(TokenError::AlgorithmNotAllowed(_))
        ));
        let mut expired = claims();
        expired["exp"] = json!(1);
        let token = unsigned(r#"{"alg":"none"}"#, &expired, "");
        assert_eq!(verify_unsigned(&token, &rules()), Err(TokenError::Expired));
    }

    #[test]
    fn stages_tell_malformed_from_signature_from_claims() {
        let good = hs(Algorithm::HS256, SECRET, &claims());
        let (signed, _) = good.rsplit_once('.').expect("three parts");
        let bad_base64_signature = format!("{signed}.not*base64");
        let refused = verify_hmac(&bad_base64_signature, SECRET, Algorithm::HS256, &rules())
            .expect_err("refused");
        assert_eq!(refused.stage(), "signature", "{refused}");
        assert!(refused.to_string().starts_with("bad signature"));

        let header = good.split('.').next().expect("header");
        let bad_payload = format!("{header}.e30x!.sig");
        let refused =
            verify_hmac(&bad_payload, SECRET, Algorithm::HS256, &rules()).expect_err("refused");
        assert_eq!(refused.stage(), "malformed", "{refused}");

        let mut other_audience = claims();
        other_audience["aud"] = json!("you");
        let token = hs(Algorithm::HS256, SECRET, &other_audience);
        let refused = verify_hmac(&token, SECRET, Algorithm::HS256, &rules()).expect_err("refused");
        assert_eq!(refused.stage(), "claims", "{refused}");
    }
}
