//! The health endpoint on actix-web.

use std::sync::Arc;

use actix_web::{web, HttpResponse, Route};

use super::convert;
use super::OidcMiddleware;

/// The health report of `middleware` (see [`crate::health`]) as an actix-web route:
/// mount it at a path of its own and whitelist that path.
///
/// ```no_run
/// use actix_web::{App, HttpServer};
/// use tower_oidc::actix::OidcMiddleware;
///
/// #[actix_web::main]
/// async fn main() -> Result<(), Box<dyn std::error::Error>> {
///     let oidc = OidcMiddleware::from_env()?;
///     HttpServer::new(move || {
///         App::new()
///             .wrap(oidc.clone())
///             .route("/health/oidc", tower_oidc::actix::health(&oidc))
///     })
///     .bind("127.0.0.1:5000")?
///     .run()
///     .await?;
///     Ok(())
/// }
/// ```
#[must_use]
pub fn health(middleware: &OidcMiddleware) -> Route {
    let engine = Arc::clone(&middleware.engine);
    web::get().to(move || {
        let engine = Arc::clone(&engine);
        async move {
            let response: HttpResponse =
                convert::response(crate::health::answer(engine.context()).await);
            response
        }
    })
}
