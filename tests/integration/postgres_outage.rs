//! A PostgreSQL outage: while the database is down, requests that need a session answer
//! `503` quickly and keep the cookie (never `500`, never a user silently signed out), and
//! once it is back the same session works again, without restarting the app.
//!
//! The database is one of its own, which `.ci/services.sh` prepares stopped and this test
//! starts and stops through the script `TOWER_OIDC_TEST_POSTGRES_OUTAGE_CTL`
//! (`start`, or `stop` like a crash), at `TOWER_OIDC_TEST_POSTGRES_OUTAGE_URL`. When unset
//! the test says so on stderr and passes, except with `CI=true`, where it fails.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use tower_oidc::store::SqlStore;
use tower_oidc::testing::MockProvider;

use crate::harness::{assert_status, Browser, TestApp};
use crate::stores::{service_url, wait_for};

/// Runs the control script with `action` (`start` or `stop`).
async fn control(ctl: &str, action: &'static str) {
    let ctl = ctl.to_owned();
    let status = tokio::task::spawn_blocking(move || {
        std::process::Command::new(&ctl)
            .arg(action)
            .status()
            .expect("the control script runs")
    })
    .await
    .expect("join");
    assert!(status.success(), "postgres {action}: {status}");
}

/// Stops the database when the test ends, whatever happened.
struct StopOnDrop(String);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        let _ = std::process::Command::new(&self.0)
            .arg("stop")
            .stderr(std::process::Stdio::null())
            .status();
    }
}

/// Three `/api/data` requests with the session: each `503` within seconds, naming the
/// store, with no `Set-Cookie` (the session is kept for when the database is back).
async fn answers_503_and_keeps_the_session(browser: &Browser, app: &TestApp) {
    for _ in 0..3 {
        let started = Instant::now();
        let response = browser.api(app.at("/api/data")).await;
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(
            response.headers().get("set-cookie").is_none(),
            "the cookie is kept"
        );
        let body = response.text().await.expect("body");
        assert!(body.contains("session_store_unavailable"), "{body}");
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{:?}",
            started.elapsed()
        );
    }
    assert!(browser.has_session(app), "a store outage keeps the cookie");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_outage_answers_503_then_recovers() {
    let Some(url) = service_url("TOWER_OIDC_TEST_POSTGRES_OUTAGE_URL", "postgres outage") else {
        return;
    };
    let Some(ctl) = service_url("TOWER_OIDC_TEST_POSTGRES_OUTAGE_CTL", "postgres outage") else {
        return;
    };
    let _stop = StopOnDrop(ctl.clone());

    // The app starts while PostgreSQL is down: public pages work, logins answer 503.
    let provider = MockProvider::start().await.expect("provider");
    let app = TestApp::start_with(&provider, |c| {
        c.session_store(SqlStore::new(&url).expect("url"))
    })
    .await;
    let browser = Browser::default();
    assert_status(browser.get(app.at("/health")).await, StatusCode::OK).await;
    let started = Instant::now();
    assert_eq!(
        browser.login(&app).await.status(),
        StatusCode::SERVICE_UNAVAILABLE
    );
    assert!(started.elapsed() < Duration::from_secs(15));

    // PostgreSQL comes up: logins work, without restarting the app.
    control(&ctl, "start").await;
    wait_for("login once postgres is up", || async {
        browser.login(&app).await.status() == StatusCode::OK
    })
    .await;
    assert_status(browser.api(app.at("/api/data")).await, StatusCode::OK).await;

    // PostgreSQL crashes: requests with a session answer 503; public pages still work.
    control(&ctl, "stop").await;
    answers_503_and_keeps_the_session(&browser, &app).await;
    assert_status(browser.get(app.at("/health")).await, StatusCode::OK).await;

    // PostgreSQL is back with its data: the same session works again.
    control(&ctl, "start").await;
    wait_for("the session once postgres is back", || async {
        browser.api(app.at("/api/data")).await.status() == StatusCode::OK
    })
    .await;
    assert_status(browser.api(app.at("/me")).await, StatusCode::OK).await;
}
