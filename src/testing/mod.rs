//! An in-process mock OpenID Provider and a signed-in test client, for testing apps
//! that use this crate the way the crate tests itself.
//!
//! [`MockProvider::start`] serves discovery, JWKS, authorize, token, userinfo,
//! introspection, revocation and end-session endpoints on a loopback port. It knows one
//! confidential client, approves every authorization request for the
//! current [`MockUser`] without a login page, requires PKCE (S256), rotates
//! refresh tokens, and can be switched to commit any [`Misbehavior`] an RP
//! has to detect, be unavailable, or be slow.
//!
//! The signing keys are committed test keys: never trust them anywhere else.
//!
//! # Testing an app
//!
//! 1. Start a [`MockProvider`] and configure the app for it: its
//!    [`issuer`](MockProvider::issuer), [`client_id`](MockProvider::client_id) and
//!    [`client_secret`](MockProvider::client_secret).
//! 2. Wrap the app as in production: an axum `Router` in [`OidcLayer`](crate::OidcLayer),
//!    an actix-web `App` in `actix::OidcMiddleware` (feature `actix`).
//! 3. Make a [`TestClient`] for it and [`sign_in_as`](TestClient::sign_in_as) any
//!    [`MockUser`], with the claims the test needs. The client drives the real login flow
//!    (login route, provider, callback) and then sends every request with that session;
//!    a client that does not sign in is anonymous.
//! 4. For API calls, mint bearer tokens with [`MockProvider::access_token`] and send them
//!    with [`ClientRequest::bearer`].
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use axum::{routing::get, Json, Router};
//! use serde_json::{json, Value};
//! use tower_oidc::testing::{MockProvider, MockUser, TestClient};
//! use tower_oidc::{Config, Identity, OidcLayer};
//!
//! async fn me(user: Identity) -> Json<Value> {
//!     Json(json!({ "id": user.user_id(), "team": user.claim("team") }))
//! }
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
//!     .route("/me", get(me))
//!     .route("/health", get(|| async { "ok" }))
//!     .layer(OidcLayer::new(config));
//!
//! // Signed in, as a user chosen for this client.
//! let bob = TestClient::new(app.clone());
//! bob.sign_in_as(&provider, MockUser::new("bob").claim("team", "blue")).await?;
//! let answer = bob.get("/me").await?;
//! assert_eq!(answer.status(), 200);
//! assert_eq!(answer.json::<Value>()?, json!({ "id": "bob", "team": "blue" }));
//!
//! // Not signed in: API calls get 401, browsers go to the provider, open paths pass.
//! let anonymous = TestClient::new(app.clone());
//! assert_eq!(anonymous.get("/me").await?.status(), 401);
//! let page = anonymous.get("/me").header("accept", "text/html").await?;
//! assert!(page.location().is_some_and(|to| to.starts_with(&provider.issuer())));
//! assert_eq!(anonymous.get("/health").await?.text(), "ok");
//!
//! // A service calling with a bearer token.
//! let token = provider.access_token().subject("svc-batch").mint();
//! let answer = anonymous.get("/me").bearer(&token).await?;
//! assert_eq!(answer.json::<Value>()?["id"], "svc-batch");
//! # Ok(())
//! # }
//! ```
//!
//! The provider can also be used directly, to test a resource server or a client:
//!
//! ```
//! use tower_oidc::testing::{MockAlg, MockProvider, MockUser};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> std::io::Result<()> {
//! let provider = MockProvider::start().await?;
//! provider.set_user(MockUser::new("bob"));
//! provider.set_signing_alg(MockAlg::Es256);
//!
//! // Point the RP at `provider.issuer()` with `provider.client_id()` and
//! // `provider.client_secret()`, or test a resource server directly:
//! let token = provider.mint_access_token("bob", serde_json::json!({ "scope": "read" }));
//! assert_eq!(token.split('.').count(), 3);
//! # Ok(())
//! # }
//! ```
//!
//! [`store_suite`] checks a session store of your own against what the layer relies on.

// The mock's key material is embedded and known to parse; failing loudly is right here.
#![allow(clippy::expect_used)]

mod access_token;
mod backchannel;
mod claims;
mod client;
mod client_error;
mod client_request;
mod cookie_jar;
mod counted_store;
mod dpop;
mod dpop_key;
mod keys;
mod knobs;
mod params;
mod provider;
mod routes;
mod sign_in;
mod state;
mod test_response;
mod token_endpoint;
mod tokens;
mod transport;
mod user;

pub mod store_suite;

#[cfg(test)]
mod client_tests;
#[cfg(test)]
mod tests;

pub use access_token::AccessTokenBuilder;
pub use client::TestClient;
pub use client_error::{SignInStep, TestClientError};
pub use client_request::ClientRequest;
pub use counted_store::{CountedStore, LoadCount};
pub use dpop_key::DpopKey;
pub use knobs::{ClaimsPlace, LogoutTokenDefect, Misbehavior, MockAlg, MockClientAuth};
pub use provider::{EndSessionRequest, MockProvider, MockStats, Revocation};
pub use test_response::TestResponse;
pub use user::MockUser;
