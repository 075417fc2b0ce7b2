//! One scenario's world: `oidc-provider` on `http://localhost:…`, an example app on
//! `http://127.0.0.1:…` (another site, so SameSite rules apply as in production), and a
//! headless Chromium.

use std::future::Future;
use std::io::Write as _;
use std::time::Duration;

use fantoccini::Locator;
use serde_json::Value;
use url::Url;

use crate::app::{ExampleApp, Framework};
use crate::chrome::{self, free_port, Browser, BrowserOptions};
use crate::provider::{self, OidcProvider, ProviderOptions, CLIENT_ID, CLIENT_SECRET};

/// Every scenario ends within this (the first one also builds the example apps).
const TEST_TIMEOUT: Duration = Duration::from_secs(240);
/// Where the provider sends the user after logout; open to everyone.
pub const SIGNED_OUT_PATH: &str = "/health";
/// oidc-provider's development login accepts any password.
const PASSWORD: &str = "any-password";

/// What a scenario changes from the defaults.
pub struct Setup {
    pub framework: Framework,
    pub access_token_ttl: Duration,
    /// Claims the provider adds to some accounts: `{"account": {"claim": value}}`.
    pub extra_claims: Value,
    /// More `OIDC_*` variables for the app.
    pub env: Vec<(&'static str, String)>,
    /// The browser refuses the app's cookies.
    pub refuse_app_cookies: bool,
    /// Start the app against an issuer where nothing listens.
    pub provider_down: bool,
}

impl Setup {
    pub fn new(framework: Framework) -> Self {
        Self {
            framework,
            access_token_ttl: Duration::from_secs(3600),
            extra_claims: serde_json::json!({}),
            env: Vec::new(),
            refuse_app_cookies: false,
            provider_down: false,
        }
    }
}

pub struct World {
    pub provider: Option<OidcProvider>,
    pub app: ExampleApp,
    pub browser: Browser,
}

/// Why the browser tests cannot run here, if they cannot.
fn missing_prerequisite() -> Option<String> {
    chrome::missing_prerequisite().or_else(provider::missing_prerequisite)
}

/// Whether the browser tests can run; if not, says why (or fails, under `CI=true`).
fn can_run() -> bool {
    let Some(reason) = missing_prerequisite() else {
        return true;
    };
    if std::env::var("CI").is_ok_and(|ci| ci == "true") {
        panic!("browser tests did NOT run: {reason} (CI=true makes this a failure)");
    }
    // Straight to stderr: libtest captures `eprintln!` of passing tests.
    let _ = writeln!(std::io::stderr(), "browser tests did NOT run: {reason}");
    false
}

impl World {
    async fn start(setup: Setup) -> Self {
        // The redirect URI is registered when the provider starts: pick the app's port first.
        let app_port = free_port();
        let app_url = Url::parse(&format!("http://127.0.0.1:{app_port}/")).expect("url");
        let callback = app_url.join("/auth").expect("url").to_string();
        let signed_out = app_url.join(SIGNED_OUT_PATH).expect("url").to_string();
        let (provider, issuer) = if setup.provider_down {
            (None, format!("http://localhost:{}", free_port()))
        } else {
            let provider = OidcProvider::start(&ProviderOptions {
                redirect_uris: vec![callback.clone()],
                post_logout_redirect_uris: vec![signed_out.clone()],
                access_token_ttl: setup.access_token_ttl,
                issuer_host: "localhost",
                extra_claims: setup.extra_claims,
                ..ProviderOptions::default()
            })
            .await;
            let issuer = provider.issuer();
            (Some(provider), issuer)
        };
        let mut env: Vec<(String, String)> = [
            ("OIDC_ISSUER", issuer),
            ("OIDC_CLIENT_ID", CLIENT_ID.into()),
            ("OIDC_CLIENT_SECRET", CLIENT_SECRET.into()),
            ("OIDC_REDIRECT_URI", callback),
            ("OIDC_SCOPES", "openid email profile offline_access".into()),
            // oidc-provider drops `offline_access` (no refresh token) without it.
            ("OIDC_AUTH_PARAMS", "prompt=consent".into()),
            ("OIDC_POST_LOGOUT_REDIRECT_URI", signed_out),
            ("OIDC_WHITELISTED_ENDPOINTS", "health".into()),
            (
                "OIDC_SECRET_KEY",
                "browser-test-cookie-key-0123456789abcdef".into(),
            ),
            ("OIDC_COOKIE_SECURE", "false".into()),
        ]
        .into_iter()
        .map(|(name, value)| (name.to_owned(), value))
        .collect();
        env.extend(
            setup
                .env
                .into_iter()
                .map(|(name, value)| (name.to_owned(), value)),
        );
        let app = ExampleApp::start(setup.framework, app_port, &env).await;
        let mut options = BrowserOptions::default();
        if setup.refuse_app_cookies {
            options
                .refuse_cookies_from
                .push(app_url.origin().ascii_serialization());
        }
        let browser = Browser::start(options).await;
        Self {
            provider,
            app,
            browser,
        }
    }

    pub fn provider(&self) -> &OidcProvider {
        self.provider.as_ref().expect("a provider")
    }

    pub fn at(&self, path: &str) -> Url {
        self.app.at(path)
    }

    pub fn at_provider(&self, url: &Url) -> bool {
        self.provider
            .as_ref()
            .is_some_and(|provider| url.origin() == provider.issuer.origin())
    }

    pub fn at_app(&self, url: &Url) -> bool {
        url.origin() == self.app.url.origin()
    }

    /// Successful token-endpoint grants of this kind so far.
    pub async fn grants(&self, grant_type: &str) -> u64 {
        self.provider().grants(grant_type).await
    }

    /// Waits for the provider's login form.
    pub async fn wait_for_login_form(&self) {
        self.browser
            .wait_until("the provider's login form", |url, _| self.at_provider(url))
            .await;
        self.browser
            .client
            .wait()
            .at_most(Duration::from_secs(15))
            .for_element(Locator::Css("input[name=login]"))
            .await
            .expect("the provider's login form");
    }

    /// On the provider's pages, signs in as `login` and consents, until the browser is back
    /// at the app; the app's page it lands on.
    pub async fn sign_in(&self, login: &str) -> (Url, String) {
        let client = &self.browser.client;
        for _ in 0..6 {
            let (url, text) = self
                .browser
                .wait_until("a page to load", |url, _| {
                    self.at_app(url) || self.at_provider(url)
                })
                .await;
            if self.at_app(&url) {
                return (url, text);
            }
            if let Ok(field) = client.find(Locator::Css("input[name=login]")).await {
                field.send_keys(login).await.expect("type login");
                client
                    .find(Locator::Css("input[name=password]"))
                    .await
                    .expect("password field")
                    .send_keys(PASSWORD)
                    .await
                    .expect("type password");
            }
            let before = client.current_url().await.expect("url");
            client
                .find(Locator::Css("form button[type=submit]"))
                .await
                .unwrap_or_else(|err| panic!("no button to press at {url}: {err}\n{text}"))
                .click()
                .await
                .expect("submit");
            self.browser
                .wait_until("the next page", |url, _| url != &before)
                .await;
        }
        panic!("not back at the app after signing in");
    }

    /// The JSON the page shows (the example's `/me` and `/api/data`).
    pub async fn page_json(&self) -> Value {
        let text = self.browser.text().await;
        serde_json::from_str(&text).unwrap_or_else(|err| panic!("not JSON ({err}):\n{text}"))
    }

    /// Presses the button on the provider's logout page that confirms the logout.
    pub async fn confirm_provider_logout(&self) {
        self.browser
            .wait_until("the provider's logout page", |url, _| self.at_provider(url))
            .await;
        self.browser
            .client
            .wait()
            .at_most(Duration::from_secs(15))
            .for_element(Locator::Css("button[value=yes]"))
            .await
            .expect("the provider's logout button")
            .click()
            .await
            .expect("confirm logout");
    }

    pub async fn close(self) {
        let Self {
            provider,
            app,
            browser,
        } = self;
        browser.close().await;
        drop(app);
        drop(provider);
    }
}

/// Runs a scenario: skipped (with a message) when Chromium, node or oidc-provider is
/// missing, bounded by [`TEST_TIMEOUT`].
pub async fn scenario<F, Fut>(setup: Setup, test: F)
where
    F: FnOnce(World) -> Fut,
    Fut: Future<Output = World>,
{
    if !can_run() {
        return;
    }
    let run = async {
        let world = World::start(setup).await;
        let world = test(world).await;
        world.close().await;
    };
    if tokio::time::timeout(TEST_TIMEOUT, run).await.is_err() {
        panic!("browser scenario did not finish within {TEST_TIMEOUT:?}");
    }
}
