use std::sync::Arc;
use std::time::Duration;

use tower_layer::Layer;

use super::service::OidcService;
use crate::config::{Config, ConfigError};
use crate::engine::Engine;
use crate::session::store::StoreError;

/// The OpenID Connect layer: wrap a router or service in it to require sign-in.
///
/// It owns the login, callback and logout routes, keeps sessions in cookies (or a store),
/// refreshes tokens, and answers unauthenticated requests: a redirect to the provider for
/// browsers, `401` JSON for API clients. Whitelisted paths pass untouched.
///
/// ```no_run
/// use axum::{routing::get, Router};
/// use tower_oidc::{Identity, OidcLayer};
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let oidc = OidcLayer::from_env()?;
/// let app = Router::new()
///     .route("/", get(|user: Identity| async move { format!("hello {}", user.user_id()) }))
///     .layer(oidc);
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:5000").await?;
/// axum::serve(listener, app).await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct OidcLayer {
    pub(crate) engine: Arc<Engine>,
}

impl OidcLayer {
    /// A layer for this configuration. Provider discovery starts in the background (when
    /// called inside a tokio runtime) and is retried until it succeeds; until then
    /// whitelisted paths and existing sessions work and logins answer `503`.
    #[must_use]
    pub fn new(config: Config) -> Self {
        Self {
            engine: Engine::new(config),
        }
    }

    /// A layer configured from the environment (see [`Config::from_env`]).
    ///
    /// # Errors
    ///
    /// The [`ConfigError`] of [`Config::from_env`], naming the variable at fault.
    pub fn from_env() -> Result<Self, ConfigError> {
        Config::from_env().map(Self::new)
    }

    /// Waits until the provider's metadata is loaded, or `timeout` passes. Optional: for
    /// services that prefer to fail at start when the provider is unreachable.
    ///
    /// With several providers, it waits for each of them (within `timeout` altogether) and
    /// succeeds when at least one is loaded: the others keep being tried in the
    /// background, and only their new logins answer `503` meanwhile.
    ///
    /// # Errors
    ///
    /// [`ProviderNotReady`] with the last reason (unreachable, bad discovery document, issuer
    /// mismatch, no usable keys) when the metadata is not loaded within `timeout` (of no
    /// provider, with several).
    pub async fn ready(&self, timeout: Duration) -> Result<(), ProviderNotReady> {
        let deadline = tokio::time::Instant::now() + timeout;
        let ctx = self.engine.context();
        let mut first_error = None;
        let mut any_ready = false;
        for slot in &ctx.providers {
            match wait_for(&slot.provider, deadline).await {
                Ok(()) => any_ready = true,
                Err(err) => {
                    first_error.get_or_insert(err);
                }
            }
        }
        match first_error {
            Some(err) if !any_ready => Err(err),
            _ => Ok(()),
        }
    }

    /// The configuration in use.
    #[must_use]
    pub fn config(&self) -> &Config {
        &self.engine.context().config
    }

    /// Ends every session of the user `user_id` (the id the layer gives them, from the
    /// user id claim), for admin tools: a locked account, a reset password. Their
    /// browsers are signed out at their next request; tokens at the provider are not
    /// revoked.
    ///
    /// Needs a server-side session store that keeps a logout index (the memory, Redis
    /// and SQL stores do): a cookie session lives in the browser alone and cannot be
    /// reached from here.
    ///
    /// With personal API keys (feature `api-keys`), the user's keys are revoked first,
    /// unless `api_keys_end_with_sessions(false)`; that holds with cookie sessions too.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use tower_oidc::{Config, OidcLayer};
    ///
    /// let config = Config::builder()
    ///     .issuer("https://op.example.com")
    ///     .client_id("my-app")
    ///     .generate_secret_key()
    ///     .memory_sessions()
    ///     .build()?;
    /// let oidc = OidcLayer::new(config);
    /// assert_eq!(oidc.end_sessions_for("alice").await?, 0);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`StoreError::Unsupported`] with cookie sessions, or with a store that keeps no
    /// logout index; the store's error when it cannot be reached.
    pub async fn end_sessions_for(&self, user_id: &str) -> Result<usize, StoreError> {
        self.engine.context().end_sessions_for(user_id).await
    }
}

impl std::fmt::Debug for OidcLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcLayer")
            .field("config", &self.engine.context().config)
            .finish()
    }
}

/// The provider's metadata could not be loaded in time.
#[derive(Debug, Clone, thiserror::Error)]
#[error("identity provider not ready: {0}")]
pub struct ProviderNotReady(String);

impl<S> Layer<S> for OidcLayer {
    type Service = OidcService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        OidcService::new(inner, Arc::clone(&self.engine))
    }
}

/// Waits until `provider`'s metadata is loaded, or `deadline` passes.
async fn wait_for(
    provider: &crate::provider::Provider,
    deadline: tokio::time::Instant,
) -> Result<(), ProviderNotReady> {
    loop {
        let attempt = tokio::time::timeout_at(deadline, provider.metadata()).await;
        match attempt {
            Ok(Ok(_)) => return Ok(()),
            Ok(Err(err))
                if tokio::time::Instant::now() + Duration::from_millis(200) >= deadline =>
            {
                return Err(ProviderNotReady(err.0))
            }
            Ok(Err(_)) => tokio::time::sleep(Duration::from_millis(200)).await,
            Err(_) => return Err(ProviderNotReady("timed out".into())),
        }
    }
}
