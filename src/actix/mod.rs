//! actix-web 4 support (feature `actix`): [`OidcMiddleware`], the
//! [`Identity`](crate::Identity) and [`User`](crate::User) extractors, and
//! [`Require`](crate::Require) as a middleware for scopes.
//!
//! The middleware runs the same engine as [`OidcLayer`](crate::OidcLayer) and behaves the
//! same way, answer for answer. Handlers take `Identity` as an argument: a request without
//! a signed-in user is rejected with `401` JSON (and `WWW-Authenticate: Bearer`), and one
//! the middleware did not handle with `500`, a setup mistake, exactly as with axum.
//!
//! `Option<Identity>` is actix-web's generic optional extractor: `None` when no one is
//! signed in, but also `None` (logged at `debug` level) when the middleware is missing,
//! where axum answers `500`. Take `Result<Identity, IdentityRejection>` and match on
//! [`IdentityRejection`](crate::IdentityRejection) to tell the two apart.
//!
//! ```no_run
//! use actix_web::{web, App, HttpServer};
//! use tower_oidc::actix::OidcMiddleware;
//! use tower_oidc::Identity;
//!
//! #[actix_web::main]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     let oidc = OidcMiddleware::from_env()?;
//!     HttpServer::new(move || {
//!         App::new().wrap(oidc.clone()).route(
//!             "/",
//!             web::get().to(|user: Identity| async move { format!("hello {}", user.user_id()) }),
//!         )
//!     })
//!     .bind("127.0.0.1:5000")?
//!     .run()
//!     .await?;
//!     Ok(())
//! }
//! ```

mod convert;
mod error;
mod extract;
mod future;
mod health;
mod middleware;
mod require;
mod service;

pub use future::OidcMiddlewareFuture;
pub use health::health;
pub use middleware::OidcMiddleware;
pub use require::RequireMiddlewareService;
pub use service::OidcMiddlewareService;
