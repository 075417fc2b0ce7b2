//! Which algorithms tokens signed with the provider's keys may use, given the ID-token
//! algorithm the client is registered for.

use jsonwebtoken::Algorithm;

use crate::config::{Config, IdTokenSigningAlg};

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
