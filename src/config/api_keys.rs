//! The settings of personal API keys (feature `api-keys`): off unless switched on.

use std::sync::Arc;

#[cfg(feature = "api-keys")]
use super::builder::ConfigBuilder;
use super::builder::Sourced;
use super::ConfigError;

/// What the builder collected about API keys.
#[derive(Default, Clone)]
pub(super) struct Settings {
    enabled: Option<Sourced<bool>>,
    path: Option<Sourced<String>>,
    per_user: Option<Sourced<usize>>,
    scopes: Option<Sourced<Vec<String>>>,
    end_with_sessions: Option<bool>,
    #[cfg(feature = "api-keys")]
    store: Option<Arc<dyn crate::session::apikeys::store::DynKeyStore>>,
    /// The key store of the session store, when that keeps keys too (Redis, SQL).
    #[cfg(feature = "api-keys")]
    sessions_store: Option<Arc<dyn crate::session::apikeys::store::DynKeyStore>>,
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiKeys")
            .field("enabled", &self.enabled)
            .field("path", &self.path)
            .field("per_user", &self.per_user)
            .field("scopes", &self.scopes)
            .field("end_with_sessions", &self.end_with_sessions)
            .finish_non_exhaustive()
    }
}

#[cfg(feature = "api-keys")]
#[cfg_attr(docsrs, doc(cfg(feature = "api-keys")))]
impl ConfigBuilder {
    /// Personal API keys: `true` opens the key route ([`api_keys_path`](Self::api_keys_path),
    /// `/api-keys` by default) to signed-in browser sessions, and accepts
    /// `Authorization: Bearer toidc_…` keys on protected routes. Off by default;
    /// `OIDC_API_KEYS`. Replaces any earlier value.
    ///
    /// ```
    /// let config = tower_oidc::Config::builder()
    ///     .issuer("https://accounts.example.com")
    ///     .client_id("my-app")
    ///     .client_secret("my-secret")
    ///     .secret_key("a random string of at least 32 bytes!!")
    ///     .api_keys(true)
    ///     .api_keys_path("/settings/keys")
    ///     .api_keys_per_user(20)
    ///     .api_key_scopes(["read", "write"])
    ///     .build()?;
    /// # let _ = config;
    /// # Ok::<(), tower_oidc::ConfigError>(())
    /// ```
    pub fn api_keys(mut self, enabled: bool) -> Self {
        self.api_keys.enabled = Some(self.sourced(enabled));
        self
    }

    /// The route where signed-in users make (`POST`), list (`GET`) and revoke
    /// (`DELETE {path}/{id}`) their keys; the base path is prepended. Default `/api-keys`;
    /// `OIDC_API_KEYS_PATH`. Replaces any earlier path.
    pub fn api_keys_path(mut self, path: impl Into<String>) -> Self {
        self.api_keys.path = Some(self.sourced(path.into()));
        self
    }

    /// The most keys one user may have at once (at least 1). Default 100;
    /// `OIDC_API_KEYS_PER_USER`. Replaces any earlier limit.
    pub fn api_keys_per_user(mut self, limit: usize) -> Self {
        self.api_keys.per_user = Some(self.sourced(limit));
        self
    }

    /// Scopes any key may be given (checked by [`Require::scope`](crate::Require::scope)),
    /// beyond those the session making it was granted itself (its `scope` or `scp` claim).
    /// None by default: a key then carries only scopes its owner has.
    /// `OIDC_API_KEYS_SCOPES`. Replaces any earlier list.
    pub fn api_key_scopes<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let scopes = scopes.into_iter().map(Into::into).collect();
        self.api_keys.scopes = Some(self.sourced(scopes));
        self
    }

    /// Whether ending every session of a user (`OidcLayer::end_sessions_for`) revokes
    /// their keys too. Default `true`; `OIDC_API_KEYS_END_WITH_SESSIONS`.
    pub fn api_keys_end_with_sessions(mut self, end: bool) -> Self {
        self.api_keys.end_with_sessions = Some(end);
        self
    }

    /// Where keys are kept. Without it, keys live where sessions do when the session store
    /// is a `RedisStore` or a `SqlStore`, else in a
    /// [`MemoryApiKeyStore`](crate::store::MemoryApiKeyStore) of this process.
    pub fn api_key_store(mut self, store: impl crate::store::ApiKeyStore) -> Self {
        self.api_keys.store = Some(crate::session::apikeys::store::erased(store));
        self
    }
}

impl Settings {
    /// Remembers the key store of a session store that keeps keys too.
    #[cfg_attr(not(feature = "api-keys"), allow(unused_variables))]
    pub(super) fn sessions_in<S: 'static>(&mut self, store: &S) {
        #[cfg(feature = "api-keys")]
        {
            self.sessions_store = crate::session::apikeys::store::of_session_store(store);
        }
    }

    pub(super) fn set_enabled(&mut self, value: Sourced<bool>) {
        self.enabled = Some(value);
    }

    pub(super) fn set_path(&mut self, value: Sourced<String>) {
        self.path = Some(value);
    }

    pub(super) fn set_per_user(&mut self, value: Sourced<usize>) {
        self.per_user = Some(value);
    }

    pub(super) fn set_scopes(&mut self, value: Sourced<Vec<String>>) {
        self.scopes = Some(value);
    }

    pub(super) fn set_end_with_sessions(&mut self, value: bool) {
        self.end_with_sessions = Some(value);
    }

    /// Whether keys are switched on.
    fn is_enabled(&self) -> bool {
        self.enabled.as_ref().is_some_and(|enabled| enabled.value)
    }

    /// Checks every value, whether keys are on or not, so a typo is found before it
    /// matters.
    fn check(&self, base_path: &str) -> Result<String, ConfigError> {
        let path = super::build::route(&self.path, "api_keys_path", DEFAULT_PATH, base_path)?;
        if let Some(per_user) = self.per_user.as_ref().filter(|limit| limit.value == 0) {
            return Err(ConfigError::new(
                per_user.name("api_keys_per_user"),
                "must be at least 1",
            ));
        }
        if let Some(scopes) = &self.scopes {
            if let Some(bad) = scopes.value.iter().find(|scope| !is_scope_token(scope)) {
                return Err(ConfigError::new(
                    scopes.name("api_key_scopes"),
                    format!(
                        "`{bad}` is not a scope: 1 to 64 printable characters without spaces, \
                         quotes or backslashes"
                    ),
                ));
            }
        }
        if self.is_enabled() && !cfg!(feature = "api-keys") {
            let enabled = self
                .enabled
                .as_ref()
                .map_or("api_keys", |e| e.name("api_keys"));
            return Err(ConfigError::new(
                enabled,
                "API keys need tower-oidc's `api-keys` feature",
            ));
        }
        Ok(path)
    }

    /// The keys' configuration, when switched on.
    #[cfg(feature = "api-keys")]
    pub(super) fn build(
        &self,
        base_path: &str,
    ) -> Result<Option<Arc<crate::session::apikeys::ApiKeys>>, ConfigError> {
        let path = self.check(base_path)?;
        if !self.is_enabled() {
            return Ok(None);
        }
        let store = self
            .store
            .clone()
            .or_else(|| self.sessions_store.clone())
            .unwrap_or_else(|| {
                crate::session::apikeys::store::erased(crate::store::MemoryApiKeyStore::default())
            });
        Ok(Some(Arc::new(crate::session::apikeys::ApiKeys {
            path,
            per_user: self
                .per_user
                .as_ref()
                .map_or(crate::session::apikeys::DEFAULT_PER_USER, |limit| {
                    limit.value
                }),
            scopes: self
                .scopes
                .as_ref()
                .map(|scopes| scopes.value.clone())
                .unwrap_or_default(),
            end_with_sessions: self.end_with_sessions.unwrap_or(true),
            store,
            identities: crate::session::apikeys::cache::KeyIdentities::new(IDENTITIES),
        })))
    }

    /// Without the feature, only checks: `OIDC_API_KEYS=true` is an error.
    #[cfg(not(feature = "api-keys"))]
    pub(super) fn build(&self, base_path: &str) -> Result<Option<Arc<()>>, ConfigError> {
        self.check(base_path).map(|_| None)
    }
}

const DEFAULT_PATH: &str = "/api-keys";
/// Identities of keys in use kept per layer.
#[cfg(feature = "api-keys")]
const IDENTITIES: usize = 10_000;

/// RFC 6749's `scope-token`, at most 64 characters.
pub(crate) fn is_scope_token(scope: &str) -> bool {
    !scope.is_empty()
        && scope.len() <= 64
        && scope
            .bytes()
            .all(|b| b == 0x21 || (0x23..=0x5b).contains(&b) || (0x5d..=0x7e).contains(&b))
}

#[cfg(all(test, feature = "api-keys"))]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::test_support::config;

    fn minimal() -> ConfigBuilder {
        Config::builder()
            .issuer("https://op.example.com")
            .client_id("client")
            .secret_key("0123456789abcdef0123456789abcdef-key")
    }

    #[test]
    fn off_by_default_and_on_with_secure_defaults() {
        assert!(minimal().build().expect("config").api_keys.is_none());
        let config = minimal().api_keys(true).build().expect("config");
        let keys = config.api_keys.expect("on");
        assert_eq!(keys.path, "/api-keys");
        assert_eq!(keys.per_user, 100);
        assert!(keys.scopes.is_empty());
        assert!(keys.end_with_sessions);
        assert!(keys.store.name().ends_with("MemoryApiKeyStore"));
        assert!(keys.store.load_now("id").is_some());
    }

    #[test]
    fn the_route_sits_under_the_base_path() {
        let config = minimal()
            .base_path("/app")
            .api_keys(true)
            .api_keys_path("/keys")
            .build()
            .expect("config");
        assert_eq!(config.api_keys.expect("on").path, "/app/keys");
    }

    #[test]
    fn bad_values_name_the_method_or_the_variable() {
        let err = minimal().api_keys(true).api_keys_per_user(0).build();
        assert_eq!(err.expect_err("zero").setting(), "api_keys_per_user");
        let err = minimal().api_keys(true).api_keys_path("keys").build();
        assert_eq!(err.expect_err("relative").setting(), "api_keys_path");
        let err = minimal().api_key_scopes(["a b"]).build();
        assert_eq!(err.expect_err("space").setting(), "api_key_scopes");
        let base = [
            ("OIDC_ISSUER", "https://op.example.com"),
            ("OIDC_CLIENT_ID", "app"),
            ("OIDC_SECRET_KEY", "0123456789abcdef0123456789abcdef-key"),
        ];
        let with = |name, value| {
            let mut vars = base.to_vec();
            vars.push(("OIDC_API_KEYS", "true"));
            vars.push((name, value));
            config(&vars)
        };
        for (name, value) in [
            ("OIDC_API_KEYS_PER_USER", "0"),
            ("OIDC_API_KEYS_PER_USER", "lots"),
            ("OIDC_API_KEYS_PATH", "//x"),
            ("OIDC_API_KEYS_SCOPES", "ok\\bad"),
            ("OIDC_API_KEYS_END_WITH_SESSIONS", "maybe"),
        ] {
            assert_eq!(with(name, value).expect_err(name).setting(), name);
        }
        let keys = with("OIDC_API_KEYS_SCOPES", "read, write")
            .expect("config")
            .api_keys
            .expect("on");
        assert_eq!(keys.scopes, ["read", "write"]);
        let off = config(&[base.as_slice(), &[("OIDC_API_KEYS", "false")]].concat());
        assert!(off.expect("config").api_keys.is_none());
    }

    #[cfg(feature = "redis")]
    #[test]
    fn keys_live_where_sessions_do_unless_given_a_store() {
        let redis = || crate::store::RedisStore::new("redis://127.0.0.1:1").expect("url");
        let keys = |builder: ConfigBuilder| {
            builder
                .api_keys(true)
                .build()
                .expect("config")
                .api_keys
                .expect("on")
        };
        let in_redis = keys(minimal().session_store(redis()));
        assert!(in_redis.store.name().ends_with("RedisStore"));
        let shared = keys(minimal().session_store(std::sync::Arc::new(redis())));
        assert!(shared.store.name().contains("RedisStore"));
        let given = keys(
            minimal()
                .session_store(redis())
                .api_key_store(crate::store::MemoryApiKeyStore::default()),
        );
        assert!(given.store.load_now("id").is_some());
        assert!(keys(minimal().memory_sessions())
            .store
            .load_now("id")
            .is_some());
        // Debug shows where keys go, never a secret.
        let debug = format!("{:?}", minimal().api_keys(true).build().expect("config"));
        assert!(debug.contains("MemoryApiKeyStore"), "{debug}");
    }
}
