//! A logout wins over a renewal under way when it happens: a user reload or a token
//! refresh that finishes after the logout neither brings the session back in the store nor
//! hands the browser a session cookie again. With every kind of session.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{json, Value};
use tower_oidc::testing::MockProvider;
use tower_oidc::{Identity, UserDetails};

use crate::backends::{on_each, Backend};
use crate::harness::{assert_status, set_cookies, Browser, TestApp};

/// A user directory that takes its time to answer.
#[derive(Clone)]
struct SlowDirectory {
    calls: Arc<AtomicUsize>,
    delay: Duration,
}

impl UserDetails for SlowDirectory {
    type User = Value;
    type Error = String;

    async fn load_user(&self, identity: &Identity) -> Result<Option<Value>, String> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        tokio::time::sleep(self.delay).await;
        Ok(Some(json!({ "user_id": identity.user_id() })))
    }
}

/// Sends `/api/data` from `browser` (its cookie jar takes what the answer sets) in a task
/// of its own.
fn in_flight(browser: &Browser, app: &TestApp) -> tokio::task::JoinHandle<reqwest::Response> {
    let request = browser
        .client
        .get(app.at("/api/data"))
        .header("accept", "application/json");
    tokio::spawn(async move { request.send().await.expect("request") })
}

/// Signs out with `browser` while `renewal` is under way, then checks the logout held:
/// the renewal's answer sets no session cookie, the browser has none, its next request is
/// `401`, and with a server-side store the old cookies are worthless too.
async fn logout_during(
    backend: &Backend,
    app: &TestApp,
    browser: &Browser,
    renewal: tokio::task::JoinHandle<reqwest::Response>,
) {
    let name = backend.name();
    let old_cookies = browser.cookies(&app.url);
    let logout = browser.get(app.at("/logout")).await;
    assert_eq!(logout.status(), StatusCode::FOUND, "{name}");
    assert!(!browser.has_session(app), "{name}: signed out");
    assert!(
        !renewal.is_finished(),
        "{name}: the renewal is still under way"
    );

    let renewed = renewal.await.expect("the renewal's request");
    let sets_session: Vec<String> = set_cookies(&renewed)
        .into_iter()
        .filter(|cookie| cookie.starts_with("tower_oidc.") && !cookie.contains("Max-Age=0"))
        .filter_map(|cookie| cookie.split('=').next().map(str::to_owned))
        .collect();
    assert!(
        sets_session.is_empty(),
        "{name}: the renewal handed the session back: {sets_session:?}"
    );
    assert!(
        set_cookies(&renewed)
            .iter()
            .any(|cookie| cookie.starts_with("tower_oidc.0=") && cookie.contains("Max-Age=0")),
        "{name}: the renewal's answer removes the session cookie"
    );
    assert_eq!(renewed.status(), StatusCode::UNAUTHORIZED, "{name}");
    assert!(!browser.has_session(app), "{name}: still signed out");
    assert_eq!(
        browser.api(app.at("/api/data")).await.status(),
        StatusCode::UNAUTHORIZED,
        "{name}: the next request"
    );
    if backend.server_side() {
        let replayed = reqwest::Client::new()
            .get(app.at("/api/data"))
            .header("accept", "application/json")
            .header("cookie", old_cookies)
            .send()
            .await
            .expect("request");
        assert_eq!(
            replayed.status(),
            StatusCode::UNAUTHORIZED,
            "{name}: the store did not keep the renewed session"
        );
    }
}

async fn reload_in_flight(backend: Backend) {
    let name = backend.name();
    let provider = MockProvider::start().await.expect("provider");
    let calls = Arc::new(AtomicUsize::new(0));
    let hook = SlowDirectory {
        calls: Arc::clone(&calls),
        delay: Duration::from_millis(500),
    };
    let app = TestApp::start_with(&provider, |c| {
        backend.configure(
            c.user_details(hook)
                .user_details_ttl(Duration::from_secs(1)),
        )
    })
    .await;
    let browser = Browser::default();
    assert_status(browser.login(&app).await, StatusCode::OK).await;
    // Times are whole seconds: after 1.1 s the user loaded at the login is stale.
    tokio::time::sleep(Duration::from_millis(1100)).await;

    let before = calls.load(Ordering::SeqCst);
    let reload = in_flight(&browser, &app);
    let deadline = Instant::now() + Duration::from_secs(10);
    while calls.load(Ordering::SeqCst) == before {
        assert!(Instant::now() < deadline, "{name}: the user is reloaded");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    logout_during(&backend, &app, &browser, reload).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reload_in_flight_does_not_undo_a_logout() {
    on_each(Backend::all(), reload_in_flight).await;
}

async fn refresh_in_flight(backend: Backend) {
    let name = backend.name();
    let provider = MockProvider::start().await.expect("provider");
    // Access tokens shorter than the leeway: every request refreshes.
    provider.set_access_token_ttl(Duration::from_secs(30));
    let app = TestApp::start_with(&provider, |c| {
        backend.configure(c.leeway(Duration::from_secs(60)))
    })
    .await;
    let browser = Browser::default();
    assert_status(browser.login(&app).await, StatusCode::OK).await;

    let refreshes = provider.stats().token_refresh;
    provider.set_delay(Duration::from_secs(3));
    let refresh = in_flight(&browser, &app);
    // The refresh waits on the slow token endpoint meanwhile; the logout's own calls to the
    // provider (token revocation) are not slowed, so the logout ends first.
    tokio::time::sleep(Duration::from_secs(1)).await;
    provider.set_delay(Duration::ZERO);
    logout_during(&backend, &app, &browser, refresh).await;
    assert_eq!(
        provider.stats().token_refresh,
        refreshes + 1,
        "{name}: the request under way refreshed, and nothing after it"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refresh_in_flight_does_not_undo_a_logout() {
    on_each(Backend::all(), refresh_in_flight).await;
}
