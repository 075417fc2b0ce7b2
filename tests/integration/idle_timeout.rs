//! The idle timeout: a session unused for longer ends, on every store; one in use lives on,
//! and its use is recorded at most once per interval, not on every request.

use std::time::Duration;

use reqwest::StatusCode;
use tower_oidc::testing::MockProvider;

use crate::backends::{on_each, Backend};
use crate::harness::{set_cookies, Browser, TestApp};

/// Whether `response` sets the session cookie (removals aside).
fn sets_session(response: &reqwest::Response) -> bool {
    set_cookies(response)
        .iter()
        .any(|cookie| cookie.starts_with("tower_oidc.") && !cookie.contains("Max-Age=0"))
}

async fn idle_session_ends(backend: Backend) {
    let name = backend.name();
    let provider = MockProvider::start().await.expect("provider");
    let app = TestApp::start_with(&provider, |c| {
        backend
            .configure(c)
            .session_idle_timeout(Duration::from_secs(2))
    })
    .await;
    let browser = Browser::default();
    browser.login(&app).await;
    assert!(browser.has_session(&app), "{name}: signed in");
    assert_eq!(
        browser.api(app.at("/me")).await.status(),
        StatusCode::OK,
        "{name}"
    );
    tokio::time::sleep(Duration::from_millis(3100)).await;
    assert_eq!(
        browser.api(app.at("/me")).await.status(),
        StatusCode::UNAUTHORIZED,
        "{name}: unused for longer than the idle timeout"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_unused_for_the_idle_timeout_end_on_every_store() {
    on_each(Backend::all(), idle_session_ends).await;
}

async fn used_session_lives_on(backend: Backend) {
    let name = backend.name();
    let provider = MockProvider::start().await.expect("provider");
    let app = TestApp::start_with(&provider, |c| {
        backend
            .configure(c)
            .session_idle_timeout(Duration::from_secs(4))
    })
    .await;
    let browser = Browser::default();
    browser.login(&app).await;
    // Twelve requests over six seconds, longer than the idle timeout; the use is recorded
    // once the stamp is two seconds old.
    let mut rewritten = 0;
    for request in 0..12 {
        let response = browser.api(app.at("/me")).await;
        if sets_session(&response) {
            rewritten += 1;
        }
        assert_eq!(
            response.status(),
            StatusCode::OK,
            "{name}: request {request}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert!(
        (1..=4).contains(&rewritten),
        "{name}: the session was written {rewritten} times in 12 requests"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_in_use_outlives_the_idle_timeout_and_is_not_rewritten_on_every_request() {
    on_each(Backend::all(), used_session_lives_on).await;
}
