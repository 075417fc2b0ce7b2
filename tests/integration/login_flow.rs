//! The full login round trip through the mock provider.

use reqwest::StatusCode;
use tower_oidc::testing::{MockProvider, MockUser};

use crate::harness::{assert_status, location, Browser, TestApp};

#[tokio::test]
async fn login_callback_protected_route_logout() {
    let provider = MockProvider::start().await.expect("provider");
    let app = TestApp::start_with(&provider, |c| {
        c.post_logout_redirect_uri("http://127.0.0.1:1/bye")
    })
    .await;
    let browser = Browser::default();

    // An unauthenticated browser is sent to the provider with PKCE, state and nonce.
    let first = browser.get(app.at("/me?tab=1")).await;
    assert_eq!(first.status(), StatusCode::FOUND);
    let authorize = location(&first).expect("location");
    assert!(authorize.as_str().starts_with(&provider.issuer()));
    let params: std::collections::HashMap<_, _> = authorize.query_pairs().into_owned().collect();
    assert_eq!(params["response_type"], "code");
    assert_eq!(params["code_challenge_method"], "S256");
    assert!(params["state"].len() >= 32 && params["nonce"].len() >= 32);
    assert!(params["scope"].split(' ').any(|s| s == "openid"));
    assert_eq!(params["redirect_uri"], app.at("/auth").as_str());

    // The provider approves and the callback lands on the page first asked for.
    let (landed, visited) = browser.follow(authorize).await;
    assert_eq!(visited.last().map(|u| u.path()), Some("/me"));
    assert_eq!(visited.last().and_then(|u| u.query()), Some("tab=1"));
    let body = assert_status(landed, StatusCode::OK).await;
    let me: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(me["user_id"], "alice");
    assert_eq!(me["claims"]["email"], "alice@example.com");
    assert!(browser.has_session(&app));
    assert!(
        !browser.cookies(&app.url).contains("_login_"),
        "login state cleared"
    );

    // Whitelisted pages still see the identity when there is one.
    let health = browser.get(app.at("/health")).await;
    assert_eq!(assert_status(health, StatusCode::OK).await, "ok alice");

    // Logout ends the local session and goes through the provider's end-session endpoint.
    let logout = browser.get(app.at("/logout")).await;
    assert_eq!(logout.status(), StatusCode::FOUND);
    let end_session = location(&logout).expect("location");
    assert!(end_session
        .as_str()
        .starts_with(&format!("{}/end_session", provider.issuer())));
    let _ = browser.get(end_session).await;
    let requests = provider.end_session_requests();
    assert_eq!(requests.len(), 1);
    assert!(requests[0].id_token_hint.is_some());
    assert_eq!(requests[0].client_id.as_deref(), Some(provider.client_id()));
    assert_eq!(
        requests[0].post_logout_redirect_uri.as_deref(),
        Some("http://127.0.0.1:1/bye")
    );
    assert!(!browser.has_session(&app));
    let after = browser.api(app.at("/api/data")).await;
    assert_eq!(after.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn logout_by_post_answers_see_other() {
    let provider = MockProvider::start().await.expect("provider");
    let app = TestApp::start(&provider).await;
    let browser = Browser::default();
    browser.login(&app).await;
    assert!(browser.has_session(&app));
    let logout = browser
        .client
        .post(app.at("/logout"))
        .send()
        .await
        .expect("post");
    assert_eq!(logout.status(), StatusCode::SEE_OTHER);
    assert!(!browser.has_session(&app));
}

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

#[tokio::test]
async fn routes_under_a_base_path() {
    let provider = MockProvider::start().await.expect("provider");
    let config = crate::harness::base_config(&provider)
        .base_path("/my_app")
        .login_path("/auth/login")
        .logout_path("/auth/logout")
        .redirect_uri("/auth/callback")
        .build()
        .expect("config");
    let app =
        TestApp::serve_router(config, |routes| axum::Router::new().nest("/my_app", routes)).await;
    let browser = Browser::default();
    let start = browser
        .get(app.at("/my_app/auth/login?next=/my_app/me"))
        .await;
    let authorize = location(&start).expect("authorize");
    let redirect_uri: String = authorize
        .query_pairs()
        .find(|(k, _)| k == "redirect_uri")
        .map(|(_, v)| v.into_owned())
        .expect("redirect_uri");
    assert_eq!(redirect_uri, app.at("/my_app/auth/callback").as_str());
    let (landed, _) = browser.follow(authorize).await;
    assert_status(landed, StatusCode::OK).await;
    let logout = browser.get(app.at("/my_app/auth/logout")).await;
    assert_eq!(logout.status(), StatusCode::FOUND);
}
