use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use jsonwebtoken::Algorithm;
use sha2::{Digest, Sha256};
use url::Url;

use super::{
    ClientAuth, Config, ConfigError, ProviderEndpoints, ProviderSource, RedirectUri, SessionBackend,
};
use crate::authz::{AccessDeniedPage, Require};
use crate::paths::{Routes, Whitelist};
use crate::secret::Secret;
use crate::session::memory::MemoryStore;
use crate::session::store::{DynStore, SessionStore};
use crate::user::{DynUserDetails, UserDetails, UserHook};

/// The secret key flaskoidc documents as its example default; deployments that kept it sign
/// their sessions with a public value.
const FLASKOIDC_DEFAULT_SECRET_KEY: &str = "base-flask-oidc-secret-key";
const MIN_SECRET_KEY_BYTES: usize = 32;
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
const DISCOVERY_SUFFIX: &str = "/.well-known/openid-configuration";

/// Builds a [`Config`]; every setting is checked in [`ConfigBuilder::build`].
#[derive(Default)]
#[must_use]
pub struct ConfigBuilder {
    issuer: Option<String>,
    discovery_url: Option<String>,
    endpoints: Option<ProviderEndpoints>,
    provider_name: Option<String>,
    client_id: Option<String>,
    client_secret: Option<Secret>,
    client_auth: Option<ClientAuth>,
    redirect_uri: Option<String>,
    scopes: Option<Vec<String>>,
    user_id_claim: Option<String>,
    whitelist: Vec<String>,
    secret_key: Option<Secret>,
    generated_key: bool,
    cookie_name: Option<String>,
    cookie_secure: Option<bool>,
    session: Option<SessionBackend>,
    session_max_age: Option<Duration>,
    post_login_redirect: Option<String>,
    post_logout_redirect_uri: Option<String>,
    auth_params: Vec<(String, String)>,
    login_path: Option<String>,
    logout_path: Option<String>,
    backchannel_logout_path: Option<String>,
    base_path: Option<String>,
    leeway: Option<Duration>,
    trust_forwarded_headers: bool,
    force_scheme: Option<String>,
    fetch_userinfo: Option<bool>,
    allowed_algorithms: Option<Vec<Algorithm>>,
    http_timeout: Option<Duration>,
    user_hook: Option<Arc<dyn DynUserDetails>>,
    user_ttl: Option<Duration>,
    audiences: Option<Vec<String>>,
    bearer_only: bool,
    introspect_opaque_tokens: bool,
    require: Require,
    denied_page: Option<AccessDeniedPage>,
    id_token_signing_alg: Option<crate::token::signing_alg::IdTokenSigningAlg>,
    resolve_claim_sources: bool,
    /// Which environment variable carried each setting, so errors name what the user set.
    pub(super) sources: HashMap<&'static str, String>,
}

impl ConfigBuilder {
    /// The issuer URL; discovery reads `{issuer}/.well-known/openid-configuration`.
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuer = Some(issuer.into());
        self.endpoints = None;
        self
    }

    /// The full discovery URL (flaskoidc's `FLASK_OIDC_CONFIG_URL`).
    pub fn discovery_url(mut self, url: impl Into<String>) -> Self {
        self.discovery_url = Some(url.into());
        self.endpoints = None;
        self
    }

    /// Skips discovery and uses these endpoints.
    pub fn endpoints(mut self, endpoints: ProviderEndpoints) -> Self {
        self.endpoints = Some(endpoints);
        self
    }

    /// A display name for the provider (flaskoidc's `FLASK_OIDC_PROVIDER_NAME`).
    pub fn provider_name(mut self, name: impl Into<String>) -> Self {
        self.provider_name = Some(name.into());
        self
    }

    /// The OAuth client id.
    pub fn client_id(mut self, id: impl Into<String>) -> Self {
        self.client_id = Some(id.into());
        self
    }

    /// The OAuth client secret (omit it for public clients).
    pub fn client_secret(mut self, secret: impl Into<String>) -> Self {
        self.client_secret = Some(Secret::new(secret));
        self
    }

    /// How to authenticate at the token endpoint; by default `client_secret_basic` unless
    /// the provider advertises only `client_secret_post`.
    pub fn client_auth(mut self, auth: ClientAuth) -> Self {
        self.client_auth = Some(auth);
        self
    }

    /// The callback URL registered at the provider: absolute (recommended behind proxies) or
    /// a path resolved against each request's scheme and host. Default `/auth`.
    pub fn redirect_uri(mut self, uri: impl Into<String>) -> Self {
        self.redirect_uri = Some(uri.into());
        self
    }

    /// The scopes requested at login; `openid` is added when missing.
    /// Default `openid email profile`.
    pub fn scopes<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.scopes = Some(scopes.into_iter().map(Into::into).collect());
        self
    }

    /// The claim used as the user id. Default `sub`. With `email`, logins whose
    /// `email_verified` is `false` are refused.
    pub fn user_id_claim(mut self, claim: impl Into<String>) -> Self {
        self.user_id_claim = Some(claim.into());
        self
    }

    /// Paths served without a session: `health` (the path `/health` under the base path),
    /// `/exact/path`, or `/prefix/*`.
    pub fn whitelist<I, S>(mut self, entries: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.whitelist.extend(entries.into_iter().map(Into::into));
        self
    }

    /// Key material for cookie encryption: at least 32 bytes, the same on every instance.
    pub fn secret_key(mut self, key: impl Into<String>) -> Self {
        self.secret_key = Some(Secret::new(key));
        self
    }

    /// Uses a random cookie key for this process only: sessions end on restart and are not
    /// shared between instances. For development and tests.
    pub fn generate_secret_key(mut self) -> Self {
        self.generated_key = true;
        self
    }

    /// The base name of the session cookies. Default `tower_oidc`.
    pub fn cookie_name(mut self, name: impl Into<String>) -> Self {
        self.cookie_name = Some(name.into());
        self
    }

    /// Marks cookies `Secure` (the default). Turn off only for plain-http loopback tests.
    pub fn cookie_secure(mut self, secure: bool) -> Self {
        self.cookie_secure = Some(secure);
        self
    }

    /// Keeps sessions in this process's memory, bounded; the cookie holds only a random id.
    pub fn memory_sessions(mut self) -> Self {
        self.session = Some(SessionBackend::Store(Arc::new(MemoryStore::default())));
        self
    }

    /// Keeps sessions in a server-side store; the cookie holds only a random id.
    pub fn session_store(mut self, store: impl SessionStore) -> Self {
        let store: Arc<dyn DynStore> = Arc::new(store);
        self.session = Some(SessionBackend::Store(store));
        self
    }

    /// How long a session lasts after login. Default 8 hours.
    pub fn session_max_age(mut self, age: Duration) -> Self {
        self.session_max_age = Some(age);
        self
    }

    /// Where every login lands, instead of the page the user asked for (flaskoidc's
    /// `FLASK_OIDC_OVERWRITE_REDIRECT_URI`). Default: the page the user asked for, else `/`
    /// under the base path; an empty value keeps that default.
    pub fn post_login_redirect(mut self, target: impl Into<String>) -> Self {
        self.post_login_redirect = Some(target.into());
        self
    }

    /// Where the provider sends the browser after logout (`post_logout_redirect_uri`), and
    /// where logout lands when the provider has no end-session endpoint.
    pub fn post_logout_redirect_uri(mut self, uri: impl Into<String>) -> Self {
        self.post_logout_redirect_uri = Some(uri.into());
        self
    }

    /// An extra authorization request parameter, e.g. `access_type=offline` for Google or
    /// `audience` for Auth0.
    pub fn auth_param(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.auth_params.push((name.into(), value.into()));
        self
    }

    /// The login route. Default `/login` (under the base path).
    pub fn login_path(mut self, path: impl Into<String>) -> Self {
        self.login_path = Some(path.into());
        self
    }

    /// The logout route. Default `/logout` (under the base path).
    pub fn logout_path(mut self, path: impl Into<String>) -> Self {
        self.logout_path = Some(path.into());
        self
    }

    /// The OpenID Connect Back-Channel Logout route (register it at the provider as the
    /// `backchannel_logout_uri`). Default `/backchannel_logout` (under the base path).
    pub fn backchannel_logout_path(mut self, path: impl Into<String>) -> Self {
        self.backchannel_logout_path = Some(path.into());
        self
    }

    /// A prefix for the routes, for apps mounted under a sub-path, e.g. `/my_app`.
    pub fn base_path(mut self, path: impl Into<String>) -> Self {
        self.base_path = Some(path.into());
        self
    }

    /// Clock skew tolerated when checking token times. Default 60 seconds.
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.leeway = Some(leeway);
        self
    }

    /// Honours `X-Forwarded-Proto` and `X-Forwarded-Host` when resolving a relative redirect
    /// URI. Enable only behind a proxy that sets them.
    pub fn trust_forwarded_headers(mut self, trust: bool) -> Self {
        self.trust_forwarded_headers = trust;
        self
    }

    /// The scheme used for a relative redirect URI (flaskoidc's `FLASK_OIDC_FORCE_SCHEME`).
    pub fn force_scheme(mut self, scheme: impl Into<String>) -> Self {
        self.force_scheme = Some(scheme.into());
        self
    }

    /// Fetches userinfo at login and merges its claims (default `true`).
    pub fn fetch_userinfo(mut self, fetch: bool) -> Self {
        self.fetch_userinfo = Some(fetch);
        self
    }

    /// Signature algorithms accepted for tokens. Default: the RSA, RSA-PSS, ECDSA and EdDSA
    /// families. HMAC algorithms are refused: with a public key they are forgeable.
    pub fn allowed_algorithms(mut self, algs: impl IntoIterator<Item = Algorithm>) -> Self {
        self.allowed_algorithms = Some(algs.into_iter().collect());
        self
    }

    /// Timeout of each call to the provider. Default 10 seconds.
    pub fn http_timeout(mut self, timeout: Duration) -> Self {
        self.http_timeout = Some(timeout);
        self
    }

    /// The user-detail hook, called at login to load the application's user.
    pub fn user_details(mut self, hook: impl UserDetails) -> Self {
        self.user_hook = Some(Arc::new(hook));
        self
    }

    /// How long the hook's user is kept in the session before it is loaded again.
    /// Default 1 hour.
    pub fn user_details_ttl(mut self, ttl: Duration) -> Self {
        self.user_ttl = Some(ttl);
        self
    }

    /// Audiences accepted in bearer access tokens. Default: the client id.
    pub fn audiences<I, S>(mut self, audiences: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.audiences = Some(audiences.into_iter().map(Into::into).collect());
        self
    }

    /// Accepts only bearer tokens: no login routes and no session cookies; requests without
    /// a valid token get `401`. For API services called by other services.
    pub fn bearer_only(mut self, bearer_only: bool) -> Self {
        self.bearer_only = bearer_only;
        self
    }

    /// Validates opaque (non-JWT) bearer tokens at the provider's RFC 7662 introspection
    /// endpoint, authenticating with the client credentials.
    pub fn introspect_opaque_tokens(mut self, introspect: bool) -> Self {
        self.introspect_opaque_tokens = introspect;
        self
    }

    /// Requirements every protected route enforces (added to those already set). A
    /// signed-in user who fails them gets `403`.
    pub fn require(mut self, require: Require) -> Self {
        self.require = std::mem::take(&mut self.require).and(require);
        self
    }

    /// Replaces the HTML of the `403` page.
    pub fn access_denied_page(mut self, page: AccessDeniedPage) -> Self {
        self.denied_page = Some(page);
        self
    }

    /// The ID-token signing algorithm this client is registered for at the provider
    /// (`OIDC_ID_TOKEN_SIGNING_ALG`). Default: any algorithm of the asymmetric allowlist.
    ///
    /// **Warning:** `HS256`/`HS384`/`HS512` (keyed with the client secret) and `none`
    /// (unsigned, trusted only straight from a TLS or loopback token endpoint) are for the
    /// OpenID certification tests and legacy providers; see
    /// [`IdTokenSigningAlg`](crate::IdTokenSigningAlg).
    ///
    /// ```
    /// use tower_oidc::{Config, IdTokenSigningAlg};
    ///
    /// let config = Config::builder()
    ///     .issuer("https://accounts.example.com")
    ///     .client_id("my-app")
    ///     .client_secret("my-secret")
    ///     .secret_key("a random string of at least 32 bytes!!")
    ///     .id_token_signing_alg(IdTokenSigningAlg::Signed(jsonwebtoken::Algorithm::RS256))
    ///     .build()?;
    /// # let _ = config;
    /// # Ok::<(), tower_oidc::ConfigError>(())
    /// ```
    pub fn id_token_signing_alg(mut self, alg: crate::IdTokenSigningAlg) -> Self {
        self.id_token_signing_alg = Some(alg);
        self
    }

    /// Resolves aggregated and distributed claims (OpenID Connect Core 1.0, section 5.6.2)
    /// at login (`OIDC_RESOLVE_CLAIM_SOURCES`). Default `false`: resolving makes the
    /// application fetch URLs named inside the ID token or userinfo, so it is enabled only
    /// on purpose. Aggregated JWTs, and the JWTs distributed endpoints answer, must be
    /// signed with the issuer's keys; endpoints must be https (or loopback), answer within
    /// 3 seconds and 64 KiB, and get only the access token their source names.
    pub fn resolve_claim_sources(mut self, resolve: bool) -> Self {
        self.resolve_claim_sources = resolve;
        self
    }

    fn error(&self, setting: &'static str, problem: impl Into<String>) -> ConfigError {
        let name = self
            .sources
            .get(setting)
            .cloned()
            .unwrap_or_else(|| setting.to_owned());
        ConfigError::new(name, problem)
    }

    /// Checks every setting and builds the configuration.
    pub fn build(self) -> Result<Config, ConfigError> {
        let provider = self.provider_source()?;
        let client_id = self
            .client_id
            .as_deref()
            .map(str::trim)
            .unwrap_or_default()
            .to_owned();
        if client_id.is_empty() {
            return Err(self.error("client_id", "missing or empty"));
        }
        let cookie_key = self.cookie_key()?;
        let base_path = normalize_base_path(self.base_path.as_deref())
            .map_err(|problem| self.error("base_path", problem))?;
        let redirect_uri = self.parse_redirect_uri(&base_path)?;
        let routes = Routes {
            login: self.route(
                "login_path",
                self.login_path.as_deref(),
                "/login",
                &base_path,
            )?,
            logout: self.route(
                "logout_path",
                self.logout_path.as_deref(),
                "/logout",
                &base_path,
            )?,
            callback: redirect_uri.path().to_owned(),
            backchannel_logout: self.route(
                "backchannel_logout_path",
                self.backchannel_logout_path.as_deref(),
                "/backchannel_logout",
                &base_path,
            )?,
            home: if base_path.is_empty() {
                "/".to_owned()
            } else {
                base_path.clone()
            },
        };
        let whitelist = Whitelist::parse(&self.whitelist, &base_path)
            .map_err(|problem| self.error("whitelist", problem))?;
        let mut scopes = self
            .scopes
            .clone()
            .unwrap_or_else(|| vec!["openid".into(), "email".into(), "profile".into()]);
        scopes.retain(|scope| !scope.is_empty());
        if !scopes.iter().any(|scope| scope == "openid") {
            scopes.insert(0, "openid".into());
        }
        let user_id_claim = self.user_id_claim.clone().unwrap_or_else(|| "sub".into());
        if user_id_claim.trim().is_empty() {
            return Err(self.error("user_id_claim", "must not be empty"));
        }
        let cookie_name = self
            .cookie_name
            .clone()
            .unwrap_or_else(|| "tower_oidc".into());
        if cookie_name.is_empty()
            || !cookie_name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        {
            return Err(self.error("cookie_name", "use letters, digits, `_` and `-` only"));
        }
        let allowed_algorithms = self.allowed_algorithms.clone().unwrap_or_else(|| {
            use Algorithm::*;
            vec![
                RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, EdDSA,
            ]
        });
        if allowed_algorithms.is_empty()
            || allowed_algorithms
                .iter()
                .any(|alg| matches!(alg, Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512))
        {
            return Err(self.error(
                "allowed_algorithms",
                "must be non-empty and asymmetric only (HMAC with a public key is forgeable)",
            ));
        }
        let audiences = match &self.audiences {
            Some(list) if list.iter().any(|aud| aud.trim().is_empty()) || list.is_empty() => {
                return Err(self.error("audiences", "must list at least one non-empty audience"))
            }
            Some(list) => list.clone(),
            None => vec![client_id.clone()],
        };
        let post_login_redirect = match self.post_login_redirect.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(target) if target.starts_with('/') && !target.starts_with("//") => {
                Some(target.to_owned())
            }
            Some(target) => match Url::parse(target) {
                Ok(url) if matches!(url.scheme(), "http" | "https") => Some(target.to_owned()),
                _ => {
                    return Err(self.error(
                        "post_login_redirect",
                        "must be a path starting with `/` or an absolute http(s) URL",
                    ))
                }
            },
        };
        if let Some(uri) = self.post_logout_redirect_uri.as_deref() {
            if !uri.starts_with('/') && Url::parse(uri).is_err() {
                return Err(self.error(
                    "post_logout_redirect_uri",
                    "must be an absolute URL or a path starting with `/`",
                ));
            }
        }
        if let Some((name, _)) = self
            .auth_params
            .iter()
            .find(|(name, _)| RESERVED_AUTH_PARAMS.contains(&name.as_str()))
        {
            return Err(self.error(
                "auth_params",
                format!("`{name}` is set by the login flow itself and cannot be overridden"),
            ));
        }
        if let Some(scheme) = self.force_scheme.as_deref() {
            if !matches!(scheme, "http" | "https") {
                return Err(self.error("force_scheme", "must be `http` or `https`"));
            }
        }
        if self.id_token_signing_alg.is_some_and(|alg| alg.is_hmac())
            && self
                .client_secret
                .as_ref()
                .is_none_or(|secret| secret.expose().is_empty())
        {
            return Err(self.error(
                "id_token_signing_alg",
                "HMAC ID tokens are keyed with the client secret, and none is set",
            ));
        }
        Ok(Config {
            provider,
            provider_name: self.provider_name.clone(),
            client_id,
            client_secret: self
                .client_secret
                .clone()
                .filter(|secret| !secret.expose().is_empty()),
            client_auth: self.client_auth,
            redirect_uri,
            scopes,
            user_id_claim,
            whitelist,
            routes,
            cookie_key,
            cookie_name,
            cookie_secure: self.cookie_secure.unwrap_or(true),
            session: self.session.clone().unwrap_or(SessionBackend::Cookie),
            session_max_age: self
                .session_max_age
                .unwrap_or(Duration::from_secs(8 * 3600)),
            post_login_redirect,
            post_logout_redirect_uri: self.post_logout_redirect_uri.clone(),
            auth_params: self.auth_params.clone(),
            leeway: self.leeway.unwrap_or(Duration::from_secs(60)),
            trust_forwarded_headers: self.trust_forwarded_headers,
            force_scheme: self.force_scheme.clone(),
            fetch_userinfo: self.fetch_userinfo.unwrap_or(true),
            allowed_algorithms,
            http_timeout: self.http_timeout.unwrap_or(Duration::from_secs(10)),
            jwks_refresh_interval: Duration::from_secs(3600),
            max_pending_logins: 4,
            user_hook: self.user_hook.clone().map(|hook| UserHook {
                hook,
                ttl_secs: self.user_ttl.unwrap_or(Duration::from_secs(3600)).as_secs(),
            }),
            audiences,
            bearer_only: self.bearer_only,
            introspect_opaque_tokens: self.introspect_opaque_tokens,
            require: self.require.clone(),
            denied_page: self.denied_page.clone(),
            id_token_signing_alg: self.id_token_signing_alg,
            resolve_claim_sources: self.resolve_claim_sources,
        })
    }

    fn provider_source(&self) -> Result<ProviderSource, ConfigError> {
        if let Some(endpoints) = &self.endpoints {
            return Ok(ProviderSource::Manual(Box::new(endpoints.clone())));
        }
        let (setting, raw) = match (&self.discovery_url, &self.issuer) {
            (Some(url), _) if !url.trim().is_empty() => ("discovery_url", url.trim()),
            (_, Some(issuer)) if !issuer.trim().is_empty() => ("issuer", issuer.trim()),
            _ => return Err(self.error(
                "issuer",
                "missing: set the issuer URL (OIDC_ISSUER) or the discovery URL (OIDC_CONFIG_URL)",
            )),
        };
        let parsed = Url::parse(raw)
            .ok()
            .filter(|url| matches!(url.scheme(), "http" | "https") && url.host().is_some())
            .ok_or_else(|| self.error(setting, "must be an absolute http(s) URL"))?;
        if setting == "issuer" {
            let url = Url::parse(&format!("{}{DISCOVERY_SUFFIX}", raw.trim_end_matches('/')))
                .map_err(|_| self.error(setting, "must be an absolute http(s) URL"))?;
            return Ok(ProviderSource::Discovery {
                url,
                expected_issuer: Some(raw.to_owned()),
            });
        }
        let expected_issuer = parsed
            .as_str()
            .strip_suffix(DISCOVERY_SUFFIX)
            .map(str::to_owned);
        Ok(ProviderSource::Discovery {
            url: parsed,
            expected_issuer,
        })
    }

    fn cookie_key(&self) -> Result<cookie::Key, ConfigError> {
        let material = match (&self.secret_key, self.generated_key) {
            (Some(key), _) => key.expose().as_bytes().to_vec(),
            (None, true) => {
                use rand::RngCore;
                let mut bytes = vec![0u8; 64];
                rand::rngs::OsRng.fill_bytes(&mut bytes);
                bytes
            }
            (None, false) => {
                return Err(self.error(
                    "secret_key",
                    "missing: set at least 32 random bytes (e.g. `openssl rand -base64 48`)",
                ))
            }
        };
        if material == FLASKOIDC_DEFAULT_SECRET_KEY.as_bytes() {
            return Err(self.error(
                "secret_key",
                "is flaskoidc's published example key; generate a random one (e.g. `openssl rand -base64 48`)",
            ));
        }
        if material.len() < MIN_SECRET_KEY_BYTES {
            return Err(self.error(
                "secret_key",
                format!(
                    "too short: {} bytes, at least {MIN_SECRET_KEY_BYTES} needed",
                    material.len()
                ),
            ));
        }
        // Hashing first lets any length of key material feed HKDF's fixed-size input.
        let mut hasher = Sha256::new();
        hasher.update(b"tower-oidc cookie key v1\0");
        hasher.update(&material);
        Ok(cookie::Key::derive_from(&hasher.finalize()))
    }

    fn parse_redirect_uri(&self, base_path: &str) -> Result<RedirectUri, ConfigError> {
        let raw = self
            .redirect_uri
            .as_deref()
            .map(str::trim)
            .unwrap_or("/auth");
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
            _ => Err(self.error(
                "redirect_uri",
                "must be an absolute http(s) URL without fragment, or a path starting with `/`",
            )),
        }
    }

    fn route(
        &self,
        setting: &'static str,
        value: Option<&str>,
        default: &str,
        base_path: &str,
    ) -> Result<String, ConfigError> {
        let path = value.map(str::trim).unwrap_or(default);
        if !path.starts_with('/') || path.starts_with("//") || path.contains(['?', '#', ' ']) {
            return Err(self.error(setting, "must be a path starting with `/`"));
        }
        Ok(format!("{base_path}{path}"))
    }
}

fn normalize_base_path(raw: Option<&str>) -> Result<String, &'static str> {
    let trimmed = raw.map(str::trim).unwrap_or("").trim_end_matches('/');
    if trimmed.is_empty() {
        return Ok(String::new());
    }
    if !trimmed.starts_with('/') || trimmed.starts_with("//") || trimmed.contains(['?', '#', ' ']) {
        return Err("must be a path starting with `/`, e.g. `/my_app`");
    }
    Ok(trimmed.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
