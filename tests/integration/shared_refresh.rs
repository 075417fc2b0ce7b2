//! Instances sharing a session store refresh a session's access token once between them:
//! the others await the saved result rather than present the same refresh token again,
//! which providers that detect refresh-token reuse punish by revoking the whole family.

use std::time::Duration;

use reqwest::StatusCode;
use tower_oidc::testing::MockProvider;

use crate::backends::{on_each, Backend};
use crate::harness::{Browser, TestApp};

async fn one_refresh_between_instances(backend: Backend) {
    let name = backend.name();
    let provider = MockProvider::start().await.expect("provider");
    provider.set_access_token_ttl(Duration::from_secs(2));
    let configure = |c: tower_oidc::ConfigBuilder| backend.configure(c).leeway(Duration::ZERO);
    let a = TestApp::start_with(&provider, configure).await;
    let b = TestApp::start_with(&provider, configure).await;
    let browser = Browser::default();
    browser.login(&a).await;
    assert!(browser.has_session(&a), "{name}: signed in");
    tokio::time::sleep(Duration::from_millis(2500)).await;
    // The refreshed token lasts: a second refresh would only come from a reused one.
    provider.set_access_token_ttl(Duration::from_secs(3600));
    let before = provider.stats().token_refresh;

    let requests = [&a, &b, &a, &b, &a, &b].map(|app| {
        let request = browser
            .client
            .get(app.at("/api/data"))
            .header("accept", "application/json");
        tokio::spawn(async move { request.send().await.expect("request").status() })
    });
    for request in requests {
        assert_eq!(request.await.expect("task"), StatusCode::OK, "{name}");
    }
    assert_eq!(
        provider.stats().token_refresh,
        before + 1,
        "{name}: one refresh between the instances"
    );
    assert_eq!(provider.stats().refresh_replays, 0, "{name}");
    for app in [&a, &b] {
        assert_eq!(
            browser.api(app.at("/me")).await.status(),
            StatusCode::OK,
            "{name}: still signed in"
        );
    }
    assert_eq!(provider.stats().token_refresh, before + 1, "{name}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instances_sharing_a_store_refresh_a_session_once() {
    on_each(Backend::shared(), one_refresh_between_instances).await;
}
