use std::sync::Arc;
use std::time::Duration;

use tower_layer::Layer;

use super::service::OidcService;
use crate::config::{Config, ConfigError};
use crate::engine::Engine;

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
    /// # Errors
    ///
    /// [`ProviderNotReady`] with the last reason (unreachable, bad discovery document, issuer
    /// mismatch, no usable keys) when the metadata is not loaded within `timeout`.
    pub async fn ready(&self, timeout: Duration) -> Result<(), ProviderNotReady> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let attempt =
                tokio::time::timeout_at(deadline, self.engine.context().provider.metadata()).await;
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

    /// The configuration in use.
    #[must_use]
    pub fn config(&self) -> &Config {
        &self.engine.context().config
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
