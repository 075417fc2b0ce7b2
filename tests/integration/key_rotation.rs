//! Rotating the cookie key: cookies sealed with a previous key still open, and a session
//! cookie comes back sealed with the current key, the session unchanged; an instance that
//! no longer knows the previous key refuses them.

use reqwest::StatusCode;
use tower_oidc::testing::MockProvider;

use crate::backends::{on_each, Backend};
use crate::harness::{set_cookies, Browser, Framework, TestApp};

const K1: &str = "the first cookie key, 32 bytes or more";
const K2: &str = "the second cookie key, 32 bytes or more";

/// The session cookies a response sets (not the removals).
fn session_cookies(response: &reqwest::Response) -> Vec<String> {
    set_cookies(response)
        .into_iter()
        .filter(|cookie| cookie.starts_with("tower_oidc.") && !cookie.contains("Max-Age=0"))
        .collect()
}

/// `/me` with exactly the cookies `cookies` (a `Cookie` header value).
async fn me_with(app: &TestApp, cookies: &str) -> reqwest::Response {
    get_with(app, "/me", cookies).await
}

async fn get_with(app: &TestApp, path: &str, cookies: &str) -> reqwest::Response {
    Browser::default()
        .client
        .get(app.at(path))
        .header("accept", "application/json")
        .header("cookie", cookies)
        .send()
        .await
        .expect("request")
}

async fn me(response: reqwest::Response) -> serde_json::Value {
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.expect("json")
}

async fn cookies_sealed_with_a_previous_key_still_open_and_are_resealed(framework: Framework) {
    let provider = MockProvider::start().await.expect("provider");
    let before = TestApp::start_on(framework, &provider, |c| c.secret_key(K1)).await;
    let browser = Browser::default();
    browser.login(&before).await;
    assert!(browser.has_session(&before));
    let old_cookies = browser.cookies(&before.url);
    let original = me(browser.api(before.at("/me")).await).await;

    // The same application after the rotation: K2 seals, K1 still opens.
    let rotated = TestApp::start_on(framework, &provider, |c| c.secret_keys([K2, K1])).await;
    let response = browser.api(rotated.at("/me")).await;
    let resealed = session_cookies(&response);
    assert!(!resealed.is_empty(), "the old cookie is sealed again");
    assert_eq!(me(response).await, original, "the session is unchanged");
    let new_cookies = browser.cookies(&rotated.url);
    assert_ne!(new_cookies, old_cookies);

    // Once sealed with the current key, the cookie is left alone.
    let again = browser.api(rotated.at("/me")).await;
    assert!(
        session_cookies(&again).is_empty(),
        "{:?}",
        set_cookies(&again)
    );
    assert_eq!(me(again).await, original);
    // Whitelisted routes see the session and reseal an old cookie too.
    let health = get_with(&rotated, "/health", &old_cookies).await;
    assert!(!session_cookies(&health).is_empty());
    let body = health.text().await.expect("body");
    assert_eq!(
        body,
        format!("ok {}", original["user_id"].as_str().expect("id"))
    );

    // Without K1, only the resealed cookie opens.
    let k2_only = TestApp::start_on(framework, &provider, |c| c.secret_key(K2)).await;
    assert_eq!(me(me_with(&k2_only, &new_cookies).await).await, original);
    assert_eq!(
        me_with(&k2_only, &old_cookies).await.status(),
        StatusCode::UNAUTHORIZED
    );
    // And the instance that only knows K1 cannot open what K2 sealed.
    assert_eq!(
        me_with(&before, &new_cookies).await.status(),
        StatusCode::UNAUTHORIZED
    );
}

both!(cookies_sealed_with_a_previous_key_still_open_and_are_resealed);

async fn rotation_across_instances(backend: Backend) {
    let name = backend.name();
    let provider = MockProvider::start().await.expect("provider");
    let a = TestApp::start_with(&provider, |c| backend.configure(c).secret_key(K1)).await;
    let b = TestApp::start_with(&provider, |c| backend.configure(c).secret_keys([K2, K1])).await;
    let k2_only = TestApp::start_with(&provider, |c| backend.configure(c).secret_key(K2)).await;

    let browser = Browser::default();
    browser.login(&a).await;
    assert!(browser.has_session(&a), "{name}: signed in on A");
    let from_a = browser.cookies(&a.url);
    let original = me(browser.api(a.at("/me")).await).await;

    assert_eq!(
        me_with(&k2_only, &from_a).await.status(),
        StatusCode::UNAUTHORIZED,
        "{name}: an instance without K1 refuses A's cookie"
    );
    let on_b = me_with(&b, &from_a).await;
    let resealed = session_cookies(&on_b);
    assert!(!resealed.is_empty(), "{name}: B reseals A's cookie");
    assert_eq!(me(on_b).await, original, "{name}: the same session on B");

    let resealed: Vec<&str> = resealed
        .iter()
        .filter_map(|cookie| cookie.split(';').next())
        .collect();
    let resealed = resealed.join("; ");
    assert_eq!(
        me(me_with(&k2_only, &resealed).await).await,
        original,
        "{name}: the resealed cookie opens with K2 alone"
    );
    let again = me_with(&b, &resealed).await;
    assert!(
        session_cookies(&again).is_empty(),
        "{name}: not resealed twice"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_from_an_instance_with_the_old_key_works_and_is_resealed_on_one_with_the_new() {
    let mut backends = vec![Backend::Cookie];
    backends.extend(Backend::shared());
    on_each(backends, rotation_across_instances).await;
}
