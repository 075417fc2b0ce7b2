//! A test app wrapped in the layer (axum) or the middleware (actix-web), and a browser with a
//! cookie jar that follows redirects one hop at a time.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::routing::get;
use axum::{Json, Router};
use reqwest::cookie::{CookieStore, Jar};
use reqwest::{Response, StatusCode};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tower_oidc::actix::OidcMiddleware;
use tower_oidc::testing::{MockProvider, TestClient, TestClientError};
use tower_oidc::{Config, ConfigBuilder, Identity, OidcLayer};
use url::Url;

/// The routes of the example-app contract, plus `/fail`, which answers `418`; apps the
/// harness launches also serve the layer's health report at `/health/oidc`.
pub fn routes() -> Router {
    Router::new()
        .route(
            "/",
            get(|id: Identity| async move { format!("hello {}", id.user_id()) }),
        )
        .route(
            "/me",
            get(|id: Identity| async move {
                Json(json!({ "user_id": id.user_id(), "claims": id.claims(),
                             "access_token": id.access_token() }))
            }),
        )
        .route(
            "/api/data",
            get(|id: Identity| async move {
                Json(json!({ "user_id": id.user_id(), "data": [1, 2, 3] }))
            }),
        )
        .route(
            "/health",
            get(|id: Option<Identity>| async move {
                match id {
                    Some(id) => format!("ok {}", id.user_id()),
                    None => "ok".to_owned(),
                }
            }),
        )
        .route("/static/{*path}", get(|| async { "static" }))
        .route(
            "/cached",
            get(|id: Identity| async move {
                (
                    [(axum::http::header::CACHE_CONTROL, "public, max-age=600")],
                    format!("cacheable for {}", id.user_id()),
                )
            }),
        )
        .route(
            "/fail",
            get(|| async { (axum::http::StatusCode::IM_A_TEAPOT, "teapot") }),
        )
        .route(
            "/user",
            get(
                |tower_oidc::User(user): tower_oidc::User<serde_json::Value>| async move {
                    Json((*user).clone())
                },
            ),
        )
        .route(
            "/profile",
            get(
                |tower_oidc::User(profile): tower_oidc::User<Profile>| async move {
                    Json((*profile).clone())
                },
            ),
        )
        .merge(
            Router::new()
                .route("/admin", get(|| async { "admin area" }))
                .route_layer(admins().layer()),
        )
}

/// The application's user that `/profile` extracts, typed.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Profile {
    pub user_id: String,
    pub is_active: bool,
}

/// The per-route requirement of `/admin` in both route sets.
pub fn admins() -> tower_oidc::Require {
    tower_oidc::Require::new().claim_contains("groups", "admins")
}

/// The same routes on actix-web. `/fail` is answered by an inner middleware with an
/// `Err`, the way actix middlewares fail, rather than by a handler.
mod actix_app {
    use std::future::{ready, Future};
    use std::pin::Pin;

    use actix_web::body::BoxBody;
    use actix_web::dev::{Service, ServiceRequest, ServiceResponse};
    use actix_web::{error, web, App, Error, HttpResponse};
    use serde_json::json;
    use tower_oidc::actix::OidcMiddleware;
    use tower_oidc::Identity;

    type Reply = Pin<Box<dyn Future<Output = Result<ServiceResponse<BoxBody>, Error>>>>;

    fn routes(config: &mut web::ServiceConfig) {
        config
            .route(
                "/",
                web::get().to(|id: Identity| async move { format!("hello {}", id.user_id()) }),
            )
            .route(
                "/me",
                web::get().to(|id: Identity| async move {
                    HttpResponse::Ok().json(json!({ "user_id": id.user_id(), "claims": id.claims(),
                                                    "access_token": id.access_token() }))
                }),
            )
            .route(
                "/api/data",
                web::get().to(|id: Identity| async move {
                    HttpResponse::Ok().json(json!({ "user_id": id.user_id(), "data": [1, 2, 3] }))
                }),
            )
            .route(
                "/health",
                web::get().to(|id: Option<Identity>| async move {
                    match id {
                        Some(id) => format!("ok {}", id.user_id()),
                        None => "ok".to_owned(),
                    }
                }),
            )
            .route("/static/{path:.*}", web::get().to(|| async { "static" }))
            .route(
                "/cached",
                web::get().to(|id: Identity| async move {
                    HttpResponse::Ok()
                        .insert_header(("cache-control", "public, max-age=600"))
                        .body(format!("cacheable for {}", id.user_id()))
                }),
            )
            .route(
                "/user",
                web::get().to(
                    |tower_oidc::User(user): tower_oidc::User<serde_json::Value>| async move {
                        HttpResponse::Ok().json(&*user)
                    },
                ),
            )
            .route(
                "/profile",
                web::get().to(
                    |tower_oidc::User(profile): tower_oidc::User<super::Profile>| async move {
                        HttpResponse::Ok().json(&*profile)
                    },
                ),
            )
            .service(
                web::resource("/admin")
                    .wrap(super::admins())
                    .route(web::get().to(|| async { "admin area" })),
            );
    }

    fn mounted(prefix: &str) -> impl FnOnce(&mut web::ServiceConfig) + '_ {
        move |config| {
            if prefix.is_empty() {
                routes(config);
            } else {
                config.service(web::scope(prefix).configure(routes));
            }
        }
    }

    fn fail<S>(request: ServiceRequest, service: &S) -> Reply
    where
        S: Service<ServiceRequest, Response = ServiceResponse<BoxBody>, Error = Error>,
        S::Future: 'static,
    {
        if request.path().ends_with("/fail") {
            return Box::pin(ready(Err(error::ErrorImATeapot("teapot"))));
        }
        Box::pin(service.call(request))
    }

    /// Serves on `listener` until the returned handle stops it: in a thread of its own
    /// with an actix system, two workers sharing one middleware.
    pub async fn serve(
        listener: std::net::TcpListener,
        middleware: Option<OidcMiddleware>,
        prefix: String,
    ) -> actix_web::dev::ServerHandle {
        let (handle_tx, handle_rx) = tokio::sync::oneshot::channel();
        std::thread::spawn(move || {
            actix_web::rt::System::new().block_on(async move {
                let server = match middleware {
                    Some(middleware) => actix_web::HttpServer::new(move || {
                        App::new()
                            .wrap_fn(fail)
                            .wrap(middleware.clone())
                            .route("/health/oidc", tower_oidc::actix::health(&middleware))
                            .configure(mounted(&prefix))
                    })
                    .workers(2)
                    .disable_signals()
                    .listen(listener)
                    .map(|server| server.run()),
                    None => actix_web::HttpServer::new(move || {
                        App::new().wrap_fn(fail).configure(mounted(&prefix))
                    })
                    .workers(2)
                    .disable_signals()
                    .listen(listener)
                    .map(|server| server.run()),
                }
                .expect("listen");
                let _ = handle_tx.send(server.handle());
                let _ = server.await;
            });
        });
        handle_rx.await.expect("actix server started")
    }
}

pub fn base_config(provider: &MockProvider) -> ConfigBuilder {
    Config::builder()
        .issuer(provider.issuer())
        .client_id(provider.client_id())
        .client_secret(provider.client_secret())
        .secret_key("integration-test-key-0123456789abcdef")
        .cookie_secure(false)
        .whitelist(["health", "/static/*"])
}

/// The web framework a [`TestApp`] runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framework {
    /// axum, wrapped in the tower [`OidcLayer`].
    Axum,
    /// actix-web, wrapped in [`OidcMiddleware`] sharing the layer's engine.
    Actix,
}

enum Server {
    Axum(tokio::task::JoinHandle<()>),
    Actix(actix_web::dev::ServerHandle),
}

impl Drop for Server {
    fn drop(&mut self) {
        match self {
            Self::Axum(task) => task.abort(),
            // The stop command is sent at once; the server's thread then ends by itself.
            Self::Actix(handle) => drop(handle.stop(false)),
        }
    }
}

pub struct TestApp {
    pub url: Url,
    pub layer: OidcLayer,
    _server: Server,
}

impl TestApp {
    pub async fn start(provider: &MockProvider) -> Self {
        Self::start_with(provider, |config| config).await
    }

    pub async fn start_with(
        provider: &MockProvider,
        tweak: impl FnOnce(ConfigBuilder) -> ConfigBuilder,
    ) -> Self {
        Self::start_on(Framework::Axum, provider, tweak).await
    }

    /// The test app on `framework`, configured for `provider`, adjusted by `tweak`.
    pub async fn start_on(
        framework: Framework,
        provider: &MockProvider,
        tweak: impl FnOnce(ConfigBuilder) -> ConfigBuilder,
    ) -> Self {
        let config = tweak(base_config(provider)).build().expect("test config");
        Self::serve_on(framework, config, "").await
    }

    /// The routes without the layer or middleware: a setup mistake.
    pub async fn start_without_layer(framework: Framework, provider: &MockProvider) -> Self {
        let layer = OidcLayer::new(base_config(provider).build().expect("test config"));
        Self::launch(framework, layer, false, "").await
    }

    /// The routes under `prefix` (empty: at the root) on `framework`, wrapped.
    pub async fn serve_on(framework: Framework, config: Config, prefix: &str) -> Self {
        Self::launch(framework, OidcLayer::new(config), true, prefix).await
    }

    /// The axum routes, wrapped, listening on `addr`.
    pub async fn serve_at(config: Config, addr: SocketAddr) -> Self {
        Self::serve_router_on(config, |routes| routes, addr).await
    }

    /// The axum routes, wrapped.
    pub async fn serve(config: Config) -> Self {
        Self::serve_router(config, |routes| routes).await
    }

    pub async fn serve_router(config: Config, mount: impl FnOnce(Router) -> Router) -> Self {
        Self::serve_router_on(config, mount, SocketAddr::from(([127, 0, 0, 1], 0))).await
    }

    pub async fn serve_router_on(
        config: Config,
        mount: impl FnOnce(Router) -> Router,
        addr: std::net::SocketAddr,
    ) -> Self {
        let layer = OidcLayer::new(config);
        let app = mount(routes()).layer(layer.clone());
        let (addr, server) = serve_axum_at(app, addr).await;
        Self::new(addr, layer, server)
    }

    async fn launch(framework: Framework, layer: OidcLayer, wrap: bool, prefix: &str) -> Self {
        let (addr, server) = match framework {
            Framework::Axum => {
                let app = if prefix.is_empty() {
                    routes()
                } else {
                    Router::new().nest(prefix, routes())
                };
                let app = app.route_service("/health/oidc", tower_oidc::health(&layer));
                let app = if wrap { app.layer(layer.clone()) } else { app };
                serve_axum(app).await
            }
            Framework::Actix => {
                let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
                let addr = listener.local_addr().expect("addr");
                let middleware = wrap.then(|| OidcMiddleware::from(&layer));
                let handle = actix_app::serve(listener, middleware, prefix.to_owned()).await;
                (addr, Server::Actix(handle))
            }
        };
        Self::new(addr, layer, server)
    }

    fn new(addr: SocketAddr, layer: OidcLayer, server: Server) -> Self {
        Self {
            url: Url::parse(&format!("http://{addr}/")).expect("url"),
            layer,
            _server: server,
        }
    }

    pub fn at(&self, path: &str) -> Url {
        self.url.join(path).expect("url")
    }

    /// Sends `GET target` as written, over a fresh connection: no client-side URL
    /// normalization of dot segments or percent-encoding.
    pub async fn raw_get(&self, target: &str, headers: &[(&str, &str)]) -> RawResponse {
        let host = self.url.host_str().expect("host");
        let port = self.url.port().expect("port");
        let mut stream = tokio::net::TcpStream::connect((host, port))
            .await
            .expect("connect");
        let mut request = format!("GET {target} HTTP/1.1\r\nHost: {host}:{port}\r\n");
        for (name, value) in headers {
            request.push_str(&format!("{name}: {value}\r\n"));
        }
        request.push_str("Connection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await.expect("write");
        let mut raw = Vec::new();
        tokio::time::timeout(
            std::time::Duration::from_secs(20),
            stream.read_to_end(&mut raw),
        )
        .await
        .expect("answered in time")
        .expect("read");
        RawResponse::parse(&String::from_utf8_lossy(&raw))
    }
}

async fn serve_axum(app: Router) -> (SocketAddr, Server) {
    serve_axum_at(app, SocketAddr::from(([127, 0, 0, 1], 0))).await
}

async fn serve_axum_at(app: Router, addr: SocketAddr) -> (SocketAddr, Server) {
    let listener = tokio::net::TcpListener::bind(addr).await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (addr, Server::Axum(server))
}

/// An answer read off the wire.
#[derive(Debug)]
pub struct RawResponse {
    pub status: u16,
    /// Lower-case names, in the order received.
    pub headers: Vec<(String, String)>,
}

impl RawResponse {
    fn parse(raw: &str) -> Self {
        let head = raw.split("\r\n\r\n").next().unwrap_or_default();
        let mut lines = head.split("\r\n");
        let status = lines
            .next()
            .and_then(|line| line.split(' ').nth(1))
            .and_then(|code| code.parse().ok())
            .unwrap_or_else(|| panic!("no status line in {raw:?}"));
        let headers = lines
            .filter_map(|line| line.split_once(':'))
            .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_owned()))
            .collect();
        Self { status, headers }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A browser: cookie jar, `Accept: text/html`, no automatic redirects.
pub struct Browser {
    pub client: reqwest::Client,
    pub jar: Arc<Jar>,
}

impl Default for Browser {
    fn default() -> Self {
        let jar = Arc::new(Jar::default());
        let client = reqwest::Client::builder()
            .cookie_provider(Arc::clone(&jar))
            .redirect(reqwest::redirect::Policy::none())
            .timeout(std::time::Duration::from_secs(20))
            .build()
            .expect("client");
        Self { client, jar }
    }
}

pub fn location(response: &Response) -> Option<Url> {
    let location = response.headers().get("location")?.to_str().ok()?;
    response.url().join(location).ok()
}

pub fn set_cookies(response: &Response) -> Vec<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok().map(str::to_owned))
        .collect()
}

impl Browser {
    pub async fn get(&self, url: Url) -> Response {
        self.client
            .get(url)
            .header("accept", "text/html,application/xhtml+xml")
            .send()
            .await
            .expect("request")
    }

    /// Follows redirects; returns the last response and every URL visited after the first.
    pub async fn follow(&self, url: Url) -> (Response, Vec<Url>) {
        let mut visited = Vec::new();
        let mut response = self.get(url).await;
        for _ in 0..10 {
            if !response.status().is_redirection() {
                break;
            }
            let next = location(&response).expect("redirect has a location");
            visited.push(next.clone());
            response = self.get(next).await;
        }
        (response, visited)
    }

    /// Signs in by opening `/` and following the provider's auto-approval back.
    pub async fn login(&self, app: &TestApp) -> Response {
        let (response, _) = self.follow(app.at("/")).await;
        response
    }

    /// An API-style request (JSON accepted, no HTML).
    pub async fn api(&self, url: Url) -> Response {
        self.client
            .get(url)
            .header("accept", "application/json")
            .send()
            .await
            .expect("request")
    }

    pub fn cookies(&self, url: &Url) -> String {
        self.jar
            .cookies(url)
            .and_then(|v| v.to_str().ok().map(str::to_owned))
            .unwrap_or_default()
    }

    pub fn has_session(&self, app: &TestApp) -> bool {
        self.cookies(&app.url).contains("tower_oidc.0=")
    }
}

pub async fn assert_status(response: Response, status: StatusCode) -> String {
    let actual = response.status();
    let body = response.text().await.unwrap_or_default();
    assert_eq!(actual, status, "body: {body}");
    body
}

/// Starts a provider misbehaving as told and an app; a login must fail with no session left
/// behind and API requests still unauthenticated. Returns the callback's status.
pub async fn login_refused_with(misbehavior: tower_oidc::testing::Misbehavior) -> StatusCode {
    let provider = MockProvider::start().await.expect("provider");
    let app = TestApp::start(&provider).await;
    provider.set_misbehavior(Some(misbehavior));
    login_refused(&provider, &app, &format!("{misbehavior:?}")).await
}

/// Drives a login through `app` that must fail with no session left behind.
pub async fn login_refused(provider: &MockProvider, app: &TestApp, case: &str) -> StatusCode {
    let client = TestClient::served_at(app.url.as_str()).expect("client");
    let status = match client.sign_in(provider).await {
        Err(TestClientError::SignIn { status, .. }) => status,
        Ok(landing) => panic!("{case} was accepted with {}", landing.status()),
        Err(other) => panic!("{case}: {other}"),
    };
    assert!(
        status.is_client_error() || status.is_server_error(),
        "{case} was accepted with {status}"
    );
    let cookies = client.cookie_header().unwrap_or_default();
    assert!(!cookies.contains("tower_oidc.0="), "{case} left a session");
    let api = client.get("/api/data").await.expect("api request");
    assert_eq!(api.status(), StatusCode::UNAUTHORIZED, "{case}");
    status
}
