//! Tests of the mock provider over real HTTP.

use std::time::{Duration, Instant};

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use reqwest::{header, Client, StatusCode};
use serde_json::{json, Value};
use sha2::{Digest as _, Sha256};
use url::Url;

use super::*;

const REDIRECT_URI: &str = "http://127.0.0.1:9/callback?from=test";
const VERIFIER: &str = "a-good-verifier-that-is-long-enough-0123456789-abcdef";

fn http() -> Client {
    Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client builds")
}

fn form(pairs: &[(&str, &str)]) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

fn challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

fn authorize_url(mock: &MockProvider, overrides: &[(&str, Option<&str>)]) -> String {
    let challenge = challenge(VERIFIER);
    let mut params: Vec<(&str, Option<&str>)> = vec![
        ("response_type", Some("code")),
        ("client_id", Some(mock.client_id())),
        ("redirect_uri", Some(REDIRECT_URI)),
        ("scope", Some("openid profile email")),
        ("state", Some("st-123")),
        ("nonce", Some("n-456")),
        ("code_challenge", Some(&challenge)),
        ("code_challenge_method", Some("S256")),
    ];
    for (key, value) in overrides {
        params.retain(|(k, _)| k != key);
        params.push((key, *value));
    }
    let present: Vec<(&str, &str)> = params
        .into_iter()
        .filter_map(|(k, v)| v.map(|v| (k, v)))
        .collect();
    format!("{}/authorize?{}", mock.issuer(), form(&present))
}

fn location(response: &reqwest::Response) -> Url {
    assert_eq!(response.status(), StatusCode::FOUND);
    let location = response.headers()[header::LOCATION]
        .to_str()
        .expect("ascii");
    Url::parse(location).expect("absolute location")
}

fn query_param(url: &Url, key: &str) -> Option<String> {
    url.query_pairs()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
}

/// Runs the authorize endpoint and returns the code.
async fn authorize(mock: &MockProvider) -> String {
    let response = http()
        .get(authorize_url(mock, &[]))
        .send()
        .await
        .expect("authorize");
    let target = location(&response);
    assert_eq!(query_param(&target, "state").as_deref(), Some("st-123"));
    query_param(&target, "code").expect("code in redirect")
}

async fn token_request(mock: &MockProvider, pairs: &[(&str, &str)]) -> reqwest::Response {
    http()
        .post(format!("{}/token", mock.issuer()))
        .basic_auth(mock.client_id(), Some(mock.client_secret()))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(form(pairs))
        .send()
        .await
        .expect("token request")
}

async fn redeem(mock: &MockProvider, code: &str, verifier: &str) -> reqwest::Response {
    token_request(
        mock,
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT_URI),
            ("code_verifier", verifier),
        ],
    )
    .await
}

/// A full login: the token endpoint's JSON answer.
async fn login(mock: &MockProvider) -> Value {
    let code = authorize(mock).await;
    let response = redeem(mock, &code, VERIFIER).await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.expect("token json")
}

async fn refresh(mock: &MockProvider, refresh_token: &str) -> reqwest::Response {
    token_request(
        mock,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
        ],
    )
    .await
}

async fn get_json(url: String) -> (StatusCode, String) {
    let response = http().get(url).send().await.expect("get");
    let status = response.status();
    (status, response.text().await.expect("body"))
}

async fn discovery(mock: &MockProvider) -> Value {
    let (status, body) = get_json(format!(
        "{}/.well-known/openid-configuration",
        mock.issuer()
    ))
    .await;
    assert_eq!(status, StatusCode::OK);
    serde_json::from_str(&body).expect("discovery json")
}

async fn jwks(mock: &MockProvider) -> JwkSet {
    let (status, body) = get_json(format!("{}/jwks", mock.issuer())).await;
    assert_eq!(status, StatusCode::OK);
    serde_json::from_str(&body).expect("jwks json")
}

fn part(token: &str, index: usize) -> Value {
    let segment = token.split('.').nth(index).expect("jwt segment");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(segment).expect("base64url")).expect("json")
}

fn header_of(token: &str) -> Value {
    part(token, 0)
}

fn claims_of(token: &str) -> Value {
    part(token, 1)
}

fn id_token(tokens: &Value) -> &str {
    tokens["id_token"].as_str().expect("id_token")
}

fn validation(mock: &MockProvider, alg: Algorithm) -> Validation {
    let mut validation = Validation::new(alg);
    validation.set_audience(&[mock.client_id()]);
    validation.set_issuer(&[mock.issuer()]);
    validation
}

/// Verifies `token` against the published JWKS the way a careful RP would:
/// the key is chosen by kid.
async fn verify(mock: &MockProvider, token: &str) -> Result<Value, String> {
    let header = jsonwebtoken::decode_header(token).map_err(|e| e.to_string())?;
    let kid = header.kid.ok_or("no kid")?;
    let set = jwks(mock).await;
    let jwk = set.find(&kid).ok_or("kid not in JWKS")?;
    verify_with(mock, token, jwk, header.alg)
}

fn verify_with(
    mock: &MockProvider,
    token: &str,
    jwk: &Jwk,
    alg: Algorithm,
) -> Result<Value, String> {
    let key = DecodingKey::from_jwk(jwk).map_err(|e| e.to_string())?;
    jsonwebtoken::decode::<Value>(token, &key, &validation(mock, alg))
        .map(|data| data.claims)
        .map_err(|e| e.to_string())
}

async fn login_with(mock: &MockProvider, misbehavior: Misbehavior) -> Value {
    mock.set_misbehavior(Some(misbehavior));
    let tokens = login(mock).await;
    mock.set_misbehavior(None);
    tokens
}

#[test]
fn provider_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<MockProvider>();
}

#[tokio::test]
async fn accessors_describe_the_provider() {
    let mock = MockProvider::start().await.expect("start");
    assert_eq!(
        mock.issuer(),
        format!("http://127.0.0.1:{}", mock.addr().port())
    );
    assert!(!mock.issuer().ends_with('/'));
    assert_eq!(mock.client_id(), "tower-oidc-test-client");
    assert_eq!(mock.client_secret(), "tower-oidc-test-secret-0123456789");
    assert_eq!(mock.active_kid(), "rsa-1");
}

#[tokio::test]
async fn discovery_lists_endpoints_and_capabilities() {
    let mock = MockProvider::start().await.expect("start");
    let doc = discovery(&mock).await;
    let issuer = mock.issuer();
    assert_eq!(doc["issuer"], json!(issuer));
    assert_eq!(
        doc["authorization_endpoint"],
        json!(format!("{issuer}/authorize"))
    );
    assert_eq!(doc["token_endpoint"], json!(format!("{issuer}/token")));
    assert_eq!(
        doc["userinfo_endpoint"],
        json!(format!("{issuer}/userinfo"))
    );
    assert_eq!(doc["jwks_uri"], json!(format!("{issuer}/jwks")));
    assert_eq!(
        doc["end_session_endpoint"],
        json!(format!("{issuer}/end_session"))
    );
    assert_eq!(doc["response_types_supported"], json!(["code"]));
    assert_eq!(doc["subject_types_supported"], json!(["public"]));
    assert_eq!(
        doc["id_token_signing_alg_values_supported"],
        json!(["RS256", "ES256", "HS256", "HS384", "HS512", "none"])
    );
    assert_eq!(doc["backchannel_logout_session_supported"], json!(true));
    assert_eq!(doc["code_challenge_methods_supported"], json!(["S256"]));
    assert_eq!(
        doc["token_endpoint_auth_methods_supported"],
        json!(["client_secret_basic", "client_secret_post"])
    );
    assert!(doc["scopes_supported"]
        .as_array()
        .is_some_and(|s| s.contains(&json!("openid"))));
    assert!(doc["grant_types_supported"]
        .as_array()
        .is_some_and(|g| g.contains(&json!("refresh_token"))));
    assert!(doc["claims_supported"]
        .as_array()
        .is_some_and(|c| c.contains(&json!("email"))));
    assert_eq!(mock.stats().discovery, 1);
}

#[tokio::test]
async fn jwks_publishes_signature_keys_with_alg() {
    let mock = MockProvider::start().await.expect("start");
    let (_, body) = get_json(format!("{}/jwks", mock.issuer())).await;
    let raw: Value = serde_json::from_str(&body).expect("json");
    let keys = raw["keys"].as_array().expect("keys");
    let kids: Vec<&str> = keys.iter().filter_map(|k| k["kid"].as_str()).collect();
    assert_eq!(kids, ["rsa-1", "ec-1"]);
    for key in keys {
        assert_eq!(key["use"], "sig");
        assert!(key["alg"].is_string());
        assert!(key.get("d").is_none(), "private part must not leak");
    }
    assert_eq!(keys[0]["alg"], "RS256");
    assert_eq!(keys[1]["alg"], "ES256");
    assert_eq!(mock.stats().jwks, 1);
}

#[tokio::test]
async fn code_flow_with_pkce_issues_verifiable_tokens() {
    let mock = MockProvider::start().await.expect("start");
    let tokens = login(&mock).await;
    assert_eq!(tokens["token_type"], "Bearer");
    assert_eq!(tokens["expires_in"], 300);
    assert_eq!(tokens["scope"], "openid profile email");
    assert!(tokens["refresh_token"].is_string());

    let claims = verify(&mock, id_token(&tokens))
        .await
        .expect("id token verifies");
    assert_eq!(claims["sub"], "alice");
    assert_eq!(claims["nonce"], "n-456");
    assert_eq!(claims["azp"], mock.client_id());
    assert!(claims["sid"].is_string());
    assert!(claims["auth_time"].is_u64());
    assert_eq!(claims["email"], "alice@example.com");
    assert_eq!(claims["email_verified"], true);
    assert_eq!(claims["name"], "Alice Example");
    assert_eq!(claims["given_name"], "Alice");
    assert_eq!(claims["family_name"], "Example");
    let header = header_of(id_token(&tokens));
    assert_eq!(header["typ"], "JWT");
    assert_eq!(header["kid"], "rsa-1");

    let access_token = tokens["access_token"].as_str().expect("access token");
    assert_eq!(header_of(access_token)["typ"], "at+jwt");
    let at = verify(&mock, access_token)
        .await
        .expect("access token verifies");
    assert_eq!(at["client_id"], mock.client_id());
    assert_eq!(at["scope"], "openid profile email");
    assert!(at["jti"].is_string());
    assert!(at.get("nbf").is_none());

    let stats = mock.stats();
    assert_eq!(
        (stats.authorize, stats.token_code, stats.client_auth_basic),
        (1, 1, 1)
    );
}

#[tokio::test]
async fn redirect_keeps_the_existing_query() {
    let mock = MockProvider::start().await.expect("start");
    let response = http()
        .get(authorize_url(&mock, &[]))
        .send()
        .await
        .expect("authorize");
    let target = location(&response);
    assert_eq!(target.path(), "/callback");
    assert_eq!(query_param(&target, "from").as_deref(), Some("test"));
    assert!(query_param(&target, "code").is_some());
}

#[tokio::test]
async fn wrong_verifier_is_refused() {
    let mock = MockProvider::start().await.expect("start");
    let code = authorize(&mock).await;
    let wrong = "a-wrong-verifier-that-is-long-enough-0123456789-abcdef";
    let response = redeem(&mock, &code, wrong).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["error"], "invalid_grant");
    // A failed attempt does not burn the code.
    assert_eq!(
        redeem(&mock, &code, VERIFIER).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn replayed_code_is_refused_and_revokes_its_tokens() {
    let mock = MockProvider::start().await.expect("start");
    let code = authorize(&mock).await;
    let first = redeem(&mock, &code, VERIFIER).await;
    assert_eq!(first.status(), StatusCode::OK);
    let tokens: Value = first.json().await.expect("json");

    let replay = redeem(&mock, &code, VERIFIER).await;
    assert_eq!(replay.status(), StatusCode::BAD_REQUEST);
    let body: Value = replay.json().await.expect("json");
    assert_eq!(body["error"], "invalid_grant");
    assert_eq!(mock.stats().code_replays, 1);

    let access_token = tokens["access_token"].as_str().expect("at");
    assert_eq!(
        userinfo(&mock, Some(access_token)).await.0,
        StatusCode::UNAUTHORIZED
    );
    let refresh_token = tokens["refresh_token"].as_str().expect("rt");
    assert_eq!(
        refresh(&mock, refresh_token).await.status(),
        StatusCode::BAD_REQUEST
    );
}

#[tokio::test]
async fn token_request_must_repeat_the_redirect_uri() {
    let mock = MockProvider::start().await.expect("start");
    let code = authorize(&mock).await;
    let response = token_request(
        &mock,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", "http://127.0.0.1:9/elsewhere"),
            ("code_verifier", VERIFIER),
        ],
    )
    .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        redeem(&mock, "no-such-code", VERIFIER).await.status(),
        StatusCode::BAD_REQUEST
    );
}

#[tokio::test]
async fn authorize_rejects_bad_requests_with_oauth_json() {
    let mock = MockProvider::start().await.expect("start");
    let cases: &[&[(&str, Option<&str>)]] = &[
        &[("code_challenge", None)],
        &[("code_challenge_method", None)],
        &[("code_challenge_method", Some("plain"))],
        &[("code_challenge", Some("short"))],
        &[("client_id", Some("someone-else"))],
        &[("scope", Some("profile email"))],
        &[("redirect_uri", Some("/relative"))],
        &[("redirect_uri", Some("ftp://example.com/cb"))],
        &[("redirect_uri", None)],
        &[("state", None)],
        &[("response_type", Some("token"))],
    ];
    for overrides in cases {
        let response = http()
            .get(authorize_url(&mock, overrides))
            .send()
            .await
            .expect("authorize");
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{overrides:?}");
        let body: Value = response.json().await.expect("json error");
        assert!(body["error"].is_string(), "{overrides:?}");
        assert!(body["error_description"].is_string(), "{overrides:?}");
    }
    let repeated = format!("{}&state=again", authorize_url(&mock, &[]));
    let response = http().get(repeated).send().await.expect("authorize");
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: Value = response.json().await.expect("json error");
    assert_eq!(body["error"], "invalid_request");
}

#[tokio::test]
async fn refresh_tokens_rotate() {
    let mock = MockProvider::start().await.expect("start");
    let tokens = login(&mock).await;
    let first_refresh = tokens["refresh_token"].as_str().expect("rt").to_owned();

    let response = refresh(&mock, &first_refresh).await;
    assert_eq!(response.status(), StatusCode::OK);
    let refreshed: Value = response.json().await.expect("json");
    let second_refresh = refreshed["refresh_token"]
        .as_str()
        .expect("new rt")
        .to_owned();
    assert_ne!(first_refresh, second_refresh);
    assert_ne!(refreshed["access_token"], tokens["access_token"]);
    let claims = verify(&mock, id_token(&refreshed)).await.expect("verifies");
    assert!(claims.get("nonce").is_none());
    assert_eq!(claims["sid"], claims_of(id_token(&tokens))["sid"]);

    let reuse = refresh(&mock, &first_refresh).await;
    assert_eq!(reuse.status(), StatusCode::BAD_REQUEST);
    let body: Value = reuse.json().await.expect("json");
    assert_eq!(body["error"], "invalid_grant");
    assert_eq!(
        refresh(&mock, &second_refresh).await.status(),
        StatusCode::OK
    );

    let stats = mock.stats();
    assert_eq!((stats.token_refresh, stats.refresh_replays), (3, 1));
}

#[tokio::test]
async fn refresh_shows_profile_updates_of_the_same_user() {
    let mock = MockProvider::start().await.expect("start");
    let tokens = login(&mock).await;
    mock.set_user(MockUser {
        name: Some("Alice Renamed".into()),
        ..MockUser::default()
    });
    let refreshed: Value = refresh(&mock, tokens["refresh_token"].as_str().expect("rt"))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(claims_of(id_token(&refreshed))["name"], "Alice Renamed");
}

async fn userinfo(mock: &MockProvider, token: Option<&str>) -> (StatusCode, String, Value) {
    let mut request = http().get(format!("{}/userinfo", mock.issuer()));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.expect("userinfo");
    let status = response.status();
    let challenge = response
        .headers()
        .get(header::WWW_AUTHENTICATE)
        .map(|v| v.to_str().expect("ascii").to_owned())
        .unwrap_or_default();
    (status, challenge, response.json().await.expect("json"))
}

#[tokio::test]
async fn userinfo_requires_a_known_token() {
    let mock = MockProvider::start().await.expect("start");
    let tokens = login(&mock).await;
    let (status, _, body) = userinfo(&mock, tokens["access_token"].as_str()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["sub"], "alice");
    assert_eq!(body["email"], "alice@example.com");
    assert_eq!(body["name"], "Alice Example");

    let (status, challenge, _) = userinfo(&mock, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(challenge.starts_with("Bearer"));

    let (status, challenge, _) = userinfo(&mock, Some("not-a-token")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(challenge, "Bearer error=\"invalid_token\"");

    let post = http()
        .post(format!("{}/userinfo", mock.issuer()))
        .bearer_auth(tokens["access_token"].as_str().expect("at"))
        .send()
        .await
        .expect("post userinfo");
    assert_eq!(post.status(), StatusCode::OK);
    assert_eq!(mock.stats().userinfo, 4);
}

#[tokio::test]
async fn es256_tokens_verify_with_the_published_ec_key() {
    let mock = MockProvider::start().await.expect("start");
    mock.set_signing_alg(MockAlg::Es256);
    assert_eq!(mock.active_kid(), "ec-1");
    let tokens = login(&mock).await;
    let header = header_of(id_token(&tokens));
    assert_eq!(
        (header["alg"].as_str(), header["kid"].as_str()),
        (Some("ES256"), Some("ec-1"))
    );
    verify(&mock, id_token(&tokens))
        .await
        .expect("ES256 id token verifies");
}

#[tokio::test]
async fn rotation_changes_the_kid_and_the_jwks() {
    let mock = MockProvider::start().await.expect("start");
    let before = login(&mock).await;
    mock.rotate_signing_key();
    assert_eq!(mock.active_kid(), "rsa-2");
    let after = login(&mock).await;
    assert_eq!(header_of(id_token(&after))["kid"], "rsa-2");
    verify(&mock, id_token(&after))
        .await
        .expect("new key verifies");

    let kids: Vec<Option<String>> = jwks(&mock)
        .await
        .keys
        .into_iter()
        .map(|k| k.common.key_id)
        .collect();
    assert_eq!(kids, [Some("rsa-2".into()), Some("ec-1".into())]);
    assert!(
        verify(&mock, id_token(&before)).await.is_err(),
        "old key is gone"
    );

    mock.rotate_signing_key();
    assert_eq!(mock.active_kid(), "rsa-1");
}

#[tokio::test]
async fn bad_signature_fails_verification() {
    let mock = MockProvider::start().await.expect("start");
    let tokens = login_with(&mock, Misbehavior::BadSignature).await;
    assert_eq!(header_of(id_token(&tokens))["kid"], "rsa-1");
    let error = verify(&mock, id_token(&tokens))
        .await
        .expect_err("must not verify");
    assert!(error.contains("InvalidSignature"), "{error}");
}

/// Whether ID token claims (given the current time) show the fault.
type ClaimCheck = Box<dyn Fn(&Value, u64) -> bool>;

#[tokio::test]
async fn claim_misbehaviors_break_the_id_token() {
    let mock = MockProvider::start().await.expect("start");
    let issuer = mock.issuer();
    let client = mock.client_id().to_owned();
    let cases: Vec<(Misbehavior, ClaimCheck)> = vec![
        (
            Misbehavior::WrongIssuer,
            Box::new(move |c, _| c["iss"] != json!(issuer)),
        ),
        (
            Misbehavior::WrongAudience,
            Box::new(|c, _| c["aud"] == "other-client"),
        ),
        (
            Misbehavior::MultipleAudiencesNoAzp,
            Box::new({
                let client = client.clone();
                move |c, _| c["aud"] == json!([client, "other-client"]) && c.get("azp").is_none()
            }),
        ),
        (
            Misbehavior::WrongAzp,
            Box::new(move |c, _| c["azp"] == "other-client" && c["aud"] == json!(client)),
        ),
        (
            Misbehavior::Expired,
            Box::new(|c, now| {
                c["exp"].as_u64() <= Some(now - 600) && c["iat"].as_u64() <= Some(now - 900)
            }),
        ),
        (
            Misbehavior::IatInFuture,
            Box::new(|c, now| c["iat"].as_u64() >= Some(now + 3500)),
        ),
        (
            Misbehavior::MissingIat,
            Box::new(|c, _| c.get("iat").is_none()),
        ),
        (
            Misbehavior::MissingSub,
            Box::new(|c, _| c.get("sub").is_none()),
        ),
        (
            Misbehavior::MissingExp,
            Box::new(|c, _| c.get("exp").is_none()),
        ),
        (
            Misbehavior::NonceMismatch,
            Box::new(|c, _| c["nonce"].is_string() && c["nonce"] != "n-456"),
        ),
        (
            Misbehavior::MissingNonce,
            Box::new(|c, _| c.get("nonce").is_none()),
        ),
    ];
    for (misbehavior, broken) in cases {
        let tokens = login_with(&mock, misbehavior).await;
        let claims = claims_of(id_token(&tokens));
        assert!(
            broken(&claims, tokens::now_unix()),
            "{misbehavior:?}: {claims}"
        );
        // Still validly signed: only the claim is wrong.
        let set = jwks(&mock).await;
        let jwk = set.find("rsa-1").expect("rsa-1");
        let key = DecodingKey::from_jwk(jwk).expect("key");
        let mut signature_only = Validation::new(Algorithm::RS256);
        signature_only.required_spec_claims.clear();
        signature_only.validate_exp = false;
        signature_only.validate_aud = false;
        let decoded = jsonwebtoken::decode::<Value>(id_token(&tokens), &key, &signature_only);
        assert!(decoded.is_ok(), "{misbehavior:?}");
        // Cleared: the next login is correct again.
        let good = login(&mock).await;
        verify(&mock, id_token(&good))
            .await
            .expect("correct after clearing");
    }
}

#[tokio::test]
async fn alg_none_has_no_signature() {
    let mock = MockProvider::start().await.expect("start");
    let tokens = login_with(&mock, Misbehavior::AlgNone).await;
    let token = id_token(&tokens);
    assert_eq!(header_of(token), json!({"alg": "none"}));
    assert!(token.ends_with('.'));
    assert_eq!(claims_of(token)["sub"], "alice");
    let access = tokens["access_token"].as_str().expect("at");
    assert_eq!(header_of(access), json!({"alg": "none"}));
}

#[tokio::test]
async fn hmac_with_public_key_uses_the_pem_as_secret() {
    let mock = MockProvider::start().await.expect("start");
    let tokens = login_with(&mock, Misbehavior::HmacWithPublicKey).await;
    let token = id_token(&tokens);
    let header = header_of(token);
    assert_eq!(
        (header["alg"].as_str(), header["kid"].as_str()),
        (Some("HS256"), Some("rsa-1"))
    );
    let pem = include_str!("keys/rsa1.pub.pem");
    let key = DecodingKey::from_secret(pem.as_bytes());
    let forged = jsonwebtoken::decode::<Value>(token, &key, &validation(&mock, Algorithm::HS256));
    assert!(forged.is_ok(), "an RP that trusts alg would accept this");
    assert!(verify(&mock, token).await.is_err());
}

#[tokio::test]
async fn kid_absent_publishes_an_ambiguous_jwks() {
    let mock = MockProvider::start().await.expect("start");
    let tokens = login_with(&mock, Misbehavior::KidAbsent).await;
    assert!(header_of(id_token(&tokens)).get("kid").is_none());
    mock.set_misbehavior(Some(Misbehavior::KidAbsent));
    let set = jwks(&mock).await;
    let rsa_keys = set
        .keys
        .iter()
        .filter(|k| {
            k.common
                .key_algorithm
                .is_some_and(|a| a.to_string() == "RS256")
        })
        .count();
    assert_eq!((set.keys.len(), rsa_keys), (3, 2));
}

#[tokio::test]
async fn kid_absent_single_key_publishes_one_key_that_verifies() {
    let mock = MockProvider::start().await.expect("start");
    mock.set_signing_alg(MockAlg::Es256);
    mock.set_misbehavior(Some(Misbehavior::KidAbsentSingleKey));
    let tokens = login(&mock).await;
    let header = header_of(id_token(&tokens));
    assert!(header.get("kid").is_none());
    assert_eq!(header["alg"], "RS256");
    let set = jwks(&mock).await;
    assert_eq!(set.keys.len(), 1);
    verify_with(&mock, id_token(&tokens), &set.keys[0], Algorithm::RS256)
        .expect("the only key verifies");
}

#[tokio::test]
async fn userinfo_bad_sub_answers_someone_else() {
    let mock = MockProvider::start().await.expect("start");
    let tokens = login(&mock).await;
    mock.set_misbehavior(Some(Misbehavior::UserinfoBadSub));
    let (status, _, body) = userinfo(&mock, tokens["access_token"].as_str()).await;
    assert_eq!(status, StatusCode::OK);
    assert_ne!(body["sub"], "alice");
}

#[tokio::test]
async fn discovery_issuer_mismatch_and_garbage_jwks() {
    let mock = MockProvider::start().await.expect("start");
    mock.set_misbehavior(Some(Misbehavior::DiscoveryIssuerMismatch));
    let doc = discovery(&mock).await;
    assert_ne!(doc["issuer"], json!(mock.issuer()));
    assert_eq!(
        doc["token_endpoint"],
        json!(format!("{}/token", mock.issuer()))
    );

    mock.set_misbehavior(Some(Misbehavior::GarbageJwks));
    let (status, body) = get_json(format!("{}/jwks", mock.issuer())).await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "not json"));
}

#[tokio::test]
async fn token_endpoint_misbehaviors() {
    let mock = MockProvider::start().await.expect("start");
    mock.set_misbehavior(Some(Misbehavior::TokenEndpointError));
    let code = authorize(&mock).await;
    let response = redeem(&mock, &code, VERIFIER).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        response.json::<Value>().await.expect("json")["error"],
        "invalid_grant"
    );

    let tokens = login_with(&mock, Misbehavior::OmitIdToken).await;
    assert!(tokens.get("id_token").is_none());
    assert!(tokens["access_token"].is_string());

    mock.set_misbehavior(Some(Misbehavior::RefreshFails));
    let response = refresh(&mock, tokens["refresh_token"].as_str().expect("rt")).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        response.json::<Value>().await.expect("json")["error"],
        "invalid_grant"
    );
    mock.set_misbehavior(None);
    // The refused refresh did not consume the token.
    assert_eq!(
        refresh(&mock, tokens["refresh_token"].as_str().expect("rt"))
            .await
            .status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn authorize_error_redirects_with_access_denied() {
    let mock = MockProvider::start().await.expect("start");
    mock.set_misbehavior(Some(Misbehavior::AuthorizeError));
    let response = http()
        .get(authorize_url(&mock, &[]))
        .send()
        .await
        .expect("authorize");
    let target = location(&response);
    assert_eq!(
        query_param(&target, "error").as_deref(),
        Some("access_denied")
    );
    assert!(query_param(&target, "error_description").is_some());
    assert_eq!(query_param(&target, "state").as_deref(), Some("st-123"));
    assert!(query_param(&target, "code").is_none());
}

async fn post_token_raw(
    mock: &MockProvider,
    authorization: Option<String>,
    pairs: &[(&str, &str)],
) -> reqwest::Response {
    let mut request = http()
        .post(format!("{}/token", mock.issuer()))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(form(pairs));
    if let Some(authorization) = authorization {
        request = request.header(header::AUTHORIZATION, authorization);
    }
    request.send().await.expect("token")
}

fn code_pairs(code: &str) -> Vec<(&str, &str)> {
    vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", REDIRECT_URI),
        ("code_verifier", VERIFIER),
    ]
}

#[tokio::test]
async fn client_authentication_methods() {
    let mock = MockProvider::start().await.expect("start");

    // client_secret_post
    let code = authorize(&mock).await;
    let mut pairs = code_pairs(&code);
    pairs.extend([
        ("client_id", mock.client_id()),
        ("client_secret", mock.client_secret()),
    ]);
    assert_eq!(
        post_token_raw(&mock, None, &pairs).await.status(),
        StatusCode::OK
    );

    // Basic with form-urlencoded credentials (an encoded '-' decodes to '-').
    let code = authorize(&mock).await;
    let encoded_id = mock.client_id().replace('-', "%2D");
    let basic = STANDARD.encode(format!("{encoded_id}:{}", mock.client_secret()));
    let response = post_token_raw(&mock, Some(format!("Basic {basic}")), &code_pairs(&code)).await;
    assert_eq!(response.status(), StatusCode::OK);

    // Wrong secret, no credentials: 401 invalid_client.
    let wrong = STANDARD.encode(format!("{}:nope", mock.client_id()));
    for authorization in [Some(format!("Basic {wrong}")), None] {
        let code = authorize(&mock).await;
        let response = post_token_raw(&mock, authorization, &code_pairs(&code)).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert!(response.headers().contains_key(header::WWW_AUTHENTICATE));
        assert_eq!(
            response.json::<Value>().await.expect("json")["error"],
            "invalid_client"
        );
    }

    // Both methods at once.
    let code = authorize(&mock).await;
    let mut pairs = code_pairs(&code);
    pairs.extend([
        ("client_id", mock.client_id()),
        ("client_secret", mock.client_secret()),
    ]);
    let response = post_token_raw(&mock, Some(format!("Basic {basic}")), &pairs).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);

    let stats = mock.stats();
    assert_eq!((stats.client_auth_basic, stats.client_auth_post), (3, 2));
}

#[tokio::test]
async fn client_auth_knob_restricts_methods() {
    let mock = MockProvider::start().await.expect("start");
    mock.set_client_auth(MockClientAuth::Post);
    assert_eq!(
        discovery(&mock).await["token_endpoint_auth_methods_supported"],
        json!(["client_secret_post"])
    );
    let code = authorize(&mock).await;
    assert_eq!(
        redeem(&mock, &code, VERIFIER).await.status(),
        StatusCode::UNAUTHORIZED
    );

    mock.set_client_auth(MockClientAuth::Basic);
    assert_eq!(
        discovery(&mock).await["token_endpoint_auth_methods_supported"],
        json!(["client_secret_basic"])
    );
    let mut pairs = code_pairs(&code);
    pairs.extend([
        ("client_id", mock.client_id()),
        ("client_secret", mock.client_secret()),
    ]);
    assert_eq!(
        post_token_raw(&mock, None, &pairs).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        redeem(&mock, &code, VERIFIER).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn minimal_id_token_leaves_the_profile_to_userinfo() {
    let mock = MockProvider::start().await.expect("start");
    let mut user = MockUser::default();
    user.extra.insert("groups".into(), json!(["admins"]));
    mock.set_user(user);
    mock.set_minimal_id_token(true);
    let tokens = login(&mock).await;
    let claims = claims_of(id_token(&tokens));
    assert_eq!(claims["sub"], "alice");
    for claim in [
        "email",
        "email_verified",
        "name",
        "given_name",
        "family_name",
        "groups",
    ] {
        assert!(claims.get(claim).is_none(), "{claim}");
    }
    let (_, _, info) = userinfo(&mock, tokens["access_token"].as_str()).await;
    assert_eq!(info["email"], "alice@example.com");
    assert_eq!(info["groups"], json!(["admins"]));

    mock.set_minimal_id_token(false);
    let claims = claims_of(id_token(&login(&mock).await));
    assert_eq!(claims["groups"], json!(["admins"]));
}

#[tokio::test]
async fn set_user_changes_who_logs_in() {
    let mock = MockProvider::start().await.expect("start");
    mock.set_user(MockUser::new("bob"));
    let tokens = login(&mock).await;
    let claims = claims_of(id_token(&tokens));
    assert_eq!(claims["sub"], "bob");
    assert_eq!(claims["email"], "bob@example.com");
    assert!(claims.get("name").is_none());
}

#[tokio::test]
async fn a_chosen_user_signs_in_once_without_changing_the_current_user() {
    let mock = MockProvider::start().await.expect("start");
    let ticket = mock.choose_user(MockUser::new("bob").claim("team", "blue"));
    let with_ticket = authorize_url(&mock, &[(state::USER_TICKET_PARAM, Some(&ticket))]);
    let response = http().get(&with_ticket).send().await.expect("authorize");
    let code = query_param(&location(&response), "code").expect("code");
    let response = redeem(&mock, &code, VERIFIER).await;
    let claims = claims_of(id_token(&response.json().await.expect("json")));
    assert_eq!(
        (claims["sub"].as_str(), claims["team"].as_str()),
        (Some("bob"), Some("blue"))
    );
    assert_eq!(mock.user().sub, "alice");
    let claims = claims_of(id_token(&login(&mock).await));
    assert_eq!(claims["sub"], "alice");

    let replayed = http().get(&with_ticket).send().await.expect("authorize");
    assert_eq!(replayed.status(), StatusCode::BAD_REQUEST);
    let body: Value = replayed.json().await.expect("json");
    assert_eq!(body["error"], "invalid_request");
}

#[tokio::test]
async fn access_token_builder_sets_the_claims_asked_for() {
    let mock = MockProvider::start().await.expect("start");
    mock.set_user(MockUser::new("bob"));
    let now = tokens::now_unix();
    let defaults = claims_of(&mock.access_token().mint());
    assert_eq!(defaults["sub"], "bob");
    assert_eq!(defaults["aud"], mock.client_id());
    assert_eq!(defaults["scope"], "openid profile email");
    assert!(defaults["exp"].as_u64().expect("exp") >= now + 300);

    let token = mock
        .access_token()
        .subject("svc")
        .audiences(["a", "b"])
        .scope("read")
        .claim("tenant", "acme")
        .without_claim("jti")
        .expires_in(Duration::from_secs(30))
        .mint();
    let after = tokens::now_unix();
    let claims = claims_of(&token);
    assert_eq!(claims["sub"], "svc");
    assert_eq!(claims["aud"], json!(["a", "b"]));
    assert_eq!(claims["scope"], "read");
    assert_eq!(claims["tenant"], "acme");
    assert!(claims.get("jti").is_none());
    let exp = claims["exp"].as_u64().expect("exp");
    assert!(
        (now + 30..=after + 30).contains(&exp),
        "exp {exp}, minted between {now} and {after}"
    );
    let (status, _, info) = userinfo(&mock, Some(&token)).await;
    assert_eq!(
        (status, info["sub"].as_str()),
        (StatusCode::OK, Some("svc"))
    );

    let expired = mock.access_token().audience("a").expired().mint();
    let minted = tokens::now_unix();
    let claims = claims_of(&expired);
    assert_eq!(claims["aud"], "a");
    assert!(claims["exp"].as_u64().expect("exp") <= minted - 600);
    assert_eq!(
        userinfo(&mock, Some(&expired)).await.0,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn lifetimes_and_refresh_issuance_follow_the_knobs() {
    let mock = MockProvider::start().await.expect("start");
    mock.set_access_token_ttl(Duration::from_secs(42));
    mock.set_id_token_ttl(Duration::from_secs(77));
    mock.set_issue_refresh_tokens(false);
    let tokens = login(&mock).await;
    assert_eq!(tokens["expires_in"], 42);
    assert!(tokens.get("refresh_token").is_none());
    let id = claims_of(id_token(&tokens));
    assert_eq!(
        id["exp"]
            .as_u64()
            .zip(id["iat"].as_u64())
            .map(|(e, i)| e - i),
        Some(77)
    );
    let at = claims_of(tokens["access_token"].as_str().expect("at"));
    assert_eq!(
        at["exp"]
            .as_u64()
            .zip(at["iat"].as_u64())
            .map(|(e, i)| e - i),
        Some(42)
    );

    mock.set_access_token_ttl(Duration::ZERO);
    let tokens = login(&mock).await;
    let (status, challenge, _) = userinfo(&mock, tokens["access_token"].as_str()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(challenge.contains("invalid_token"));
}

#[tokio::test]
async fn unavailable_provider_answers_503_everywhere() {
    let mock = MockProvider::start().await.expect("start");
    mock.set_available(false);
    let issuer = mock.issuer();
    for path in [
        "/.well-known/openid-configuration",
        "/jwks",
        "/authorize",
        "/userinfo",
        "/end_session",
    ] {
        let response = http()
            .get(format!("{issuer}{path}"))
            .send()
            .await
            .expect("get");
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE, "{path}");
    }
    let response = http()
        .post(format!("{issuer}/token"))
        .send()
        .await
        .expect("post");
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(mock.stats().discovery, 0);
    mock.set_available(true);
    discovery(&mock).await;
}

#[tokio::test]
async fn delay_slows_every_endpoint() {
    // The delay is long enough that a loaded machine's own slowness (well under a second
    // for a loopback request) cannot pass for it.
    let delay = Duration::from_secs(3);
    let mock = MockProvider::start().await.expect("start");
    mock.set_delay(delay);
    let started = Instant::now();
    discovery(&mock).await;
    assert!(started.elapsed() >= delay);
    mock.set_delay(Duration::ZERO);
    let started = Instant::now();
    discovery(&mock).await;
    assert!(
        started.elapsed() < delay,
        "the delay is gone once set to zero"
    );
}

#[tokio::test]
async fn end_session_records_and_redirects() {
    let mock = MockProvider::start().await.expect("start");
    let url = format!(
        "{}/end_session?{}",
        mock.issuer(),
        form(&[
            ("id_token_hint", "hint"),
            ("client_id", mock.client_id()),
            ("post_logout_redirect_uri", "http://127.0.0.1:9/bye?x=1"),
            ("state", "s-9"),
        ])
    );
    let response = http().get(url).send().await.expect("end session");
    let target = location(&response);
    assert_eq!(target.path(), "/bye");
    assert_eq!(query_param(&target, "x").as_deref(), Some("1"));
    assert_eq!(query_param(&target, "state").as_deref(), Some("s-9"));

    let response = http()
        .post(format!("{}/end_session", mock.issuer()))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(form(&[("client_id", mock.client_id())]))
        .send()
        .await
        .expect("end session");
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.text().await.expect("body"), "signed out");

    let recorded = mock.end_session_requests();
    assert_eq!(
        recorded,
        [
            EndSessionRequest {
                id_token_hint: Some("hint".into()),
                client_id: Some(mock.client_id().into()),
                post_logout_redirect_uri: Some("http://127.0.0.1:9/bye?x=1".into()),
                state: Some("s-9".into()),
            },
            EndSessionRequest {
                client_id: Some(mock.client_id().into()),
                ..EndSessionRequest::default()
            },
        ]
    );
    assert_eq!(mock.stats().end_session, 2);
}

#[tokio::test]
async fn minted_access_tokens_verify_and_take_overrides() {
    let mock = MockProvider::start().await.expect("start");
    let token = mock.mint_access_token("alice", json!({ "scope": "read", "aud": "api" }));
    assert_eq!(header_of(&token)["typ"], "at+jwt");
    let mut validation = validation(&mock, Algorithm::RS256);
    validation.set_audience(&["api"]);
    let set = jwks(&mock).await;
    let key = DecodingKey::from_jwk(set.find("rsa-1").expect("rsa-1")).expect("key");
    let claims = jsonwebtoken::decode::<Value>(&token, &key, &validation)
        .expect("verifies")
        .claims;
    assert_eq!(claims["scope"], "read");
    assert_eq!(claims["client_id"], mock.client_id());
    let (status, _, info) = userinfo(&mock, Some(&token)).await;
    assert_eq!(
        (status, info["email"].as_str()),
        (StatusCode::OK, Some("alice@example.com"))
    );

    let forever = mock.mint_access_token("carol", json!({ "exp": null }));
    assert!(claims_of(&forever).get("exp").is_none());
    let (status, _, info) = userinfo(&mock, Some(&forever)).await;
    assert_eq!(
        (status, info["sub"].as_str()),
        (StatusCode::OK, Some("carol"))
    );

    let expired = mock.mint_access_token("alice", json!({ "exp": tokens::now_unix() - 10 }));
    assert_eq!(
        userinfo(&mock, Some(&expired)).await.0,
        StatusCode::UNAUTHORIZED
    );

    mock.set_misbehavior(Some(Misbehavior::BadSignature));
    let bad = mock.mint_access_token("alice", Value::Null);
    assert!(verify(&mock, &bad).await.is_err());
}

#[tokio::test]
async fn mint_jwt_signs_claims_verbatim() {
    let mock = MockProvider::start().await.expect("start");
    let claims = json!({ "iss": mock.issuer(), "aud": mock.client_id(), "exp": tokens::now_unix() + 60, "custom": 1 });
    let es = mock.mint_jwt(MockAlg::Es256, claims.clone());
    assert_eq!(header_of(&es)["kid"], "ec-1");
    assert_eq!(verify(&mock, &es).await.expect("verifies"), claims);
    mock.rotate_signing_key();
    let rs = mock.mint_jwt(MockAlg::Rs256, claims.clone());
    assert_eq!(header_of(&rs)["kid"], "rsa-2");
    assert_eq!(verify(&mock, &rs).await.expect("verifies"), claims);
}

#[tokio::test]
async fn dropping_the_provider_stops_the_server() {
    let mock = MockProvider::start().await.expect("start");
    let url = format!("{}/jwks", mock.issuer());
    drop(mock);
    let mut refused = false;
    for _ in 0..50 {
        if Client::new().get(&url).send().await.is_err() {
            refused = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(refused, "server still answers after drop");
}

#[tokio::test]
async fn start_on_an_unspecified_address_still_names_loopback() {
    let any = std::net::SocketAddr::from(([0, 0, 0, 0], 0));
    let mock = MockProvider::start_on(any).await.expect("start on");
    assert!(mock.addr().ip().is_unspecified());
    assert_eq!(
        mock.issuer(),
        format!("http://127.0.0.1:{}", mock.addr().port())
    );
    discovery(&mock).await;
}

#[tokio::test]
async fn codes_expire_after_a_minute() {
    let mock = MockProvider::start().await.expect("start");
    let code = authorize(&mock).await;
    {
        let mut state = mock.shared().lock();
        let pending = state.codes.get_mut(&code).expect("code stored");
        let lifetime = pending.expires_at - Instant::now();
        assert!(lifetime > Duration::from_secs(58) && lifetime <= Duration::from_secs(60));
        pending.expires_at = Instant::now();
    }
    let response = redeem(&mock, &code, VERIFIER).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        response.json::<Value>().await.expect("json")["error"],
        "invalid_grant"
    );
}

#[tokio::test]
async fn refresh_may_narrow_but_not_widen_the_scope() {
    let mock = MockProvider::start().await.expect("start");
    let tokens = login(&mock).await;
    let refresh_token = tokens["refresh_token"].as_str().expect("rt");
    let widen = token_request(
        &mock,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
            ("scope", "openid admin"),
        ],
    )
    .await;
    assert_eq!(widen.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        widen.json::<Value>().await.expect("json")["error"],
        "invalid_scope"
    );
    let narrow = token_request(
        &mock,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
            ("scope", "openid"),
        ],
    )
    .await;
    assert_eq!(narrow.status(), StatusCode::OK);
    assert_eq!(
        narrow.json::<Value>().await.expect("json")["scope"],
        "openid"
    );
}

#[tokio::test]
async fn unknown_grant_types_and_tokens_are_refused() {
    let mock = MockProvider::start().await.expect("start");
    let response = token_request(&mock, &[("grant_type", "password")]).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        response.json::<Value>().await.expect("json")["error"],
        "unsupported_grant_type"
    );
    let response = refresh(&mock, "never-issued").await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        response.json::<Value>().await.expect("json")["error"],
        "invalid_grant"
    );
    let response = token_request(&mock, &[]).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        response.json::<Value>().await.expect("json")["error"],
        "invalid_request"
    );
}

#[tokio::test]
async fn hmac_and_unsigned_id_tokens_for_registered_clients() {
    let mock = MockProvider::start().await.expect("start");
    mock.set_signing_alg(MockAlg::Hs256);
    let tokens = login(&mock).await;
    let token = id_token(&tokens);
    assert_eq!(header_of(token)["alg"], "HS256");
    assert!(header_of(token).get("kid").is_none());
    let key = DecodingKey::from_secret(mock.client_secret().as_bytes());
    let mut validation = validation(&mock, Algorithm::HS256);
    validation.set_required_spec_claims(&["exp"]);
    assert!(jsonwebtoken::decode::<Value>(token, &key, &validation).is_ok());
    assert_eq!(mock.active_kid(), "");

    mock.set_signing_alg(MockAlg::Hs512);
    let tokens = login(&mock).await;
    assert_eq!(header_of(id_token(&tokens))["alg"], "HS512");

    mock.set_signing_alg(MockAlg::None);
    let tokens = login(&mock).await;
    let token = id_token(&tokens);
    assert_eq!(header_of(token), json!({"alg": "none"}));
    assert!(token.ends_with('.'));
    assert_eq!(claims_of(token)["nonce"], "n-456");
}

#[tokio::test]
async fn signed_userinfo_is_a_jwt_with_iss_and_aud() {
    let mock = MockProvider::start().await.expect("start");
    mock.set_userinfo_signed(true);
    let tokens = login(&mock).await;
    let response = http()
        .get(format!("{}/userinfo", mock.issuer()))
        .bearer_auth(tokens["access_token"].as_str().expect("at"))
        .send()
        .await
        .expect("userinfo");
    assert_eq!(response.headers()[header::CONTENT_TYPE], "application/jwt");
    let jwt = response.text().await.expect("body");
    let verify = |jwt: String| {
        let mock = &mock;
        async move {
            let kid = jsonwebtoken::decode_header(&jwt).ok()?.kid?;
            let jwk = jwks(mock).await.find(&kid).cloned()?;
            let mut validation = validation(mock, Algorithm::RS256);
            validation.set_required_spec_claims(&["iss", "aud"]);
            let key = DecodingKey::from_jwk(&jwk).ok()?;
            jsonwebtoken::decode::<Value>(&jwt, &key, &validation)
                .ok()
                .map(|data| data.claims)
        }
    };
    let claims = verify(jwt).await.expect("verifies");
    assert_eq!(claims["sub"], "alice");
    assert_eq!(claims["iss"], json!(mock.issuer()));
    assert_eq!(claims["aud"], json!(mock.client_id()));

    mock.set_misbehavior(Some(Misbehavior::UserinfoBadSignature));
    let jwt = http()
        .get(format!("{}/userinfo", mock.issuer()))
        .bearer_auth(tokens["access_token"].as_str().expect("at"))
        .send()
        .await
        .expect("userinfo")
        .text()
        .await
        .expect("body");
    assert!(verify(jwt).await.is_none());
}

#[tokio::test]
async fn claim_sources_point_to_verifiable_claims() {
    let mock = MockProvider::start().await.expect("start");
    mock.set_aggregated_claims(json!({"shoe_size": 8}), ClaimsPlace::IdToken);
    mock.set_distributed_claims(json!({"age": 30}), ClaimsPlace::IdToken);
    let tokens = login(&mock).await;
    let claims = claims_of(id_token(&tokens));
    assert_eq!(claims["_claim_names"]["shoe_size"], "src-aggregated");
    assert_eq!(claims["_claim_names"]["age"], "src-distributed");
    assert!(claims.get("shoe_size").is_none());
    let sources = &claims["_claim_sources"];
    let aggregated = sources["src-aggregated"]["JWT"].as_str().expect("JWT");
    let mut signature_only = Validation::new(Algorithm::RS256);
    signature_only.required_spec_claims.clear();
    signature_only.validate_exp = false;
    let header = jsonwebtoken::decode_header(aggregated).expect("header");
    let jwk = jwks(&mock)
        .await
        .find(&header.kid.expect("kid"))
        .cloned()
        .expect("jwk");
    let key = DecodingKey::from_jwk(&jwk).expect("key");
    let decoded = jsonwebtoken::decode::<Value>(aggregated, &key, &signature_only).expect("valid");
    assert_eq!(decoded.claims["shoe_size"], 8);

    let endpoint = sources["src-distributed"]["endpoint"]
        .as_str()
        .expect("endpoint");
    let token = sources["src-distributed"]["access_token"]
        .as_str()
        .expect("token");
    let refused = http()
        .get(endpoint)
        .bearer_auth("wrong")
        .send()
        .await
        .expect("get");
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    let answer = http()
        .get(endpoint)
        .bearer_auth(token)
        .send()
        .await
        .expect("get");
    assert_eq!(answer.headers()[header::CONTENT_TYPE], "application/jwt");
    let distributed = answer.text().await.expect("body");
    let decoded =
        jsonwebtoken::decode::<Value>(&distributed, &key, &signature_only).expect("valid");
    assert_eq!(decoded.claims["age"], 30);
    assert_eq!(mock.stats().claims_source, 2);

    mock.set_aggregated_claims(json!({"shoe_size": 8}), ClaimsPlace::Userinfo);
    mock.set_distributed_claims(Value::Null, ClaimsPlace::Userinfo);
    let tokens = login(&mock).await;
    assert!(claims_of(id_token(&tokens)).get("_claim_names").is_none());
    let (_, _, info) = userinfo(&mock, tokens["access_token"].as_str()).await;
    assert_eq!(info["_claim_names"], json!({"shoe_size": "src-aggregated"}));
}

#[tokio::test]
async fn mint_jwt_with_kid_uses_any_kid() {
    let mock = MockProvider::start().await.expect("start");
    let token = mock.mint_jwt_with_kid("made-up", json!({"sub": "x"}));
    assert_eq!(header_of(&token)["kid"], "made-up");
    assert_eq!(claims_of(&token)["sub"], "x");
}
