//! Settings that follow how the client is registered at the provider and what its tokens
//! may point to: the ID-token signing algorithm and aggregated/distributed claims.

use super::build::error;
use super::{ConfigBuilder, IdTokenSigningAlg};

impl ConfigBuilder {
    /// The ID-token signing algorithm this client is registered for at the provider
    /// (`OIDC_ID_TOKEN_SIGNING_ALG`). Default: any algorithm of the asymmetric allowlist.
    /// Replaces any earlier value.
    ///
    /// **Warning:** `HS256`/`HS384`/`HS512` (keyed with the client secret) and `none`
    /// (unsigned, trusted only straight from a TLS or loopback token endpoint) are for the
    /// OpenID certification tests and legacy providers; see [`IdTokenSigningAlg`].
    ///
    /// ```
    /// use tower_oidc::{Config, IdTokenSigningAlg};
    ///
    /// let config = Config::builder()
    ///     .issuer("https://accounts.example.com")
    ///     .client_id("my-app")
    ///     .client_secret("my-secret")
    ///     .secret_key("a random string of at least 32 bytes!!")
    ///     .id_token_signing_alg("RS256".parse::<IdTokenSigningAlg>()?)
    ///     .build()?;
    /// # let _ = config;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn id_token_signing_alg(mut self, alg: IdTokenSigningAlg) -> Self {
        self.id_token_signing_alg = Some(self.sourced(alg));
        self
    }

    /// Resolves aggregated and distributed claims (OpenID Connect Core 1.0, section 5.6.2)
    /// at login (`OIDC_RESOLVE_CLAIM_SOURCES`). Default `false`: resolving makes the
    /// application fetch URLs named inside the ID token or userinfo, so it is enabled only
    /// on purpose. Aggregated JWTs, and the JWTs distributed endpoints answer, must be
    /// signed with the issuer's keys; endpoints must be https (or loopback), answer within
    /// 3 seconds and 64 KiB, and get only the access token their source names. Replaces
    /// any earlier value.
    pub fn resolve_claim_sources(mut self, resolve: bool) -> Self {
        self.resolve_claim_sources = resolve;
        self
    }

    /// HMAC ID tokens are keyed with the client secret, which must then be set.
    pub(super) fn check_id_token_signing_alg(&self) -> Result<(), crate::ConfigError> {
        let hmac = self
            .id_token_signing_alg
            .as_ref()
            .is_some_and(|alg| alg.value.is_hmac());
        let secret = self
            .client_secret
            .as_ref()
            .is_some_and(|secret| !secret.expose().is_empty());
        if hmac && !secret {
            return Err(error(
                &self.id_token_signing_alg,
                "id_token_signing_alg",
                "HMAC ID tokens are keyed with the client secret, and none is set",
            ));
        }
        Ok(())
    }
}
