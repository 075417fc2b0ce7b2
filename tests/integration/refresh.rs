//! Access tokens are refreshed before the handler runs: once per session, rotated refresh
//! tokens replace old ones, and a refused refresh ends the session.

use std::time::Duration;

use reqwest::StatusCode;
use tower_oidc::testing::{Misbehavior, MockProvider};

use crate::harness::{set_cookies, Browser, TestApp};

/// Access tokens shorter than the leeway are refreshed at once.
async fn short_lived() -> (MockProvider, TestApp) {
    let provider = MockProvider::start().await.expect("provider");
    provider.set_access_token_ttl(Duration::from_secs(30));
    let app = TestApp::start_with(&provider, |c| c.leeway(Duration::from_secs(60))).await;
    (provider, app)
}

async fn access_token(browser: &Browser, app: &TestApp) -> String {
    let me: serde_json::Value = browser.api(app.at("/me")).await.json().await.expect("json");
    me["access_token"].as_str().expect("token").to_owned()
}

#[tokio::test]
async fn expiring_tokens_are_refreshed_and_rotation_is_followed() {
    let (provider, app) = short_lived().await;
    let browser = Browser::default();
    browser.login(&app).await;
    let refreshes_after_login = provider.stats().token_refresh;
    let first = access_token(&browser, &app).await;
    assert_eq!(provider.stats().token_refresh, refreshes_after_login + 1);
    // The next refresh must present the rotated refresh token: the old one is refused by
    // the provider, so success proves the rotation was stored.
    let second = access_token(&browser, &app).await;
    assert_eq!(provider.stats().token_refresh, refreshes_after_login + 2);
    assert_ne!(first, second);
    assert_eq!(provider.stats().refresh_replays, 0);
}

#[tokio::test]
async fn concurrent_requests_share_one_refresh() {
    let (provider, app) = short_lived().await;
    let browser = Browser::default();
    browser.login(&app).await;
    let before = provider.stats().token_refresh;
    let client = browser.client.clone();
    let url = app.at("/api/data");
    let requests = (0..8).map(|_| {
        let request = client.get(url.clone()).header("accept", "application/json");
        async move { request.send().await.expect("request") }
    });
    let responses = futures_join_all(requests).await;
    for response in responses {
        assert_eq!(response.status(), StatusCode::OK);
    }
    assert_eq!(provider.stats().token_refresh, before + 1);
}

async fn futures_join_all<F>(futures: impl Iterator<Item = F>) -> Vec<F::Output>
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    let handles: Vec<_> = futures.map(tokio::spawn).collect();
    let mut outputs = Vec::new();
    for handle in handles {
        outputs.push(handle.await.expect("task"));
    }
    outputs
}

#[tokio::test]
async fn a_refused_refresh_ends_the_session() {
    let (provider, app) = short_lived().await;
    let browser = Browser::default();
    browser.login(&app).await;
    provider.set_misbehavior(Some(Misbehavior::RefreshFails));
    let response = browser.api(app.at("/api/data")).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(set_cookies(&response)
        .iter()
        .any(|c| c.contains("Max-Age=0")));
    assert!(!browser.has_session(&app));

    let browser = Browser::default();
    provider.set_misbehavior(None);
    browser.login(&app).await;
    provider.set_misbehavior(Some(Misbehavior::RefreshFails));
    let page = browser.get(app.at("/me")).await;
    assert_eq!(
        page.status(),
        StatusCode::FOUND,
        "browsers are sent to log in again"
    );
}

#[tokio::test]
async fn an_unreachable_provider_keeps_the_session() {
    let (provider, app) = short_lived().await;
    let browser = Browser::default();
    browser.login(&app).await;
    provider.set_available(false);
    let response = browser.api(app.at("/api/data")).await;
    assert_eq!(response.status(), StatusCode::OK);
}
