//! # tower-oidc
//!
//! Makes a web service an OpenID Connect relying party by wrapping it in one layer.
//!
//! The layer owns `/login`, the callback (`/auth` by default) and `/logout`; keeps the
//! session in an encrypted cookie (or a server-side store); refreshes access tokens; and
//! answers requests without a session: browsers are sent to the provider, API clients get
//! `401` with a JSON body. Whitelisted paths pass untouched.
//!
//! Every login uses PKCE (S256), `state` and `nonce`; the ID token's signature is checked
//! against the provider's published keys with an allowlist of asymmetric algorithms, and
//! `iss`, `aud`, `azp`, `exp`, `iat` and `nonce` are checked.
//!
//! ```no_run
//! use axum::{routing::get, Router};
//! use tower_oidc::{Config, Identity, OidcLayer};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let config = Config::builder()
//!     .issuer("https://accounts.example.com")
//!     .client_id("my-app")
//!     .client_secret("my-secret")
//!     .redirect_uri("https://app.example.com/auth")
//!     .secret_key(std::env::var("OIDC_SECRET_KEY")?)
//!     .whitelist(["health"])
//!     .build()?;
//!
//! let app = Router::new()
//!     .route("/", get(|user: Identity| async move { format!("hello {}", user.user_id()) }))
//!     .route("/health", get(|| async { "ok" }))
//!     .layer(OidcLayer::new(config));
//!
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:5000").await?;
//! axum::serve(listener, app).await?;
//! # Ok(()) }
//! ```
//!
//! With the `actix` feature, `actix::OidcMiddleware` does the same for actix-web 4.
//!
//! Configuration can also come from the environment, with flaskoidc's variable names
//! accepted as aliases: see [`Config::from_env`].
//!
//! For operations: [`health`] (and `actix::health`) answers `200` or `503` with the
//! provider's and the session store's state; the `metrics` feature records counters and
//! histograms through the [`metrics`](https://docs.rs/metrics) facade. For development
//! machines only, [`ConfigBuilder::danger_development_user`] (`OIDC_DISABLE_AUTH`) signs
//! every request in as one user without a provider, and refuses to start where it could
//! reach production.
//!
//! ## What a request gets
//!
//! Runnable with the `testing` feature, against the in-process mock provider: an API client
//! without a session gets `401` JSON, a browser is sent to the provider, a whitelisted path
//! passes, and a verified bearer token reaches the handler.
//!
//! ```
//! # #[cfg(feature = "testing")]
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use axum::{body::Body, routing::get, Router};
//! use http::{Request, StatusCode};
//! use tower::ServiceExt;
//! use tower_oidc::{testing::MockProvider, Config, Identity, OidcLayer};
//!
//! let provider = MockProvider::start().await?;
//! let config = Config::builder()
//!     .issuer(provider.issuer())
//!     .client_id(provider.client_id())
//!     .client_secret(provider.client_secret())
//!     .generate_secret_key()
//!     .whitelist(["health"])
//!     .build()?;
//! let app = Router::new()
//!     .route("/api/data", get(|user: Identity| async move { format!("data for {}", user.user_id()) }))
//!     .route("/health", get(|| async { "ok" }))
//!     .layer(OidcLayer::new(config));
//! let get = |path: &str, accept: &str| {
//!     Request::get(path).header("host", "app.test").header("accept", accept).body(Body::empty())
//! };
//!
//! let api = app.clone().oneshot(get("/api/data", "application/json")?).await?;
//! assert_eq!(api.status(), StatusCode::UNAUTHORIZED);
//! let browser = app.clone().oneshot(get("/api/data", "text/html")?).await?;
//! assert_eq!(browser.status(), StatusCode::FOUND);
//! assert!(browser.headers()["location"].to_str()?.starts_with(&provider.issuer()));
//! let health = app.clone().oneshot(get("/health", "text/html")?).await?;
//! assert_eq!(health.status(), StatusCode::OK);
//!
//! let token = provider.mint_access_token("service-a", serde_json::json!({}));
//! let mut request = get("/api/data", "application/json")?;
//! request.headers_mut().insert("authorization", format!("Bearer {token}").parse()?);
//! assert_eq!(app.oneshot(request).await?.status(), StatusCode::OK);
//! # Ok(())
//! # }
//! # #[cfg(not(feature = "testing"))]
//! # fn main() {}
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![deny(missing_debug_implementations)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod authz;
mod bearer;
mod config;
mod context;
mod dpop;
mod engine;
#[cfg(feature = "axum")]
mod extract;
mod flow;
mod health;
mod identity;
mod issuer;
mod middleware;
mod outcome;
mod page;
mod paths;
mod provider;
mod redirect;
mod rejection;
mod request;
mod response;
mod secret;
mod session;
mod telemetry;
#[cfg(test)]
mod test_support;
mod token;
mod user;
mod user_id;

#[cfg(feature = "actix")]
#[cfg_attr(docsrs, doc(cfg(feature = "actix")))]
pub mod actix;
#[cfg(fuzzing)]
#[doc(hidden)]
pub mod fuzzing;
#[cfg(feature = "testing")]
#[cfg_attr(docsrs, doc(cfg(feature = "testing")))]
pub mod testing;

pub use authz::{AccessDeniedPage, ClaimExpectation, Denied, Require};
pub use config::{
    AssertionAudience, ClientAuth, Config, ConfigBuilder, ConfigError, DpopMode, IdTokenSigningAlg,
    ProviderConfig, ProviderEndpoints, ResponseMode, TenantIssuer, UnknownDpopMode,
    UnknownSigningAlg,
};
pub use health::{health, HealthService};
pub use identity::Identity;
pub use middleware::{OidcLayer, ProviderNotReady, RequireLayer};
pub use rejection::IdentityRejection;
pub use user::{User, UserDetails};

pub mod service;
pub mod store;
