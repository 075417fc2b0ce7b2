//! The example apps with `OIDC_PROVIDERS`: two mock providers, configured from the
//! environment alone, each signing a user in (plain HTTP, no browser needed).

use reqwest::StatusCode;
use serde_json::Value;
use tower_oidc::testing::MockProvider;
use url::Url;

use crate::app::{ExampleApp, Framework};

async fn free_port() -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    listener.local_addr().expect("addr").port()
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .build()
        .expect("client")
}

/// Follows redirects from `url` (the mock approves at once) to the last answer.
async fn follow(client: &reqwest::Client, mut url: Url) -> reqwest::Response {
    for _ in 0..10 {
        let response = client
            .get(url.clone())
            .header("accept", "application/json")
            .send()
            .await
            .expect("request");
        let Some(next) = response
            .headers()
            .get("location")
            .and_then(|value| value.to_str().ok())
            .and_then(|location| url.join(location).ok())
        else {
            return response;
        };
        url = next;
    }
    panic!("too many redirects");
}

async fn two_providers_from_the_environment(framework: Framework) {
    let alpha = MockProvider::start().await.expect("provider");
    let beta = MockProvider::start().await.expect("provider");
    let port = free_port().await;
    let mut env: Vec<(String, String)> = vec![
        ("OIDC_PROVIDERS".into(), "alpha,beta".into()),
        (
            "OIDC_SECRET_KEY".into(),
            "example-test-cookie-key-0123456789abcdef".into(),
        ),
        ("OIDC_COOKIE_SECURE".into(), "false".into()),
        ("OIDC_WHITELISTED_ENDPOINTS".into(), "health".into()),
    ];
    for (name, mock) in [("ALPHA", &alpha), ("BETA", &beta)] {
        env.push((format!("OIDC_{name}_ISSUER"), mock.issuer()));
        env.push((
            format!("OIDC_{name}_CLIENT_ID"),
            mock.client_id().to_owned(),
        ));
        env.push((
            format!("OIDC_{name}_CLIENT_SECRET"),
            mock.client_secret().to_owned(),
        ));
        env.push((
            format!("OIDC_{name}_REDIRECT_URI"),
            format!("/auth/{}", name.to_ascii_lowercase()),
        ));
    }
    let app = ExampleApp::start(framework, port, &env).await;

    let chooser = client()
        .get(app.at("/login"))
        .header("accept", "application/json")
        .send()
        .await
        .expect("chooser");
    assert_eq!(chooser.status(), StatusCode::OK, "{}", app.log());
    let listed: Value = chooser.json().await.expect("json");
    assert_eq!(listed["providers"][1]["login_url"], "/login/beta");

    for (name, mock) in [("alpha", &alpha), ("beta", &beta)] {
        let client = client();
        let landed = follow(&client, app.at(&format!("/login/{name}?next=/me"))).await;
        assert_eq!(landed.status(), StatusCode::OK, "{name}: {}", app.log());
        let me: Value = landed.json().await.expect("json");
        assert_eq!(me["user_id"], format!("{name}:alice"));
        assert_eq!(me["provider"], name);
        assert_eq!(me["claims"]["iss"], mock.issuer());
    }
}

#[tokio::test]
async fn axum_example_with_two_providers() {
    two_providers_from_the_environment(Framework::Axum).await;
}

#[tokio::test]
async fn actix_example_with_two_providers() {
    two_providers_from_the_environment(Framework::Actix).await;
}
