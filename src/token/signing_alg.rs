//! The ID-token signing algorithm the client is registered for at the provider
//! (`id_token_signed_response_alg` in OpenID Connect Dynamic Client Registration).

use std::fmt;
use std::str::FromStr;

use jsonwebtoken::Algorithm;

use crate::config::Config;

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
        matches!(self, IdTokenSigningAlg::Signed(alg) if super::header::is_hmac(alg))
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

/// The algorithms accepted for tokens the provider signs with its published keys and that
/// share the ID tokens' keys (logout tokens, signed userinfo, aggregated claims): the
/// registered algorithm when it is asymmetric, else the allowlist.
pub(crate) fn provider_algorithms(config: &Config) -> &[Algorithm] {
    match &config.id_token_signing_alg {
        Some(IdTokenSigningAlg::Signed(alg)) if !super::header::is_hmac(*alg) => {
            std::slice::from_ref(alg)
        }
        _ => &config.allowed_algorithms,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from_env(vars: &[(&str, &str)]) -> Result<Config, crate::ConfigError> {
        let base = [
            ("OIDC_ISSUER", "https://op.example"),
            ("OIDC_CLIENT_ID", "app"),
            ("OIDC_SECRET_KEY", "a random string of at least 32 bytes!!"),
        ];
        let vars: Vec<(String, String)> = base
            .iter()
            .chain(vars)
            .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
            .collect();
        Config::from_lookup(|name| {
            vars.iter()
                .find(|(n, _)| n == name)
                .map(|(_, value)| value.clone())
        })
    }

    #[test]
    fn settings_from_the_environment() {
        let config = from_env(&[]).expect("defaults");
        assert_eq!(config.id_token_signing_alg, None);
        assert!(!config.resolve_claim_sources, "off unless asked for");
        assert_eq!(
            provider_algorithms(&config),
            config.allowed_algorithms.as_slice()
        );

        let config = from_env(&[
            ("OIDC_ID_TOKEN_SIGNING_ALG", "RS256"),
            ("OIDC_RESOLVE_CLAIM_SOURCES", "true"),
        ])
        .expect("valid");
        assert_eq!(provider_algorithms(&config), [Algorithm::RS256]);
        assert!(config.resolve_claim_sources);

        let config = from_env(&[("OIDC_ID_TOKEN_SIGNING_ALG", "none")]).expect("valid");
        assert_eq!(
            config.id_token_signing_alg,
            Some(IdTokenSigningAlg::Unsigned)
        );
        assert_eq!(
            provider_algorithms(&config),
            config.allowed_algorithms.as_slice()
        );

        let hmac = [("OIDC_ID_TOKEN_SIGNING_ALG", "HS256")];
        let err = from_env(&hmac).expect_err("HMAC without a client secret");
        assert_eq!(err.setting(), "OIDC_ID_TOKEN_SIGNING_ALG");
        let config = from_env(&[hmac[0], ("OIDC_CLIENT_SECRET", "s3cret")]).expect("valid");
        assert_eq!(
            provider_algorithms(&config),
            config.allowed_algorithms.as_slice(),
            "HMAC never applies to tokens checked with published keys"
        );

        let err = from_env(&[("OIDC_ID_TOKEN_SIGNING_ALG", "RS1")]).expect_err("unknown");
        assert_eq!(err.setting(), "OIDC_ID_TOKEN_SIGNING_ALG");
        assert!(from_env(&[("OIDC_RESOLVE_CLAIM_SOURCES", "maybe")]).is_err());
    }

    #[test]
    fn parses_jose_names_and_none() {
        for (text, expected) in [
            ("RS256", IdTokenSigningAlg::Signed(Algorithm::RS256)),
            ("hs384", IdTokenSigningAlg::Signed(Algorithm::HS384)),
            ("EdDSA", IdTokenSigningAlg::Signed(Algorithm::EdDSA)),
            (" none ", IdTokenSigningAlg::Unsigned),
            ("NONE", IdTokenSigningAlg::Unsigned),
        ] {
            assert_eq!(text.parse::<IdTokenSigningAlg>(), Ok(expected), "{text}");
        }
        assert!("RS1".parse::<IdTokenSigningAlg>().is_err());
        assert!("".parse::<IdTokenSigningAlg>().is_err());
        assert!(IdTokenSigningAlg::Signed(Algorithm::HS512).is_hmac());
        assert!(!IdTokenSigningAlg::Unsigned.is_hmac());
        assert_eq!(IdTokenSigningAlg::Unsigned.to_string(), "none");
        assert_eq!(
            IdTokenSigningAlg::Signed(Algorithm::ES256).to_string(),
            "ES256"
        );
    }
}
