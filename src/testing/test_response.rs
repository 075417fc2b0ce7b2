//! What a [`TestClient`](super::TestClient) request got back.

use std::fmt;

use bytes::Bytes;
use http::header::LOCATION;
use http::{HeaderMap, Response, StatusCode};
use serde::de::DeserializeOwned;

/// A response read to the end: status, headers and the whole body.
///
/// ```
/// use tower_oidc::testing::TestResponse;
///
/// let response = TestResponse::from(
///     http::Response::builder()
///         .status(200)
///         .header("content-type", "application/json")
///         .body(bytes::Bytes::from_static(br#"{"user_id":"bob"}"#))?,
/// );
/// assert_eq!(response.status(), 200);
/// assert_eq!(response.header("content-type"), Some("application/json"));
/// assert_eq!(response.json::<serde_json::Value>()?["user_id"], "bob");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct TestResponse {
    inner: Response<Bytes>,
}

impl TestResponse {
    /// The status code.
    pub fn status(&self) -> StatusCode {
        self.inner.status()
    }

    /// Every header.
    pub fn headers(&self) -> &HeaderMap {
        self.inner.headers()
    }

    /// The first value of the header `name`, if it is present and visible ASCII.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.inner.headers().get(name)?.to_str().ok()
    }

    /// The `Location` header of a redirect.
    pub fn location(&self) -> Option<&str> {
        self.header(LOCATION.as_str())
    }

    /// The body as received.
    pub fn body(&self) -> &Bytes {
        self.inner.body()
    }

    /// The body as text, with invalid UTF-8 replaced by `�`.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(self.inner.body()).into_owned()
    }

    /// The body parsed as JSON.
    ///
    /// # Errors
    ///
    /// The parser's error when the body is not JSON of type `T`.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_slice(self.inner.body())
    }

    /// The underlying `http` response.
    pub fn into_inner(self) -> Response<Bytes> {
        self.inner
    }
}

impl From<Response<Bytes>> for TestResponse {
    fn from(inner: Response<Bytes>) -> Self {
        TestResponse { inner }
    }
}

impl fmt::Debug for TestResponse {
    /// Status, header names and body size: values may carry session cookies and tokens.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self
            .inner
            .headers()
            .keys()
            .map(|name| name.as_str())
            .collect();
        f.debug_struct("TestResponse")
            .field("status", &self.inner.status())
            .field("headers", &names)
            .field("body_bytes", &self.inner.body().len())
            .finish()
    }
}
