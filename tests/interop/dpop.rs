//! DPoP (RFC 9449) against oidc-provider: a login whose tokens are bound to a key of the
//! session, userinfo and refresh with proofs, and a call from the frontend to an API layer
//! that takes DPoP-bound tokens only (checked by introspection, as oidc-provider's access
//! tokens are opaque).

use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::Json;
use serde_json::{json, Value};
use tower_oidc::{Config, DpopMode, Identity, OidcLayer};
use url::Url;

use crate::browser::Browser;
use crate::harness::{routes, Setup, TestApp, SIGNED_OUT_PATH, TEST_TIMEOUT};
use crate::provider::{OidcProvider, ProviderOptions, CLIENT_ID, CLIENT_SECRET};

/// The API: bearer-only, DPoP required, opaque tokens introspected at the provider.
async fn api(provider: &OidcProvider) -> (Url, tokio::task::JoinHandle<()>) {
    let config = Config::builder()
        .issuer(provider.issuer())
        .client_id(CLIENT_ID)
        .client_secret(CLIENT_SECRET)
        .secret_key("interop-api-cookie-key-0123456789abcdef")
        .bearer_only(true)
        .introspect_opaque_tokens(true)
        .dpop(DpopMode::Required)
        .http_timeout(Duration::from_secs(5))
        .build()
        .expect("api config");
    let layer = OidcLayer::new(config);
    let app = axum::Router::new()
        .route(
            "/orders",
            get(|id: Identity| async move {
                Json(json!({ "user_id": id.user_id(), "bound": id.claim("cnf").is_some() }))
            }),
        )
        .layer(layer.clone());
    let (listener, url) = TestApp::bind().await;
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    layer
        .ready(Duration::from_secs(10))
        .await
        .expect("the API loads the discovery document");
    (url, server)
}

/// `/call-api` of the frontend: calls the API with the session's bound token and a proof;
/// `/call-api-as-bearer` tries the same token as a plain bearer token.
async fn call_api(
    State((client, api_url)): State<(reqwest::Client, Url)>,
    identity: Identity,
    as_bearer: bool,
) -> Result<Json<Value>, (StatusCode, String)> {
    let url = api_url.join("orders").expect("url");
    let request = if as_bearer {
        let token = identity.access_token().unwrap_or_default().to_owned();
        client.get(url).bearer_auth(token)
    } else {
        let headers = identity.dpop_headers("GET", url.as_str()).ok_or((
            StatusCode::CONFLICT,
            "the session's tokens are not bound".to_owned(),
        ))?;
        client.get(url).headers(headers)
    };
    let response = request
        .send()
        .await
        .map_err(|err| (StatusCode::BAD_GATEWAY, err.to_string()))?;
    let status = response.status();
    let challenge = response
        .headers()
        .get("www-authenticate")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    Ok(Json(
        json!({ "status": status.as_u16(), "challenge": challenge, "body": body }),
    ))
}

struct Env {
    provider: OidcProvider,
    frontend: Url,
    browser: Browser,
    _servers: [tokio::task::JoinHandle<()>; 2],
}

async fn start(dpop: &'static str) -> Env {
    let (listener, frontend) = TestApp::bind().await;
    let provider = OidcProvider::start(&ProviderOptions {
        redirect_uris: vec![format!("{frontend}auth")],
        post_logout_redirect_uris: vec![frontend.join(SIGNED_OUT_PATH).expect("url").to_string()],
        access_token_ttl: Duration::from_secs(3),
        dpop,
        ..ProviderOptions::default()
    })
    .await;
    let (api_url, api_server) = api(&provider).await;
    let setup = Setup {
        access_token_ttl: Duration::from_secs(3),
        config: |config| config.dpop_bind_tokens(true).leeway(Duration::from_secs(1)),
    };
    let layer = OidcLayer::new(crate::harness::Interop::config(
        &provider, &frontend, &setup,
    ));
    let calls = axum::Router::new()
        .route(
            "/call-api",
            get(|state, identity| call_api(state, identity, false)),
        )
        .route(
            "/call-api-as-bearer",
            get(|state, identity| call_api(state, identity, true)),
        )
        .with_state((reqwest::Client::new(), api_url));
    let app = routes().merge(calls).layer(layer.clone());
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    layer
        .ready(Duration::from_secs(10))
        .await
        .expect("the frontend loads the discovery document");
    Env {
        provider,
        frontend,
        browser: Browser::default(),
        _servers: [api_server, server],
    }
}

async fn json_at(env: &Env, path: &str) -> Value {
    let response = env.browser.api(env.frontend.join(path).expect("url")).await;
    let status = response.status();
    let body = response.text().await.unwrap_or_default();
    assert_eq!(status, StatusCode::OK, "{path}: {body}");
    serde_json::from_str(&body).expect("json")
}

async fn bound_login_refresh_and_api_call(dpop: &'static str) {
    if !crate::harness::can_run() {
        return;
    }
    let run = async {
        let env = start(dpop).await;
        let page = env
            .browser
            .drive(env.frontend.clone(), &env.provider.origin(), "dana", |_| {
                false
            })
            .await
            .done();
        assert_eq!(page.status(), StatusCode::OK);
        let me = json_at(&env, "/me").await;
        // Userinfo takes the bound token only with a proof: its claims are there.
        assert_eq!(me["claims"]["email"], "dana@example.com", "{me}");

        let call = json_at(&env, "/call-api").await;
        assert_eq!(call["status"], 200, "{call}");
        assert_eq!(call["body"]["user_id"], "dana");
        assert_eq!(call["body"]["bound"], true);
        let stolen = json_at(&env, "/call-api-as-bearer").await;
        assert_eq!(stolen["status"], 401, "{stolen}");
        assert!(
            stolen["challenge"]
                .as_str()
                .unwrap_or_default()
                .starts_with("DPoP"),
            "{stolen}"
        );

        let first = me["access_token"].clone();
        let before = env.provider.grants("refresh_token").await;
        tokio::time::sleep(Duration::from_millis(3100)).await;
        let second = json_at(&env, "/me").await["access_token"].clone();
        assert_ne!(first, second, "the access token was renewed with a proof");
        assert_eq!(env.provider.grants("refresh_token").await, before + 1);
        let call = json_at(&env, "/call-api").await;
        assert_eq!(
            call["status"], 200,
            "the renewed token is bound to the same key: {call}"
        );
    };
    if tokio::time::timeout(TEST_TIMEOUT, run).await.is_err() {
        panic!("interop test did not finish within {TEST_TIMEOUT:?}");
    }
}

#[tokio::test]
async fn login_refresh_and_an_api_call_with_dpop_bound_tokens() {
    bound_login_refresh_and_api_call("1").await;
}

#[tokio::test]
async fn the_same_when_the_provider_requires_dpop_nonces() {
    bound_login_refresh_and_api_call("nonce").await;
}
