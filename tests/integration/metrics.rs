//! The metrics, scraped through a real Prometheus recorder after a login, a refresh and
//! a bad token. The recorder is global to this test binary, so other tests add to the
//! same series meanwhile: each check is on the growth of a series, never an exact total.

use std::sync::OnceLock;
use std::time::Duration;

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use reqwest::StatusCode;
use tower_oidc::testing::MockProvider;

use crate::harness::{Browser, TestApp};

fn recorder() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        PrometheusBuilder::new()
            .install_recorder()
            .expect("the only recorder of this binary")
    })
}

/// The value of the series `name` whose labels include every one of `labels`, summed
/// over the series that match; 0 when there is none.
fn value(scrape: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    scrape
        .lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| {
            let (series, value) = line.rsplit_once(' ')?;
            let (series_name, series_labels) = match series.split_once('{') {
                Some((series_name, rest)) => (series_name, rest.trim_end_matches('}')),
                None => (series, ""),
            };
            let matches = series_name == name
                && labels.iter().all(|(label, wanted)| {
                    series_labels
                        .split(',')
                        .any(|pair| pair == format!("{label}=\"{wanted}\""))
                });
            matches.then(|| value.parse::<f64>().ok()).flatten()
        })
        .sum()
}

/// Every series this test makes grow, with its labels.
const SERIES: &[(&str, &[(&str, &str)])] = &[
    ("tower_oidc_logins_started_total", &[]),
    ("tower_oidc_logins_completed_total", &[]),
    ("tower_oidc_callback_duration_seconds_count", &[]),
    ("tower_oidc_refreshes_total", &[("outcome", "refreshed")]),
    (
        "tower_oidc_bearer_rejected_total",
        &[("reason", "invalid_token")],
    ),
    (
        "tower_oidc_bearer_rejected_total",
        &[("reason", "malformed")],
    ),
    (
        "tower_oidc_logins_failed_total",
        &[("reason", "invalid_state")],
    ),
    (
        "tower_oidc_store_duration_seconds_count",
        &[("operation", "save")],
    ),
    (
        "tower_oidc_provider_fetches_total",
        &[("document", "discovery"), ("outcome", "ok")],
    ),
    (
        "tower_oidc_provider_fetches_total",
        &[("document", "jwks"), ("outcome", "ok")],
    ),
];

#[tokio::test]
async fn a_login_a_refresh_and_bad_tokens_are_counted() {
    let handle = recorder();
    let before = handle.render();

    let provider = MockProvider::start().await.expect("provider");
    // Access tokens shorter than the leeway are refreshed at the next request.
    provider.set_access_token_ttl(Duration::from_secs(30));
    let app = TestApp::start_with(&provider, |c| {
        c.leeway(Duration::from_secs(60)).memory_sessions()
    })
    .await;
    let browser = Browser::default();
    assert_eq!(browser.login(&app).await.status(), StatusCode::OK);
    let refreshes = provider.stats().token_refresh;
    assert_eq!(
        browser.api(app.at("/api/data")).await.status(),
        StatusCode::OK
    );
    assert_eq!(provider.stats().token_refresh, refreshes + 1);

    let bearer = |value: &'static str| {
        browser
            .client
            .get(app.at("/api/data"))
            .header("accept", "application/json")
            .header("authorization", value)
            .send()
    };
    let forged = bearer("Bearer eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl");
    assert_eq!(
        forged.await.expect("request").status(),
        StatusCode::UNAUTHORIZED
    );
    let malformed = bearer("Bearer {}");
    assert_eq!(
        malformed.await.expect("request").status(),
        StatusCode::UNAUTHORIZED
    );
    let stale = browser.get(app.at("/auth?state=unknown&code=x")).await;
    assert_eq!(stale.status(), StatusCode::BAD_REQUEST);

    let after = handle.render();
    for (name, labels) in SERIES {
        let grown = value(&after, name, labels) - value(&before, name, labels);
        assert!(grown >= 1.0, "{name} {labels:?} did not grow:\n{after}");
    }
    assert!(
        after.contains("tower_oidc_callback_duration_seconds{quantile="),
        "{after}"
    );
    // Bounded labels: no user, token, path or provider address ever becomes one.
    for leak in ["alice", "eyJ", "/api/data", "127.0.0.1", "unknown"] {
        let leaked = after
            .lines()
            .filter(|line| line.starts_with("tower_oidc_"))
            .find(|line| line.contains(leak));
        assert!(leaked.is_none(), "{leak} in {leaked:?}");
    }
}
