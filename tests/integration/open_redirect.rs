//! `next` can only ever land on the app's own origin.

use reqwest::StatusCode;
use tower_oidc::testing::MockProvider;

use crate::harness::{Browser, TestApp};

#[tokio::test]
async fn open_redirect_attempts_land_on_the_app() {
    let provider = MockProvider::start().await.expect("provider");
    let app = TestApp::start(&provider).await;
    for attack in [
        "https://evil.example/",
        "//evil.example/",
        "/\\evil.example/",
        "\\\\evil.example",
        "%2F%2Fevil.example",
        "/%2F%2Fevil.example",
        "%5C%5Cevil.example",
        "/%5Cevil.example",
        "/%09/evil.example",
        "%20//evil.example",
        "/.//evil.example",
        "https:evil.example",
        "javascript:alert(1)",
        "///evil.example",
        "/ /evil.example",
    ] {
        let browser = Browser::default();
        let (_, visited) = browser
            .follow(app.at(&format!("/login?next={attack}")))
            .await;
        let landing = visited.last().expect("landed somewhere");
        assert_eq!(
            landing.host_str(),
            Some("127.0.0.1"),
            "{attack} -> {landing}"
        );
        assert_eq!(landing.port(), app.url.port(), "{attack} -> {landing}");
        assert!(browser.has_session(&app), "{attack}: login completed");
    }
}

#[tokio::test]
async fn a_safe_next_is_kept() {
    let provider = MockProvider::start().await.expect("provider");
    let app = TestApp::start(&provider).await;
    let browser = Browser::default();
    let (landed, visited) = browser
        .follow(app.at("/login?next=/api/data%3Fx%3D1"))
        .await;
    assert_eq!(landed.status(), StatusCode::OK);
    let last = visited.last().expect("landing");
    assert_eq!(last.path(), "/api/data");
    assert_eq!(last.query(), Some("x=1"));
}
