//! The OpenID Foundation's relying-party certification cases (Basic RP profile, code flow),
//! each as its own test, driven through the mock provider's knobs.

use reqwest::StatusCode;
use tower_oidc::testing::{Misbehavior, MockAlg, MockClientAuth, MockProvider, MockUser};

use crate::harness::{location, login_refused, login_refused_with, Browser, TestApp};

async fn refused(misbehavior: Misbehavior) {
    let status = login_refused_with(misbehavior).await;
    assert!(status.is_client_error(), "{misbehavior:?}: {status}");
}

async fn signs_in(provider: &MockProvider) {
    let app = TestApp::start(provider).await;
    let landed = Browser::default().login(&app).await;
    assert_eq!(landed.status(), StatusCode::OK);
}

#[tokio::test]
async fn rp_response_type_code() {
    let provider = MockProvider::start().await.expect("provider");
    let app = TestApp::start(&provider).await;
    let browser = Browser::default();
    let authorize = location(&browser.get(app.at("/login")).await).expect("authorize");
    let response_type = authorize.query_pairs().find(|(k, _)| k == "response_type");
    assert_eq!(
        response_type.map(|(_, v)| v.into_owned()).as_deref(),
        Some("code")
    );
    assert_eq!(browser.follow(authorize).await.0.status(), StatusCode::OK);
}

#[tokio::test]
async fn rp_token_endpoint_client_secret_basic() {
    let provider = MockProvider::start().await.expect("provider");
    provider.set_client_auth(MockClientAuth::Basic);
    signs_in(&provider).await;
    assert!(provider.stats().client_auth_basic > 0);
}

#[tokio::test]
async fn rp_token_endpoint_client_secret_post() {
    let provider = MockProvider::start().await.expect("provider");
    provider.set_client_auth(MockClientAuth::Post);
    signs_in(&provider).await;
    assert!(provider.stats().client_auth_post > 0);
    assert_eq!(provider.stats().client_auth_basic, 0);
}

#[tokio::test]
async fn rp_id_token_bad_sig_rs256() {
    refused(Misbehavior::BadSignature).await;
}

#[tokio::test]
async fn rp_id_token_bad_sig_es256() {
    let provider = MockProvider::start().await.expect("provider");
    provider.set_signing_alg(MockAlg::Es256);
    let app = TestApp::start(&provider).await;
    provider.set_misbehavior(Some(Misbehavior::BadSignature));
    let status = login_refused(&provider, &app, "bad ES256 signature").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn rp_id_token_sig_none() {
    refused(Misbehavior::AlgNone).await;
}

#[tokio::test]
async fn rp_id_token_issuer_mismatch() {
    refused(Misbehavior::WrongIssuer).await;
}

#[tokio::test]
async fn rp_id_token_aud() {
    refused(Misbehavior::WrongAudience).await;
}

#[tokio::test]
async fn rp_id_token_iat() {
    refused(Misbehavior::MissingIat).await;
    refused(Misbehavior::IatInFuture).await;
}

#[tokio::test]
async fn rp_id_token_sub() {
    refused(Misbehavior::MissingSub).await;
}

#[tokio::test]
async fn rp_id_token_kid_absent_single_jwks() {
    let provider = MockProvider::start().await.expect("provider");
    provider.set_misbehavior(Some(Misbehavior::KidAbsentSingleKey));
    signs_in(&provider).await;
}

#[tokio::test]
async fn rp_id_token_kid_absent_multiple_jwks() {
    // Without a kid, every published key of the token's algorithm is tried.
    let provider = MockProvider::start().await.expect("provider");
    provider.set_misbehavior(Some(Misbehavior::KidAbsent));
    signs_in(&provider).await;
}

#[tokio::test]
async fn rp_key_rotation_op_sign_key() {
    let provider = MockProvider::start().await.expect("provider");
    let app = TestApp::start(&provider).await;
    assert_eq!(
        Browser::default().login(&app).await.status(),
        StatusCode::OK
    );
    let fetches = provider.stats().jwks;
    provider.rotate_signing_key();
    assert_eq!(
        Browser::default().login(&app).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        provider.stats().jwks,
        fetches + 1,
        "keys fetched again for the new kid"
    );
}

#[tokio::test]
async fn rp_nonce_invalid() {
    refused(Misbehavior::NonceMismatch).await;
    refused(Misbehavior::MissingNonce).await;
}

#[tokio::test]
async fn rp_nonce_unless_code_flow() {
    // The code flow makes nonce optional; this RP always sends one and checks it.
    let provider = MockProvider::start().await.expect("provider");
    let app = TestApp::start(&provider).await;
    let authorize = location(&Browser::default().get(app.at("/login")).await).expect("authorize");
    let nonce = authorize
        .query_pairs()
        .find(|(k, _)| k == "nonce")
        .map(|(_, v)| v.into_owned());
    assert!(nonce.is_some_and(|n| n.len() >= 32));
}

#[tokio::test]
async fn rp_userinfo_bad_sub_claim() {
    refused(Misbehavior::UserinfoBadSub).await;
}

#[tokio::test]
async fn rp_discovery_issuer_not_matching_config() {
    let status = login_refused_with(Misbehavior::DiscoveryIssuerMismatch).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
}

#[tokio::test]
async fn rp_discovery_jwks_uri_keys() {
    let provider = MockProvider::start().await.expect("provider");
    signs_in(&provider).await;
    let stats = provider.stats();
    assert!(stats.discovery >= 1 && stats.jwks >= 1, "{stats:?}");
}

#[tokio::test]
async fn rp_scope_userinfo_claims() {
    let provider = MockProvider::start().await.expect("provider");
    provider.set_minimal_id_token(true);
    let mut user = MockUser::new("scoped");
    user.name = Some("Scoped User".into());
    provider.set_user(user);
    let app = TestApp::start(&provider).await;
    let browser = Browser::default();
    browser.login(&app).await;
    let me: serde_json::Value = browser.api(app.at("/me")).await.json().await.expect("json");
    assert_eq!(me["claims"]["email"], "scoped@example.com");
    assert_eq!(me["claims"]["name"], "Scoped User");
    assert_eq!(provider.stats().userinfo, 1);
}

#[tokio::test]
async fn azp_is_required_with_several_audiences() {
    refused(Misbehavior::MultipleAudiencesNoAzp).await;
    refused(Misbehavior::WrongAzp).await;
}

#[tokio::test]
async fn hmac_signed_with_the_public_key_is_refused() {
    refused(Misbehavior::HmacWithPublicKey).await;
}

#[tokio::test]
async fn expired_id_tokens_are_refused() {
    refused(Misbehavior::Expired).await;
    refused(Misbehavior::MissingExp).await;
}

#[tokio::test]
async fn provider_errors_are_clear_4xx() {
    refused(Misbehavior::TokenEndpointError).await;
    refused(Misbehavior::AuthorizeError).await;
}
