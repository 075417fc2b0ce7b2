//! The service starts and serves whitelisted paths while the provider is down.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use tower_oidc::testing::{Misbehavior, MockProvider};

use crate::harness::{Browser, TestApp};

#[tokio::test]
async fn provider_down_at_start_then_back() {
    let provider = MockProvider::start().await.expect("provider");
    provider.set_available(false);
    let app = TestApp::start(&provider).await;
    let browser = Browser::default();
    assert_eq!(
        browser.get(app.at("/health")).await.status(),
        StatusCode::OK
    );
    let started = Instant::now();
    let login = browser.get(app.at("/login")).await;
    assert_eq!(login.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(started.elapsed() < Duration::from_secs(5));

    provider.set_available(true);
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let login = browser.get(app.at("/login")).await;
        if login.status() == StatusCode::FOUND {
            break;
        }
        assert!(Instant::now() < deadline, "login never recovered");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert_eq!(browser.login(&app).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn provider_down_mid_session_keeps_sessions() {
    let provider = MockProvider::start().await.expect("provider");
    let app = TestApp::start(&provider).await;
    let browser = Browser::default();
    browser.login(&app).await;
    provider.set_available(false);
    assert_eq!(
        browser.api(app.at("/api/data")).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn discovery_issuer_mismatch_refuses_logins() {
    let provider = MockProvider::start().await.expect("provider");
    provider.set_misbehavior(Some(Misbehavior::DiscoveryIssuerMismatch));
    let app = TestApp::start(&provider).await;
    let browser = Browser::default();
    assert_eq!(
        browser.get(app.at("/login")).await.status(),
        StatusCode::BAD_GATEWAY
    );
}

#[tokio::test]
async fn garbage_jwks_fails_logins_cleanly() {
    let provider = MockProvider::start().await.expect("provider");
    provider.set_misbehavior(Some(Misbehavior::GarbageJwks));
    let app = TestApp::start(&provider).await;
    let browser = Browser::default();
    let landed = browser.login(&app).await;
    assert_eq!(landed.status(), StatusCode::UNAUTHORIZED);
    assert!(!browser.has_session(&app));
}

#[tokio::test]
async fn a_slow_provider_cannot_hang_requests() {
    let provider = MockProvider::start().await.expect("provider");
    let app = TestApp::start_with(&provider, |c| c.http_timeout(Duration::from_secs(1))).await;
    let browser = Browser::default();
    let start = browser.get(app.at("/login")).await;
    let authorize = browser
        .get(crate::harness::location(&start).expect("authorize"))
        .await;
    let callback = crate::harness::location(&authorize).expect("callback");

    // The provider now takes 6 s per answer; the configured timeout is 1 s.
    provider.set_delay(Duration::from_secs(6));
    let started = Instant::now();
    let response = browser.get(callback).await;
    assert_eq!(response.status(), StatusCode::BAD_GATEWAY);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
    assert!(!browser.has_session(&app));

    // A fresh instance that cannot discover the provider answers logins 503, not never.
    let fresh = TestApp::start_with(&provider, |c| c.http_timeout(Duration::from_secs(1))).await;
    let started = Instant::now();
    let login = Browser::default().get(fresh.at("/login")).await;
    assert_eq!(login.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(
        Browser::default().get(fresh.at("/health")).await.status(),
        StatusCode::OK
    );
}
