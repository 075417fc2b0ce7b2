//! The health report at `/health/oidc`: `503` naming the failing part while the provider
//! is down, `200` once it is up; on axum and actix.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::Value;
use tower_oidc::store::{SessionData, SessionStore, StoreError};
use tower_oidc::testing::MockProvider;

use crate::harness::{Browser, Framework, TestApp};

both!(
    health_names_the_provider_while_it_is_down_and_recovers,
    health_reports_a_store_that_does_not_answer,
);

async fn report(browser: &Browser, app: &TestApp) -> (StatusCode, Value) {
    let response = browser.api(app.at("/health/oidc")).await;
    let status = response.status();
    assert_eq!(response.headers()["content-type"], "application/json");
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body = response.text().await.expect("body");
    (status, serde_json::from_str(&body).expect("json"))
}

async fn health_names_the_provider_while_it_is_down_and_recovers(framework: Framework) {
    let provider = MockProvider::start().await.expect("provider");
    provider.set_available(false);
    let app = TestApp::start_on(framework, &provider, |c| {
        c.whitelist(["/health/oidc"]).memory_sessions()
    })
    .await;
    let browser = Browser::default();

    let (status, down) = report(&browser, &app).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{down}");
    assert_eq!(down["status"], "unavailable");
    assert_eq!(down["ready"], false);
    let failing: Vec<&str> = down["failing"]
        .as_array()
        .expect("failing")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(failing.contains(&"provider.discovery"), "{down}");
    assert!(!failing.contains(&"store"), "{down}");
    assert_eq!(down["provider"]["discovery"]["loaded"], false);
    assert_eq!(down["provider"]["discovery"]["last_error"], "bad_status");
    assert!(
        down["provider"]["discovery"]["last_failure"].is_u64(),
        "{down}"
    );
    assert_eq!(down["provider"]["keys"]["count"], 0);
    assert_eq!(down["store"]["reachable"], true);
    // Times, counts and kinds: never where the provider is or what it said.
    let text = down.to_string();
    assert!(!text.contains(&provider.issuer()), "{text}");
    assert!(!text.contains("temporarily_unavailable"), "{text}");

    provider.set_available(true);
    let deadline = Instant::now() + Duration::from_secs(15);
    let up = loop {
        let (status, up) = report(&browser, &app).await;
        if status == StatusCode::OK {
            break up;
        }
        assert!(Instant::now() < deadline, "health never recovered: {up}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    assert_eq!(up["status"], "ok");
    assert_eq!(up["ready"], true);
    assert_eq!(up["failing"], serde_json::json!([]));
    assert_eq!(up["provider"]["discovery"]["loaded"], true);
    assert_eq!(up["provider"]["discovery"]["last_error"], Value::Null);
    assert!(up["provider"]["discovery"]["last_success"].is_u64(), "{up}");
    assert!(up["provider"]["keys"]["count"].as_u64() >= Some(1), "{up}");
    assert_eq!(up["store"]["backend"], "server");
    // The report answers what `ready()` waits for.
    assert!(app.layer.ready(Duration::from_secs(1)).await.is_ok());
}

async fn health_reports_a_store_that_does_not_answer(framework: Framework) {
    let provider = MockProvider::start().await.expect("provider");
    let app = TestApp::start_on(framework, &provider, |c| {
        c.whitelist(["/health/oidc"]).session_store(Unreachable)
    })
    .await;
    let browser = Browser::default();
    let (status, report) = report(&browser, &app).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{report}");
    assert_eq!(report["failing"], serde_json::json!(["store"]));
    assert_eq!(report["ready"], true);
    assert_eq!(report["store"]["reachable"], false);
    assert_eq!(report["store"]["error"], "unavailable");
}

/// A store whose server is down.
struct Unreachable;

fn refused() -> StoreError {
    StoreError::unavailable(std::io::Error::from(std::io::ErrorKind::ConnectionRefused))
}

impl SessionStore for Unreachable {
    async fn load(&self, _id: &str) -> Result<Option<SessionData>, StoreError> {
        Err(refused())
    }

    async fn save(
        &self,
        _id: &str,
        _session: &SessionData,
        _ttl: Duration,
    ) -> Result<(), StoreError> {
        Err(refused())
    }

    async fn delete(&self, _id: &str) -> Result<(), StoreError> {
        Err(refused())
    }
}
