//! What the layer keeps for DPoP between requests: the proofs' `jti`s seen by this process
//! and the server nonces.

use crate::dpop::nonce::Nonces;
use crate::session::expiring_set::ExpiringSet;

/// Proof `jti`s remembered at most in this process.
const USED_JTIS: usize = 100_000;

/// What the layer keeps for DPoP between requests.
pub(crate) struct DpopState {
    /// `jti`s of accepted proofs, per key, while their `iat` could still pass.
    pub(crate) used_jtis: ExpiringSet,
    /// Set when proofs must carry our nonce.
    pub(crate) nonces: Option<Nonces>,
}

impl DpopState {
    pub(crate) fn new(config: &crate::config::Config) -> Self {
        Self {
            used_jtis: ExpiringSet::new(USED_JTIS),
            nonces: config
                .dpop
                .nonces
                .then(|| Nonces::new(config.cookie_key.master())),
        }
    }
}
