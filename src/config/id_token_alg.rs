//! The ID-token signing algorithm the client is registered for at the provider
//! (`id_token_signed_response_alg` in OpenID Connect Dynamic Client Registration).

use std::fmt;
use std::str::FromStr;

use jsonwebtoken::Algorithm;

/// The algorithm ID tokens are signed with, as registered for this client at the provider.
///
/// Without this setting, ID tokens may use any algorithm of the asymmetric allowlist
/// ([`ConfigBuilder::allowed_algorithms`](crate::ConfigBuilder::allowed_algorithms)),
/// verified with the provider's published keys. That is the right choice for every
/// current provider.
///
/// - `Signed(RS256)` (or another asymmetric algorithm): ID tokens, and back-channel logout
///   tokens, which the provider signs with the same keys, must use exactly that algorithm.
/// - `Signed(HS256)`, `HS384`, `HS512`: ID tokens are HMAC-signed with the **client
///   secret** as the key, never with a published key. Needs a client secret.
/// - `Unsigned` (`none`): ID tokens carry no signature at all and are trusted because they
///   came straight from the token endpoint over TLS (or from a loopback token endpoint, for
///   tests). Bearer tokens, logout tokens and signed userinfo never accept `none`.
///
/// # Warning
///
/// HMAC and `none` exist for the OpenID Foundation's certification tests and for legacy
/// providers that can do nothing else. With HMAC, anyone who knows the client secret can
/// mint ID tokens; with `none`, the TLS connection to the token endpoint is the only
/// protection. Use neither unless the provider leaves no choice.
///
/// ```
/// use tower_oidc::{Config, IdTokenSigningAlg};
///
/// let alg: IdTokenSigningAlg = "HS256".parse()?;
/// let config = Config::builder()
///     .issuer("https://legacy-idp.example.com")
///     .client_id("my-app")
///     .client_secret("the client secret, which is the HMAC key")
///     .secret_key("a random string of at least 32 bytes!!")
///     .id_token_signing_alg(alg)
///     .build()?;
/// # let _ = config;
/// assert_eq!("none".parse::<IdTokenSigningAlg>()?, IdTokenSigningAlg::Unsigned);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum IdTokenSigningAlg {
    /// Signed with this algorithm: asymmetric ones with the provider's published keys,
    /// HMAC ones with the client secret.
    Signed(Algorithm),
    /// `none`: unsigned, accepted only straight from a TLS (or loopback) token endpoint.
    Unsigned,
}

impl IdTokenSigningAlg {
    /// Whether the key is the client secret.
    pub(crate) fn is_hmac(self) -> bool {
        matches!(
            self,
            IdTokenSigningAlg::Signed(Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512)
        )
    }
}

impl fmt::Display for IdTokenSigningAlg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IdTokenSigningAlg::Signed(alg) => write!(f, "{alg:?}"),
            IdTokenSigningAlg::Unsigned => f.write_str("none"),
        }
    }
}

/// The value of `id_token_signing_alg` could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown signing algorithm `{0}`: use RS256, PS256, ES256, EdDSA, … HS256, HS384, HS512 or none")]
pub struct UnknownSigningAlg(String);

impl FromStr for IdTokenSigningAlg {
    type Err = UnknownSigningAlg;

    /// JOSE names (`RS256`, `ES384`, `EdDSA`, `HS256`, …) and `none`, case-insensitively.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        if text.eq_ignore_ascii_case("none") {
            return Ok(IdTokenSigningAlg::Unsigned);
        }
        if text.eq_ignore_ascii_case("eddsa") {
            return Ok(IdTokenSigningAlg::Signed(Algorithm::EdDSA));
        }
        text.to_ascii_uppercase()
            .parse::<Algorithm>()
            .map(IdTokenSigningAlg::Signed)
            .map_err(|_| UnknownSigningAlg(text.chars().take(32).collect()))
    }
}
