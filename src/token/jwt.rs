//! Signature and standard-claim verification against the provider's key set.

use std::collections::HashSet;

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, Validation};
use serde_json::{Map, Value};

use super::header;
use crate::provider::Provider;

/// Why a token was refused. Messages are safe to show: they never contain the token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum TokenError {
    #[error("malformed token: {0}")]
    Malformed(&'static str),
    #[error("signature algorithm `{0}` is not allowed")]
    AlgorithmNotAllowed(String),
    #[error("no key of the provider matches the token")]
    UnknownKey,
    #[error("invalid signature")]
    BadSignature,
    #[error("token expired")]
    Expired,
    #[error("token not valid yet")]
    NotYetValid,
    #[error("wrong issuer")]
    WrongIssuer,
    #[error("wrong audience")]
    WrongAudience,
    #[error("missing claim `{0}`")]
    MissingClaim(String),
    #[error("invalid claim `{0}`")]
    InvalidClaim(&'static str),
}

/// What a token must satisfy besides its signature.
pub(crate) struct Rules<'a> {
    pub(crate) issuer: &'a str,
    pub(crate) audiences: &'a [String],
    pub(crate) algorithms: &'a [Algorithm],
    pub(crate) leeway_secs: u64,
    pub(crate) required: &'a [&'static str],
}

/// Verifies the signature with the provider's keys (fetching them again, rate-limited, when
/// the `kid` is unknown) and the standard claims; returns the claims.
pub(crate) async fn verify(
    provider: &Provider,
    token: &str,
    rules: &Rules<'_>,
) -> Result<Map<String, Value>, TokenError> {
    let header = header::parse(token, rules.algorithms)?;
    if !provider.has_candidates(header.kid.as_deref(), header.alg) {
        provider.refetch_keys_for_unknown_kid().await;
    }
    verify_with_known_keys(provider, token, &header, rules)
}

fn verify_with_known_keys(
    provider: &Provider,
    token: &str,
    header: &header::Header,
    rules: &Rules<'_>,
) -> Result<Map<String, Value>, TokenError> {
    let validation = validation(header.alg, rules);
    let keys = provider.keys();
    let mut last = TokenError::UnknownKey;
    for candidate in keys.candidates(header.kid.as_deref(), header.alg) {
        match jsonwebtoken::decode::<Map<String, Value>>(token, &candidate.key, &validation) {
            Ok(data) => {
                check_times(&data.claims, rules)?;
                return Ok(data.claims);
            }
            Err(err) => {
                last = map_error(err.kind());
                // Another key without a kid may still match; any other failure is final.
                if last != TokenError::BadSignature {
                    return Err(last);
                }
            }
        }
    }
    Err(last)
}

fn validation(alg: Algorithm, rules: &Rules<'_>) -> Validation {
    let mut validation = Validation::new(alg);
    validation.algorithms = vec![alg];
    validation.leeway = rules.leeway_secs;
    validation.validate_exp = true;
    validation.validate_nbf = true;
    validation.set_issuer(&[rules.issuer]);
    validation.set_audience(rules.audiences);
    validation.required_spec_claims = rules
        .required
        .iter()
        .map(|claim| (*claim).to_owned())
        .collect::<HashSet<_>>();
    validation
}

/// `iat` must be a number and not in the future (jsonwebtoken checks only `exp`/`nbf`).
fn check_times(claims: &Map<String, Value>, rules: &Rules<'_>) -> Result<(), TokenError> {
    match claims.get("iat") {
        None if rules.required.contains(&"iat") => Err(TokenError::MissingClaim("iat".into())),
        None => Ok(()),
        Some(iat) => {
            let iat = iat.as_f64().ok_or(TokenError::InvalidClaim("iat"))?;
            let now = crate::session::now() as f64;
            if iat > now + rules.leeway_secs as f64 {
                Err(TokenError::InvalidClaim("iat"))
            } else {
                Ok(())
            }
        }
    }
}

fn map_error(kind: &ErrorKind) -> TokenError {
    match kind {
        ErrorKind::InvalidSignature => TokenError::BadSignature,
        ErrorKind::ExpiredSignature => TokenError::Expired,
        ErrorKind::ImmatureSignature => TokenError::NotYetValid,
        ErrorKind::InvalidIssuer => TokenError::WrongIssuer,
        ErrorKind::InvalidAudience => TokenError::WrongAudience,
        ErrorKind::MissingRequiredClaim(claim) => TokenError::MissingClaim(claim.clone()),
        ErrorKind::InvalidAlgorithm => TokenError::AlgorithmNotAllowed("mismatch".into()),
        ErrorKind::InvalidSubject => TokenError::InvalidClaim("sub"),
        ErrorKind::Json(_) | ErrorKind::Utf8(_) | ErrorKind::Base64(_) => {
            TokenError::Malformed("claims are not valid JSON")
        }
        _ => TokenError::Malformed("token could not be verified"),
    }
}
