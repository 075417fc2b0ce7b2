//! An axum app wrapped in the layer, started together with the provider it trusts.

use std::future::Future;
use std::io::Write as _;
use std::time::Duration;

use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;
use tokio::net::TcpListener;
use tower_oidc::{Config, ConfigBuilder, Identity, OidcLayer};
use url::Url;

use crate::browser::Browser;
use crate::provider::{self, OidcProvider, ProviderOptions, CLIENT_ID, CLIENT_SECRET};

/// Every interop test ends within this.
pub const TEST_TIMEOUT: Duration = Duration::from_secs(45);
pub const SIGNED_OUT_PATH: &str = "/signed-out";

pub fn routes() -> Router {
    Router::new()
        .route(
            "/",
            get(|id: Identity| async move { format!("hello {}", id.user_id()) }),
        )
        .route(
            "/me",
            get(|id: Identity| async move {
                Json(json!({
                    "user_id": id.user_id(),
                    "claims": id.claims(),
                    "access_token": id.access_token(),
                    "id_token": id.id_token(),
                }))
            }),
        )
        .route(
            "/api/data",
            get(|id: Identity| async move {
                Json(json!({ "user_id": id.user_id(), "data": [1, 2, 3] }))
            }),
        )
        .route(SIGNED_OUT_PATH, get(|| async { "signed out" }))
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
    pub async fn bind() -> (TcpListener, Url) {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        (
            listener,
            Url::parse(&format!("http://{addr}/")).expect("url"),
        )
    }

    pub async fn serve(listener: TcpListener, url: Url, config: Config) -> Self {
        let layer = OidcLayer::new(config);
        let app = routes().layer(layer.clone());
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        layer
            .ready(Duration::from_secs(10))
            .await
            .expect("the layer loads oidc-provider's discovery document");
        Self { url, layer, server }
    }

    pub fn at(&self, path: &str) -> Url {
        self.url.join(path).expect("url")
    }
}

/// What a test changes from the defaults.
pub struct Setup {
    pub access_token_ttl: Duration,
    pub config: fn(ConfigBuilder) -> ConfigBuilder,
}

impl Default for Setup {
    fn default() -> Self {
        Self {
            access_token_ttl: Duration::from_secs(3600),
            config: |config| config,
        }
    }
}

/// The provider, an app trusting it, and a browser.
pub struct Interop {
    pub provider: OidcProvider,
    pub app: TestApp,
    pub browser: Browser,
}

/// Whether the interop tests can run; if not, says why (or fails, under `CI=true`).
pub fn can_run() -> bool {
    let Some(reason) = provider::missing_prerequisite() else {
        return true;
    };
    if std::env::var("CI").is_ok_and(|ci| ci == "true") {
        panic!("interop tests did NOT run: {reason} (CI=true makes this a failure)");
    }
    // Straight to stderr: libtest captures `eprintln!` of passing tests.
    let _ = writeln!(std::io::stderr(), "interop tests did NOT run: {reason}");
    false
}

impl Interop {
    /// The layer's configuration for this app and provider.
    pub fn config(provider: &OidcProvider, app_url: &Url, setup: &Setup) -> Config {
        (setup.config)(Self::builder(provider, app_url))
            .build()
            .expect("interop config")
    }

    /// The settings every interop app starts from.
    pub fn builder(provider: &OidcProvider, app_url: &Url) -> ConfigBuilder {
        Config::builder()
            .issuer(provider.issuer())
            .client_id(CLIENT_ID)
            .client_secret(CLIENT_SECRET)
            .redirect_uri(format!("{}auth", app_url))
            .scopes(["openid", "email", "profile", "offline_access"])
            // oidc-provider drops `offline_access` (no refresh token) without it.
            .auth_param("prompt", "consent")
            .post_logout_redirect_uri(app_url.join(SIGNED_OUT_PATH).expect("url").to_string())
            .whitelist([SIGNED_OUT_PATH])
            .secret_key("interop-test-cookie-key-0123456789abcdef")
            .cookie_secure(false)
            .http_timeout(Duration::from_secs(5))
    }

    /// Starts the provider with the app's redirect URI registered, then the app.
    pub async fn start(setup: Setup) -> Self {
        // The redirect URI must be registered before the provider starts: bind first.
        let (listener, app_url) = TestApp::bind().await;
        let provider = OidcProvider::start(&ProviderOptions {
            redirect_uris: vec![format!("{app_url}auth")],
            post_logout_redirect_uris: vec![app_url
                .join(SIGNED_OUT_PATH)
                .expect("url")
                .to_string()],
            access_token_ttl: setup.access_token_ttl,
            ..ProviderOptions::default()
        })
        .await;
        let config = Self::config(&provider, &app_url, &setup);
        let app = TestApp::serve(listener, app_url, config).await;
        Self {
            provider,
            app,
            browser: Browser::default(),
        }
    }

    /// Signs in as `login` from the app's home page; the final response.
    pub async fn login(&self, login: &str) -> reqwest::Response {
        self.browser
            .drive(self.app.at("/"), &self.provider.origin(), login, |_| false)
            .await
            .done()
    }
}

/// Runs an interop test: skipped (with a message) when node or oidc-provider is missing,
/// bounded by [`TEST_TIMEOUT`].
pub async fn interop<F, Fut>(setup: Setup, test: F)
where
    F: FnOnce(Interop) -> Fut,
    Fut: Future<Output = ()>,
{
    if !can_run() {
        return;
    }
    let run = async {
        let env = Interop::start(setup).await;
        test(env).await;
    };
    if tokio::time::timeout(TEST_TIMEOUT, run).await.is_err() {
        panic!("interop test did not finish within {TEST_TIMEOUT:?}");
    }
}
