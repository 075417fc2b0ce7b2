//! A client that signs in through the mock provider and then sends requests to the app
//! with that session.

use std::cell::RefCell;
use std::fmt;
use std::time::Duration;

use axum::body::Body;
use bytes::Bytes;
use http::header::{COOKIE, HOST};
use http::{HeaderValue, Method, Request, Response};
use tower_service::Service;
use url::{Position, Url};

use super::cookie_jar::CookieJar;
use super::transport::{self, Transport};
use super::{ClientRequest, TestClientError, TestResponse};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// How long one exchange with the mock provider or a served app may take.
const HTTP_TIMEOUT: Duration = Duration::from_secs(30);

/// Sends requests to one app and keeps the cookies it sets, so that after
/// [`sign_in_as`](Self::sign_in_as) every request carries that user's session.
///
/// Signing in drives the real login flow: `GET /login` on the app, the authorization
/// endpoint of the [`MockProvider`](super::MockProvider), which approves the chosen user
/// without a page, then the app's callback, whose session cookies the client keeps. The layer, the app's handlers and
/// its user-detail hook all run as in production.
///
/// The app is reached in-process, through a tower service such as an axum `Router` wrapped
/// in [`OidcLayer`](crate::OidcLayer) ([`new`](Self::new)) or an actix-web service
/// (`TestClient::actix`, feature `actix`), or over HTTP when it is served on a port
/// ([`served_at`](Self::served_at)).
///
/// Requests carry a `Host` header (`localhost` unless [`host`](Self::host) says otherwise)
/// and no `Accept` header, so the layer takes them for API calls: without a session they
/// get `401`. Send `Accept: text/html` to be taken for a browser, which is redirected to
/// log in. Every cookie the app set goes with every request, `Secure` ones included, so the
/// app can keep its production cookie settings.
///
/// The client belongs to the test's own task: it is neither `Send` nor `Sync`.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use axum::{routing::get, Router};
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
///     .route("/me", get(|user: Identity| async move { user.user_id().to_owned() }))
///     .layer(OidcLayer::new(config));
///
/// let bob = TestClient::new(app.clone());
/// bob.sign_in_as(&provider, MockUser::new("bob")).await?;
/// let me = bob.get("/me").await?;
/// assert_eq!((me.status(), me.text().as_str()), (http::StatusCode::OK, "bob"));
///
/// let anonymous = TestClient::new(app);
/// assert_eq!(anonymous.get("/me").await?.status(), 401);
/// # Ok(())
/// # }
/// ```
pub struct TestClient {
    transport: Transport,
    pub(super) host: String,
    pub(super) login_path: String,
    jar: RefCell<CookieJar>,
    /// Reaches the mock provider's authorization endpoint.
    pub(super) http: reqwest::Client,
}

impl TestClient {
    /// A client for a tower service taking `Request<axum::body::Body>`: an axum `Router`
    /// (or any service) wrapped in [`OidcLayer`](crate::OidcLayer). Each request goes to a
    /// clone of `service`.
    pub fn new<S, B>(service: S) -> Self
    where
        S: Service<Request<Body>, Response = Response<B>> + Clone + 'static,
        S::Error: Into<BoxError>,
        S::Future: 'static,
        B: http_body::Body + 'static,
        B::Error: Into<BoxError>,
    {
        Self::with_transport(transport::tower(service), "localhost".to_owned())
    }

    /// A client for an actix-web service from `actix_web::test::init_service`, whose `App`
    /// is wrapped in [`OidcMiddleware`](crate::actix::OidcMiddleware). A service error is
    /// answered with its error response, as actix-web's server would.
    ///
    /// ```
    /// # #[actix_web::main]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use actix_web::{test, web, App};
    /// use tower_oidc::actix::OidcMiddleware;
    /// use tower_oidc::testing::{MockProvider, MockUser, TestClient};
    /// use tower_oidc::{Config, Identity};
    ///
    /// let provider = MockProvider::start().await?;
    /// let oidc = OidcMiddleware::new(
    ///     Config::builder()
    ///         .issuer(provider.issuer())
    ///         .client_id(provider.client_id())
    ///         .client_secret(provider.client_secret())
    ///         .generate_secret_key()
    ///         .build()?,
    /// );
    /// let app = test::init_service(App::new().wrap(oidc.clone()).route(
    ///     "/me",
    ///     web::get().to(|user: Identity| async move { user.user_id().to_owned() }),
    /// ))
    /// .await;
    ///
    /// let client = TestClient::actix(app);
    /// client.sign_in_as(&provider, MockUser::new("carol")).await?;
    /// assert_eq!(client.get("/me").await?.text(), "carol");
    /// # Ok(())
    /// # }
    /// ```
    #[cfg(feature = "actix")]
    #[cfg_attr(docsrs, doc(cfg(feature = "actix")))]
    pub fn actix<S, B>(service: S) -> Self
    where
        S: actix_web::dev::Service<
                actix_http::Request,
                Response = actix_web::dev::ServiceResponse<B>,
                Error = actix_web::Error,
            > + 'static,
        S::Future: 'static,
        B: actix_web::body::MessageBody + 'static,
    {
        Self::with_transport(transport::actix(service), "localhost".to_owned())
    }

    /// A client for an app served at `base_url` (such as `http://127.0.0.1:8080`), for apps
    /// that need a real connection or run on another framework. Request paths are resolved
    /// against `base_url`, and the `Host` header defaults to its host and port.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use axum::{routing::get, Router};
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
    ///     .route("/me", get(|user: Identity| async move { user.user_id().to_owned() }))
    ///     .layer(OidcLayer::new(config));
    /// let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    /// let url = format!("http://{}", listener.local_addr()?);
    /// tokio::spawn(async move { axum::serve(listener, app).await });
    ///
    /// let client = TestClient::served_at(&url)?;
    /// client.sign_in_as(&provider, MockUser::new("dave")).await?;
    /// assert_eq!(client.get("/me").await?.text(), "dave");
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`TestClientError::InvalidRequest`] when `base_url` is not an absolute http(s) URL.
    pub fn served_at(base_url: &str) -> Result<Self, TestClientError> {
        let base = Url::parse(base_url)
            .map_err(|err| TestClientError::InvalidRequest(format!("{base_url}: {err}")))?;
        let host = authority(&base).ok_or_else(|| {
            TestClientError::InvalidRequest(format!("{base_url} is not an http(s) URL"))
        })?;
        let http = crate::provider::http::build_client(HTTP_TIMEOUT);
        Ok(Self::with_transport(transport::served(base, http), host))
    }

    fn with_transport(transport: Transport, host: String) -> Self {
        TestClient {
            transport,
            host,
            login_path: "/login".to_owned(),
            jar: RefCell::new(CookieJar::default()),
            http: crate::provider::http::build_client(HTTP_TIMEOUT),
        }
    }

    /// The `Host` header of requests that set none (default `localhost`, or the served
    /// app's host and port). The layer builds a relative redirect URI from it.
    #[must_use]
    pub fn host(mut self, host: impl Into<String>) -> Self {
        self.host = host.into();
        self
    }

    /// Where sign-in starts: the app's login route, base path included, as configured with
    /// `login_path` on [`Config::builder`](crate::Config::builder) (default `/login`).
    /// A protected page works too, and the login then lands there.
    #[must_use]
    pub fn login_path(mut self, path: impl Into<String>) -> Self {
        self.login_path = path.into();
        self
    }

    /// A `GET` request to `path` (with an optional query), sent when awaited.
    pub fn get(&self, path: &str) -> ClientRequest<'_> {
        self.request(Method::GET, path)
    }

    /// A `POST` request to `path`, sent when awaited.
    pub fn post(&self, path: &str) -> ClientRequest<'_> {
        self.request(Method::POST, path)
    }

    /// A `PUT` request to `path`, sent when awaited.
    pub fn put(&self, path: &str) -> ClientRequest<'_> {
        self.request(Method::PUT, path)
    }

    /// A `PATCH` request to `path`, sent when awaited.
    pub fn patch(&self, path: &str) -> ClientRequest<'_> {
        self.request(Method::PATCH, path)
    }

    /// A `DELETE` request to `path`, sent when awaited.
    pub fn delete(&self, path: &str) -> ClientRequest<'_> {
        self.request(Method::DELETE, path)
    }

    /// A request with any method to `path`, sent when awaited.
    pub fn request(&self, method: Method, path: &str) -> ClientRequest<'_> {
        ClientRequest::new(self, Request::builder().method(method).uri(path))
    }

    /// Sends `request` to the app with the client's cookies (after any `Cookie` header of
    /// its own) and a `Host` header unless it has one, then keeps the cookies the answer
    /// sets.
    ///
    /// # Errors
    ///
    /// [`TestClientError::InvalidRequest`] when the request cannot be built,
    /// [`TestClientError::App`] when the service fails instead of answering, and
    /// [`TestClientError::Network`] when a served app cannot be reached; any answer of the
    /// app, whatever its status, is `Ok`.
    pub async fn send<B: Into<Bytes>>(
        &self,
        request: Request<B>,
    ) -> Result<TestResponse, TestClientError> {
        let mut request = request.map(Into::into);
        let headers = request.headers_mut();
        if !headers.contains_key(HOST) {
            headers.insert(HOST, header_value(&self.host)?);
        }
        if let Some(cookies) = self.cookie_header() {
            let mut values: Vec<&str> = headers
                .get_all(COOKIE)
                .iter()
                .filter_map(|value| value.to_str().ok())
                .collect();
            values.push(&cookies);
            let merged = header_value(&values.join("; "))?;
            headers.insert(COOKIE, merged);
        }
        let response = (self.transport)(request).await?;
        self.jar.borrow_mut().update(response.headers());
        Ok(TestResponse::from(response))
    }

    /// The `Cookie` header value the client sends, session included; `None` before the
    /// app set any cookie. Put it on requests made some other way to send them as the
    /// signed-in user.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use axum::{body::Body, routing::get, Router};
    /// use tower::ServiceExt;
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
    ///     .route("/me", get(|user: Identity| async move { user.user_id().to_owned() }))
    ///     .layer(OidcLayer::new(config));
    ///
    /// let client = TestClient::new(app.clone());
    /// assert_eq!(client.cookie_header(), None);
    /// client.sign_in_as(&provider, MockUser::new("erin")).await?;
    /// let cookie = client.cookie_header().expect("signed in");
    ///
    /// let request = http::Request::get("/me").header("cookie", cookie).body(Body::empty())?;
    /// assert_eq!(app.oneshot(request).await?.status(), 200);
    /// # Ok(())
    /// # }
    /// ```
    pub fn cookie_header(&self) -> Option<String> {
        self.jar.borrow().header()
    }

    /// Forgets every cookie, and with them the session.
    pub fn clear_cookies(&self) {
        self.jar.borrow_mut().clear();
    }
}

impl fmt::Debug for TestClient {
    /// The cookie names only: their values are the session.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TestClient")
            .field("host", &self.host)
            .field("login_path", &self.login_path)
            .field("cookies", &self.jar.borrow().names())
            .finish_non_exhaustive()
    }
}

pub(super) fn invalid(err: http::Error) -> TestClientError {
    TestClientError::InvalidRequest(err.to_string())
}

fn header_value(value: &str) -> Result<HeaderValue, TestClientError> {
    HeaderValue::from_str(value)
        .map_err(|_| TestClientError::InvalidRequest(format!("not a header value: {value:?}")))
}

/// `host[:port]` of an http(s) URL.
pub(super) fn authority(url: &Url) -> Option<String> {
    let http = matches!(url.scheme(), "http" | "https") && url.host().is_some();
    http.then(|| url[Position::BeforeHost..Position::AfterPort].to_owned())
}
