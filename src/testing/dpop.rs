//! DPoP at the mock's token endpoint (RFC 9449, section 5): a token request with a valid
//! proof gets tokens bound to the proof's key.

use axum::response::{IntoResponse, Response};
use http::{HeaderMap, StatusCode};

use super::params::OAuthError;
use super::provider::Shared;
use super::state::Grant;
use crate::dpop::proof::{self, Expected, ProofError};
use crate::dpop::{DpopOptions, DPOP, DPOP_NONCE};

/// The thumbprint of the token request's proof key; `None` without a proof. A bad proof,
/// or one without the nonce the mock asks for, is answered here.
pub(crate) fn token_request_proof(
    shared: &Shared,
    headers: &HeaderMap,
) -> Result<Option<String>, Box<Response>> {
    let mut proofs = headers.get_all(DPOP).iter();
    let proof = match (proofs.next(), proofs.next()) {
        (None, _) => return Ok(None),
        (Some(proof), None) => proof.to_str().unwrap_or_default(),
        (Some(_), Some(_)) => return Err(Box::new(invalid("more than one DPoP header"))),
    };
    let mut state = shared.lock();
    let url = url::Url::parse(&format!("{}/token", state.issuer))
        .map_err(|_| Box::new(invalid("the mock has no token endpoint URL")))?;
    let now = super::tokens::now_unix();
    let options = DpopOptions::default();
    let verified = proof::verify(
        proof,
        &Expected {
            method: "POST",
            url: &url,
            token: None,
            now,
            options: &options,
            nonces: state.dpop_nonces.as_ref(),
        },
    );
    match verified {
        Ok(proven) => {
            state.stats.dpop_proofs += 1;
            Ok(Some(proven.jkt))
        }
        Err(ProofError::Invalid(reason)) => Err(Box::new(invalid(reason))),
        Err(ProofError::NonceRequired) => {
            let nonce = state
                .dpop_nonces
                .as_ref()
                .map(|nonces| nonces.issue(now))
                .unwrap_or_default();
            let mut response = OAuthError::new(
                StatusCode::BAD_REQUEST,
                "use_dpop_nonce",
                "the DPoP proof must carry the nonce in DPoP-Nonce",
            )
            .into_response();
            if let Ok(value) = http::HeaderValue::from_str(&nonce) {
                response.headers_mut().insert(DPOP_NONCE, value);
            }
            Err(Box::new(response))
        }
    }
}

fn invalid(reason: &str) -> Response {
    OAuthError::new(StatusCode::BAD_REQUEST, "invalid_dpop_proof", reason).into_response()
}

/// A code grant binds its tokens to the proof's key, which must be the key the
/// authorization request named in `dpop_jkt`, if it named one.
pub(crate) fn bind(grant: &mut Grant, proof_jkt: Option<String>) -> Result<(), OAuthError> {
    match (&grant.dpop_jkt, proof_jkt) {
        (Some(expected), Some(jkt)) if *expected != jkt => Err(OAuthError::new(
            StatusCode::BAD_REQUEST,
            "invalid_dpop_proof",
            "the proof's key is not the one dpop_jkt named",
        )),
        (Some(_), None) => Err(OAuthError::new(
            StatusCode::BAD_REQUEST,
            "invalid_dpop_proof",
            "the authorization request named a DPoP key: a proof is required",
        )),
        (_, jkt) => {
            if jkt.is_some() {
                grant.dpop_jkt = jkt;
            }
            Ok(())
        }
    }
}

/// A refresh token of bound tokens needs a proof of the same key.
pub(crate) fn check_refresh(grant: &Grant, proof_jkt: Option<&str>) -> Result<(), OAuthError> {
    match &grant.dpop_jkt {
        Some(jkt) if proof_jkt != Some(jkt.as_str()) => Err(OAuthError::new(
            StatusCode::BAD_REQUEST,
            "invalid_dpop_proof",
            "the refresh token is bound to another DPoP key",
        )),
        _ => Ok(()),
    }
}

/// The request names its token with the `DPoP` scheme.
pub(crate) fn uses_dpop_scheme(headers: &HeaderMap) -> bool {
    headers
        .get(http::header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split_once(' '))
        .is_some_and(|(scheme, _)| scheme.eq_ignore_ascii_case("dpop"))
}
