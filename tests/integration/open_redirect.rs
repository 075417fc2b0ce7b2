//! `next` can only ever land on the app's own origin.

use reqwest::StatusCode;
use tower_oidc::testing::MockProvider;

use crate::harness::{Browser, TestApp};

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
