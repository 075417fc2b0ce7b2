//! Secrets never reach logs or `Debug` output: a full login, refresh, bearer call and logout
//! with every tower-oidc log line captured at TRACE level.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::routing::get;
use reqwest::StatusCode;
use tower_oidc::testing::MockProvider;
use tower_oidc::Identity;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::fmt::format::FmtSpan;
use tracing_subscriber::layer::SubscriberExt;

use crate::harness::{base_config, location, Browser, TestApp};

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("lock").extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().expect("lock")).into_owned()
    }
}

const SECRET_KEY: &str = "integration-test-key-0123456789abcdef";

// The subscriber is the process-wide default: a thread-local one loses events whose
// callsites other tests, running in parallel without it, registered first. Other tests' log
// lines then land here too; they must not hold these secrets either.
#[tokio::test]
async fn no_secret_in_logs_or_debug_output() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::registry()
        .with(Targets::new().with_target("tower_oidc", tracing::Level::TRACE))
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(move || writer.clone())
                .with_span_events(FmtSpan::FULL)
                .with_ansi(false),
        );
    tracing::subscriber::set_global_default(subscriber).expect("the only global subscriber");

    let provider = MockProvider::start().await.expect("provider");
    provider.set_access_token_ttl(Duration::from_secs(30));
    let config = base_config(&provider)
        .leeway(Duration::from_secs(60))
        .api_keys(true)
        .build()
        .expect("config");
    let mut debug_output = format!("{config:?}");
    let app = TestApp::serve_router(config, |routes| {
        routes.route(
            "/debug",
            get(|id: Identity| async move { format!("{id:?}") }),
        )
    })
    .await;
    debug_output.push_str(&format!("{:?}", app.layer));

    // Login, keeping the code and state the browser carried.
    let browser = Browser::default();
    let start = browser.get(app.at("/login?next=/me")).await;
    let authorize = browser.get(location(&start).expect("authorize")).await;
    let callback = location(&authorize).expect("callback");
    let code = callback
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .expect("code");
    let (landed, _) = browser.follow(callback).await;
    assert_eq!(landed.status(), StatusCode::OK);
    let session_cookies = browser.cookies(&app.url);

    // The access token is short-lived: this request refreshes it.
    let me: serde_json::Value = browser.api(app.at("/me")).await.json().await.expect("json");
    let access_token = me["access_token"].as_str().expect("token").to_owned();
    assert!(provider.stats().token_refresh >= 1);
    debug_output.push_str(
        &browser
            .api(app.at("/debug"))
            .await
            .text()
            .await
            .expect("body"),
    );

    // A bearer call, a bad bearer call, then logout.
    let bearer = provider.mint_access_token("svc", serde_json::json!({}));
    let client = reqwest::Client::new();
    for token in [bearer.as_str(), "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0."] {
        let _ = client
            .get(app.at("/api/data"))
            .bearer_auth(token)
            .send()
            .await;
    }

    // A personal API key: made, used (its identity's Debug too), listed, refused, revoked.
    let origin = app.url.as_str().trim_end_matches('/').to_owned();
    let made: serde_json::Value = browser
        .client
        .post(app.at("/api-keys"))
        .header("origin", &origin)
        .json(&serde_json::json!({"name": "logged"}))
        .send()
        .await
        .expect("key made")
        .json()
        .await
        .expect("json");
    let api_key = made["key"].as_str().expect("key").to_owned();
    let key_id = made["id"].as_str().expect("id").to_owned();
    let with_key = client
        .get(app.at("/debug"))
        .bearer_auth(&api_key)
        .send()
        .await;
    debug_output.push_str(&with_key.expect("debug").text().await.expect("body"));
    let mut wrong = api_key.clone();
    wrong.pop();
    wrong.push(if api_key.ends_with('A') { 'B' } else { 'A' });
    let _ = client
        .get(app.at("/api/data"))
        .bearer_auth(&wrong)
        .send()
        .await;
    let _ = browser.api(app.at("/api-keys")).await;
    let revoked = browser
        .client
        .delete(app.at(&format!("/api-keys/{key_id}")))
        .header("origin", &origin)
        .send()
        .await
        .expect("revoked");
    assert_eq!(revoked.status(), StatusCode::NO_CONTENT);
    let _ = client
        .get(app.at("/api/data"))
        .bearer_auth(&api_key)
        .send()
        .await;

    let logout = browser.get(app.at("/logout")).await;
    assert_eq!(logout.status(), StatusCode::FOUND);
    let end_session_url = location(&logout).expect("end session").to_string();

    let logs = captured.text();
    assert!(
        logs.contains("oidc.callback") && logs.contains("user_id=alice"),
        "spans recorded: {logs}"
    );
    assert!(
        logs.contains("oidc.refresh") && logs.contains("oidc.bearer"),
        "{logs}"
    );
    assert!(
        logs.contains("API key made") && logs.contains(&key_id),
        "{logs}"
    );
    assert!(
        debug_output.contains(&format!("api_key_id: Some(\"{key_id}\")")),
        "{debug_output}"
    );
    let haystack = format!("{logs}\n{debug_output}");
    let id_token_hint = url::Url::parse(&end_session_url)
        .expect("url")
        .query_pairs()
        .find(|(k, _)| k == "id_token_hint")
        .map(|(_, v)| v.into_owned())
        .expect("id token");
    let mut secrets = vec![
        ("client secret", provider.client_secret().to_owned()),
        ("cookie key", SECRET_KEY.to_owned()),
        ("authorization code", code),
        ("access token", access_token),
        ("bearer token", bearer),
        ("id token", id_token_hint),
        ("API key", api_key.clone()),
        (
            "API key secret",
            // `toidc_<id>_<secret>`, where the secret's alphabet has `_` too.
            api_key.splitn(3, '_').nth(2).expect("secret").to_owned(),
        ),
        ("refused API key", wrong),
    ];
    for cookie in session_cookies.split("; ") {
        if let Some((name, value)) = cookie.split_once('=') {
            if value.len() > 16 {
                secrets.push(("cookie value", format!("{name}={value}")));
                secrets.push(("cookie value", value[..32.min(value.len())].to_owned()));
            }
        }
    }
    for (what, secret) in &secrets {
        assert!(!haystack.contains(secret.as_str()), "{what} leaked");
    }
    // No JSON Web Token of any kind: they all start with a base64url `{"`.
    assert!(!haystack.contains("eyJ"), "a JWT leaked");
}
