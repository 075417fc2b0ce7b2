//! DPoP (RFC 9449) on axum and actix-web: the resource server's modes, and the browser
//! login binding its tokens to a key of the session, against the mock provider.

use std::time::Duration;

use base64::Engine as _;
use reqwest::StatusCode;
use serde_json::{json, Value};
use tower_oidc::store::MemoryStore;
use tower_oidc::testing::{DpopKey, MockProvider};
use tower_oidc::{DpopMode, Require};

use crate::harness::{location, Browser, Framework, TestApp};

both!(
    an_api_in_required_mode_takes_bound_tokens_with_their_proof_only,
    an_api_in_optional_mode_takes_both_and_never_a_bound_token_as_bearer,
    a_route_requires_dpop,
    opaque_bound_tokens_are_checked_against_introspection,
    the_login_binds_tokens_to_a_session_key_and_refreshes_with_proofs,
    the_token_call_retries_once_with_the_providers_nonce,
    a_proof_is_single_use_across_instances_sharing_a_store,
);

struct Call {
    status: StatusCode,
    challenge: String,
}

async fn call(app: &TestApp, path: &str, headers: &[(&str, String)]) -> Call {
    let mut request = reqwest::Client::new()
        .get(app.at(path))
        .header("accept", "application/json");
    for (name, value) in headers {
        request = request.header(*name, value);
    }
    let response = request.send().await.expect("request");
    Call {
        status: response.status(),
        challenge: response
            .headers()
            .get("www-authenticate")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned(),
    }
}

fn dpop(token: &str, proof: String) -> Vec<(&'static str, String)> {
    vec![("authorization", format!("DPoP {token}")), ("dpop", proof)]
}

fn bearer(token: &str) -> Vec<(&'static str, String)> {
    vec![("authorization", format!("Bearer {token}"))]
}

async fn an_api_in_required_mode_takes_bound_tokens_with_their_proof_only(framework: Framework) {
    let provider = MockProvider::start().await.expect("provider");
    let app = TestApp::start_on(framework, &provider, |c| {
        c.bearer_only(true).dpop(DpopMode::Required)
    })
    .await;
    let key = DpopKey::generate();
    let token = provider.mint_dpop_token("alice", &key);
    let url = app.at("/api/data");
    let proof = key.proof("GET", url.as_str(), Some(&token));
    let ok = call(&app, "/api/data?page=2", &dpop(&token, proof.clone())).await;
    assert_eq!(ok.status, StatusCode::OK);
    let replayed = call(&app, "/api/data", &dpop(&token, proof)).await;
    assert_eq!(replayed.status, StatusCode::UNAUTHORIZED);
    assert!(
        replayed.challenge.contains("invalid_dpop_proof"),
        "{}",
        replayed.challenge
    );
    let elsewhere = key.proof("GET", app.at("/api/other").as_str(), Some(&token));
    assert_eq!(
        call(&app, "/api/data", &dpop(&token, elsewhere))
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    let post = key.proof("POST", url.as_str(), Some(&token));
    assert_eq!(
        call(&app, "/api/data", &dpop(&token, post)).await.status,
        StatusCode::UNAUTHORIZED
    );

    let plain = provider.mint_access_token("bob", json!({}));
    let refused = call(&app, "/api/data", &bearer(&plain)).await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    assert!(
        refused.challenge.starts_with("DPoP algs=\"ES256"),
        "{}",
        refused.challenge
    );
}

async fn an_api_in_optional_mode_takes_both_and_never_a_bound_token_as_bearer(
    framework: Framework,
) {
    let provider = MockProvider::start().await.expect("provider");
    let app = TestApp::start_on(framework, &provider, |c| {
        c.bearer_only(true).dpop(DpopMode::Optional)
    })
    .await;
    let key = DpopKey::generate();
    let token = provider.mint_dpop_token("alice", &key);
    let plain = provider.mint_access_token("bob", json!({}));
    assert_eq!(
        call(&app, "/api/data", &bearer(&plain)).await.status,
        StatusCode::OK
    );
    let proof = key.proof("GET", app.at("/api/data").as_str(), Some(&token));
    assert_eq!(
        call(&app, "/api/data", &dpop(&token, proof)).await.status,
        StatusCode::OK
    );
    let as_bearer = call(&app, "/api/data", &bearer(&token)).await;
    assert_eq!(as_bearer.status, StatusCode::UNAUTHORIZED);
    assert!(
        as_bearer.challenge.contains("invalid_token"),
        "{}",
        as_bearer.challenge
    );
    let stranger = DpopKey::generate();
    let proof = stranger.proof("GET", app.at("/api/data").as_str(), Some(&token));
    let stolen = call(&app, "/api/data", &dpop(&token, proof)).await;
    assert_eq!(stolen.status, StatusCode::UNAUTHORIZED);
    assert!(
        stolen.challenge.contains("invalid_token"),
        "{}",
        stolen.challenge
    );
}

async fn a_route_requires_dpop(framework: Framework) {
    let provider = MockProvider::start().await.expect("provider");
    let app = TestApp::start_on(framework, &provider, |c| {
        c.bearer_only(true)
            .dpop(DpopMode::Optional)
            .require(Require::new().dpop())
    })
    .await;
    let plain = provider.mint_access_token("bob", json!({}));
    let refused = call(&app, "/api/data", &bearer(&plain)).await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    assert!(
        refused.challenge.starts_with("DPoP"),
        "{}",
        refused.challenge
    );
    let key = DpopKey::generate();
    let token = provider.mint_dpop_token("alice", &key);
    let proof = key.proof("GET", app.at("/api/data").as_str(), Some(&token));
    assert_eq!(
        call(&app, "/api/data", &dpop(&token, proof)).await.status,
        StatusCode::OK
    );
}

async fn opaque_bound_tokens_are_checked_against_introspection(framework: Framework) {
    let provider = MockProvider::start().await.expect("provider");
    let app = TestApp::start_on(framework, &provider, |c| {
        c.bearer_only(true)
            .introspect_opaque_tokens(true)
            .dpop(DpopMode::Optional)
    })
    .await;
    let key = DpopKey::generate();
    let token = provider.mint_opaque_dpop_token("alice", &key);
    let url = app.at("/api/data");
    let stranger = DpopKey::generate();
    let stolen = call(
        &app,
        "/api/data",
        &dpop(&token, stranger.proof("GET", url.as_str(), Some(&token))),
    )
    .await;
    assert_eq!(stolen.status, StatusCode::UNAUTHORIZED);
    assert!(
        stolen.challenge.contains("invalid_token"),
        "{}",
        stolen.challenge
    );
    let proof = key.proof("GET", url.as_str(), Some(&token));
    assert_eq!(
        call(&app, "/api/data", &dpop(&token, proof)).await.status,
        StatusCode::OK
    );
    assert_eq!(
        call(&app, "/api/data", &bearer(&token)).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(provider.stats().introspection, 1, "the token stays cached");
}

/// The `cnf.jkt` of a JWT access token.
fn bound_key(token: &str) -> Option<String> {
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .ok()?;
    let claims: Value = serde_json::from_slice(&bytes).ok()?;
    claims["cnf"]["jkt"].as_str().map(str::to_owned)
}

async fn access_token(browser: &Browser, app: &TestApp) -> String {
    let me: Value = browser.api(app.at("/me")).await.json().await.expect("json");
    me["access_token"].as_str().expect("token").to_owned()
}

async fn the_login_binds_tokens_to_a_session_key_and_refreshes_with_proofs(framework: Framework) {
    let provider = MockProvider::start().await.expect("provider");
    provider.set_access_token_ttl(Duration::from_secs(30));
    // Profile claims come from userinfo alone, which takes a bound token only with DPoP.
    provider.set_minimal_id_token(true);
    let app = TestApp::start_on(framework, &provider, |c| {
        c.dpop_bind_tokens(true).leeway(Duration::from_secs(60))
    })
    .await;
    let browser = Browser::default();
    let start = browser.get(app.at("/")).await;
    let authorize = location(&start).expect("authorize");
    let jkt = authorize
        .query_pairs()
        .find(|(name, _)| name == "dpop_jkt")
        .map(|(_, value)| value.into_owned())
        .expect("dpop_jkt on the authorization request");
    let (landed, _) = browser.follow(authorize).await;
    assert_eq!(landed.status(), StatusCode::OK);
    let proofs_on_every_token_call = || {
        let stats = provider.stats();
        assert_eq!(stats.dpop_proofs, stats.token_code + stats.token_refresh);
        assert_eq!(stats.refresh_replays, 0);
        stats.token_refresh
    };
    assert_eq!(provider.stats().token_code, 1);
    let refreshed = proofs_on_every_token_call();

    // The token expires within the leeway: each request refreshes it with a proof of
    // the same key, which the provider checks against the refresh token's binding.
    let me: Value = browser.api(app.at("/me")).await.json().await.expect("json");
    assert_eq!(
        me["claims"]["email"], "alice@example.com",
        "userinfo answered: {me}"
    );
    let first = access_token(&browser, &app).await;
    assert_eq!(bound_key(&first).as_deref(), Some(jkt.as_str()));
    let second = access_token(&browser, &app).await;
    assert_ne!(first, second);
    assert_eq!(bound_key(&second).as_deref(), Some(jkt.as_str()));
    assert_eq!(proofs_on_every_token_call(), refreshed + 3);

    // Another browser's session has a key of its own.
    let other = Browser::default();
    other.login(&app).await;
    let theirs = access_token(&other, &app).await;
    assert_ne!(bound_key(&theirs), Some(jkt));
}

async fn the_token_call_retries_once_with_the_providers_nonce(framework: Framework) {
    let provider = MockProvider::start().await.expect("provider");
    provider.require_dpop_nonce(true);
    let app = TestApp::start_on(framework, &provider, |c| c.dpop_bind_tokens(true)).await;
    let browser = Browser::default();
    let landed = browser.login(&app).await;
    assert_eq!(landed.status(), StatusCode::OK);
    let stats = provider.stats();
    assert_eq!(
        stats.token_code, 2,
        "one refused for want of a nonce, one retried"
    );
    assert_eq!(stats.dpop_proofs, 1);
    assert!(bound_key(&access_token(&browser, &app).await).is_some());
}

async fn a_proof_is_single_use_across_instances_sharing_a_store(framework: Framework) {
    let provider = MockProvider::start().await.expect("provider");
    let store = std::sync::Arc::new(MemoryStore::default());
    // One public origin for both instances, as behind one load balancer.
    let instance = |store: std::sync::Arc<MemoryStore>| {
        move |c: tower_oidc::ConfigBuilder| {
            c.bearer_only(true)
                .dpop(DpopMode::Required)
                .redirect_uri("http://api.test/auth")
                .session_store(store)
        }
    };
    let first = TestApp::start_on(
        framework,
        &provider,
        instance(std::sync::Arc::clone(&store)),
    )
    .await;
    let second = TestApp::start_on(framework, &provider, instance(store)).await;
    let key = DpopKey::generate();
    let token = provider.mint_dpop_token("alice", &key);
    let proof = key.proof("GET", "http://api.test/api/data", Some(&token));
    assert_eq!(
        call(&first, "/api/data", &dpop(&token, proof.clone()))
            .await
            .status,
        StatusCode::OK
    );
    let replayed = call(&second, "/api/data", &dpop(&token, proof)).await;
    assert_eq!(replayed.status, StatusCode::UNAUTHORIZED);
    assert!(
        replayed.challenge.contains("invalid_dpop_proof"),
        "{}",
        replayed.challenge
    );
    let fresh = key.proof("GET", "http://api.test/api/data", Some(&token));
    assert_eq!(
        call(&second, "/api/data", &dpop(&token, fresh))
            .await
            .status,
        StatusCode::OK
    );
}
