//! A request a [`TestClient`] puts together and sends when awaited.

use std::fmt;
use std::future::{Future, IntoFuture};
use std::pin::Pin;

use bytes::Bytes;
use http::header::{AUTHORIZATION, CONTENT_TYPE};
use http::{HeaderName, HeaderValue};
use serde::Serialize;

use super::client::invalid;
use super::{TestClient, TestClientError, TestResponse};

/// A request being put together by a [`TestClient`]; awaiting it sends it.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use axum::{routing::post, Json, Router};
/// use serde_json::{json, Value};
/// use tower_oidc::testing::{MockProvider, TestClient};
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
///     .route("/echo", post(|user: Identity, Json(body): Json<Value>| async move {
///         Json(json!({ "from": user.user_id(), "got": body }))
///     }))
///     .layer(OidcLayer::new(config));
///
/// let token = provider.access_token().subject("svc").mint();
/// let answer = TestClient::new(app)
///     .post("/echo")
///     .bearer(&token)
///     .json(&json!({ "n": 1 }))
///     .await?;
/// assert_eq!(answer.json::<Value>()?, json!({ "from": "svc", "got": { "n": 1 } }));
/// # Ok(())
/// # }
/// ```
#[must_use = "a request is sent only when awaited"]
pub struct ClientRequest<'a> {
    client: &'a TestClient,
    builder: http::request::Builder,
    body: Bytes,
    error: Option<TestClientError>,
}

impl<'a> ClientRequest<'a> {
    pub(super) fn new(client: &'a TestClient, builder: http::request::Builder) -> Self {
        ClientRequest {
            client,
            builder,
            body: Bytes::new(),
            error: None,
        }
    }
}

impl<'a> ClientRequest<'a> {
    /// Adds a header (a second value for a name adds to the first).
    pub fn header<K, V>(mut self, name: K, value: V) -> Self
    where
        HeaderName: TryFrom<K>,
        <HeaderName as TryFrom<K>>::Error: Into<http::Error>,
        HeaderValue: TryFrom<V>,
        <HeaderValue as TryFrom<V>>::Error: Into<http::Error>,
    {
        self.builder = self.builder.header(name, value);
        self
    }

    /// Adds `Authorization: Bearer {token}`.
    pub fn bearer(self, token: &str) -> Self {
        self.header(AUTHORIZATION, format!("Bearer {token}"))
    }

    /// Sets the body.
    pub fn body(mut self, body: impl Into<Bytes>) -> Self {
        self.body = body.into();
        self
    }

    /// Sets the body to `value` as JSON, with `Content-Type: application/json`.
    pub fn json<T: Serialize + ?Sized>(mut self, value: &T) -> Self {
        match serde_json::to_vec(value) {
            Ok(body) => self.body = Bytes::from(body),
            Err(err) => self.error = Some(TestClientError::InvalidRequest(err.to_string())),
        }
        self.header(CONTENT_TYPE, "application/json")
    }

    /// Sends the request, like awaiting it.
    ///
    /// # Errors
    ///
    /// As [`TestClient::send`], and [`TestClientError::InvalidRequest`] for a header or body
    /// given to this request that could not be used.
    pub async fn send(self) -> Result<TestResponse, TestClientError> {
        if let Some(err) = self.error {
            return Err(err);
        }
        let request = self.builder.body(self.body).map_err(invalid)?;
        self.client.send(request).await
    }
}

impl<'a> IntoFuture for ClientRequest<'a> {
    type Output = Result<TestResponse, TestClientError>;
    type IntoFuture = Pin<Box<dyn Future<Output = Self::Output> + 'a>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.send())
    }
}

impl fmt::Debug for ClientRequest<'_> {
    /// Method and target only: headers may carry tokens.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientRequest")
            .field("method", &self.builder.method_ref())
            .field("uri", &self.builder.uri_ref())
            .finish_non_exhaustive()
    }
}
