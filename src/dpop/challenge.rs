//! `401` answers with a `DPoP` challenge (RFC 9449, section 7.1), naming the algorithms
//! proofs may use.

use http::header::WWW_AUTHENTICATE;
use http::HeaderValue;

use crate::response::{self, CoreResponse};

fn challenge(error: Option<&'static str>, message: &str) -> CoreResponse {
    let mut response = response::unauthorized(message, error, Vec::new());
    let value = match error {
        Some(error) => format!("DPoP error=\"{error}\", algs=\"{}\"", super::ALGS),
        None => format!("DPoP algs=\"{}\"", super::ALGS),
    };
    if let Ok(value) = HeaderValue::from_str(&value) {
        response.headers_mut().insert(WWW_AUTHENTICATE, value);
    }
    response
}

/// The proof failed a check.
pub(crate) fn invalid_proof(reason: &str) -> CoreResponse {
    tracing::info!(%reason, "DPoP proof refused");
    challenge(
        Some("invalid_dpop_proof"),
        &format!("invalid DPoP proof: {reason}"),
    )
}

/// The token failed, or does not belong to the proof's key.
pub(crate) fn invalid_token(reason: &str) -> CoreResponse {
    tracing::info!(%reason, "DPoP-bound token refused");
    challenge(
        Some("invalid_token"),
        &format!("invalid DPoP token: {reason}"),
    )
}

/// A DPoP credential is needed.
pub(crate) fn required(message: &str) -> CoreResponse {
    challenge(None, message)
}

/// The proof must carry `nonce`, given in `DPoP-Nonce`.
pub(crate) fn use_nonce(nonce: &str) -> CoreResponse {
    let mut response = challenge(
        Some("use_dpop_nonce"),
        "the DPoP proof must carry the nonce this service gives",
    );
    if let Ok(value) = HeaderValue::from_str(nonce) {
        response.headers_mut().insert(super::DPOP_NONCE, value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenges_name_the_error_and_the_algorithms() {
        let refused = invalid_proof("htm does not match");
        assert_eq!(refused.status(), http::StatusCode::UNAUTHORIZED);
        let header = refused.headers()[WWW_AUTHENTICATE].to_str().expect("ascii");
        assert!(
            header.starts_with("DPoP error=\"invalid_dpop_proof\", algs=\"ES256 "),
            "{header}"
        );
        let nonce = use_nonce("n0nce");
        assert_eq!(nonce.headers()[crate::dpop::DPOP_NONCE], "n0nce");
        assert!(nonce.headers()[WWW_AUTHENTICATE]
            .to_str()
            .expect("ascii")
            .contains("use_dpop_nonce"));
        let bare = required("x");
        assert!(bare.headers()[WWW_AUTHENTICATE]
            .to_str()
            .expect("ascii")
            .starts_with("DPoP algs="));
    }
}
