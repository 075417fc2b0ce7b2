//! The DPoP settings of the builder.

use std::time::Duration;

use super::ConfigBuilder;
use crate::DpopMode;

impl ConfigBuilder {
    /// Whether protected routes accept DPoP-bound access tokens (RFC 9449):
    /// `Authorization: DPoP <token>` with a `DPoP` proof header (`OIDC_DPOP`). Default
    /// [`DpopMode::Off`]. Whatever the mode, a token bound to a key is never accepted as a
    /// plain `Bearer` token. Replaces any earlier choice.
    ///
    /// ```
    /// use tower_oidc::{Config, DpopMode};
    ///
    /// let config = Config::builder()
    ///     .issuer("https://op.example.com")
    ///     .client_id("orders-api")
    ///     .secret_key("a random string of at least 32 bytes!!")
    ///     .bearer_only(true)
    ///     .dpop(DpopMode::Required)
    ///     .build()?;
    /// # let _ = config;
    /// # Ok::<(), tower_oidc::ConfigError>(())
    /// ```
    pub fn dpop(mut self, mode: DpopMode) -> Self {
        self.dpop.mode = mode;
        self
    }

    /// DPoP proofs must carry a nonce this layer issued (`OIDC_DPOP_NONCE`): a proof without
    /// a current one gets `401 use_dpop_nonce` with a `DPoP-Nonce` header to retry with.
    /// Nonces are derived from the secret key, so instances sharing it accept each other's.
    /// Default `false`. Replaces any earlier choice.
    pub fn dpop_nonces(mut self, required: bool) -> Self {
        self.dpop.nonces = required;
        self
    }

    /// How far a DPoP proof's `iat` may lie in the past and in the future (clock skew).
    /// Default 60 s and 5 s. A proof's `jti` is remembered for as long, in the session
    /// store when it keeps single-use keys (so across instances), else in this process.
    /// Replaces any earlier window.
    pub fn dpop_proof_window(mut self, max_age: Duration, max_future: Duration) -> Self {
        self.dpop.max_age = max_age;
        self.dpop.max_future = max_future;
        self
    }

    /// Binds the browser login's tokens to a DPoP key (`OIDC_DPOP_BIND_TOKENS`): each
    /// session gets its own ES256 key, kept sealed in the session; the authorization request
    /// carries `dpop_jkt`, the token and refresh calls carry proofs, and
    /// [`Identity::dpop_headers`](crate::Identity::dpop_headers) signs a proof for each
    /// downstream call. Default `false`. Replaces any earlier choice.
    pub fn dpop_bind_tokens(mut self, bind: bool) -> Self {
        self.dpop.bind_tokens = bind;
        self
    }
}

#[cfg(test)]
mod tests {
    use crate::test_support::config;
    use crate::DpopMode;

    #[test]
    fn dpop_settings_from_the_environment() {
        let base = [
            ("OIDC_ISSUER", "https://op.example.com"),
            ("OIDC_CLIENT_ID", "api"),
            ("OIDC_SECRET_KEY", "a random string of at least 32 bytes!!"),
        ];
        let defaults = config(&base).expect("valid");
        assert_eq!(defaults.dpop.mode, DpopMode::Off);
        assert!(!defaults.dpop.nonces && !defaults.dpop.bind_tokens);
        let mut vars = base.to_vec();
        vars.extend([
            ("OIDC_DPOP", "Required"),
            ("OIDC_DPOP_NONCE", "true"),
            ("OIDC_DPOP_BIND_TOKENS", "yes"),
        ]);
        let set = config(&vars).expect("valid");
        assert_eq!(set.dpop.mode, DpopMode::Required);
        assert!(set.dpop.nonces && set.dpop.bind_tokens);
        let mut vars = base.to_vec();
        vars.push(("OIDC_DPOP", "sometimes"));
        let err = config(&vars).expect_err("unknown mode");
        assert_eq!(err.setting(), "OIDC_DPOP");
        assert!(err.problem().contains("off"), "{err}");
    }
}
