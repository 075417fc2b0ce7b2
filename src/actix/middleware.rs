//! The actix-web middleware: construction and the `Transform` into its service.

use std::future::{ready, Ready};
use std::sync::Arc;
use std::time::Duration;

use actix_web::body::EitherBody;
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform};
use actix_web::Error;

use super::service::OidcMiddlewareService;
use crate::config::{Config, ConfigError};
use crate::engine::Engine;
use crate::middleware::{OidcLayer, ProviderNotReady};
use crate::session::store::StoreError;

/// The OpenID Connect middleware for actix-web 4: `App::new().wrap(oidc.clone())`.
///
/// It behaves exactly like [`OidcLayer`]: it owns the login, callback and logout routes,
/// keeps sessions in cookies (or a store), refreshes tokens, and answers unauthenticated
/// requests: a redirect to the provider for browsers, `401` JSON for API clients.
/// Whitelisted paths pass untouched. Handlers take [`Identity`](crate::Identity) (or
/// `Option<Identity>`) as an argument.
///
/// Make it **once**, outside the closure given to `HttpServer::new`, and clone it in:
/// clones share one engine (provider metadata, keys, the record of used login states,
/// in-flight refreshes), while a middleware made inside the closure would give each
/// worker its own. `OidcMiddleware::from(&layer)` shares the engine of an [`OidcLayer`],
/// to serve axum and actix-web from one configuration.
///
/// ```no_run
/// use actix_web::{web, App, HttpServer};
/// use tower_oidc::actix::OidcMiddleware;
/// use tower_oidc::{Config, Identity};
///
/// async fn hello(user: Identity) -> String {
///     format!("hello {}", user.user_id())
/// }
///
/// #[actix_web::main]
/// async fn main() -> Result<(), Box<dyn std::error::Error>> {
///     let config = Config::builder()
///         .issuer("https://accounts.example.com")
///         .client_id("my-app")
///         .client_secret("my-secret")
///         .redirect_uri("https://app.example.com/auth")
///         .secret_key(std::env::var("OIDC_SECRET_KEY")?)
///         .whitelist(["health"])
///         .build()?;
///     let oidc = OidcMiddleware::new(config);
///     HttpServer::new(move || {
///         App::new()
///             .wrap(oidc.clone())
///             .route("/", web::get().to(hello))
///             .route("/health", web::get().to(|| async { "ok" }))
///     })
///     .bind("127.0.0.1:5000")?
///     .run()
///     .await?;
///     Ok(())
/// }
/// ```
#[derive(Clone)]
pub struct OidcMiddleware {
    pub(super) engine: Arc<Engine>,
}

impl OidcMiddleware {
    /// A middleware for this configuration. Provider discovery starts in the background
    /// (when called inside a tokio runtime, as in `#[actix_web::main]`) and is retried
    /// until it succeeds; until then whitelisted paths and existing sessions work and
    /// logins answer `503`.
    #[must_use]
    pub fn new(config: Config) -> Self {
        Self {
            engine: Engine::new(config),
        }
    }

    /// A middleware configured from the environment (see [`Config::from_env`]).
    ///
    /// # Errors
    ///
    /// The [`ConfigError`] of [`Config::from_env`], naming the variable at fault.
    pub fn from_env() -> Result<Self, ConfigError> {
        Config::from_env().map(Self::new)
    }

    /// Waits until the provider's metadata is loaded, or `timeout` passes: see
    /// [`OidcLayer::ready`].
    ///
    /// # Errors
    ///
    /// [`ProviderNotReady`] when the metadata is not loaded within `timeout`.
    pub async fn ready(&self, timeout: Duration) -> Result<(), ProviderNotReady> {
        self.layer().ready(timeout).await
    }

    /// The configuration in use.
    #[must_use]
    pub fn config(&self) -> &Config {
        &self.engine.context().config
    }

    /// Ends every session of the user `user_id`: see [`OidcLayer::end_sessions_for`].
    ///
    /// # Errors
    ///
    /// [`StoreError::Unsupported`] with cookie sessions, or with a store that keeps no
    /// logout index; the store's error when it cannot be reached.
    pub async fn end_sessions_for(&self, user_id: &str) -> Result<usize, StoreError> {
        self.layer().end_sessions_for(user_id).await
    }

    fn layer(&self) -> OidcLayer {
        OidcLayer {
            engine: Arc::clone(&self.engine),
        }
    }
}

impl From<OidcLayer> for OidcMiddleware {
    /// The middleware sharing the layer's engine.
    fn from(layer: OidcLayer) -> Self {
        Self {
            engine: layer.engine,
        }
    }
}

impl From<&OidcLayer> for OidcMiddleware {
    /// The middleware sharing the layer's engine.
    fn from(layer: &OidcLayer) -> Self {
        Self {
            engine: Arc::clone(&layer.engine),
        }
    }
}

impl From<OidcMiddleware> for OidcLayer {
    /// The tower layer sharing the middleware's engine.
    fn from(middleware: OidcMiddleware) -> Self {
        middleware.layer()
    }
}

impl std::fmt::Debug for OidcMiddleware {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcMiddleware")
            .field("config", &self.engine.context().config)
            .finish()
    }
}

impl<S, B> Transform<S, ServiceRequest> for OidcMiddleware
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = Error;
    type Transform = OidcMiddlewareService<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(OidcMiddlewareService::new(
            service,
            Arc::clone(&self.engine),
        )))
    }
}
