//! `ConfigBuilder`: collects settings; [`ConfigBuilder::build`] checks them.
//!
//! Each value remembers the environment variable that set it, so that an error found at
//! `build()` names what the user actually wrote.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use jsonwebtoken::Algorithm;

use super::{ClientAuth, ProviderEndpoints, SessionBackend};
use crate::authz::{AccessDeniedPage, Require};
use crate::secret::Secret;
use crate::session::memory::MemoryStore;
use crate::session::store::{self, InProcessStore, SessionStore};
use crate::user::{DynUserDetails, UserDetails};

/// A builder value and the environment variable that set it, if one did.
#[derive(Clone)]
pub(super) struct Sourced<T> {
    pub(super) value: T,
    /// `None` for a value given to a builder method.
    pub(super) origin: Option<&'static str>,
}

impl<T> Sourced<T> {
    /// The name errors about this value give: the variable that set it, else the builder
    /// method `setting`.
    pub(super) fn name(&self, setting: &'static str) -> &'static str {
        self.origin.unwrap_or(setting)
    }
}

impl<T: fmt::Debug> fmt::Debug for Sourced<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.origin {
            Some(variable) => write!(f, "{:?} from {variable}", self.value),
            None => self.value.fmt(f),
        }
    }
}

/// Builds a [`Config`](super::Config); every setting is checked in [`ConfigBuilder::build`].
///
/// Each method either *replaces* the setting it names (calling it again keeps the last
/// value) or *adds to* it (calls accumulate); its documentation says which. Settings that
/// interact — the issuer, the discovery URL and explicit endpoints; a secret key and a
/// generated one — are reconciled in `build()`, so the order of the calls never matters.
///
/// `Debug` output shows every setting except secrets, which print as `[redacted]`.
#[derive(Default, Clone)]
#[must_use]
pub struct ConfigBuilder {
    pub(super) issuer: Option<Sourced<String>>,
    pub(super) discovery_url: Option<Sourced<String>>,
    pub(super) endpoints: Option<Sourced<ProviderEndpoints>>,
    pub(super) provider_name: Option<String>,
    pub(super) client_id: Option<Sourced<String>>,
    pub(super) client_secret: Option<Secret>,
    pub(super) client_auth: Option<Sourced<ClientAuth>>,
    pub(super) client_options: super::client_options::ClientOptions,
    pub(super) redirect_uri: Option<Sourced<String>>,
    pub(super) scopes: Option<Vec<String>>,
    pub(super) user_id_claim: Option<Sourced<String>>,
    pub(super) whitelist: Vec<Sourced<String>>,
    pub(super) secret_key: Option<Sourced<Secret>>,
    /// Keys that only open cookies sealed before a key rotation.
    pub(super) previous_secret_keys: Vec<Sourced<Secret>>,
    pub(super) generated_key: bool,
    pub(super) cookie_name: Option<Sourced<String>>,
    pub(super) cookie_secure: Option<bool>,
    pub(super) session: Option<SessionBackend>,
    /// The CA certificates (PEM) of `OIDC_SESSION_STORE_CA_FILE`, until the store it
    /// applies to takes them.
    pub(super) session_store_ca: Option<Sourced<Vec<u8>>>,
    pub(super) session_max_age: Option<Duration>,
    pub(super) session_idle_timeout: Option<Sourced<Duration>>,
    pub(super) session_near_cache: Option<bool>,
    pub(super) session_near_cache_capacity: Option<usize>,
    /// Sessions in a [`MemoryStore`] made at `build()`, when the idle timeout is known.
    pub(super) memory_sessions: bool,
    pub(super) post_login_redirect: Option<Sourced<String>>,
    pub(super) post_logout_redirect_uri: Option<Sourced<String>>,
    pub(super) auth_params: Vec<Sourced<(String, String)>>,
    pub(super) login_path: Option<Sourced<String>>,
    pub(super) logout_path: Option<Sourced<String>>,
    pub(super) backchannel_logout_path: Option<Sourced<String>>,
    pub(super) frontchannel_logout_path: Option<Sourced<String>>,
    pub(super) silent_login_first: bool,
    pub(super) base_path: Option<Sourced<String>>,
    pub(super) leeway: Option<Duration>,
    pub(super) trust_forwarded_headers: bool,
    pub(super) force_scheme: Option<Sourced<String>>,
    pub(super) fetch_userinfo: Option<bool>,
    pub(super) allowed_algorithms: Option<Vec<Algorithm>>,
    pub(super) http_timeout: Option<Duration>,
    pub(super) user_hook: Option<Arc<dyn DynUserDetails>>,
    pub(super) user_ttl: Option<Duration>,
    pub(super) audiences: Option<Sourced<Vec<String>>>,
    pub(super) bearer_only: bool,
    pub(super) introspect_opaque_tokens: bool,
    pub(super) require: Require,
    pub(super) denied_page: Option<AccessDeniedPage>,
    pub(super) security: super::SecurityOptions,
    pub(super) id_token_signing_alg: Option<Sourced<crate::IdTokenSigningAlg>>,
    pub(super) resolve_claim_sources: bool,
    /// Personal API keys.
    pub(super) api_keys: super::api_keys::Settings,
    /// Authentication off, for development: the switch, the user and their claims.
    pub(super) auth_disabled: Option<Sourced<bool>>,
    pub(super) development_user: Option<Sourced<String>>,
    pub(super) development_claims: Option<Sourced<serde_json::Value>>,
    pub(super) dpop: super::DpopOptions,
    /// Named providers, in order, each with its own settings.
    pub(super) providers: Vec<(String, super::ProviderConfig)>,
    /// The provider a login goes to when none is chosen.
    pub(super) default_provider: Option<String>,
    /// The provider chooser's page.
    pub(super) chooser_page: Option<String>,
    /// A provider name that cannot work, kept for `build()` to report.
    pub(super) bad_provider_name: Option<String>,
    /// The environment variable being applied: values set meanwhile are attributed to it.
    applying: Option<&'static str>,
}

impl ConfigBuilder {
    /// The issuer URL. Replaces any earlier issuer.
    ///
    /// Alone, discovery reads `{issuer}/.well-known/openid-configuration`. With a
    /// [`discovery_url`](Self::discovery_url), discovery reads that URL and its document
    /// must name this issuer. With [`endpoints`](Self::endpoints), it must equal their
    /// `issuer` (an error at `build()` otherwise).
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuer = Some(self.sourced(issuer.into()));
        self
    }

    /// The full discovery URL (flaskoidc's `FLASK_OIDC_CONFIG_URL`), for providers whose
    /// document is not at `{issuer}/.well-known/openid-configuration`. Replaces any earlier
    /// discovery URL.
    ///
    /// The issuer expected in the document is the [`issuer`](Self::issuer) when one is set,
    /// else the URL before `/.well-known/openid-configuration`. Setting both this and
    /// [`endpoints`](Self::endpoints) is an error at `build()`.
    pub fn discovery_url(mut self, url: impl Into<String>) -> Self {
        self.discovery_url = Some(self.sourced(url.into()));
        self
    }

    /// Skips discovery and uses these endpoints. Replaces any earlier endpoints.
    ///
    /// Setting both this and a [`discovery_url`](Self::discovery_url), or an
    /// [`issuer`](Self::issuer) other than `endpoints.issuer`, is an error at `build()`.
    pub fn endpoints(mut self, endpoints: ProviderEndpoints) -> Self {
        self.endpoints = Some(self.sourced(endpoints));
        self
    }

    /// A display name for the provider (flaskoidc's `FLASK_OIDC_PROVIDER_NAME`). Replaces any
    /// earlier name.
    pub fn provider_name(mut self, name: impl Into<String>) -> Self {
        self.provider_name = Some(name.into());
        self
    }

    /// The OAuth client id. Replaces any earlier id.
    pub fn client_id(mut self, id: impl Into<String>) -> Self {
        self.client_id = Some(self.sourced(id.into()));
        self
    }

    /// The OAuth client secret (omit it, or give an empty one, for public clients). Replaces
    /// any earlier secret.
    pub fn client_secret(mut self, secret: impl Into<String>) -> Self {
        self.client_secret = Some(Secret::new(secret));
        self
    }

    /// How the client authenticates at the token endpoint, and so at the introspection,
    /// revocation and pushed-authorization endpoints. By default, with a client secret:
    /// `client_secret_basic` unless the provider advertises only `client_secret_post` (or,
    /// of the secret methods, only `client_secret_jwt`); without one: `private_key_jwt` when
    /// a [private key](Self::client_private_key_file) is given, `tls_client_auth` when a
    /// [client certificate](Self::client_certificate_file) is. A method whose credentials
    /// are missing is an error at `build()`. Replaces any earlier choice.
    pub fn client_auth(mut self, auth: ClientAuth) -> Self {
        self.client_auth = Some(self.sourced(auth));
        self
    }

    /// The callback URL registered at the provider: absolute (recommended behind proxies) or
    /// a path resolved against each request's scheme and host. Default `/auth`. Replaces any
    /// earlier callback URL.
    pub fn redirect_uri(mut self, uri: impl Into<String>) -> Self {
        self.redirect_uri = Some(self.sourced(uri.into()));
        self
    }

    /// The scopes requested at login; `openid` is added when missing.
    /// Default `openid email profile`. Replaces the default and any earlier scopes.
    pub fn scopes<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.scopes = Some(scopes.into_iter().map(Into::into).collect());
        self
    }

    /// The claim used as the user id. Default `sub`. With `email`, logins whose
    /// `email_verified` is `false` are refused. Replaces any earlier claim.
    pub fn user_id_claim(mut self, claim: impl Into<String>) -> Self {
        self.user_id_claim = Some(self.sourced(claim.into()));
        self
    }

    /// Paths served without a session: `health` (the path `/health` under the base path),
    /// `/exact/path`, or `/prefix/*`. Adds to the paths given before.
    pub fn whitelist<I, S>(mut self, entries: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let origin = self.applying;
        self.whitelist
            .extend(entries.into_iter().map(|entry| Sourced {
                value: entry.into(),
                origin,
            }));
        self
    }

    /// Key material for cookie encryption: at least 32 bytes, the same on every instance.
    /// Replaces any earlier current key (previous keys of [`secret_keys`](Self::secret_keys) stay), and takes precedence over
    /// [`generate_secret_key`](Self::generate_secret_key) whatever the order of the calls.
    pub fn secret_key(mut self, key: impl Into<String>) -> Self {
        self.secret_key = Some(self.sourced(Secret::new(key)));
        self
    }

    /// The cookie keys of a key rotation: new cookies are sealed with the first; the
    /// others only open cookies sealed before, and a session cookie opened with one of
    /// them is sealed again with the first key on that response, so rotating the key
    /// signs nobody out. Each key is at least 32 bytes. Replaces any earlier keys, those of
    /// [`secret_key`](Self::secret_key) included; an empty list sets none.
    ///
    /// ```
    /// let config = tower_oidc::Config::builder()
    ///     .issuer("https://op.example.com")
    ///     .client_id("my-app")
    ///     .secret_keys([
    ///         "the new key, at least 32 random bytes",
    ///         "the key before it, also 32 bytes or more",
    ///     ])
    ///     .build()?;
    /// # let _ = config;
    /// # Ok::<(), tower_oidc::ConfigError>(())
    /// ```
    pub fn secret_keys<K: Into<String>>(mut self, keys: impl IntoIterator<Item = K>) -> Self {
        let mut keys: Vec<Sourced<Secret>> = keys
            .into_iter()
            .map(|key| self.sourced(Secret::new(key)))
            .collect();
        self.secret_key = (!keys.is_empty()).then(|| keys.remove(0));
        self.previous_secret_keys = keys;
        self
    }

    /// Keys replaced by [`secret_key`](Self::secret_key) that still open cookies: see
    /// [`secret_keys`](Self::secret_keys).
    pub(super) fn previous_secret_keys<K: Into<String>>(
        mut self,
        keys: impl IntoIterator<Item = K>,
    ) -> Self {
        self.previous_secret_keys = keys
            .into_iter()
            .map(|key| self.sourced(Secret::new(key)))
            .collect();
        self
    }

    /// Uses a random cookie key for this process only: sessions end on restart and are not
    /// shared between instances. For development and tests. A
    /// [`secret_key`](Self::secret_key), if given, is used instead.
    pub fn generate_secret_key(mut self) -> Self {
        self.generated_key = true;
        self
    }

    /// The base name of the session cookies. Default `tower_oidc`. Replaces any earlier name.
    pub fn cookie_name(mut self, name: impl Into<String>) -> Self {
        self.cookie_name = Some(self.sourced(name.into()));
        self
    }

    /// Marks cookies `Secure` (the default). Turn off only for plain-http loopback tests.
    /// Replaces any earlier choice.
    pub fn cookie_secure(mut self, secure: bool) -> Self {
        self.cookie_secure = Some(secure);
        self
    }

    /// Keeps sessions in this process's memory, bounded; the cookie holds only a random id.
    /// Replaces any store chosen before (with this or
    /// [`session_store`](Self::session_store)).
    /// The store ends sessions unused for the
    /// [`session_idle_timeout`](Self::session_idle_timeout), if one is set.
    pub fn memory_sessions(mut self) -> Self {
        self.session = None;
        self.memory_sessions = true;
        self
    }

    /// Keeps sessions in a server-side store; the cookie holds only a random id. Requests
    /// await the store's `load`, except with a [`MemoryStore`] (owned or in an `Arc`),
    /// which answers at once; give any other [`InProcessStore`] to
    /// [`in_process_session_store`](Self::in_process_session_store). Replaces any store
    /// chosen before.
    pub fn session_store<S: SessionStore>(mut self, store: S) -> Self {
        self.api_keys.sessions_in(&store);
        self.session = Some(SessionBackend::Store(store::erased(store)));
        self.memory_sessions = false;
        self
    }

    /// Keeps sessions in a store in this process that answers loads at once
    /// ([`InProcessStore::load_now`]): requests on its sessions are decided without
    /// waiting. The cookie holds only a random id.
    pub fn in_process_session_store(mut self, store: impl InProcessStore) -> Self {
        self.session = Some(SessionBackend::Store(store::erased_in_process(store)));
        self.memory_sessions = false;
        self
    }

    /// How long a session lasts after login. Default 8 hours. Replaces any earlier age.
    pub fn session_max_age(mut self, age: Duration) -> Self {
        self.session_max_age = Some(age);
        self
    }

    /// Ends a session unused for `idle`, whatever time its
    /// [`session_max_age`](Self::session_max_age) leaves. Off by default. Whole seconds, at
    /// least 2.
    ///
    /// The session records when it was last used, renewed by a request once the stamp is
    /// older than a tenth of `idle` (at least a minute, at most half of `idle`): not on
    /// every request, so most requests still write nothing. A session therefore ends after
    /// between `idle` less that interval and `idle` unused. Cookie sessions get a new
    /// cookie then; server-side stores have the record saved again, and the memory store
    /// of [`memory_sessions`](Self::memory_sessions) ends idle sessions itself too.
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let config = tower_oidc::Config::builder()
    ///     .issuer("https://op.example.com")
    ///     .client_id("my-app")
    ///     .secret_key("a random string of at least 32 bytes!!")
    ///     .session_idle_timeout(Duration::from_secs(30 * 60))
    ///     .build()?;
    /// # let _ = config;
    /// # Ok::<(), tower_oidc::ConfigError>(())
    /// ```
    pub fn session_idle_timeout(mut self, idle: Duration) -> Self {
        self.session_idle_timeout = Some(self.sourced(idle));
        self
    }

    /// Whether sessions loaded from a server-side store that tells of changes (Redis: one
    /// server, Sentinel or Cluster; PostgreSQL) are kept in this process, so that requests on them are decided
    /// at once, without a round trip to the store. On by default.
    ///
    /// Every instance sharing the store hears at once of each logout, back-channel logout,
    /// refresh or other write, and forgets the session it kept. While that notification
    /// channel is down (not connected yet, dropped, reconnecting), requests ask the store
    /// again, and once it is back everything kept is forgotten, as notifications may have
    /// been missed; a kept session is also loaded again at least once a minute. Stores
    /// that cannot tell of changes (SQLite, custom stores without
    /// [`SessionStore::subscribe_changes`]) and in-process stores are asked on every
    /// request as before.
    ///
    /// ```
    /// let config = tower_oidc::Config::builder()
    ///     .issuer("https://op.example.com")
    ///     .client_id("my-app")
    ///     .secret_key("a random string of at least 32 bytes!!")
    ///     .session_near_cache(false)
    ///     .build()?;
    /// # let _ = config;
    /// # Ok::<(), tower_oidc::ConfigError>(())
    /// ```
    pub fn session_near_cache(mut self, keep: bool) -> Self {
        self.session_near_cache = Some(keep);
        self
    }

    /// How many sessions the [near cache](Self::session_near_cache) keeps at most; 10,000
    /// by default. When it is full, a session loaded anew takes the place of another.
    /// `0` turns the near cache off.
    ///
    /// ```
    /// let config = tower_oidc::Config::builder()
    ///     .issuer("https://op.example.com")
    ///     .client_id("my-app")
    ///     .secret_key("a random string of at least 32 bytes!!")
    ///     .session_near_cache_capacity(50_000)
    ///     .build()?;
    /// # let _ = config;
    /// # Ok::<(), tower_oidc::ConfigError>(())
    /// ```
    pub fn session_near_cache_capacity(mut self, sessions: usize) -> Self {
        self.session_near_cache_capacity = Some(sessions);
        self
    }

    /// Where every login lands, instead of the page the user asked for (flaskoidc's
    /// `FLASK_OIDC_OVERWRITE_REDIRECT_URI`). Default: the page the user asked for, else `/`
    /// under the base path; an empty value keeps that default. Replaces any earlier target.
    pub fn post_login_redirect(mut self, target: impl Into<String>) -> Self {
        self.post_login_redirect = Some(self.sourced(target.into()));
        self
    }

    /// Where the provider sends the browser after logout (`post_logout_redirect_uri`), and
    /// where logout lands when the provider has no end-session endpoint. Replaces any
    /// earlier URI.
    pub fn post_logout_redirect_uri(mut self, uri: impl Into<String>) -> Self {
        self.post_logout_redirect_uri = Some(self.sourced(uri.into()));
        self
    }

    /// An extra authorization request parameter, e.g. `access_type=offline` for Google or
    /// `audience` for Auth0. Adds to the parameters given before; the same name given twice
    /// with different values is an error at `build()` (a request repeats no parameter).
    pub fn auth_param(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        let param = self.sourced((name.into(), value.into()));
        self.auth_params.push(param);
        self
    }

    /// The login route. Default `/login` (under the base path). Replaces any earlier route.
    pub fn login_path(mut self, path: impl Into<String>) -> Self {
        self.login_path = Some(self.sourced(path.into()));
        self
    }

    /// The logout route. Default `/logout` (under the base path). Replaces any earlier route.
    pub fn logout_path(mut self, path: impl Into<String>) -> Self {
        self.logout_path = Some(self.sourced(path.into()));
        self
    }

    /// The OpenID Connect Back-Channel Logout route (register it at the provider as the
    /// `backchannel_logout_uri`). Default `/backchannel_logout` (under the base path).
    /// Replaces any earlier route.
    pub fn backchannel_logout_path(mut self, path: impl Into<String>) -> Self {
        self.backchannel_logout_path = Some(self.sourced(path.into()));
        self
    }

    /// The OpenID Connect Front-Channel Logout route (register it at the provider as the
    /// `frontchannel_logout_uri`, with `frontchannel_logout_session_required`). Default
    /// `/frontchannel_logout` (under the base path). Replaces any earlier route.
    ///
    /// The provider opens it in a hidden iframe with `iss` and `sid`; the session with
    /// that `sid` ends. Browsers send no `SameSite=Lax` cookie in a cross-site iframe, so
    /// only a server-side store (where sessions are found by `sid`) ends sessions
    /// reliably this way.
    pub fn frontchannel_logout_path(mut self, path: impl Into<String>) -> Self {
        self.frontchannel_logout_path = Some(self.sourced(path.into()));
        self
    }

    /// A browser without a session first tries a silent login (`prompt=none`): a user
    /// already signed in at the provider comes back signed in without seeing a page. When
    /// the provider answers that the user must interact (`login_required`,
    /// `consent_required`, `interaction_required`), one interactive login follows. Off by
    /// default; replaces any earlier choice.
    pub fn silent_login_first(mut self, silent: bool) -> Self {
        self.silent_login_first = silent;
        self
    }

    /// A prefix for the routes, for apps mounted under a sub-path, e.g. `/my_app`. Applies
    /// to the routes and relative whitelist entries whatever the order of the calls.
    /// Replaces any earlier base path.
    pub fn base_path(mut self, path: impl Into<String>) -> Self {
        self.base_path = Some(self.sourced(path.into()));
        self
    }

    /// Clock skew tolerated when checking token times. Default 60 seconds. Replaces any
    /// earlier leeway.
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.leeway = Some(leeway);
        self
    }

    /// Honours `X-Forwarded-Proto` and `X-Forwarded-Host` when resolving a relative redirect
    /// URI. Enable only behind a proxy that sets them. Replaces any earlier choice.
    pub fn trust_forwarded_headers(mut self, trust: bool) -> Self {
        self.trust_forwarded_headers = trust;
        self
    }

    /// The scheme used for a relative redirect URI (flaskoidc's `FLASK_OIDC_FORCE_SCHEME`).
    /// Replaces any earlier scheme.
    pub fn force_scheme(mut self, scheme: impl Into<String>) -> Self {
        self.force_scheme = Some(self.sourced(scheme.into()));
        self
    }

    /// Fetches userinfo at login and merges its claims (default `true`). Replaces any
    /// earlier choice.
    pub fn fetch_userinfo(mut self, fetch: bool) -> Self {
        self.fetch_userinfo = Some(fetch);
        self
    }

    /// Signature algorithms accepted for tokens. Default: the RSA, RSA-PSS, ECDSA and EdDSA
    /// families. HMAC algorithms are refused: with a public key they are forgeable. Replaces
    /// the default and any earlier list.
    pub fn allowed_algorithms(mut self, algs: impl IntoIterator<Item = Algorithm>) -> Self {
        self.allowed_algorithms = Some(algs.into_iter().collect());
        self
    }

    /// Timeout of each call to the provider. Default 10 seconds. Replaces any earlier
    /// timeout.
    pub fn http_timeout(mut self, timeout: Duration) -> Self {
        self.http_timeout = Some(timeout);
        self
    }

    /// The user-detail hook, called at login to load the application's user. Replaces any
    /// earlier hook.
    pub fn user_details(mut self, hook: impl UserDetails) -> Self {
        self.user_hook = Some(Arc::new(hook));
        self
    }

    /// How long the hook's user is kept in the session before it is loaded again.
    /// Default 1 hour. Replaces any earlier time; it applies to the hook whatever the order
    /// of the calls.
    pub fn user_details_ttl(mut self, ttl: Duration) -> Self {
        self.user_ttl = Some(ttl);
        self
    }

    /// Audiences accepted in bearer access tokens. Default: the client id. Replaces the
    /// default and any earlier list.
    pub fn audiences<I, S>(mut self, audiences: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let audiences = audiences.into_iter().map(Into::into).collect();
        self.audiences = Some(self.sourced(audiences));
        self
    }

    /// Accepts only bearer tokens: no login routes and no session cookies; requests without
    /// a valid token get `401`. For API services called by other services. Replaces any
    /// earlier choice.
    pub fn bearer_only(mut self, bearer_only: bool) -> Self {
        self.bearer_only = bearer_only;
        self
    }

    /// Validates opaque (non-JWT) bearer tokens at the provider's RFC 7662 introspection
    /// endpoint, authenticating with the client credentials. Replaces any earlier choice.
    pub fn introspect_opaque_tokens(mut self, introspect: bool) -> Self {
        self.introspect_opaque_tokens = introspect;
        self
    }

    /// Requirements every protected route enforces. Adds to the requirements given before:
    /// all of them must hold, whatever the order of the calls. A signed-in user who fails
    /// them gets `403`.
    pub fn require(mut self, require: Require) -> Self {
        self.require = std::mem::take(&mut self.require).and(require);
        self
    }

    /// Replaces the HTML of the `403` page, and any page given before.
    pub fn access_denied_page(mut self, page: AccessDeniedPage) -> Self {
        self.denied_page = Some(page);
        self
    }

    /// Adds a named OpenID Provider with its own settings (issuer or endpoints, client,
    /// scopes, claims, parameters, audiences, requirements); everything else is the
    /// application's, shared by every provider. With providers, the provider settings of
    /// this builder are defaults each provider may replace. A provider added again under
    /// the same name replaces the earlier one.
    ///
    /// Logins start at `/login/{name}`; `/login` shows a chooser, unless a
    /// [`default_provider`](Self::default_provider) is set. User ids are
    /// `{name}:{claim value}` unless the provider turns that off
    /// ([`ProviderConfig::namespace_user_ids`](crate::ProviderConfig::namespace_user_ids)).
    /// Names are 1 to 32 lower-case letters, digits, `-` or `_` (an error at `build()`
    /// otherwise).
    ///
    /// ```
    /// use tower_oidc::{Config, ProviderConfig};
    ///
    /// let config = Config::builder()
    ///     .provider("google", ProviderConfig::new().issuer("https://accounts.google.com").client_id("g"))
    ///     .provider("okta", ProviderConfig::new().issuer("https://acme.okta.com").client_id("o"))
    ///     .default_provider("okta")
    ///     .secret_key("a random string of at least 32 bytes!!")
    ///     .build()?;
    /// assert_eq!(config.client_id(), "o");
    /// # Ok::<(), tower_oidc::ConfigError>(())
    /// ```
    pub fn provider(mut self, name: impl Into<String>, provider: super::ProviderConfig) -> Self {
        let name = name.into();
        if let Err(problem) = super::providers::check_name(&name) {
            self.bad_provider_name.get_or_insert(problem);
        }
        self.providers.retain(|(existing, _)| *existing != name);
        self.providers.push((name, provider));
        self
    }

    /// The provider a login goes to when the user has not chosen one: `/login` then
    /// starts its login instead of showing the chooser, and protected pages send browsers
    /// straight to it. Replaces any earlier default.
    pub fn default_provider(mut self, name: impl Into<String>) -> Self {
        self.default_provider = Some(name.into());
        self
    }

    /// Replaces the provider chooser's HTML page (shown at `/login` with several providers
    /// and no default): `{providers}` in `html` stands for the list of links, one per
    /// provider, each keeping the page to return to. API clients get a JSON list instead.
    ///
    /// ```
    /// let builder = tower_oidc::Config::builder()
    ///     .provider_chooser_page("<!doctype html><title>Sign in</title><h1>Acme</h1>{providers}");
    /// # let _ = builder;
    /// ```
    pub fn provider_chooser_page(mut self, html: impl Into<String>) -> Self {
        self.chooser_page = Some(html.into());
        self
    }

    /// Runs `set` with every value it sets attributed to the environment `variable`.
    pub(super) fn set_by_variable<E>(
        mut self,
        variable: &'static str,
        set: impl FnOnce(Self) -> Result<Self, E>,
    ) -> Result<Self, E> {
        let outer = self.applying.replace(variable);
        let mut builder = set(self)?;
        builder.applying = outer;
        Ok(builder)
    }

    /// Where sessions are kept; a memory store is made here, knowing the idle timeout.
    pub(super) fn session_backend(&self, idle: Option<Duration>) -> SessionBackend {
        if self.memory_sessions {
            let store = MemoryStore::default();
            let store = match idle {
                Some(idle) => store.with_idle_timeout(idle),
                None => store,
            };
            return SessionBackend::Store(store::erased_in_process(store));
        }
        self.session.clone().unwrap_or(SessionBackend::Cookie)
    }

    pub(super) fn sourced<T>(&self, value: T) -> Sourced<T> {
        Sourced {
            value,
            origin: self.applying,
        }
    }
}

/// Prints in place of a secret that is set.
pub(super) struct Redacted;

impl fmt::Debug for Redacted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl fmt::Debug for ConfigBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secret_key = self.secret_key.as_ref().map(|key| Sourced {
            value: Redacted,
            origin: key.origin,
        });
        f.debug_struct("ConfigBuilder")
            .field("issuer", &self.issuer)
            .field("discovery_url", &self.discovery_url)
            .field("endpoints", &self.endpoints)
            .field("provider_name", &self.provider_name)
            .field("client_id", &self.client_id)
            .field(
                "client_secret",
                &self.client_secret.as_ref().map(|_| Redacted),
            )
            .field("client_auth", &self.client_auth)
            .field("client_options", &self.client_options)
            .field("redirect_uri", &self.redirect_uri)
            .field("scopes", &self.scopes)
            .field("user_id_claim", &self.user_id_claim)
            .field("whitelist", &self.whitelist)
            .field("secret_key", &secret_key)
            .field("previous_secret_keys", &self.previous_secret_keys.len())
            .field("generated_key", &self.generated_key)
            .field("cookie_name", &self.cookie_name)
            .field("cookie_secure", &self.cookie_secure)
            .field("session", &self.session)
            .field(
                "session_store_ca",
                &self.session_store_ca.as_ref().map(|ca| ca.origin),
            )
            .field("session_max_age", &self.session_max_age)
            .field("session_idle_timeout", &self.session_idle_timeout)
            .field("session_near_cache", &self.session_near_cache)
            .field(
                "session_near_cache_capacity",
                &self.session_near_cache_capacity,
            )
            .field("memory_sessions", &self.memory_sessions)
            .field("post_login_redirect", &self.post_login_redirect)
            .field("post_logout_redirect_uri", &self.post_logout_redirect_uri)
            .field("auth_params", &self.auth_params)
            .field("login_path", &self.login_path)
            .field("logout_path", &self.logout_path)
            .field("backchannel_logout_path", &self.backchannel_logout_path)
            .field("frontchannel_logout_path", &self.frontchannel_logout_path)
            .field("silent_login_first", &self.silent_login_first)
            .field("base_path", &self.base_path)
            .field("leeway", &self.leeway)
            .field("trust_forwarded_headers", &self.trust_forwarded_headers)
            .field("force_scheme", &self.force_scheme)
            .field("fetch_userinfo", &self.fetch_userinfo)
            .field("allowed_algorithms", &self.allowed_algorithms)
            .field("http_timeout", &self.http_timeout)
            .field("user_details", &self.user_hook.as_ref().map(|_| "hook"))
            .field("user_details_ttl", &self.user_ttl)
            .field("audiences", &self.audiences)
            .field("bearer_only", &self.bearer_only)
            .field("introspect_opaque_tokens", &self.introspect_opaque_tokens)
            .field("require", &self.require)
            .field("access_denied_page", &self.denied_page)
            .field("id_token_signing_alg", &self.id_token_signing_alg)
            .field("resolve_claim_sources", &self.resolve_claim_sources)
            .field("api_keys", &self.api_keys)
            .field("auth_disabled", &self.auth_disabled)
            .field("development_user", &self.development_user)
            .field("development_claims", &self.development_claims)
            .field("dpop", &self.dpop)
            .finish()
    }
}
