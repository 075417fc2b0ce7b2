//! Several OpenID Providers in one application: each named provider is the one-provider
//! configuration with its own provider settings, sharing everything else (cookies, stores,
//! routes, whitelist).

use std::fmt;
use std::sync::Arc;

use super::tenants::TenantIssuer;
use super::{ClientAuth, Config, ConfigBuilder, ConfigError, ProviderEndpoints};
use crate::authz::Require;

type Apply = Arc<dyn Fn(ConfigBuilder) -> Result<ConfigBuilder, ConfigError> + Send + Sync>;

/// The settings of one named OpenID Provider, for [`ConfigBuilder::provider`].
///
/// A setting not given here is the application's: a scope list, an audience or a
/// requirement set on the [`ConfigBuilder`] applies to every provider that does not set its
/// own (requirements add up: the application's and the provider's must all hold).
///
/// ```
/// use tower_oidc::{Config, ProviderConfig};
///
/// let config = Config::builder()
///     .provider(
///         "google",
///         ProviderConfig::new()
///             .issuer("https://accounts.google.com")
///             .client_id("google-client")
///             .client_secret("google-secret")
///             .auth_param("access_type", "offline"),
///     )
///     .provider(
///         "okta",
///         ProviderConfig::new()
///             .issuer("https://example.okta.com")
///             .client_id("okta-client")
///             .client_secret("okta-secret")
///             .redirect_uri("/auth/okta"),
///     )
///     .secret_key("a random string of at least 32 bytes!!")
///     .build()?;
/// assert_eq!(config.provider_names().collect::<Vec<_>>(), ["google", "okta"]);
/// # Ok::<(), tower_oidc::ConfigError>(())
/// ```
#[derive(Clone, Default)]
#[must_use]
pub struct ProviderConfig {
    /// What each setting does to the application's builder, with its name for `Debug`.
    settings: Vec<(&'static str, Apply)>,
    pub(super) namespace_user_ids: Option<bool>,
    pub(super) display_name: Option<String>,
    pub(super) tenants: Option<TenantIssuer>,
}

impl ProviderConfig {
    /// A provider with no settings of its own yet.
    pub fn new() -> Self {
        Self::default()
    }

    fn with(
        mut self,
        name: &'static str,
        apply: impl Fn(ConfigBuilder) -> Result<ConfigBuilder, ConfigError> + Send + Sync + 'static,
    ) -> Self {
        self.settings.push((name, Arc::new(apply)));
        self
    }

    /// The issuer URL: see [`ConfigBuilder::issuer`].
    pub fn issuer(self, issuer: impl Into<String>) -> Self {
        let issuer = issuer.into();
        self.with("issuer", move |b| Ok(b.issuer(issuer.clone())))
    }

    /// The full discovery URL: see [`ConfigBuilder::discovery_url`].
    pub fn discovery_url(self, url: impl Into<String>) -> Self {
        let url = url.into();
        self.with("discovery_url", move |b| Ok(b.discovery_url(url.clone())))
    }

    /// Endpoints given by hand: see [`ConfigBuilder::endpoints`].
    pub fn endpoints(self, endpoints: ProviderEndpoints) -> Self {
        self.with("endpoints", move |b| Ok(b.endpoints(endpoints.clone())))
    }

    /// The OAuth client id at this provider.
    pub fn client_id(self, id: impl Into<String>) -> Self {
        let id = id.into();
        self.with("client_id", move |b| Ok(b.client_id(id.clone())))
    }

    /// The OAuth client secret at this provider.
    pub fn client_secret(self, secret: impl Into<String>) -> Self {
        let secret = crate::secret::Secret::new(secret.into());
        self.with("client_secret", move |b| {
            Ok(b.client_secret(secret.expose()))
        })
    }

    /// How the client authenticates at this provider: see [`ConfigBuilder::client_auth`].
    pub fn client_auth(self, auth: ClientAuth) -> Self {
        self.with("client_auth", move |b| Ok(b.client_auth(auth)))
    }

    /// This provider's own callback URL (registered at it). Providers sharing one callback
    /// URL must send RFC 9207 `iss` with every authorization response, which is then
    /// required; with a callback URL of its own, a provider's responses are told apart by
    /// their path.
    pub fn redirect_uri(self, uri: impl Into<String>) -> Self {
        let uri = uri.into();
        self.with("redirect_uri", move |b| Ok(b.redirect_uri(uri.clone())))
    }

    /// The scopes requested at this provider: see [`ConfigBuilder::scopes`].
    pub fn scopes<I, S>(self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let scopes: Vec<String> = scopes.into_iter().map(Into::into).collect();
        self.with("scopes", move |b| Ok(b.scopes(scopes.clone())))
    }

    /// The claim used as the user id at this provider: see
    /// [`ConfigBuilder::user_id_claim`].
    pub fn user_id_claim(self, claim: impl Into<String>) -> Self {
        let claim = claim.into();
        self.with("user_id_claim", move |b| Ok(b.user_id_claim(claim.clone())))
    }

    /// An extra authorization parameter for this provider: see
    /// [`ConfigBuilder::auth_param`]. Adds to the parameters given before.
    pub fn auth_param(self, name: impl Into<String>, value: impl Into<String>) -> Self {
        let (name, value) = (name.into(), value.into());
        self.with("auth_param", move |b| {
            Ok(b.auth_param(name.clone(), value.clone()))
        })
    }

    /// The audiences accepted in this provider's bearer tokens: see
    /// [`ConfigBuilder::audiences`].
    pub fn audiences<I, S>(self, audiences: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let audiences: Vec<String> = audiences.into_iter().map(Into::into).collect();
        self.with("audiences", move |b| Ok(b.audiences(audiences.clone())))
    }

    /// Requirements on the users of this provider, on top of the application's.
    pub fn require(self, require: Require) -> Self {
        self.with("require", move |b| Ok(b.require(require.clone())))
    }

    /// Whether userinfo is fetched at login: see [`ConfigBuilder::fetch_userinfo`].
    pub fn fetch_userinfo(self, fetch: bool) -> Self {
        self.with("fetch_userinfo", move |b| Ok(b.fetch_userinfo(fetch)))
    }

    /// The name the provider chooser shows; default the provider's name.
    pub fn display_name(mut self, name: impl Into<String>) -> Self {
        self.display_name = Some(name.into());
        self
    }

    /// Whether user ids are `{provider}:{claim value}` (the default with several
    /// providers), so that two providers' users never share an id. Turn it off only when
    /// the user id claim is unique across providers (a verified email address the
    /// application treats as one user, say).
    pub fn namespace_user_ids(mut self, namespace: bool) -> Self {
        self.namespace_user_ids = Some(namespace);
        self
    }

    /// A multi-tenant issuer: see [`TenantIssuer`]. The template is the issuer the
    /// provider's metadata names (replacing any [`issuer`](Self::issuer)); give the
    /// [`discovery_url`](Self::discovery_url) of the multi-tenant document, or
    /// [`endpoints`](Self::endpoints) whose issuer is the template. Each token's `iss` must
    /// be the template filled in with an allowed tenant, its `tid` (when it has one) that
    /// same tenant.
    pub fn tenant_issuer(mut self, tenants: TenantIssuer) -> Self {
        let template = tenants.template().to_owned();
        self.tenants = Some(tenants);
        self.with("tenant_issuer", move |b| Ok(b.issuer(template.clone())))
    }

    /// A setting read from the environment, applied like a builder method.
    pub(super) fn variable(
        self,
        apply: impl Fn(ConfigBuilder) -> Result<ConfigBuilder, ConfigError> + Send + Sync + 'static,
    ) -> Self {
        self.with("variable", apply)
    }

    fn apply(&self, mut builder: ConfigBuilder) -> Result<ConfigBuilder, ConfigError> {
        for (_, apply) in &self.settings {
            builder = apply(builder)?;
        }
        Ok(builder)
    }
}

impl fmt::Debug for ProviderConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProviderConfig")
            .field(
                "settings",
                &self
                    .settings
                    .iter()
                    .map(|(name, _)| name)
                    .collect::<Vec<_>>(),
            )
            .field("namespace_user_ids", &self.namespace_user_ids)
            .field("display_name", &self.display_name)
            .field("tenants", &self.tenants)
            .finish()
    }
}

/// A provider name: lower-case letters, digits, `-` and `_`, as it appears in the login
/// path (`/login/{name}`) and, upper-cased, in environment variables.
pub(super) fn check_name(name: &str) -> Result<(), String> {
    let valid = !name.is_empty()
        && name.len() <= 32
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
    if valid {
        Ok(())
    } else {
        Err(format!(
            "`{name}` is not a provider name: use 1 to 32 lower-case letters, digits, `-` or `_`"
        ))
    }
}

/// An error of one provider's settings, naming the provider when the setting is a builder
/// method (an environment variable names it already).
fn in_provider(name: &str, err: ConfigError) -> ConfigError {
    if err.setting().starts_with("OIDC_") || err.setting().starts_with("FLASK_") {
        return err;
    }
    ConfigError::new(
        format!("provider(\"{name}\").{}", err.setting()),
        err.problem().to_owned(),
    )
}

impl ConfigBuilder {
    /// Builds one configuration per named provider, each from the application's settings
    /// with the provider's own on top; the first (or the default) is the one the
    /// configuration shows.
    pub(super) fn build_providers(mut self) -> Result<Config, ConfigError> {
        if let Some(problem) = self.bad_provider_name.take() {
            return Err(ConfigError::new("provider", problem));
        }
        let providers = std::mem::take(&mut self.providers);
        let default = self.default_provider.take();
        if let Some(default) = &default {
            if !providers.iter().any(|(name, _)| name == default) {
                return Err(ConfigError::new(
                    "default_provider",
                    format!("`{default}` is not one of the providers"),
                ));
            }
        }
        // One cookie key for all, also when it is generated.
        if self.secret_key.is_none() && self.generated_key {
            use rand::RngCore;
            let mut bytes = vec![0u8; super::defaults::GENERATED_SECRET_KEY_BYTES];
            rand::rngs::OsRng.fill_bytes(&mut bytes);
            let material =
                base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, &bytes);
            self = self.secret_key(material);
        }
        for (name, provider) in &providers {
            if provider
                .tenants
                .as_ref()
                .is_some_and(|tenants| !tenants.has_placeholder())
            {
                return Err(ConfigError::new(
                    format!("provider(\"{name}\").tenant_issuer"),
                    "the issuer template has no `{tenantid}`",
                ));
            }
        }
        let mut views: Vec<Config> = Vec::with_capacity(providers.len());
        for (name, provider) in &providers {
            let builder = provider
                .apply(self.clone())
                .map_err(|err| in_provider(name, err))?;
            let mut view = builder.build().map_err(|err| in_provider(name, err))?;
            view.provider_key = Some(name.clone());
            view.namespace_user_ids = provider.namespace_user_ids.unwrap_or(true);
            view.tenants = provider.tenants.clone().map(Arc::new);
            view.provider_name = provider
                .display_name
                .clone()
                .or(view.provider_name.take())
                .or_else(|| Some(name.clone()));
            if let Some(first) = views.first() {
                view.share_application_state(first);
            }
            views.push(view);
        }
        check_distinct_issuers(&providers, &views)?;
        let callbacks: Vec<String> = views.iter().map(|v| v.routes.callback.clone()).collect();
        for view in &mut views {
            let sharing = callbacks
                .iter()
                .filter(|path| **path == view.routes.callback)
                .count();
            view.require_iss = sharing > 1;
        }
        let shown = default
            .as_ref()
            .and_then(|default| {
                views
                    .iter()
                    .position(|v| v.provider_key.as_deref() == Some(default))
            })
            .unwrap_or(0);
        let mut config = views[shown].clone();
        config.default_provider = default;
        config.providers = views.into_iter().map(Arc::new).collect();
        Ok(config)
    }
}

/// Two providers with one issuer could not be told apart by the `iss` of their tokens.
fn check_distinct_issuers(
    providers: &[(String, ProviderConfig)],
    views: &[Config],
) -> Result<(), ConfigError> {
    for (index, view) in views.iter().enumerate() {
        let issuer = view.issuer_key();
        if let Some(other) = views[..index].iter().find(|v| v.issuer_key() == issuer) {
            return Err(ConfigError::new(
                format!("provider(\"{}\").issuer", providers[index].0),
                format!(
                    "is also the issuer of provider `{}`; each provider needs its own issuer",
                    other.provider_key.as_deref().unwrap_or_default()
                ),
            ));
        }
    }
    Ok(())
}

impl Config {
    /// Takes the application's state from `first`, the configuration of the first
    /// provider, so that every provider shares one cookie key, one store and one set of
    /// routes (each keeps its own callback).
    fn share_application_state(&mut self, first: &Config) {
        self.cookie_key = first.cookie_key.clone();
        self.previous_cookie_keys = first.previous_cookie_keys.clone();
        self.session = first.session.clone();
        let callback = std::mem::take(&mut self.routes.callback);
        self.routes = first.routes.clone();
        self.routes.callback = callback;
        #[cfg(feature = "api-keys")]
        {
            self.api_keys = first.api_keys.clone();
        }
    }

    /// The names of the configured providers, in order; empty with a single unnamed
    /// provider.
    ///
    /// ```
    /// let config = tower_oidc::Config::builder()
    ///     .issuer("https://accounts.example.com")
    ///     .client_id("my-app")
    ///     .secret_key("a random string of at least 32 bytes!!")
    ///     .build()?;
    /// assert_eq!(config.provider_names().count(), 0);
    /// # Ok::<(), tower_oidc::ConfigError>(())
    /// ```
    pub fn provider_names(&self) -> impl Iterator<Item = &str> {
        self.providers
            .iter()
            .filter_map(|view| view.provider_key.as_deref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "0123456789abcdef0123456789abcdef-key";

    fn two() -> ConfigBuilder {
        Config::builder()
            .secret_key(KEY)
            .provider(
                "one",
                ProviderConfig::new()
                    .issuer("https://one.example.com")
                    .client_id("c1"),
            )
            .provider(
                "two",
                ProviderConfig::new()
                    .issuer("https://two.example.com")
                    .client_id("c2")
                    .scopes(["openid", "groups"]),
            )
    }

    #[test]
    fn each_provider_has_its_own_settings_and_shares_the_rest() {
        let config = two().scopes(["openid", "email"]).build().unwrap();
        let [one, two] = &config.providers[..] else {
            panic!("two providers")
        };
        assert_eq!(one.client_id, "c1");
        assert_eq!(two.client_id, "c2");
        assert_eq!(one.scopes, ["openid", "email"]);
        assert_eq!(two.scopes, ["openid", "groups"]);
        assert!(one.require_iss && two.require_iss, "one shared callback");
        assert!(one.namespace_user_ids);
        assert_eq!(config.client_id, "c1");
    }

    #[test]
    fn own_callbacks_need_no_iss() {
        let config = Config::builder()
            .secret_key(KEY)
            .provider(
                "one",
                ProviderConfig::new()
                    .issuer("https://one.example.com")
                    .client_id("c1")
                    .redirect_uri("/auth/one"),
            )
            .provider(
                "two",
                ProviderConfig::new()
                    .issuer("https://two.example.com")
                    .client_id("c2"),
            )
            .build()
            .unwrap();
        assert!(config.providers.iter().all(|view| !view.require_iss));
        assert_eq!(config.providers[0].routes.callback, "/auth/one");
        assert_eq!(config.providers[1].routes.callback, "/auth");
    }

    #[test]
    fn errors_name_the_provider() {
        let err = Config::builder()
            .secret_key(KEY)
            .provider(
                "one",
                ProviderConfig::new().issuer("https://one.example.com"),
            )
            .build()
            .unwrap_err();
        assert_eq!(err.setting(), "provider(\"one\").client_id");
        let err = two().default_provider("three").build().unwrap_err();
        assert_eq!(err.setting(), "default_provider");
    }

    #[test]
    fn providers_need_distinct_issuers_and_valid_names() {
        let err = two()
            .provider(
                "three",
                ProviderConfig::new()
                    .issuer("https://one.example.com/")
                    .client_id("c3"),
            )
            .build()
            .unwrap_err();
        assert_eq!(err.setting(), "provider(\"three\").issuer");
        let err = two()
            .provider("Bad Name", ProviderConfig::new())
            .build()
            .unwrap_err();
        assert_eq!(err.setting(), "provider");
    }

    #[test]
    fn a_generated_key_is_shared() {
        let config = Config::builder()
            .generate_secret_key()
            .provider(
                "one",
                ProviderConfig::new()
                    .issuer("https://one.example.com")
                    .client_id("c1"),
            )
            .provider(
                "two",
                ProviderConfig::new()
                    .issuer("https://two.example.com")
                    .client_id("c2"),
            )
            .build()
            .unwrap();
        assert_eq!(
            config.providers[0].cookie_key.master(),
            config.providers[1].cookie_key.master()
        );
    }

    #[test]
    fn debug_hides_the_secret() {
        let provider = ProviderConfig::new().client_secret("hunter2-very-secret");
        assert!(!format!("{provider:?}").contains("hunter2"));
    }
}
