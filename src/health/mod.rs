//! A health endpoint to mount beside the layer: [`health`] for tower and axum,
//! [`actix::health`](crate::actix::health) for actix-web.

mod report;

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::Full;
use tower_service::Service;

use crate::engine::Engine;
use crate::OidcLayer;

pub(crate) use report::answer;

/// The health report of `layer`, as a tower service answering every request: mount it at
/// a path of its own and whitelist that path.
///
/// It answers `200` when the provider's metadata and keys are loaded and the session
/// store answers, else `503`, with a JSON body:
///
/// ```json
/// {"status": "ok", "ready": true, "auth": "enabled", "failing": [],
///  "provider": {"discovery": {"loaded": true, "source": "discovery", "last_success": 1767000000,
///                             "last_failure": null, "last_error": null},
///               "keys": {"count": 2, "last_success": 1767000000, "last_failure": null,
///                        "last_error": null}},
///  "store": {"backend": "server", "reachable": true, "error": null}}
/// ```
///
/// `failing` names the parts that fail (`provider.discovery`, `provider.keys`, `store`);
/// `ready` is what [`OidcLayer::ready`] waits for. Errors are kinds (`unreachable`,
/// `bad_status`, `invalid_document`, `issuer_mismatch`; for the store `unavailable`,
/// `corrupt`, `other`, `timeout`), times are Unix seconds; no URL, message, secret or
/// token is shown. A missing discovery is attempted again (as [`OidcLayer::ready`] does),
/// and the store is pinged ([`SessionStore::ping`](crate::store::SessionStore::ping)),
/// each for at most two seconds.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use axum::{routing::get, Router};
/// use tower_oidc::{Config, OidcLayer};
///
/// let config = Config::builder()
///     .issuer("https://accounts.example.com")
///     .client_id("my-app")
///     .generate_secret_key()
///     .whitelist(["/health/oidc"])
///     .build()?;
/// let oidc = OidcLayer::new(config);
/// let app: Router = Router::new()
///     .route("/", get(|| async { "hello" }))
///     .route_service("/health/oidc", tower_oidc::health(&oidc))
///     .layer(oidc);
/// # let _ = app;
/// # Ok(()) }
/// ```
#[must_use]
pub fn health(layer: &OidcLayer) -> HealthService {
    HealthService {
        engine: Arc::clone(&layer.engine),
    }
}

/// The service of [`health`].
#[derive(Clone)]
pub struct HealthService {
    engine: Arc<Engine>,
}

impl std::fmt::Debug for HealthService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HealthService").finish_non_exhaustive()
    }
}

impl<B> Service<Request<B>> for HealthService {
    type Response = Response<Full<Bytes>>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _request: Request<B>) -> Self::Future {
        let engine = Arc::clone(&self.engine);
        Box::pin(async move { Ok(answer(engine.context()).await.map(Full::new)) })
    }
}
