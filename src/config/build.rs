//! `ConfigBuilder::build`: every setting checked, defaults filled in.

use std::sync::Arc;

use sha2::{Digest, Sha256};
use url::Url;

use super::builder::Sourced;
use super::{defaults, flaskoidc, Config, ConfigBuilder, ConfigError, RedirectUri};
use crate::paths::{Routes, Whitelist};
use crate::user::UserHook;

/// Parameters the login flow sets; letting configuration override them would weaken it.
const RESERVED_AUTH_PARAMS: &[&str] = &[
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "nonce",
    "code_challenge",
    "code_challenge_method",
];

impl ConfigBuilder {
    /// Checks every setting and builds the configuration.
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] naming the first setting that cannot work — the environment
    /// variable that set it, or else the builder method — when: neither an issuer, a
    /// discovery URL nor endpoints are given, or they contradict each other; a URL or path
    /// is malformed; the client id is missing or empty; no secret key is given (and none is
    /// generated), or it is shorter than 32 bytes or flaskoidc's published example; the
    /// cookie name, user id claim, whitelist, audiences, signature algorithms, post-login
    /// target, post-logout URI or forced scheme are invalid; or an authorization parameter
    /// overrides one the login flow sets, or is given twice with different values.
    pub fn build(self) -> Result<Config, ConfigError> {
        if self.disables_auth() {
            return self.build_development();
        }
        if !self.providers.is_empty() {
            return self.build_providers();
        }
        let provider = self.provider_source()?;
        let client_id = self.checked_client_id()?;
        let cookie_key = self.cookie_key()?;
        let previous_cookie_keys = self.previous_cookie_keys()?;
        let session_idle_timeout = self.checked_idle_timeout()?;
        let base_path = self.checked_base_path()?;
        let redirect_uri = self.parse_redirect_uri(&base_path)?;
        let routes = Routes {
            login: route(
                &self.login_path,
                "login_path",
                defaults::LOGIN_PATH,
                &base_path,
            )?,
            logout: route(
                &self.logout_path,
                "logout_path",
                defaults::LOGOUT_PATH,
                &base_path,
            )?,
            callback: redirect_uri.path().to_owned(),
            backchannel_logout: route(
                &self.backchannel_logout_path,
                "backchannel_logout_path",
                defaults::BACKCHANNEL_LOGOUT_PATH,
                &base_path,
            )?,
            frontchannel_logout: route(
                &self.frontchannel_logout_path,
                "frontchannel_logout_path",
                defaults::FRONTCHANNEL_LOGOUT_PATH,
                &base_path,
            )?,
            home: if base_path.is_empty() {
                defaults::HOME_PATH.to_owned()
            } else {
                base_path.clone()
            },
        };
        let whitelist = self.checked_whitelist(&base_path)?;
        let user_id_claim = self.checked_user_id_claim()?;
        let cookie_name = self.host_prefixed(self.checked_cookie_name()?, &base_path)?;
        let allowed_algorithms = self.checked_allowed_algorithms()?;
        let audiences = self.checked_audiences(&client_id)?;
        let post_login_redirect = self.checked_post_login_redirect()?;
        self.check_post_logout_redirect_uri()?;
        let auth_params = self.checked_auth_params()?;
        let force_scheme = self.checked_force_scheme()?;
        self.check_id_token_signing_alg()?;
        #[cfg(feature = "api-keys")]
        let api_keys = self.api_keys.build(&base_path)?;
        #[cfg(not(feature = "api-keys"))]
        self.api_keys.build(&base_path)?;
        self.check_session_store_ca_used()?;
        let client = self.client_options.build(
            self.client_auth.as_ref(),
            self.client_secret
                .as_ref()
                .is_some_and(|secret| !secret.expose().is_empty()),
        )?;
        Ok(Config {
            provider,
            provider_name: self.provider_name.clone(),
            client_id,
            client_secret: self
                .client_secret
                .clone()
                .filter(|secret| !secret.expose().is_empty()),
            client_auth: self.client_auth.as_ref().map(|auth| auth.value),
            client_key: client.client_key,
            transport: client.transport,
            pushed_authorization_requests: self.client_options.pushed_authorization_requests,
            response_mode: self.client_options.response_mode,
            client_assertion_audience: self.client_options.assertion_audience,
            redirect_uri,
            scopes: self.checked_scopes(),
            user_id_claim,
            whitelist,
            routes,
            cookie_key,
            previous_cookie_keys,
            cookie_name,
            cookie_secure: self.cookie_secure.unwrap_or(defaults::COOKIE_SECURE),
            session: self.session_backend(session_idle_timeout),
            session_idle_timeout,
            session_max_age: self.session_max_age.unwrap_or(defaults::SESSION_MAX_AGE),
            session_near_cache: if self.session_near_cache.unwrap_or(true) {
                self.session_near_cache_capacity
                    .unwrap_or(defaults::SESSION_NEAR_CACHE_CAPACITY)
            } else {
                0
            },
            post_login_redirect,
            post_logout_redirect_uri: value(&self.post_logout_redirect_uri).map(str::to_owned),
            auth_params,
            leeway: self.leeway.unwrap_or(defaults::LEEWAY),
            trust_forwarded_headers: self.trust_forwarded_headers,
            force_scheme,
            fetch_userinfo: self.fetch_userinfo.unwrap_or(defaults::FETCH_USERINFO),
            allowed_algorithms,
            http_timeout: self.http_timeout.unwrap_or(defaults::HTTP_TIMEOUT),
            jwks_refresh_interval: defaults::JWKS_REFRESH_INTERVAL,
            max_pending_logins: defaults::MAX_PENDING_LOGINS,
            user_hook: self.user_hook.clone().map(|hook| UserHook {
                hook,
                ttl_secs: self
                    .user_ttl
                    .unwrap_or(defaults::USER_DETAILS_TTL)
                    .as_secs(),
            }),
            audiences,
            bearer_only: self.bearer_only,
            introspect_opaque_tokens: self.introspect_opaque_tokens,
            silent_login_first: self.silent_login_first,
            require: self.require.clone(),
            denied_page: self.denied_page.clone(),
            security: self.security.clone(),
            id_token_signing_alg: self.id_token_signing_alg.as_ref().map(|alg| alg.value),
            resolve_claim_sources: self.resolve_claim_sources,
            #[cfg(feature = "api-keys")]
            api_keys,
            development: None,
            dpop: self.dpop.clone(),
            provider_key: None,
            namespace_user_ids: false,
            require_iss: false,
            tenants: None,
            providers: Vec::new(),
            default_provider: None,
            chooser_page: self.chooser_page.clone().map(Arc::from),
        })
    }

    fn checked_client_id(&self) -> Result<String, ConfigError> {
        let client_id = value(&self.client_id).map(str::trim).unwrap_or_default();
        if client_id.is_empty() {
            return Err(error(&self.client_id, "client_id", "missing or empty"));
        }
        Ok(client_id.to_owned())
    }

    fn cookie_key(&self) -> Result<cookie::Key, ConfigError> {
        let material = match (&self.secret_key, self.generated_key) {
            (Some(key), _) => key.value.expose().as_bytes().to_vec(),
            (None, true) => {
                use rand::RngCore;
                let mut bytes = vec![0u8; defaults::GENERATED_SECRET_KEY_BYTES];
                rand::rngs::OsRng.fill_bytes(&mut bytes);
                bytes
            }
            (None, false) => {
                return Err(ConfigError::new(
                    "secret_key",
                    "missing: set at least 32 random bytes (e.g. `openssl rand -base64 48`)",
                ))
            }
        };
        check_key_material(&material)
            .map_err(|problem| error(&self.secret_key, "secret_key", problem))?;
        Ok(derive_cookie_key(&material))
    }

    fn checked_idle_timeout(&self) -> Result<Option<std::time::Duration>, ConfigError> {
        let Some(idle) = &self.session_idle_timeout else {
            return Ok(None);
        };
        if idle.value.as_secs() < 2 {
            return Err(error(
                &self.session_idle_timeout,
                "session_idle_timeout",
                "must be at least 2 seconds",
            ));
        }
        Ok(Some(std::time::Duration::from_secs(idle.value.as_secs())))
    }

    /// The keys of a rotation that only open cookies, each checked like the main key.
    fn previous_cookie_keys(&self) -> Result<Vec<cookie::Key>, ConfigError> {
        self.previous_secret_keys
            .iter()
            .map(|key| {
                let material = key.value.expose().as_bytes();
                check_key_material(material).map_err(|problem| {
                    ConfigError::new(key.name("secret_keys"), format!("a previous key {problem}"))
                })?;
                Ok(derive_cookie_key(material))
            })
            .collect()
    }

    fn checked_base_path(&self) -> Result<String, ConfigError> {
        let trimmed = value(&self.base_path)
            .map(str::trim)
            .unwrap_or("")
            .trim_end_matches('/');
        if trimmed.is_empty() {
            return Ok(String::new());
        }
        if !trimmed.starts_with('/')
            || trimmed.starts_with("//")
            || trimmed.contains(['?', '#', ' '])
        {
            return Err(error(
                &self.base_path,
                "base_path",
                "must be a path starting with `/`, e.g. `/my_app`",
            ));
        }
        Ok(trimmed.to_owned())
    }

    fn parse_redirect_uri(&self, base_path: &str) -> Result<RedirectUri, ConfigError> {
        let raw = value(&self.redirect_uri)
            .map(str::trim)
            .unwrap_or(defaults::CALLBACK_PATH);
        if raw.starts_with('/') && !raw.starts_with("//") {
            let path = raw.split(['?', '#']).next().unwrap_or(raw);
            return Ok(RedirectUri::Path(format!("{base_path}{path}")));
        }
        match Url::parse(raw) {
            Ok(url)
                if matches!(url.scheme(), "http" | "https")
                    && url.host().is_some()
                    && url.fragment().is_none() =>
            {
                Ok(RedirectUri::Absolute(url))
            }
            _ => Err(error(
                &self.redirect_uri,
                "redirect_uri",
                "must be an absolute http(s) URL without fragment, or a path starting with `/`",
            )),
        }
    }

    /// Every entry is checked; an error names the variable (or method) that gave the
    /// first bad one.
    fn checked_whitelist(&self, base_path: &str) -> Result<Whitelist, ConfigError> {
        let entries: Vec<String> = self.whitelist.iter().map(|e| e.value.clone()).collect();
        Whitelist::parse(&entries, base_path).map_err(|problem| {
            let culprit = self.whitelist.iter().find(|entry| {
                Whitelist::parse(std::slice::from_ref(&entry.value), base_path).is_err()
            });
            let name = culprit.map_or("whitelist", |entry| entry.name("whitelist"));
            ConfigError::new(name, problem)
        })
    }

    fn checked_scopes(&self) -> Vec<String> {
        let mut scopes = self.scopes.clone().unwrap_or_else(|| {
            defaults::SCOPES
                .iter()
                .map(|&scope| scope.to_owned())
                .collect()
        });
        scopes.retain(|scope| !scope.is_empty());
        if !scopes.iter().any(|scope| scope == defaults::OPENID_SCOPE) {
            scopes.insert(0, defaults::OPENID_SCOPE.to_owned());
        }
        scopes
    }

    fn checked_user_id_claim(&self) -> Result<String, ConfigError> {
        let claim = value(&self.user_id_claim).unwrap_or(defaults::USER_ID_CLAIM);
        if claim.trim().is_empty() {
            return Err(error(
                &self.user_id_claim,
                "user_id_claim",
                "must not be empty",
            ));
        }
        Ok(claim.to_owned())
    }

    fn checked_cookie_name(&self) -> Result<String, ConfigError> {
        let name = value(&self.cookie_name).unwrap_or(defaults::COOKIE_NAME);
        if name.is_empty()
            || !name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        {
            return Err(error(
                &self.cookie_name,
                "cookie_name",
                "use letters, digits, `_` and `-` only",
            ));
        }
        Ok(name.to_owned())
    }

    /// The cookie name with the `__Host-` prefix when it applies (see
    /// [`ConfigBuilder::cookie_host_prefix`]).
    fn host_prefixed(&self, name: String, base_path: &str) -> Result<String, ConfigError> {
        const PREFIX: &str = "__Host-";
        let secure = self.cookie_secure.unwrap_or(true);
        let eligible = secure && base_path.is_empty();
        let wanted = self.security.host_prefix.unwrap_or(eligible);
        if wanted && !eligible {
            return Err(ConfigError::new(
                "cookie_host_prefix",
                "the __Host- prefix needs a Secure cookie served at path `/` (no base path)",
            ));
        }
        Ok(if wanted && !name.starts_with(PREFIX) {
            format!("{PREFIX}{name}")
        } else {
            name
        })
    }

    fn checked_allowed_algorithms(&self) -> Result<Vec<jsonwebtoken::Algorithm>, ConfigError> {
        use jsonwebtoken::Algorithm::{HS256, HS384, HS512};
        let algorithms = self
            .allowed_algorithms
            .clone()
            .unwrap_or_else(|| defaults::ALLOWED_ALGORITHMS.to_vec());
        if algorithms.is_empty()
            || algorithms
                .iter()
                .any(|alg| matches!(alg, HS256 | HS384 | HS512))
        {
            return Err(ConfigError::new(
                "allowed_algorithms",
                "must be non-empty and asymmetric only (HMAC with a public key is forgeable)",
            ));
        }
        Ok(algorithms)
    }

    fn checked_audiences(&self, client_id: &str) -> Result<Vec<String>, ConfigError> {
        match &self.audiences {
            Some(list)
                if list.value.is_empty() || list.value.iter().any(|aud| aud.trim().is_empty()) =>
            {
                Err(ConfigError::new(
                    list.name("audiences"),
                    "must list at least one non-empty audience",
                ))
            }
            Some(list) => Ok(list.value.clone()),
            None => Ok(vec![client_id.to_owned()]),
        }
    }

    fn checked_post_login_redirect(&self) -> Result<Option<String>, ConfigError> {
        match value(&self.post_login_redirect).map(str::trim) {
            None | Some("") => Ok(None),
            Some(target) if target.starts_with('/') && !target.starts_with("//") => {
                Ok(Some(target.to_owned()))
            }
            Some(target) => match Url::parse(target) {
                Ok(url) if matches!(url.scheme(), "http" | "https") => Ok(Some(target.to_owned())),
                _ => Err(error(
                    &self.post_login_redirect,
                    "post_login_redirect",
                    "must be a path starting with `/` or an absolute http(s) URL",
                )),
            },
        }
    }

    fn check_post_logout_redirect_uri(&self) -> Result<(), ConfigError> {
        match value(&self.post_logout_redirect_uri) {
            Some(uri) if !uri.starts_with('/') && Url::parse(uri).is_err() => Err(error(
                &self.post_logout_redirect_uri,
                "post_logout_redirect_uri",
                "must be an absolute URL or a path starting with `/`",
            )),
            _ => Ok(()),
        }
    }

    /// The parameters in the order given, each name once: a name repeated with the same
    /// value is kept once, with another value it is an error naming both sources.
    fn checked_auth_params(&self) -> Result<Vec<(String, String)>, ConfigError> {
        let mut params: Vec<&Sourced<(String, String)>> = Vec::new();
        for param in &self.auth_params {
            let (name, value) = &param.value;
            if RESERVED_AUTH_PARAMS.contains(&name.as_str()) {
                return Err(ConfigError::new(
                    param.name("auth_params"),
                    format!("`{name}` is set by the login flow itself and cannot be overridden"),
                ));
            }
            match params.iter().find(|earlier| earlier.value.0 == *name) {
                Some(earlier) if earlier.value.1 == *value => {}
                Some(earlier) => {
                    return Err(ConfigError::new(
                        both(earlier.name("auth_params"), param.name("auth_params")),
                        format!("`{name}` is given twice, with different values; keep one"),
                    ))
                }
                None => params.push(param),
            }
        }
        Ok(params
            .into_iter()
            .map(|param| param.value.clone())
            .collect())
    }

    fn checked_force_scheme(&self) -> Result<Option<String>, ConfigError> {
        match value(&self.force_scheme) {
            None => Ok(None),
            Some(scheme @ ("http" | "https")) => Ok(Some(scheme.to_owned())),
            Some(_) => Err(error(
                &self.force_scheme,
                "force_scheme",
                "must be `http` or `https`",
            )),
        }
    }
}

/// The value of a setting, if given.
fn value(setting: &Option<Sourced<String>>) -> Option<&str> {
    setting.as_ref().map(|sourced| sourced.value.as_str())
}

/// An error about `setting`, naming the variable that set it, else the builder method.
/// Why `material` cannot be a cookie key, if it cannot.
fn check_key_material(material: &[u8]) -> Result<(), String> {
    if material == flaskoidc::DEFAULT_SECRET_KEY.as_bytes() {
        return Err(
            "is flaskoidc's published example key; generate a random one (e.g. `openssl rand -base64 48`)"
                .to_owned(),
        );
    }
    if material.len() < defaults::MIN_SECRET_KEY_BYTES {
        return Err(format!(
            "too short: {} bytes, at least {} needed",
            material.len(),
            defaults::MIN_SECRET_KEY_BYTES
        ));
    }
    Ok(())
}

impl ConfigBuilder {
    /// A session store CA that no store took: `OIDC_SESSION_STORE_CA_FILE` without a
    /// `rediss` store in `OIDC_SESSION_STORE`.
    fn check_session_store_ca_used(&self) -> Result<(), ConfigError> {
        match &self.session_store_ca {
            None => Ok(()),
            Some(ca) => Err(ConfigError::new(
                ca.name("session_store_ca"),
                "is set, but no `rediss` Redis session store is configured to use it \
                 (OIDC_SESSION_STORE)",
            )),
        }
    }
}

fn derive_cookie_key(material: &[u8]) -> cookie::Key {
    // Hashing first lets any length of key material feed HKDF's fixed-size input.
    let mut hasher = Sha256::new();
    hasher.update(b"tower-oidc cookie key v1\0");
    hasher.update(material);
    cookie::Key::derive_from(&hasher.finalize())
}

pub(super) fn error<T>(
    sourced: &Option<Sourced<T>>,
    setting: &'static str,
    problem: impl Into<String>,
) -> ConfigError {
    let name = sourced
        .as_ref()
        .map_or(setting, |sourced| sourced.name(setting));
    ConfigError::new(name, problem)
}

/// The setting of an error about two settings that contradict each other. One name when
/// both are the same (one variable or method given twice).
pub(super) fn both(first: &str, second: &str) -> String {
    if first == second {
        first.to_owned()
    } else {
        format!("{first} and {second}")
    }
}

pub(super) fn route(
    sourced: &Option<Sourced<String>>,
    setting: &'static str,
    default: &str,
    base_path: &str,
) -> Result<String, ConfigError> {
    let path = value(sourced).map(str::trim).unwrap_or(default);
    if !path.starts_with('/') || path.starts_with("//") || path.contains(['?', '#', ' ']) {
        return Err(error(sourced, setting, "must be a path starting with `/`"));
    }
    Ok(format!("{base_path}{path}"))
}

#[cfg(test)]
mod tests {
    use jsonwebtoken::Algorithm;

    use super::super::flaskoidc::DEFAULT_SECRET_KEY as FLASKOIDC_DEFAULT_SECRET_KEY;
    use super::*;
    use crate::config::ProviderSource;

    fn minimal() -> ConfigBuilder {
        Config::builder()
            .issuer("https://op.example.com")
            .client_id("client")
            .secret_key("0123456789abcdef0123456789abcdef")
    }

    #[test]
    fn defaults_are_secure() {
        let config = minimal().build().expect("valid");
        assert!(config.cookie_secure);
        assert_eq!(config.routes.callback, "/auth");
        assert_eq!(config.routes.login, "/login");
        assert_eq!(config.scopes, ["openid", "email", "profile"]);
        assert_eq!(config.user_id_claim, "sub");
        assert!(!config.allowed_algorithms.contains(&Algorithm::HS256));
    }

    #[test]
    fn refuses_missing_issuer_empty_client_and_weak_keys() {
        let err = Config::builder()
            .client_id("c")
            .secret_key("0123456789abcdef0123456789abcdef")
            .build()
            .unwrap_err();
        assert_eq!(err.setting(), "issuer");
        let err = minimal().client_id("  ").build().unwrap_err();
        assert_eq!(err.setting(), "client_id");
        let err = minimal().secret_key("short").build().unwrap_err();
        assert!(err.problem().contains("too short"), "{err}");
        let err = minimal()
            .secret_key(FLASKOIDC_DEFAULT_SECRET_KEY)
            .build()
            .unwrap_err();
        assert!(err.problem().contains("flaskoidc"), "{err}");
        let err = Config::builder()
            .issuer("https://op.example.com")
            .client_id("c")
            .build()
            .unwrap_err();
        assert_eq!(err.setting(), "secret_key");
    }

    #[test]
    fn every_key_of_a_rotation_is_checked_like_the_main_one() {
        let current = "0123456789abcdef0123456789abcdef";
        let config = minimal()
            .secret_keys([current, "fedcba9876543210fedcba9876543210"])
            .build()
            .expect("valid");
        assert_eq!(config.previous_cookie_keys.len(), 1);
        assert_eq!(
            config.cookie_key.master(),
            minimal().build().expect("valid").cookie_key.master()
        );
        for bad in ["short", FLASKOIDC_DEFAULT_SECRET_KEY] {
            let err = minimal().secret_keys([current, bad]).build().unwrap_err();
            assert_eq!(err.setting(), "secret_keys", "{err}");
            assert!(err.problem().starts_with("a previous key"), "{err}");
        }
        // `secret_key` after `secret_keys` replaces the current key, keeps the others.
        let config = minimal()
            .secret_keys([current, "fedcba9876543210fedcba9876543210"])
            .secret_key("another key of at least 32 bytes!!")
            .build()
            .expect("valid");
        assert_eq!(config.previous_cookie_keys.len(), 1);
        let err = minimal()
            .secret_keys(Vec::<String>::new())
            .build()
            .unwrap_err();
        assert_eq!(err.setting(), "secret_key");
        let debug = format!("{:?}", minimal().secret_keys([current, current]));
        assert!(!debug.contains(current), "{debug}");
    }

    #[test]
    fn refuses_hmac_algorithms() {
        let err = minimal()
            .allowed_algorithms([Algorithm::RS256, Algorithm::HS256])
            .build()
            .unwrap_err();
        assert_eq!(err.setting(), "allowed_algorithms");
    }

    #[test]
    fn base_path_prefixes_relative_routes() {
        let config = minimal()
            .base_path("/my_app/")
            .login_path("/auth/login")
            .logout_path("/auth/logout")
            .redirect_uri("/auth/callback")
            .build()
            .expect("valid");
        assert_eq!(config.routes.login, "/my_app/auth/login");
        assert_eq!(config.routes.logout, "/my_app/auth/logout");
        assert_eq!(config.routes.callback, "/my_app/auth/callback");
        assert_eq!(config.routes.home, "/my_app");
    }

    #[test]
    fn absolute_redirect_uri_keeps_its_path() {
        let config = minimal()
            .redirect_uri("https://app.example.com/v1/auth/auth")
            .build()
            .expect("valid");
        assert_eq!(config.routes.callback, "/v1/auth/auth");
        let err = minimal()
            .redirect_uri("javascript:alert(1)")
            .build()
            .unwrap_err();
        assert_eq!(err.setting(), "redirect_uri");
    }

    #[test]
    fn discovery_url_derives_the_expected_issuer() {
        let config = Config::builder()
            .discovery_url("https://tenant.auth0.com/.well-known/openid-configuration")
            .client_id("c")
            .secret_key("0123456789abcdef0123456789abcdef")
            .build()
            .expect("valid");
        match config.provider {
            ProviderSource::Discovery {
                expected_issuer, ..
            } => {
                assert_eq!(expected_issuer.as_deref(), Some("https://tenant.auth0.com"));
            }
            ProviderSource::Manual(_) => panic!("expected discovery"),
        }
    }

    #[test]
    fn openid_scope_is_always_requested() {
        let config = minimal().scopes(["email"]).build().expect("valid");
        assert_eq!(config.scopes, ["openid", "email"]);
    }

    #[test]
    fn debug_hides_secrets() {
        let config = minimal()
            .client_secret("top-secret-value")
            .build()
            .expect("valid");
        let debug = format!("{config:?}");
        assert!(!debug.contains("top-secret-value"));
        assert!(!debug.contains("0123456789abcdef"));
    }

    #[test]
    fn auth_params_repeated_with_another_value_are_refused_in_either_order() {
        let first = minimal()
            .auth_param("audience", "a")
            .auth_param("prompt", "consent")
            .auth_param("audience", "b")
            .build();
        let second = minimal()
            .auth_param("audience", "b")
            .auth_param("audience", "a")
            .build();
        for result in [first, second] {
            let err = result.unwrap_err();
            assert_eq!(err.setting(), "auth_params");
            assert!(err.problem().contains("`audience`"), "{err}");
        }
        let config = minimal()
            .auth_param("audience", "a")
            .auth_param("audience", "a")
            .build()
            .expect("valid");
        assert_eq!(
            config.auth_params,
            [("audience".to_owned(), "a".to_owned())]
        );
        let err = minimal().auth_param("nonce", "x").build().unwrap_err();
        assert_eq!(err.setting(), "auth_params");
    }

    #[test]
    fn an_explicit_secret_key_wins_over_a_generated_one_in_either_order() {
        let key = "0123456789abcdef0123456789abcdef";
        let first = minimal().secret_key(key).generate_secret_key().build();
        let second = minimal().generate_secret_key().secret_key(key).build();
        let expected = minimal().build().expect("valid").cookie_key;
        for result in [first, second] {
            assert_eq!(
                result.expect("valid").cookie_key.master(),
                expected.master()
            );
        }
        let generated = Config::builder()
            .issuer("https://op.example.com")
            .client_id("c")
            .generate_secret_key()
            .build()
            .expect("valid");
        assert_ne!(generated.cookie_key.master(), expected.master());
    }

    #[test]
    fn defaults_are_the_named_constants() {
        let config = minimal().build().expect("valid");
        // Secure and served at `/`: the name carries the `__Host-` prefix.
        assert_eq!(
            config.cookie_name,
            format!("__Host-{}", defaults::COOKIE_NAME)
        );
        assert_eq!(config.session_max_age, defaults::SESSION_MAX_AGE);
        assert_eq!(config.leeway, defaults::LEEWAY);
        assert_eq!(config.http_timeout, defaults::HTTP_TIMEOUT);
        assert_eq!(
            config.jwks_refresh_interval,
            defaults::JWKS_REFRESH_INTERVAL
        );
        assert_eq!(config.max_pending_logins, defaults::MAX_PENDING_LOGINS);
        assert_eq!(config.allowed_algorithms, defaults::ALLOWED_ALGORITHMS);
        assert_eq!(config.audiences, ["client"]);
        assert!(config.fetch_userinfo);
        assert_eq!(config.routes.backchannel_logout, "/backchannel_logout");
        assert_eq!(config.routes.frontchannel_logout, "/frontchannel_logout");
        assert_eq!(config.routes.home, "/");
    }

    #[test]
    fn builder_debug_redacts_secrets() {
        let builder =
            minimal()
                .client_secret("top-secret-value")
                .endpoints(crate::ProviderEndpoints {
                    issuer: "https://op.example.com".to_owned(),
                    authorization_endpoint: Url::parse("https://op.example.com/a").expect("url"),
                    token_endpoint: Url::parse("https://op.example.com/t").expect("url"),
                    jwks_uri: Url::parse("https://op.example.com/j").expect("url"),
                    userinfo_endpoint: None,
                    end_session_endpoint: None,
                    introspection_endpoint: None,
                    revocation_endpoint: None,
                });
        let debug = format!("{builder:?}");
        assert!(!debug.contains("top-secret-value"), "{debug}");
        assert!(!debug.contains("0123456789abcdef"), "{debug}");
        assert!(debug.contains("client_secret: Some([redacted])"), "{debug}");
        assert!(debug.contains("secret_key: Some([redacted])"), "{debug}");
        assert!(debug.contains("client_id: Some(\"client\")"), "{debug}");
        let config = format!("{:?}", builder.build().expect("valid"));
        assert!(!config.contains("top-secret-value"), "{config}");
        assert!(config.contains("cookie_key: [redacted]"), "{config}");
    }
}
