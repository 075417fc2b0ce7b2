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
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod authz;
mod bearer;
mod config;
mod engine;
#[cfg(feature = "axum")]
mod extract;
mod flow;
mod identity;
mod middleware;
mod paths;
mod provider;
mod redirect;
#[cfg(any(feature = "axum", feature = "actix"))]
mod rejection;
mod request;
mod response;
mod secret;
mod session;
mod token;
mod user;

#[cfg(feature = "actix")]
pub mod actix;
#[cfg(fuzzing)]
#[doc(hidden)]
pub mod fuzzing;
#[cfg(feature = "testing")]
pub mod testing;

pub use authz::{AccessDeniedPage, Require, RequireLayer, RequireService};
pub use config::{ClientAuth, Config, ConfigBuilder, ConfigError, ProviderEndpoints};
pub use identity::Identity;
pub use middleware::{OidcBody, OidcLayer, OidcService, ResponseFuture};
#[cfg(any(feature = "axum", feature = "actix"))]
pub use rejection::IdentityRejection;
pub use secret::Secret;
pub use session::memory::MemoryStore;
#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub use session::redis_store::RedisStore;
#[cfg(feature = "sql")]
#[cfg_attr(docsrs, doc(cfg(feature = "sql")))]
pub use session::sql_store::SqlStore;
pub use session::store::{SessionStore, StoreError};
pub use session::SessionData;
pub use user::{User, UserDetails};

pub use middleware::ProviderNotReady;
