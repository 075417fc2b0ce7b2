//! The full login round trip through the mock provider.

use reqwest::StatusCode;
use tower_oidc::testing::{MockProvider, MockUser};

use crate::harness::{assert_status, location, Browser, TestApp};

#[tokio::test]
async fn session_id_rotates_at_each_login() {
    let provider = MockProvider::start().await.expect("provider");
    let app = TestApp::start(&provider).await;
    let browser = Browser::default();
    browser.login(&app).await;
    let first = browser.cookies(&app.url);
    provider.set_user(MockUser::new("bob"));
    let (landed, _) = browser.follow(app.at("/login?next=/")).await;
    assert_eq!(assert_status(landed, StatusCode::OK).await, "hello bob");
    assert_ne!(first, browser.cookies(&app.url));
}

#[tokio::test]
async fn user_id_from_a_configured_claim_and_missing_claims() {
    let provider = MockProvider::start().await.expect("provider");
    let app = TestApp::start_with(&provider, |c| c.user_id_claim("email")).await;
    let browser = Browser::default();
    let landed = browser.login(&app).await;
    assert_eq!(
        assert_status(landed, StatusCode::OK).await,
        "hello alice@example.com"
    );

    let app = TestApp::start_with(&provider, |c| c.user_id_claim("employee_id")).await;
    let browser = Browser::default();
    let landed = browser.login(&app).await;
    let body = assert_status(landed, StatusCode::FORBIDDEN).await;
    assert!(body.contains("employee_id"), "{body}");
    assert!(!browser.has_session(&app));
}

#[tokio::test]
async fn unverified_email_is_not_a_user_id() {
    let provider = MockProvider::start().await.expect("provider");
    let mut user = MockUser::new("mallory");
    user.email = Some("ceo@example.com".into());
    user.email_verified = Some(false);
    provider.set_user(user);
    let app = TestApp::start_with(&provider, |c| c.user_id_claim("email")).await;
    let browser = Browser::default();
    let landed = browser.login(&app).await;
    assert_status(landed, StatusCode::FORBIDDEN).await;
    assert!(!browser.has_session(&app));
}

#[tokio::test]
async fn userinfo_fills_claims_missing_from_a_minimal_id_token() {
    let provider = MockProvider::start().await.expect("provider");
    provider.set_minimal_id_token(true);
    let app = TestApp::start_with(&provider, |c| c.user_id_claim("email")).await;
    let browser = Browser::default();
    let landed = browser.login(&app).await;
    assert_eq!(
        assert_status(landed, StatusCode::OK).await,
        "hello alice@example.com"
    );
    assert_eq!(provider.stats().userinfo, 1);
}

#[tokio::test]
async fn client_secret_post_and_basic() {
    use tower_oidc::testing::MockClientAuth;
    for (mode, expect_basic) in [(MockClientAuth::Basic, true), (MockClientAuth::Post, false)] {
        let provider = MockProvider::start().await.expect("provider");
        provider.set_client_auth(mode);
        let app = TestApp::start(&provider).await;
        let browser = Browser::default();
        let landed = browser.login(&app).await;
        assert_status(landed, StatusCode::OK).await;
        let stats = provider.stats();
        assert_eq!(stats.client_auth_basic > 0, expect_basic, "{mode:?}");
        assert_eq!(stats.client_auth_post > 0, !expect_basic, "{mode:?}");
    }
}

#[tokio::test]
async fn keys_rotated_at_the_provider_are_fetched_again() {
    let provider = MockProvider::start().await.expect("provider");
    let app = TestApp::start(&provider).await;
    let browser = Browser::default();
    assert_status(browser.login(&app).await, StatusCode::OK).await;
    provider.rotate_signing_key();
    let browser = Browser::default();
    assert_status(browser.login(&app).await, StatusCode::OK).await;
}

#[tokio::test]
async fn es256_id_tokens_are_accepted() {
    let provider = MockProvider::start().await.expect("provider");
    provider.set_signing_alg(tower_oidc::testing::MockAlg::Es256);
    let app = TestApp::start(&provider).await;
    let browser = Browser::default();
    assert_status(browser.login(&app).await, StatusCode::OK).await;
}

#[tokio::test]
async fn several_tabs_can_log_in_at_once() {
    let provider = MockProvider::start().await.expect("provider");
    let app = TestApp::start(&provider).await;
    let browser = Browser::default();
    let first = location(&browser.get(app.at("/a")).await).expect("first");
    let second = location(&browser.get(app.at("/b")).await).expect("second");
    let (done, _) = browser.follow(second).await;
    assert_eq!(
        done.status(),
        StatusCode::NOT_FOUND,
        "landed on /b, which the app lacks"
    );
    let (done, visited) = browser.follow(first).await;
    assert_eq!(done.status(), StatusCode::NOT_FOUND);
    assert_eq!(visited.last().map(|u| u.path()), Some("/a"));
}

#[tokio::test]
async fn pending_logins_are_bounded() {
    let provider = MockProvider::start().await.expect("provider");
    let app = TestApp::start(&provider).await;
    let browser = Browser::default();
    for _ in 0..20 {
        let response = browser.get(app.at("/login")).await;
        assert_eq!(response.status(), StatusCode::FOUND);
    }
    let pending = browser.cookies(&app.url).matches("_login_").count();
    assert!(pending <= 4, "{pending} pending login cookies");
}
