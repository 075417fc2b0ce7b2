//! Bearer access tokens: every way a token can be wrong, caching, key rotation, and the
//! flaskoidc JSON form.

use axum::body::Body;
use http::{Request, StatusCode};
use serde_json::json;
use tower::ServiceExt;
use tower_oidc::testing::{Misbehavior, MockAlg, MockProvider};
use tower_oidc::OidcLayer;

use crate::harness::{base_config, routes};

async fn call(
    layer: &OidcLayer,
    authorization: &str,
    accept: &str,
) -> (StatusCode, String, String) {
    let request = Request::get("/api/data")
        .header("host", "api.test")
        .header("accept", accept)
        .header("authorization", authorization)
        .body(Body::empty())
        .expect("request");
    let response = routes()
        .layer(layer.clone())
        .oneshot(request)
        .await
        .expect("infallible");
    let status = response.status();
    let challenge = response
        .headers()
        .get("www-authenticate")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let body = axum::body::to_bytes(response.into_body(), 1 << 16)
        .await
        .expect("body");
    (
        status,
        challenge,
        String::from_utf8_lossy(&body).into_owned(),
    )
}

async fn bearer(layer: &OidcLayer, token: &str) -> (StatusCode, String, String) {
    call(layer, &format!("Bearer {token}"), "application/json").await
}

async fn setup() -> (MockProvider, OidcLayer) {
    let provider = MockProvider::start().await.expect("provider");
    let layer = OidcLayer::new(base_config(&provider).build().expect("config"));
    (provider, layer)
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs()
}

#[tokio::test]
async fn a_valid_token_is_accepted_and_cached() {
    let (provider, layer) = setup().await;
    let token = provider.mint_access_token("svc-user", json!({}));
    let (status, _, body) = bearer(&layer, &token).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.contains("svc-user"));
    let fetches = provider.stats().jwks;
    // Cached until expiry: accepted again even while the provider is unreachable.
    provider.set_available(false);
    let (status, _, _) = bearer(&layer, &token).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(provider.stats().jwks, fetches);
}

#[tokio::test]
async fn each_bad_token_gets_401_invalid_token() {
    let (provider, layer) = setup().await;
    let issuer = provider.issuer();
    let cases = [
        (
            "expired",
            provider.mint_access_token("u", json!({"exp": now() - 3600, "iat": now() - 7200})),
        ),
        (
            "wrong aud",
            provider.mint_access_token("u", json!({"aud": "someone-else"})),
        ),
        (
            "wrong iss",
            provider.mint_access_token("u", json!({"iss": format!("{issuer}/other")})),
        ),
        (
            "not yet valid",
            provider.mint_access_token("u", json!({"nbf": now() + 3600})),
        ),
        (
            "no exp",
            provider.mint_access_token("u", json!({"exp": null})),
        ),
        ("garbage", "not-a-token".to_owned()),
        ("three dots", "a.b.c".to_owned()),
    ];
    for (name, token) in cases {
        let (status, challenge, body) = bearer(&layer, &token).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{name}: {body}");
        assert_eq!(challenge, "Bearer error=\"invalid_token\"", "{name}");
        assert!(body.contains("invalid_token"), "{name}: {body}");
    }
    for misbehavior in [
        Misbehavior::BadSignature,
        Misbehavior::AlgNone,
        Misbehavior::HmacWithPublicKey,
    ] {
        provider.set_misbehavior(Some(misbehavior));
        let token = provider.mint_access_token("u", json!({}));
        provider.set_misbehavior(None);
        let (status, challenge, body) = bearer(&layer, &token).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{misbehavior:?}: {body}");
        assert!(challenge.contains("invalid_token"), "{misbehavior:?}");
    }
}

#[tokio::test]
async fn browsers_with_a_bad_token_get_401_not_a_redirect() {
    let (_provider, layer) = setup().await;
    let (status, _, _) = call(&layer, "Bearer nonsense", "text/html").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn unknown_kid_after_rotation_is_accepted_once_keys_are_fetched_again() {
    let (provider, layer) = setup().await;
    let first = provider.mint_access_token("u", json!({}));
    assert_eq!(bearer(&layer, &first).await.0, StatusCode::OK);
    provider.rotate_signing_key();
    let second = provider.mint_access_token("u", json!({}));
    let (status, _, body) = bearer(&layer, &second).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn forged_kids_cannot_make_us_hammer_the_provider() {
    let (provider, layer) = setup().await;
    let good = provider.mint_access_token("u", json!({}));
    assert_eq!(bearer(&layer, &good).await.0, StatusCode::OK);
    let before = provider.stats().jwks;
    for i in 0..10 {
        let forged = provider.mint_jwt(
            MockAlg::Rs256,
            json!({"iss": provider.issuer(), "aud": provider.client_id(), "sub": "x",
                   "exp": now() + 60, "kid_attempt": i}),
        );
        // Re-sign with an unknown kid by editing the header: the signature no longer
        // matters, the key lookup happens first.
        let mut parts = forged.splitn(2, '.');
        let _ = parts.next();
        let header = base64_url(&format!(r#"{{"alg":"RS256","kid":"forged-{i}"}}"#));
        let token = format!("{header}.{}", parts.next().expect("rest"));
        assert_eq!(bearer(&layer, &token).await.0, StatusCode::UNAUTHORIZED);
    }
    // Each new kid may cost a fetch until the burst of five is spent, never more.
    let fetched = provider.stats().jwks - before;
    assert!(fetched <= 5, "{fetched} key-set fetches for 10 forged kids");
}

fn base64_url(text: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(text)
}

#[tokio::test]
async fn flaskoidc_json_bearer_form() {
    let (provider, layer) = setup().await;
    let token = provider.mint_access_token("amundsen", json!({}));
    let dict = json!({"access_token": token, "token_type": "Bearer", "expires_at": now() + 3600});
    let (status, _, body) = bearer(&layer, &dict.to_string()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.contains("amundsen"));

    // Its `expires_at` is never trusted: the token inside decides.
    let expired = provider.mint_access_token("amundsen", json!({"exp": now() - 3600}));
    let dict = json!({"access_token": expired, "expires_at": now() + 3600});
    assert_eq!(
        bearer(&layer, &dict.to_string()).await.0,
        StatusCode::UNAUTHORIZED
    );
    let (status, challenge, _) = bearer(&layer, r#"{"expires_at": 1}"#).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(challenge.contains("invalid_request"));
}

#[tokio::test]
async fn configured_audiences_replace_the_client_id() {
    let provider = MockProvider::start().await.expect("provider");
    let layer = OidcLayer::new(
        base_config(&provider)
            .audiences(["metadata-api"])
            .build()
            .expect("config"),
    );
    let for_api = provider.mint_access_token("u", json!({"aud": "metadata-api"}));
    assert_eq!(bearer(&layer, &for_api).await.0, StatusCode::OK);
    let for_client = provider.mint_access_token("u", json!({}));
    assert_eq!(
        bearer(&layer, &for_client).await.0,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn bearer_only_services_never_redirect() {
    let provider = MockProvider::start().await.expect("provider");
    let layer = OidcLayer::new(
        base_config(&provider)
            .bearer_only(true)
            .build()
            .expect("config"),
    );
    for path in ["/api/data", "/login", "/"] {
        let request = Request::get(path)
            .header("host", "api.test")
            .header("accept", "text/html")
            .body(Body::empty())
            .expect("request");
        let response = routes()
            .layer(layer.clone())
            .oneshot(request)
            .await
            .expect("infallible");
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{path}");
    }
    let token = provider.mint_access_token("u", json!({}));
    assert_eq!(bearer(&layer, &token).await.0, StatusCode::OK);
}

#[tokio::test]
async fn es256_tokens_verify() {
    let (provider, layer) = setup().await;
    provider.set_signing_alg(MockAlg::Es256);
    let token = provider.mint_access_token("u", json!({}));
    assert_eq!(bearer(&layer, &token).await.0, StatusCode::OK);
}

#[tokio::test]
async fn opaque_tokens_through_introspection() {
    let provider = MockProvider::start().await.expect("provider");
    let without = OidcLayer::new(base_config(&provider).build().expect("config"));
    let with = OidcLayer::new(
        base_config(&provider)
            .introspect_opaque_tokens(true)
            .build()
            .expect("config"),
    );
    let token = provider.mint_opaque_access_token("opaque-user");
    let (status, _, body) = bearer(&without, &token).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "opaque tokens need introspection: {body}"
    );
    let (status, _, body) = bearer(&with, &token).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.contains("opaque-user"));
    assert_eq!(bearer(&with, &token).await.0, StatusCode::OK);
    assert_eq!(
        provider.stats().introspection,
        1,
        "cached after the first introspection"
    );
    let (status, _, _) = bearer(&with, "opaque-never-issued").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}
