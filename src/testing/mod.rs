//! An in-process mock OpenID Provider for tests and the quickstart.
//!
//! [`MockProvider::start`] serves discovery, JWKS, authorize, token,
//! userinfo and end-session endpoints on a loopback port. It knows one
//! confidential client, approves every authorization request for the
//! current [`MockUser`] without a login page, requires PKCE (S256), rotates
//! refresh tokens, and can be switched to commit any [`Misbehavior`] an RP
//! has to detect, be unavailable, or be slow.
//!
//! The signing keys are committed test keys: never trust them anywhere else.
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

// The mock's key material is embedded and known to parse; failing loudly is right here.
#![allow(clippy::expect_used)]

mod backchannel;
mod claims;
mod keys;
mod knobs;
mod params;
mod provider;
mod routes;
mod state;
mod token_endpoint;
mod tokens;
mod user;

#[cfg(test)]
mod tests;

pub use knobs::{ClaimsPlace, LogoutTokenDefect, Misbehavior, MockAlg, MockClientAuth};
pub use provider::{EndSessionRequest, MockProvider, MockStats};
pub use user::MockUser;
