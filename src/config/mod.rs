//! Configuration: a builder, `from_env` with the flaskoidc names, and `client_secrets.json`.

mod api_keys;
mod auth_params_file;
mod build;
mod builder;
pub(crate) mod client_key;
mod client_options;
mod client_secrets;
pub(crate) mod defaults;
mod development;
mod dpop;
mod dpop_options;
mod env;
mod env_file;
mod error;
mod flaskoidc;
mod id_token_alg;
mod provider_source;
mod providers;
mod registration;
mod security;
mod tenants;
pub(crate) mod transport;

pub(crate) use dpop_options::DpopOptions;
pub use dpop_options::{DpopMode, UnknownDpopMode};
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use jsonwebtoken::Algorithm;
use url::Url;

#[cfg(feature = "api-keys")]
pub(crate) use api_keys::is_scope_token;
pub use builder::ConfigBuilder;
pub(crate) use development::DevelopmentUser;
pub use error::ConfigError;
pub use id_token_alg::{IdTokenSigningAlg, UnknownSigningAlg};
pub use providers::ProviderConfig;
pub(crate) use security::SecurityOptions;
pub use tenants::TenantIssuer;

use crate::paths::{Routes, Whitelist};
use crate::secret::Secret;
use crate::session::store::DynStore;
use crate::user::UserHook;
use builder::Redacted;

/// How the client authenticates at the token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClientAuth {
    /// `client_secret_basic`: HTTP Basic authentication.
    Basic,
    /// `client_secret_post`: credentials in the form body.
    Post,
    /// `client_secret_jwt`: an assertion signed with the client secret (HMAC), fresh for
    /// every call.
    SecretJwt,
    /// `private_key_jwt`: an assertion signed with the client's private key (see
    /// [`ConfigBuilder::client_private_key_file`]), fresh for every call.
    PrivateKeyJwt,
    /// `tls_client_auth` (RFC 8705): the client certificate of the TLS connection (see
    /// [`ConfigBuilder::client_certificate_file`]).
    TlsClientAuth,
}

/// The audience (`aud`) of the client assertions of `client_secret_jwt` and
/// `private_key_jwt`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum AssertionAudience {
    /// The token endpoint URL (RFC 7523, section 3), at every endpoint: what Microsoft
    /// Entra ID and Okta document for their token endpoints; oidc-provider accepts it at
    /// each of its endpoints.
    #[default]
    TokenEndpoint,
    /// The issuer identifier, for providers that want it (the revision of RFC 7523 in
    /// progress and FAPI 2.0 recommend it; oidc-provider accepts it).
    Issuer,
}

/// How the provider returns the authorization response to the callback.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum ResponseMode {
    /// In the query string of a redirect (the default).
    #[default]
    Query,
    /// `form_post`: in the body of a POST the provider's page makes to the callback, so
    /// the code never appears in a URL, history or access log.
    ///
    /// The pending-login cookie is `SameSite=Lax`, which a browser does not send with a
    /// cross-site POST. The callback therefore answers such a POST with a small page that
    /// posts the same fields again, from the application's own origin: that same-site POST
    /// carries the cookie, and the state, nonce and PKCE checks run as for a redirect. No
    /// second, `SameSite=None` cookie is needed, so the pending login stays as protected
    /// from cross-site requests as before (and works over plain http in development); the
    /// page needs JavaScript, or one click on its button.
    FormPost,
}

/// Provider endpoints given by hand, for providers without discovery.
///
/// ```
/// use tower_oidc::ProviderEndpoints;
/// use url::Url;
///
/// let op = Url::parse("https://op.example.com/")?;
/// let endpoints = ProviderEndpoints::new(
///     "https://op.example.com",
///     op.join("authorize")?,
///     op.join("token")?,
///     op.join("jwks")?,
/// )
/// .with_userinfo_endpoint(op.join("userinfo")?)
/// .with_introspection_endpoint(op.join("introspect")?)
/// .with_revocation_endpoint(op.join("revoke")?);
/// assert_eq!(endpoints.token_endpoint.path(), "/token");
/// # Ok::<(), url::ParseError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ProviderEndpoints {
    /// The issuer identifier, compared with the `iss` claim.
    pub issuer: String,
    /// The authorization endpoint.
    pub authorization_endpoint: Url,
    /// The token endpoint.
    pub token_endpoint: Url,
    /// The JSON Web Key Set used to verify signatures.
    pub jwks_uri: Url,
    /// The userinfo endpoint, if any.
    pub userinfo_endpoint: Option<Url>,
    /// The RP-initiated logout endpoint, if any.
    pub end_session_endpoint: Option<Url>,
    /// The RFC 7662 token introspection endpoint, if any (for opaque bearer tokens).
    pub introspection_endpoint: Option<Url>,
    /// The RFC 7009 token revocation endpoint, if any (tokens are revoked at logout).
    pub revocation_endpoint: Option<Url>,
}

impl ProviderEndpoints {
    /// The endpoints every provider has; add the optional ones with the `with_` methods.
    #[must_use]
    pub fn new(
        issuer: impl Into<String>,
        authorization_endpoint: Url,
        token_endpoint: Url,
        jwks_uri: Url,
    ) -> Self {
        Self {
            issuer: issuer.into(),
            authorization_endpoint,
            token_endpoint,
            jwks_uri,
            userinfo_endpoint: None,
            end_session_endpoint: None,
            introspection_endpoint: None,
            revocation_endpoint: None,
        }
    }

    /// Sets the userinfo endpoint.
    #[must_use]
    pub fn with_userinfo_endpoint(mut self, url: Url) -> Self {
        self.userinfo_endpoint = Some(url);
        self
    }

    /// Sets the RP-initiated logout endpoint.
    #[must_use]
    pub fn with_end_session_endpoint(mut self, url: Url) -> Self {
        self.end_session_endpoint = Some(url);
        self
    }

    /// Sets the token introspection endpoint.
    #[must_use]
    pub fn with_introspection_endpoint(mut self, url: Url) -> Self {
        self.introspection_endpoint = Some(url);
        self
    }

    /// Sets the token revocation endpoint (RFC 7009): at logout, the session's refresh and
    /// access tokens are revoked there.
    #[must_use]
    pub fn with_revocation_endpoint(mut self, url: Url) -> Self {
        self.revocation_endpoint = Some(url);
        self
    }
}

/// Where the provider's metadata comes from.
#[derive(Debug, Clone)]
pub(crate) enum ProviderSource {
    /// `{issuer}/.well-known/openid-configuration`, or a full discovery URL; the issuer
    /// expected in the document is the URL before `/.well-known/openid-configuration`.
    Discovery {
        url: Url,
        expected_issuer: Option<String>,
    },
    Manual(Box<ProviderEndpoints>),
}

/// Where the callback URL sent to the provider comes from.
#[derive(Debug, Clone)]
pub(crate) enum RedirectUri {
    Absolute(Url),
    /// Resolved against the scheme and host of the request.
    Path(String),
}

impl RedirectUri {
    pub(crate) fn path(&self) -> &str {
        match self {
            RedirectUri::Absolute(url) => url.path(),
            RedirectUri::Path(path) => path,
        }
    }
}

/// Which session store keeps signed-in sessions.
#[derive(Clone)]
pub(crate) enum SessionBackend {
    /// Everything in an encrypted cookie (the default).
    Cookie,
    /// A server-side store; the cookie holds only a random session id.
    Store(Arc<dyn DynStore>),
}

impl fmt::Debug for SessionBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SessionBackend::Cookie => f.write_str("Cookie"),
            SessionBackend::Store(store) => write!(f, "Store({})", store.name()),
        }
    }
}

/// A validated configuration. Build it with [`Config::builder`] or [`Config::from_env`].
#[derive(Clone)]
pub struct Config {
    pub(crate) provider: ProviderSource,
    pub(crate) provider_name: Option<String>,
    pub(crate) client_id: String,
    pub(crate) client_secret: Option<Secret>,
    pub(crate) client_auth: Option<ClientAuth>,
    /// The private key of `private_key_jwt`.
    pub(crate) client_key: Option<Arc<crate::config::client_key::ClientKey>>,
    /// CA bundle, client certificate, proxy, timeouts, or the application's HTTP client.
    pub(crate) transport: crate::config::transport::Transport,
    /// RFC 9126 pushed authorization requests, also when the provider does not require them.
    pub(crate) pushed_authorization_requests: bool,
    pub(crate) response_mode: ResponseMode,
    pub(crate) client_assertion_audience: AssertionAudience,
    pub(crate) redirect_uri: RedirectUri,
    pub(crate) scopes: Vec<String>,
    pub(crate) user_id_claim: String,
    pub(crate) whitelist: Whitelist,
    pub(crate) routes: Routes,
    pub(crate) cookie_key: cookie::Key,
    /// Keys that open cookies sealed before a rotation; never used to seal.
    pub(crate) previous_cookie_keys: Vec<cookie::Key>,
    pub(crate) cookie_name: String,
    pub(crate) cookie_secure: bool,
    pub(crate) session: SessionBackend,
    pub(crate) session_max_age: Duration,
    /// Sessions unused this long end; whole seconds.
    pub(crate) session_idle_timeout: Option<Duration>,
    /// How many sessions of a store that tells of changes are kept in this process; `0`:
    /// none, the store is asked on every request.
    pub(crate) session_near_cache: usize,
    pub(crate) post_login_redirect: Option<String>,
    pub(crate) post_logout_redirect_uri: Option<String>,
    pub(crate) auth_params: Vec<(String, String)>,
    pub(crate) leeway: Duration,
    pub(crate) trust_forwarded_headers: bool,
    pub(crate) force_scheme: Option<String>,
    pub(crate) fetch_userinfo: bool,
    pub(crate) allowed_algorithms: Vec<Algorithm>,
    pub(crate) http_timeout: Duration,
    pub(crate) jwks_refresh_interval: Duration,
    pub(crate) max_pending_logins: usize,
    pub(crate) user_hook: Option<UserHook>,
    /// Audiences accepted in bearer access tokens.
    pub(crate) audiences: Vec<String>,
    pub(crate) bearer_only: bool,
    pub(crate) introspect_opaque_tokens: bool,
    /// A browser without a session first tries `prompt=none`.
    pub(crate) silent_login_first: bool,
    pub(crate) require: crate::authz::Require,
    pub(crate) denied_page: Option<crate::authz::AccessDeniedPage>,
    pub(crate) security: SecurityOptions,
    /// `None`: the asymmetric allowlist.
    pub(crate) id_token_signing_alg: Option<IdTokenSigningAlg>,
    pub(crate) resolve_claim_sources: bool,
    /// Personal API keys, when switched on.
    #[cfg(feature = "api-keys")]
    pub(crate) api_keys: Option<Arc<crate::session::apikeys::ApiKeys>>,
    /// Authentication is off: every request gets this identity (development only).
    pub(crate) development: Option<Arc<DevelopmentUser>>,
    pub(crate) dpop: DpopOptions,
    /// The provider's name among several; `None` with a single provider.
    pub(crate) provider_key: Option<String>,
    /// User ids are `{provider}:{claim value}`.
    pub(crate) namespace_user_ids: bool,
    /// Several providers share this provider's callback: authorization responses must
    /// carry RFC 9207 `iss`.
    pub(crate) require_iss: bool,
    /// A multi-tenant issuer template and its allowed tenants.
    pub(crate) tenants: Option<Arc<TenantIssuer>>,
    /// Every provider's configuration, with several; empty with one.
    pub(crate) providers: Vec<Arc<Config>>,
    /// The provider a login without a chosen provider goes to.
    pub(crate) default_provider: Option<String>,
    /// The provider chooser's page, `{providers}` standing for the list.
    pub(crate) chooser_page: Option<Arc<str>>,
}

impl Config {
    /// Starts a builder.
    ///
    /// ```
    /// let config = tower_oidc::Config::builder()
    ///     .issuer("https://accounts.example.com")
    ///     .client_id("my-app")
    ///     .client_secret("my-secret")
    ///     .secret_key("a random string of at least 32 bytes!!")
    ///     .whitelist(["health", "/static/*"])
    ///     .build()?;
    /// assert_eq!(config.client_id(), "my-app");
    /// # Ok::<(), tower_oidc::ConfigError>(())
    /// ```
    pub fn builder() -> ConfigBuilder {
        ConfigBuilder::default()
    }

    /// Reads the configuration from the environment: the `OIDC_*` names, every flaskoidc
    /// `FLASK_OIDC_*` name as an alias, and `OIDC_CLIENT_SECRETS` (a flask-oidc
    /// `client_secrets.json`). Errors name the variable at fault.
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] naming the variable at fault: two names for one setting set to
    /// different values; a value that does not parse (a boolean, a number of seconds, a
    /// session store URL, a required claim); a file it names that cannot be read; or any
    /// error of [`ConfigBuilder::build`].
    pub fn from_env() -> Result<Self, ConfigError> {
        env::from_lookup(|name| std::env::var(name).ok())
    }

    /// Like [`Config::from_env`], reading variables through `lookup` instead of the process
    /// environment (useful for tests and for env files).
    ///
    /// ```
    /// let vars = [
    ///     ("FLASK_OIDC_CONFIG_URL", "https://op.example.com/.well-known/openid-configuration"),
    ///     ("FLASK_OIDC_CLIENT_ID", "my-app"),
    ///     ("OIDC_SECRET_KEY", "a random string of at least 32 bytes!!"),
    ///     ("OIDC_LEEWAY", "soon"),
    /// ];
    /// let lookup = |name: &str| {
    ///     vars.iter().find(|(var, _)| *var == name).map(|(_, value)| value.to_string())
    /// };
    /// let err = tower_oidc::Config::from_lookup(lookup).unwrap_err();
    /// assert_eq!(err.setting(), "OIDC_LEEWAY");
    /// ```
    ///
    /// # Errors
    ///
    /// As [`Config::from_env`].
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        env::from_lookup(lookup)
    }

    /// Reads a deployment's environment file (`export NAME='value'` lines, as flaskoidc
    /// guides write them); variables missing from the file are read from the process
    /// environment.
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] naming the file when it cannot be read, or the file and line of a
    /// line that is not `NAME=value`; otherwise as [`Config::from_env`].
    pub fn from_env_file(path: impl AsRef<std::path::Path>) -> Result<Self, ConfigError> {
        Self::builder_from_env_file(path)?.build()
    }

    /// Like [`Config::from_env_file`], returning the builder so settings the file cannot
    /// carry (a user-detail hook, a custom store) can be added before `build()`.
    ///
    /// # Errors
    ///
    /// As [`Config::from_env_file`], except those of [`ConfigBuilder::build`], which come
    /// when the builder is built.
    pub fn builder_from_env_file(
        path: impl AsRef<std::path::Path>,
    ) -> Result<ConfigBuilder, ConfigError> {
        let path = path.as_ref();
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path)
            .map_err(|err| ConfigError::new(shown.clone(), format!("cannot read: {err}")))?;
        let vars = env_file::parse(&shown, &text)?;
        env::builder_from_lookup(|name| {
            vars.get(name).cloned().or_else(|| std::env::var(name).ok())
        })
    }

    /// Like [`Config::from_env`], returning the builder so settings the environment does
    /// not carry (a user-detail hook, a custom session store) can be added before `build()`.
    /// A builder method called afterwards replaces or adds to what the environment set, as
    /// its documentation says; errors about its value name the method.
    ///
    /// # Errors
    ///
    /// As [`Config::from_env`], except those of [`ConfigBuilder::build`], which come when
    /// the builder is built.
    pub fn builder_from_env() -> Result<ConfigBuilder, ConfigError> {
        env::builder_from_lookup(|name| std::env::var(name).ok())
    }

    /// The OAuth client id.
    #[must_use]
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// The path of the login route, base path included.
    #[must_use]
    pub fn login_path(&self) -> &str {
        &self.routes.login
    }

    /// The path of the logout route, base path included.
    #[must_use]
    pub fn logout_path(&self) -> &str {
        &self.routes.logout
    }

    /// The path of the callback route, base path included.
    #[must_use]
    pub fn callback_path(&self) -> &str {
        &self.routes.callback
    }

    /// What session cookies are bound to besides the key: the client id and the issuer
    /// (or discovery URL), so another application sharing the key cannot open them.
    pub(crate) fn cookie_binding(&self) -> Vec<u8> {
        [
            self.client_id.as_bytes(),
            b"\0",
            self.configured_issuer().as_bytes(),
        ]
        .concat()
    }

    /// The issuer this configuration expects (or its discovery URL), without a trailing
    /// slash.
    pub(crate) fn issuer_key(&self) -> &str {
        self.configured_issuer().trim_end_matches('/')
    }

    /// The issuer as configured: the expected one, else the discovery URL, else the manual
    /// endpoints' issuer.
    fn configured_issuer(&self) -> &str {
        match &self.provider {
            ProviderSource::Discovery {
                expected_issuer: Some(issuer),
                ..
            } => issuer,
            ProviderSource::Discovery { url, .. } => url.as_str(),
            ProviderSource::Manual(endpoints) => &endpoints.issuer,
        }
    }

    /// The user id of a user whose id claim is `claim_value`: namespaced by the provider
    /// when several are configured (unless switched off for this one).
    pub(crate) fn namespaced_user_id(&self, claim_value: String) -> String {
        match &self.provider_key {
            Some(name) if self.namespace_user_ids => format!("{name}:{claim_value}"),
            _ => claim_value,
        }
    }

    /// The claim whose value is the user id.
    #[must_use]
    pub fn user_id_claim(&self) -> &str {
        &self.user_id_claim
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut debug = f.debug_struct("Config");
        debug
            .field("provider", &self.provider)
            .field("provider_name", &self.provider_name)
            .field("client_id", &self.client_id)
            .field(
                "client_secret",
                &self.client_secret.as_ref().map(|_| Redacted),
            )
            .field("client_auth", &self.client_auth)
            .field("client_key", &self.client_key)
            .field("transport", &self.transport)
            .field(
                "pushed_authorization_requests",
                &self.pushed_authorization_requests,
            )
            .field("response_mode", &self.response_mode)
            .field("client_assertion_audience", &self.client_assertion_audience)
            .field("redirect_uri", &self.redirect_uri)
            .field("scopes", &self.scopes)
            .field("user_id_claim", &self.user_id_claim)
            .field("whitelist", &self.whitelist)
            .field("routes", &self.routes)
            .field("cookie_key", &Redacted)
            .field("previous_cookie_keys", &self.previous_cookie_keys.len())
            .field("cookie_name", &self.cookie_name)
            .field("cookie_secure", &self.cookie_secure)
            .field("session", &self.session)
            .field("session_max_age", &self.session_max_age)
            .field("session_idle_timeout", &self.session_idle_timeout)
            .field("session_near_cache", &self.session_near_cache)
            .field("post_login_redirect", &self.post_login_redirect)
            .field("post_logout_redirect_uri", &self.post_logout_redirect_uri)
            .field("auth_params", &self.auth_params)
            .field("leeway", &self.leeway)
            .field("trust_forwarded_headers", &self.trust_forwarded_headers)
            .field("force_scheme", &self.force_scheme)
            .field("fetch_userinfo", &self.fetch_userinfo)
            .field("allowed_algorithms", &self.allowed_algorithms)
            .field("http_timeout", &self.http_timeout)
            .field("jwks_refresh_interval", &self.jwks_refresh_interval)
            .field("max_pending_logins", &self.max_pending_logins)
            .field("user_hook", &self.user_hook)
            .field("audiences", &self.audiences)
            .field("bearer_only", &self.bearer_only)
            .field("introspect_opaque_tokens", &self.introspect_opaque_tokens)
            .field("silent_login_first", &self.silent_login_first)
            .field("require", &self.require)
            .field("denied_page", &self.denied_page)
            .field("security", &self.security)
            .field("id_token_signing_alg", &self.id_token_signing_alg)
            .field("resolve_claim_sources", &self.resolve_claim_sources)
            .field("development", &self.development)
            .field("dpop", &self.dpop)
            .field("provider_key", &self.provider_key)
            .field("namespace_user_ids", &self.namespace_user_ids)
            .field("require_iss", &self.require_iss)
            .field("tenants", &self.tenants)
            .field("providers", &self.providers)
            .field("default_provider", &self.default_provider)
            .field("chooser_page", &self.chooser_page.is_some());
        #[cfg(feature = "api-keys")]
        debug.field("api_keys", &self.api_keys);
        debug.finish()
    }
}
