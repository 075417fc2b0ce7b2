//! Signing a [`TestClient`] in: the app's login route, the mock provider's authorization
//! endpoint, then the app's callback.

use bytes::Bytes;
use http::header::{ACCEPT, HOST, LOCATION};
use http::{Request, StatusCode};
use url::{Position, Url};

use super::client::{authority, invalid};
use super::state::USER_TICKET_PARAM;
use super::{MockProvider, MockUser, SignInStep, TestClient, TestClientError, TestResponse};

/// How much of an unexpected answer's body a sign-in error quotes.
const EXCERPT_CHARS: usize = 300;

impl TestClient {
    /// Signs in as the user `provider` approves now (see
    /// [`MockProvider::set_user`]), like [`sign_in_as`](Self::sign_in_as).
    ///
    /// # Errors
    ///
    /// As [`sign_in_as`](Self::sign_in_as).
    pub async fn sign_in(&self, provider: &MockProvider) -> Result<TestResponse, TestClientError> {
        self.drive_login(provider, None).await
    }

    /// Signs in as `user` through the app's login route, the provider and the app's
    /// callback, and keeps the session cookies for the requests that follow. Returns the
    /// callback's answer: the redirect to where the login lands.
    ///
    /// Only this login approves `user`: the provider's current user stays as it was, so
    /// clients signed in as different users can share one provider.
    ///
    /// Fails with [`TestClientError::SignIn`] when a step does not redirect onwards, for
    /// example when the provider was told to misbehave or the user-detail hook refuses
    /// the user; no session is kept then.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use axum::{routing::get, Router};
    /// use serde_json::json;
    /// use tower_oidc::testing::{MockProvider, MockUser, TestClient};
    /// use tower_oidc::{Config, Identity, OidcLayer};
    ///
    /// let provider = MockProvider::start().await?;
    /// let config = Config::builder()
    ///     .issuer(provider.issuer())
    ///     .client_id(provider.client_id())
    ///     .client_secret(provider.client_secret())
    ///     .generate_secret_key()
    ///     .build()?;
    /// let app = Router::new()
    ///     .route("/groups", get(|user: Identity| async move {
    ///         user.claim("groups").map_or(String::new(), |groups| groups.to_string())
    ///     }))
    ///     .layer(OidcLayer::new(config));
    ///
    /// let admin = TestClient::new(app);
    /// let landing = admin
    ///     .sign_in_as(&provider, MockUser::new("root").claim("groups", json!(["admins"])))
    ///     .await?;
    /// assert_eq!(landing.location(), Some("/"));
    /// assert_eq!(admin.get("/groups").await?.text(), r#"["admins"]"#);
    /// assert_eq!(provider.user().sub, "alice", "the provider's current user is unchanged");
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`TestClientError::SignIn`] naming the step (login route, provider, callback) whose
    /// answer did not lead on, with its status: a refused sign-in (the user-detail hook, a
    /// requirement, an unverified email) stops at the callback. Transport errors as
    /// [`TestClient::send`].
    pub async fn sign_in_as(
        &self,
        provider: &MockProvider,
        user: MockUser,
    ) -> Result<TestResponse, TestClientError> {
        let ticket = provider.choose_user(user);
        self.drive_login(provider, Some(ticket)).await
    }

    async fn drive_login(
        &self,
        provider: &MockProvider,
        ticket: Option<String>,
    ) -> Result<TestResponse, TestClientError> {
        let login = self.navigate(&self.host, &self.login_path).await?;
        let mut authorize = redirect_target(&login, SignInStep::Login)?;
        let at_provider = authorize
            .as_str()
            .strip_prefix(provider.issuer().as_str())
            .is_some_and(|rest| rest.starts_with('/'));
        if !at_provider {
            return Err(TestClientError::SignIn {
                step: SignInStep::Login,
                status: login.status(),
                message: format!(
                    "the login route redirected to {authorize} instead of the mock provider \
                     at {}: is the app configured for this provider?",
                    provider.issuer()
                ),
            });
        }
        if let Some(ticket) = ticket {
            authorize
                .query_pairs_mut()
                .append_pair(USER_TICKET_PARAM, &ticket);
        }

        let approved = self
            .http
            .get(authorize)
            .header(ACCEPT, "text/html")
            .send()
            .await
            .map_err(|err| TestClientError::Network(err.without_url().to_string()))?;
        let status = approved.status();
        let location = approved
            .headers()
            .get(LOCATION)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned);
        let Some(callback) = location.filter(|_| status.is_redirection()) else {
            let body = approved.text().await.unwrap_or_default();
            return Err(stopped(SignInStep::Authorize, status, "no redirect", &body));
        };
        let callback = Url::parse(&callback).map_err(|_| {
            stopped(
                SignInStep::Authorize,
                status,
                "a redirect to an invalid URL",
                &callback,
            )
        })?;
        let host = authority(&callback).unwrap_or_else(|| self.host.clone());
        let target = &callback[Position::BeforePath..Position::AfterQuery];

        let landing = self.navigate(&host, target).await?;
        if !landing.status().is_redirection() {
            return Err(stopped(
                SignInStep::Callback,
                landing.status(),
                "no redirect",
                &landing.text(),
            ));
        }
        Ok(landing)
    }

    /// A browser's page load: `GET` with `Accept: text/html`.
    async fn navigate(&self, host: &str, target: &str) -> Result<TestResponse, TestClientError> {
        let request = Request::get(target)
            .header(HOST, host)
            .header(ACCEPT, "text/html")
            .body(Bytes::new())
            .map_err(invalid)?;
        self.send(request).await
    }
}

/// The absolute URL a sign-in step redirected to.
fn redirect_target(response: &TestResponse, step: SignInStep) -> Result<Url, TestClientError> {
    let status = response.status();
    let location = response.location().filter(|_| status.is_redirection());
    let Some(location) = location else {
        return Err(stopped(step, status, "no redirect", &response.text()));
    };
    Url::parse(location).map_err(|_| {
        stopped(
            step,
            status,
            "a redirect that is not an absolute URL",
            location,
        )
    })
}

fn stopped(step: SignInStep, status: StatusCode, what: &str, body: &str) -> TestClientError {
    let excerpt: String = body.chars().take(EXCERPT_CHARS).collect();
    let message = if excerpt.trim().is_empty() {
        what.to_owned()
    } else {
        format!("{what}: {excerpt}")
    };
    TestClientError::SignIn {
        step,
        status,
        message,
    }
}
