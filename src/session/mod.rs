//! Sessions: what a signed-in session holds, and where it is kept.

#[cfg(feature = "api-keys")]
pub(crate) mod apikeys;
pub(crate) mod cache;
#[cfg(any(feature = "redis", feature = "sql"))]
pub(crate) mod change_feed;
pub(crate) mod changes;
pub(crate) mod codec;
pub(crate) mod cookies;
pub(crate) mod decoded;
pub(crate) mod expiring_set;
pub(crate) mod login_state;
pub(crate) mod logout_index;
pub(crate) mod memory;
#[cfg(feature = "sql")]
pub(crate) mod pg_changes;
#[cfg(feature = "redis")]
pub(crate) mod redis_changes;
#[cfg(feature = "redis")]
pub(crate) mod redis_connection;
#[cfg(feature = "redis")]
pub(crate) mod redis_store;
#[cfg(feature = "redis")]
pub(crate) mod redis_url;
#[cfg(feature = "sql")]
pub(crate) mod sql_store;
pub(crate) mod store;
pub(crate) mod store_url;
pub(crate) mod stored;

use std::any::Any;
use std::sync::{Arc, OnceLock};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The hook's user as handlers take it, decoded at most once per session: as the hook's own
/// `User` type (`None` when the stored JSON does not decode as it), and as JSON.
#[derive(Clone, Default)]
pub(crate) struct TypedUser {
    pub(crate) typed: OnceLock<Option<Arc<dyn Any + Send + Sync>>>,
    pub(crate) json: OnceLock<Arc<Value>>,
}

/// Everything a signed-in session carries. Serialized into the encrypted cookie, or into a
/// server-side store, without repeating the claims its ID token carries.
#[derive(Clone, Serialize, Deserialize)]
#[serde(into = "stored::StoredSession", try_from = "stored::StoredSession")]
pub struct SessionData {
    /// Our own session id, new at every login.
    pub(crate) sid: String,
    /// The user id taken from the configured claim.
    pub(crate) user_id: String,
    /// The ID token claims merged with userinfo claims.
    pub(crate) claims: Map<String, Value>,
    pub(crate) id_token: Option<String>,
    pub(crate) access_token: Option<String>,
    pub(crate) refresh_token: Option<String>,
    /// Unix seconds when the access token expires, if the provider said.
    pub(crate) access_expires_at: Option<u64>,
    /// Unix seconds of the login.
    pub(crate) created_at: u64,
    /// Unix seconds when the session ends, whatever the tokens say.
    pub(crate) expires_at: u64,
    /// The application's user from the user-detail hook, as JSON.
    pub(crate) user: Option<Value>,
    /// Unix seconds when the hook last loaded `user`.
    pub(crate) user_loaded_at: Option<u64>,
    /// Unix seconds when the session was last stamped as in use: at most once per
    /// [`touch_interval`], not on every request. `None` in records written before sessions
    /// had an idle timeout.
    pub(crate) last_seen: Option<u64>,
    /// An identity from a bearer token rather than a browser session; never stored.
    pub(crate) bearer: bool,
    /// Never stored.
    pub(crate) typed_user: TypedUser,
    /// The session's DPoP private key (PKCS#8, base64url) when its tokens are bound to it.
    pub(crate) dpop_key: Option<String>,
    /// The name of the provider that signed the user in, when several are configured.
    pub(crate) provider: Option<String>,
}

impl SessionData {
    /// What a credential sent with each request proves (a bearer token, an API key): its
    /// user and claims for its lifetime, with no session id and no tokens of its own.
    pub(crate) fn of_credential(
        user_id: String,
        claims: Map<String, Value>,
        created_at: u64,
        expires_at: u64,
    ) -> Self {
        SessionData {
            sid: String::new(),
            user_id,
            claims,
            id_token: None,
            access_token: None,
            refresh_token: None,
            access_expires_at: None,
            created_at,
            expires_at,
            user: None,
            user_loaded_at: None,
            last_seen: None,
            bearer: true,
            typed_user: TypedUser::default(),
            dpop_key: None,
            provider: None,
        }
    }

    pub(crate) fn is_expired(&self, now: u64) -> bool {
        now >= self.expires_at
    }

    /// The access token needs a refresh: it expires within `leeway` seconds and a refresh
    /// token exists to renew it.
    /// The hook's user is older than `ttl` seconds and must be loaded again.
    pub(crate) fn user_is_stale(&self, now: u64, ttl: u64) -> bool {
        self.user_loaded_at
            .is_some_and(|loaded| now >= loaded.saturating_add(ttl))
    }

    /// Unused for `idle` seconds or more. A session not stamped yet counts as in use.
    pub(crate) fn is_idle(&self, now: u64, idle: Option<u64>) -> bool {
        match (idle, self.last_seen) {
            (Some(idle), Some(seen)) => now >= seen.saturating_add(idle),
            _ => false,
        }
    }

    /// Its last-seen stamp is older than the touch interval of `idle` (or missing).
    pub(crate) fn needs_touch(&self, now: u64, idle: Option<u64>) -> bool {
        idle.is_some_and(|idle| {
            self.last_seen
                .is_none_or(|seen| now >= seen.saturating_add(touch_interval(idle)))
        })
    }

    pub(crate) fn needs_refresh(&self, now: u64, leeway: u64) -> bool {
        self.refresh_token.is_some()
            && self
                .access_expires_at
                .is_some_and(|expires| now.saturating_add(leeway) >= expires)
    }
}

impl std::fmt::Debug for SessionData {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionData")
            .field("user_id", &self.user_id)
            .field("created_at", &self.created_at)
            .field("expires_at", &self.expires_at)
            .field("access_expires_at", &self.access_expires_at)
            .finish_non_exhaustive()
    }
}

/// How long a session's last-seen stamp stands before a request renews it, for an idle
/// timeout of `idle` seconds: a tenth of it, at least a minute, and at most half the
/// timeout so a short one still works. A session thus ends after between `idle` minus
/// this interval and `idle` seconds unused, and is written again at most once per interval.
pub(crate) fn touch_interval(idle: u64) -> u64 {
    (idle / 10).max(60).min(idle / 2).max(1)
}

/// Seconds since the Unix epoch.
pub(crate) fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs())
}

/// A random identifier of 256 bits, URL-safe base64 without padding.
pub(crate) fn random_id() -> String {
    use base64::Engine;
    use rand::RngCore;
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_touch_interval_is_a_tenth_of_the_idle_timeout_within_bounds() {
        assert_eq!(touch_interval(2), 1);
        assert_eq!(touch_interval(4), 2);
        assert_eq!(touch_interval(300), 60);
        assert_eq!(touch_interval(1800), 180);
        assert_eq!(touch_interval(86_400), 8640);
    }

    #[test]
    fn idleness_counts_from_the_last_seen_stamp() {
        let mut session = SessionData {
            sid: "s".into(),
            user_id: "u".into(),
            claims: Map::new(),
            id_token: None,
            access_token: None,
            refresh_token: None,
            access_expires_at: None,
            created_at: 0,
            expires_at: 10_000,
            user: None,
            user_loaded_at: None,
            last_seen: None,
            bearer: false,
            typed_user: TypedUser::default(),
            dpop_key: None,
            provider: None,
        };
        // Written before idle timeouts: in use, and stamped at the next request.
        assert!(!session.is_idle(5000, Some(60)));
        assert!(session.needs_touch(5000, Some(60)));
        assert!(!session.needs_touch(5000, None));
        session.last_seen = Some(1000);
        assert!(!session.is_idle(1099, Some(100)));
        assert!(session.is_idle(1100, Some(100)));
        assert!(!session.is_idle(1_000_000, None));
        assert!(!session.needs_touch(1049, Some(100)));
        assert!(session.needs_touch(1050, Some(100)));
    }
}
