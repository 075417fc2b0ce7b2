//! Every misbehaviour of the provider, and every bad callback, ends without a session.

use reqwest::StatusCode;
use tower_oidc::testing::{Misbehavior, MockProvider};

use crate::harness::{location, set_cookies, Browser, TestApp};

#[tokio::test]
async fn a_missing_id_token_is_a_provider_fault() {
    let status = crate::harness::login_refused_with(Misbehavior::OmitIdToken).await;
    assert_eq!(status, StatusCode::BAD_GATEWAY);
}

#[tokio::test]
async fn kid_absent_tokens_are_verified_against_the_candidate_keys() {
    for misbehavior in [Misbehavior::KidAbsent, Misbehavior::KidAbsentSingleKey] {
        let provider = MockProvider::start().await.expect("provider");
        provider.set_misbehavior(Some(misbehavior));
        let app = TestApp::start(&provider).await;
        let browser = Browser::default();
        let landed = browser.login(&app).await;
        assert_eq!(landed.status(), StatusCode::OK, "{misbehavior:?}");
    }
}

#[tokio::test]
async fn bad_callbacks_get_clear_4xx() {
    let provider = MockProvider::start().await.expect("provider");
    let app = TestApp::start(&provider).await;
    let browser = Browser::default();
    for query in [
        "",
        "code=abc",
        "state=unknown-state-value-0123456789",
        "state=unknown-state-value-0123456789&code=abc",
        "error=access_denied&error_description=%3Cscript%3E",
        "error=server_error",
        "state=a&state=b&code=c",
        "code=%ff%fe&state=%00",
    ] {
        let response = browser.get(app.at(&format!("/auth?{query}"))).await;
        let status = response.status();
        let body = response.text().await.unwrap_or_default();
        assert!(status.is_client_error(), "{query}: {status}");
        assert!(!body.contains("<script>"), "{query}: unescaped");
    }
    let post = browser
        .client
        .post(app.at("/auth"))
        .send()
        .await
        .expect("post");
    assert_eq!(post.status(), StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn a_replayed_callback_is_refused() {
    let provider = MockProvider::start().await.expect("provider");
    let app = TestApp::start(&provider).await;
    let browser = Browser::default();
    let start = browser.get(app.at("/login")).await;
    let login_cookies = set_cookies(&start);
    let authorize = browser.get(location(&start).expect("authorize")).await;
    let callback = location(&authorize).expect("callback");
    let first = browser.get(callback.clone()).await;
    assert_eq!(first.status(), StatusCode::FOUND);

    // The same callback again, even with the login cookie restored, is refused.
    let replayer = Browser::default();
    for cookie in &login_cookies {
        replayer.jar.add_cookie_str(cookie, &app.url);
    }
    let replay = replayer.get(callback).await;
    assert_eq!(replay.status(), StatusCode::BAD_REQUEST);
    assert!(!replayer.has_session(&app));
}

#[tokio::test]
async fn a_callback_from_another_browser_is_refused() {
    let provider = MockProvider::start().await.expect("provider");
    let app = TestApp::start(&provider).await;
    let victim = Browser::default();
    let attacker = Browser::default();
    let start = attacker.get(app.at("/login")).await;
    let authorize = attacker.get(location(&start).expect("authorize")).await;
    let callback = location(&authorize).expect("callback");
    // Login CSRF: the victim is made to open the attacker's callback.
    let response = victim.get(callback).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(!victim.has_session(&app));
}

#[tokio::test]
async fn an_authorization_response_from_another_issuer_is_refused() {
    let provider = MockProvider::start().await.expect("provider");
    let app = TestApp::start(&provider).await;
    let browser = Browser::default();
    let start = browser.get(app.at("/login")).await;
    let authorize = browser.get(location(&start).expect("authorize")).await;
    let mut callback = location(&authorize).expect("callback");
    callback
        .query_pairs_mut()
        .append_pair("iss", "https://attacker.example");
    let response = browser.get(callback).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(!browser.has_session(&app));
}
