//! Bearer access tokens made to measure, for testing resource servers.

use std::time::Duration;

use serde_json::{json, Map, Value};

use super::tokens::now_unix;
use super::MockProvider;

impl MockProvider {
    /// Starts an access token for the current user's `sub`, with the claims the token
    /// endpoint would give it; [`AccessTokenBuilder::mint`] signs it.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use std::time::Duration;
    /// use axum::{routing::get, Router};
    /// use tower_oidc::testing::{MockProvider, TestClient};
    /// use tower_oidc::{Config, Identity, OidcLayer};
    ///
    /// let provider = MockProvider::start().await?;
    /// let config = Config::builder()
    ///     .issuer(provider.issuer())
    ///     .client_id(provider.client_id())
    ///     .client_secret(provider.client_secret())
    ///     .generate_secret_key()
    ///     .audiences([provider.client_id(), "billing-api"])
    ///     .build()?;
    /// let app = Router::new()
    ///     .route("/whoami", get(|user: Identity| async move {
    ///         format!("{} {}", user.user_id(), user.claim("tenant").map_or(String::new(), |t| t.to_string()))
    ///     }))
    ///     .layer(OidcLayer::new(config));
    /// let client = TestClient::new(app);
    ///
    /// let token = provider
    ///     .access_token()
    ///     .subject("svc-reports")
    ///     .audience("billing-api")
    ///     .scope("reports:read")
    ///     .claim("tenant", "acme")
    ///     .expires_in(Duration::from_secs(60))
    ///     .mint();
    /// let answer = client.get("/whoami").bearer(&token).await?;
    /// assert_eq!(answer.text(), r#"svc-reports "acme""#);
    ///
    /// let expired = provider.access_token().expired().mint();
    /// assert_eq!(client.get("/whoami").bearer(&expired).await?.status(), 401);
    /// let elsewhere = provider.access_token().audience("another-api").mint();
    /// assert_eq!(client.get("/whoami").bearer(&elsewhere).await?.status(), 401);
    /// # Ok(())
    /// # }
    /// ```
    pub fn access_token(&self) -> AccessTokenBuilder<'_> {
        AccessTokenBuilder {
            provider: self,
            subject: None,
            claims: Map::new(),
        }
    }
}

/// An access token to mint, from [`MockProvider::access_token`].
///
/// It starts with the claims of the token endpoint's access tokens: `iss` (the provider),
/// `sub`, `aud` and `client_id` (the provider's client), `exp` (after the access-token
/// TTL, see [`MockProvider::set_access_token_ttl`]), `iat` (now), a random `jti`, and
/// `scope` `openid profile email`. Each method replaces one of them or adds a claim; the
/// last word on a claim wins. The token is signed like the token endpoint's (with any
/// signature [`Misbehavior`](super::Misbehavior) set) and userinfo knows it.
#[derive(Debug)]
#[must_use = "a token is made only by `mint`"]
pub struct AccessTokenBuilder<'a> {
    provider: &'a MockProvider,
    subject: Option<String>,
    /// Overrides of the default claims; `null` removes one.
    claims: Map<String, Value>,
}

impl AccessTokenBuilder<'_> {
    /// The `sub` claim (default: the provider's current user's).
    pub fn subject(mut self, sub: impl Into<String>) -> Self {
        self.subject = Some(sub.into());
        self
    }

    /// Sets the claim `name`; `Value::Null` removes it, even one of the defaults.
    pub fn claim(mut self, name: impl Into<String>, value: impl Into<Value>) -> Self {
        self.claims.insert(name.into(), value.into());
        self
    }

    /// Leaves out the claim `name`, for tokens missing `exp`, `aud` or any other.
    pub fn without_claim(self, name: impl Into<String>) -> Self {
        self.claim(name, Value::Null)
    }

    /// One audience, as a string `aud` (default: the provider's client id).
    pub fn audience(self, audience: impl Into<String>) -> Self {
        self.claim("aud", audience.into())
    }

    /// Several audiences, as an array `aud`.
    pub fn audiences<I, S>(self, audiences: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let audiences: Vec<Value> = audiences
            .into_iter()
            .map(|aud| Value::String(aud.into()))
            .collect();
        self.claim("aud", audiences)
    }

    /// The `scope` claim, space-separated scopes (default `openid profile email`).
    pub fn scope(self, scope: impl Into<String>) -> Self {
        self.claim("scope", scope.into())
    }

    /// Expires `lifetime` from now (`iat` stays now).
    pub fn expires_in(self, lifetime: Duration) -> Self {
        let now = now_unix();
        self.claim("exp", json!(now.saturating_add(lifetime.as_secs())))
            .claim("iat", json!(now))
    }

    /// Expired ten minutes ago (issued a quarter of an hour ago), beyond any usual leeway.
    pub fn expired(self) -> Self {
        let now = now_unix();
        self.claim("exp", json!(now.saturating_sub(600)))
            .claim("iat", json!(now.saturating_sub(900)))
    }

    /// Signs the token.
    pub fn mint(self) -> String {
        let subject = match self.subject {
            Some(subject) => subject,
            None => self.provider.user().sub,
        };
        self.provider
            .mint_access_token(&subject, Value::Object(self.claims))
    }
}
