//! A test app wrapped in the layer, and a browser with a cookie jar that follows redirects
//! one hop at a time.

use std::sync::Arc;

use axum::routing::get;
use axum::{Json, Router};
use reqwest::cookie::{CookieStore, Jar};
use reqwest::{Response, StatusCode};
use serde_json::json;
use tower_oidc::testing::MockProvider;
use tower_oidc::{Config, ConfigBuilder, Identity, OidcLayer};
use url::Url;

/// The routes of the example-app contract.
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

pub struct TestApp {
    pub url: Url,
    pub layer: OidcLayer,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl TestApp {
    pub async fn start(provider: &MockProvider) -> Self {
        Self::start_with(provider, |config| config).await
    }

    pub async fn start_with(
        provider: &MockProvider,
        tweak: impl FnOnce(ConfigBuilder) -> ConfigBuilder,
    ) -> Self {
        let config = tweak(base_config(provider)).build().expect("test config");
        Self::serve(config).await
    }

    pub async fn serve(config: Config) -> Self {
        Self::serve_router(config, |routes| routes).await
    }

    pub async fn serve_on(config: Config, addr: std::net::SocketAddr) -> Self {
        Self::serve_router_on(config, |routes| routes, addr).await
    }

    pub async fn serve_router(config: Config, mount: impl FnOnce(Router) -> Router) -> Self {
        let addr = "127.0.0.1:0".parse().expect("addr");
        Self::serve_router_on(config, mount, addr).await
    }

    pub async fn serve_router_on(
        config: Config,
        mount: impl FnOnce(Router) -> Router,
        addr: std::net::SocketAddr,
    ) -> Self {
        let layer = OidcLayer::new(config);
        let listener = tokio::net::TcpListener::bind(addr).await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let app = mount(routes()).layer(layer.clone());
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self {
            url: Url::parse(&format!("http://{addr}/")).expect("url"),
            layer,
            server,
        }
    }

    pub fn at(&self, path: &str) -> Url {
        self.url.join(path).expect("url")
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
pub async fn login_refused(_provider: &MockProvider, app: &TestApp, case: &str) -> StatusCode {
    let browser = Browser::default();
    let start = browser.get(app.at("/login")).await;
    let (response, _) = match location(&start) {
        Some(authorize) => browser.follow(authorize).await,
        None => (start, Vec::new()),
    };
    let status = response.status();
    assert!(
        status.is_client_error() || status.is_server_error(),
        "{case} was accepted with {status}"
    );
    assert!(!browser.has_session(app), "{case} left a session");
    let api = browser.api(app.at("/api/data")).await;
    assert_eq!(api.status(), StatusCode::UNAUTHORIZED, "{case}");
    status
}
