//! DPoP (RFC 9449): access tokens bound to a key the client holds, each request carrying a
//! fresh proof signed with that key.
//!
//! As a resource server the layer checks `Authorization: DPoP <token>` with its `DPoP`
//! proof; as a client it binds the tokens of a browser session to a key of the session's
//! own and proves possession at the token endpoint and to downstream services.

pub(crate) mod binding;
pub(crate) mod challenge;
pub(crate) mod check;
pub(crate) mod client_key;
pub(crate) mod credential;
#[cfg(test)]
#[cfg(feature = "testing")]
mod engine_tests;
pub(crate) mod htu;
pub(crate) mod jwk;
pub(crate) mod nonce;
mod options;
pub(crate) mod proof;
pub(crate) mod token_client;

pub(crate) use options::DpopOptions;
pub use options::{DpopMode, UnknownDpopMode};

use jsonwebtoken::Algorithm;

/// The algorithms a proof may be signed with: asymmetric only, never `none` or HMAC.
pub(crate) const ALGORITHMS: &[Algorithm] = &[
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
];

/// [`ALGORITHMS`] as the `algs` parameter of a `DPoP` challenge.
pub(crate) const ALGS: &str = "ES256 ES384 EdDSA RS256 RS384 RS512 PS256 PS384 PS512";

/// The `DPoP` request header.
pub(crate) const DPOP: http::HeaderName = http::HeaderName::from_static("dpop");
/// The `DPoP-Nonce` response header.
pub(crate) const DPOP_NONCE: http::HeaderName = http::HeaderName::from_static("dpop-nonce");

#[cfg(test)]
mod tests {
    #[test]
    fn the_challenge_lists_every_algorithm() {
        let listed: Vec<&str> = super::ALGS.split(' ').collect();
        let names: Vec<String> = super::ALGORITHMS
            .iter()
            .map(|alg| format!("{alg:?}"))
            .collect();
        assert_eq!(listed, names);
    }
}
