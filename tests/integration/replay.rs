//! Single-use values kept in the shared session store: a login's `state` and a logout
//! token's `jti`, used on one instance, are refused on another instance sharing the store,
//! as they would be after a restart.

use reqwest::StatusCode;
use tower_oidc::testing::{MockProvider, MockUser};

use crate::backends::{on_each, Backend};
use crate::harness::{location, set_cookies, Browser, TestApp};
use crate::stores::{logout_token, nonce, post_logout_token};

/// Two instances of the app keeping sessions in `backend`.
async fn two_instances(provider: &MockProvider, backend: &Backend) -> (TestApp, TestApp) {
    let a = TestApp::start_with(provider, |c| backend.configure(c)).await;
    let b = TestApp::start_with(provider, |c| backend.configure(c)).await;
    assert_ne!(a.url, b.url);
    (a, b)
}

async fn replayed_state(backend: Backend) {
    let name = backend.name();
    let provider = MockProvider::start().await.expect("provider");
    let (a, b) = two_instances(&provider, &backend).await;

    // A login completed on A.
    let browser = Browser::default();
    let start = browser.get(a.at("/login")).await;
    let login_cookies = set_cookies(&start);
    let authorize = browser.get(location(&start).expect("authorize")).await;
    let callback = location(&authorize).expect("callback");
    assert_eq!(
        browser.get(callback.clone()).await.status(),
        StatusCode::FOUND
    );
    assert!(browser.has_session(&a), "{name}: signed in on A");
    let redeemed = provider.stats().token_code;

    // The same callback, with the same login cookie, on B.
    let replayer = Browser::default();
    for cookie in &login_cookies {
        replayer.jar.add_cookie_str(cookie, &b.url);
    }
    let mut on_b = callback;
    on_b.set_port(b.url.port()).expect("port");
    let replay = replayer.get(on_b).await;
    assert_eq!(replay.status(), StatusCode::BAD_REQUEST, "{name}");
    let page = replay.text().await.expect("body");
    assert!(page.contains("completed already"), "{name}: {page}");
    assert_eq!(
        provider.stats().token_code,
        redeemed,
        "{name}: the replay is refused before the code is redeemed again"
    );
    assert_eq!(provider.stats().code_replays, 0, "{name}");
    assert!(!replayer.has_session(&b), "{name}: no session on B");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replayed_state_fails_on_another_instance() {
    on_each(Backend::shared(), replayed_state).await;
}

async fn replayed_logout_token(backend: Backend) {
    let name = backend.name();
    let provider = MockProvider::start().await.expect("provider");
    let user = format!("bcl-{}", nonce());
    provider.set_user(MockUser::new(user.clone()));
    let (a, b) = two_instances(&provider, &backend).await;
    let token = logout_token(&provider, &user);
    assert_eq!(
        post_logout_token(&a, &token).await,
        StatusCode::OK,
        "{name}"
    );
    assert_eq!(
        post_logout_token(&b, &token).await,
        StatusCode::BAD_REQUEST,
        "{name}: replayed on another instance"
    );
    assert_eq!(
        post_logout_token(&a, &token).await,
        StatusCode::BAD_REQUEST,
        "{name}: replayed on the same instance"
    );
    // A new instance, as after a restart.
    let restarted = TestApp::start_with(&provider, |c| backend.configure(c)).await;
    assert_eq!(
        post_logout_token(&restarted, &token).await,
        StatusCode::BAD_REQUEST,
        "{name}: replayed after a restart"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replayed_logout_token_fails_on_another_instance() {
    on_each(Backend::shared(), replayed_logout_token).await;
}
