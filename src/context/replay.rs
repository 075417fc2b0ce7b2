//! Single-use values remembered against replay: the `state` of each finished login and the
//! `jti` of each back-channel logout token. In the server-side store when it keeps them,
//! so a replay sent to another instance sharing it, or after a restart, is refused; else
//! in this process.

use std::sync::atomic::Ordering;
use std::time::Duration;

use base64::Engine as _;
use sha2::{Digest, Sha256};

use super::Context;
use crate::config::SessionBackend;
use crate::session::login_state::LOGIN_TTL_SECS;
use crate::session::store::StoreError;

/// How long the instance that refreshes a session's token holds the store's lock.
const REFRESH_LOCK: Duration = Duration::from_secs(10);

/// What the store says about a single-use key.
pub(crate) enum StoreVerdict {
    /// First presented now.
    First,
    /// Presented before.
    Replayed,
    /// No store, or one that does not keep single-use keys: this process decides alone.
    NotKept,
    /// The store could not answer.
    Failed(StoreError),
}

impl Context {
    /// The store's word on a login's `state` being used now.
    pub(crate) async fn first_use_of_state(&self, state: &str) -> StoreVerdict {
        let key = used_key("login_state", &self.config.client_id, state);
        self.first_use_in_store(&key, Duration::from_secs(LOGIN_TTL_SECS))
            .await
    }

    /// Whether a logout token's `jti` is used for the first time. With a store that keeps
    /// single-use keys, the store decides; else this process.
    ///
    /// A store that cannot answer lets the token through this check: ending the
    /// sessions it names needs the same store and fails with `503`, which the provider
    /// retries, while refusing the token here with `400` would lose the logout for good.
    pub(crate) async fn first_use_of_logout_token(&self, jti: &str) -> bool {
        let key = used_key("logout_token", &self.config.client_id, jti);
        let ttl = Duration::from_secs(self.used_logout_token_secs);
        match self.first_use_in_store(&key, ttl).await {
            StoreVerdict::First => true,
            StoreVerdict::Replayed => false,
            StoreVerdict::NotKept => self
                .used_logout_tokens
                .first_use(jti, crate::session::now()),
            StoreVerdict::Failed(err) => {
                tracing::warn!(error = %err, "logout token: its jti could not be checked");
                true
            }
        }
    }

    /// The store's word on a DPoP proof's `jti`, per key, used now: remembered as long as
    /// the proof's `iat` could pass.
    pub(crate) async fn first_use_of_dpop_proof(&self, jkt: &str, jti: &str) -> StoreVerdict {
        let key = used_key("dpop_jti", &self.config.client_id, &format!("{jkt}:{jti}"));
        let ttl = Duration::from_secs(self.config.dpop.jti_lifetime_secs());
        self.first_use_in_store(&key, ttl).await
    }

    /// Forgets a logout token's `jti` after ending its sessions failed, so the provider's
    /// retry of the same token is not refused as a replay. Best effort: a store that
    /// cannot forget now leaves the `jti` recorded, as it was.
    pub(crate) async fn forget_logout_token(&self, jti: &str) {
        self.used_logout_tokens.forget(jti);
        let SessionBackend::Store(store) = &self.config.session else {
            return;
        };
        if !self.store_keeps_used_keys.load(Ordering::Relaxed) {
            return;
        }
        let key = used_key("logout_token", &self.config.client_id, jti);
        match store.forget_use(&key).await {
            Ok(()) | Err(StoreError::Unsupported) => {}
            Err(err) => {
                tracing::warn!(error = %err, "logout token: its jti could not be forgotten")
            }
        }
    }

    /// Whether this instance is the one to present a refresh token now, `key` naming the
    /// session and the token: with a store shared by several instances, only the first to
    /// ask within [`REFRESH_LOCK`] is, so a provider that detects refresh-token reuse never
    /// sees the token twice.
    pub(crate) async fn first_to_refresh(&self, key: &str) -> StoreVerdict {
        let key = used_key("refresh", &self.config.client_id, key);
        self.first_use_in_store(&key, REFRESH_LOCK).await
    }

    async fn first_use_in_store(&self, key: &str, ttl: Duration) -> StoreVerdict {
        let SessionBackend::Store(store) = &self.config.session else {
            return StoreVerdict::NotKept;
        };
        if !self.store_keeps_used_keys.load(Ordering::Relaxed) {
            return StoreVerdict::NotKept;
        }
        match store.first_use(key, ttl).await {
            Ok(true) => StoreVerdict::First,
            Ok(false) => StoreVerdict::Replayed,
            Err(StoreError::Unsupported) => {
                self.store_keeps_used_keys.store(false, Ordering::Relaxed);
                StoreVerdict::NotKept
            }
            Err(err) => StoreVerdict::Failed(err),
        }
    }
}

/// The store's key for `value` of `kind`: hashed with the client id, so keys have one
/// length and applications sharing a store never refuse each other's values.
fn used_key(kind: &str, client_id: &str, value: &str) -> String {
    let mut hash = Sha256::new();
    // Length first, so no client id and value run into another pair.
    hash.update((client_id.len() as u64).to_be_bytes());
    hash.update(client_id.as_bytes());
    hash.update(value.as_bytes());
    let digest = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(hash.finalize());
    format!("{kind}:{digest}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_differ_by_kind_client_and_value() {
        let key = used_key("login_state", "app", "s1");
        assert!(key.starts_with("login_state:"));
        assert_eq!(key.len(), "login_state:".len() + 43);
        assert_ne!(key, used_key("login_state", "app", "s2"));
        assert_ne!(key, used_key("login_state", "other", "s1"));
        assert_ne!(used_key("logout_token", "app", "s1"), key);
        assert_ne!(used_key("x", "a\0b", "c"), used_key("x", "a", "b\0c"));
    }
}
