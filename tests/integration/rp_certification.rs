//! The OpenID Foundation's relying-party certification cases (code flow): the Basic RP and
//! Config RP profiles and the RP-Initiated and Back-Channel logout profiles, each as its own
//! test named after the case, driven through the mock provider's knobs, on axum and actix.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{json, Value};
use tower_oidc::testing::{
    ClaimsPlace, LogoutTokenDefect, Misbehavior, MockAlg, MockClientAuth, MockProvider, MockUser,
};
use tower_oidc::{ConfigBuilder, IdTokenSigningAlg};

use crate::harness::{location, Browser, Framework, TestApp};

both!(
    // Basic RP
    rp_response_type_code,
    rp_token_endpoint_client_secret_basic,
    rp_token_endpoint_client_secret_post,
    rp_id_token_aud,
    rp_id_token_iat,
    rp_id_token_sub,
    rp_id_token_issuer_mismatch,
    rp_id_token_kid_absent_single_jwks,
    rp_id_token_kid_absent_multiple_jwks,
    rp_id_token_sig_none,
    rp_id_token_sig_rs256,
    rp_id_token_sig_es256,
    rp_id_token_sig_hs256,
    rp_id_token_bad_sig_rs256,
    rp_id_token_bad_sig_es256,
    rp_id_token_bad_sig_hs256,
    rp_nonce_invalid,
    rp_nonce_unless_code_flow,
    rp_scope_userinfo_claims,
    rp_userinfo_bearer_header,
    rp_userinfo_bad_sub_claim,
    rp_userinfo_sig,
    rp_claims_aggregated,
    rp_claims_distributed,
    // Config RP
    rp_discovery_openid_configuration,
    rp_discovery_jwks_uri_keys,
    rp_discovery_issuer_not_matching_config,
    rp_key_rotation_op_sign_key,
    // RP-Initiated Logout
    rp_init_logout,
    rp_init_logout_session,
    // Back-Channel Logout
    rp_backchannel_rpinitlogout,
    rp_backchannel_rpinitlogout_lt_alg_none,
    rp_backchannel_rpinitlogout_lt_wrong_alg,
    rp_backchannel_rpinitlogout_lt_wrong_aud,
    rp_backchannel_rpinitlogout_lt_no_event,
    rp_backchannel_rpinitlogout_lt_wrong_event,
    rp_backchannel_rpinitlogout_lt_wrong_issuer,
    rp_backchannel_rpinitlogout_lt_with_nonce,
    rp_backchannel_rpinitlogout_lt_wrong_sid,
    // Front-Channel Logout
    rp_frontchannel_rpinitlogout,
    // Around the cases
    unsigned_id_tokens_are_refused_unless_registered,
    none_registration_never_reaches_bearer_or_logout_tokens,
    hmac_registration_never_keys_with_a_public_key,
    a_flood_of_unknown_kids_costs_a_bounded_number_of_fetches,
    claim_sources_in_the_id_token_are_resolved_too,
    claim_sources_are_left_alone_by_default,
    claim_sources_that_fail_are_skipped_within_bounds,
    signed_userinfo_that_does_not_verify_fails_the_login,
    azp_is_required_with_several_audiences,
    hmac_signed_with_the_public_key_is_refused,
    expired_id_tokens_are_refused,
    provider_errors_are_clear_4xx,
);

type Tweak = fn(ConfigBuilder) -> ConfigBuilder;

fn defaults(config: ConfigBuilder) -> ConfigBuilder {
    config
}

fn registered(alg: &str) -> impl FnOnce(ConfigBuilder) -> ConfigBuilder + '_ {
    move |config| config.id_token_signing_alg(alg.parse::<IdTokenSigningAlg>().expect("alg"))
}

fn resolving(config: ConfigBuilder) -> ConfigBuilder {
    config.resolve_claim_sources(true)
}

/// Signs in and returns the app, the browser and what `/me` shows.
async fn signed_in(
    framework: Framework,
    provider: &MockProvider,
    tweak: impl FnOnce(ConfigBuilder) -> ConfigBuilder,
) -> (TestApp, Browser, Value) {
    let app = TestApp::start_on(framework, provider, tweak).await;
    let browser = Browser::default();
    let landed = browser.login(&app).await;
    let status = landed.status();
    let body = landed.text().await.unwrap_or_default();
    assert_eq!(status, StatusCode::OK, "login failed: {body}");
    let me = browser.api(app.at("/me")).await.json().await.expect("json");
    (app, browser, me)
}

/// A login on `app` that must fail, leaving no session; its status and page.
async fn refused_on(app: &TestApp, case: &str) -> (StatusCode, String) {
    let browser = Browser::default();
    let start = browser.get(app.at("/login")).await;
    let (response, _) = match location(&start) {
        Some(authorize) => browser.follow(authorize).await,
        None => (start, Vec::new()),
    };
    let status = response.status();
    let body = response.text().await.unwrap_or_default();
    assert!(
        status.is_client_error() || status.is_server_error(),
        "{case} was accepted with {status}"
    );
    assert!(!browser.has_session(app), "{case} left a session");
    let api = browser.api(app.at("/api/data")).await;
    assert_eq!(api.status(), StatusCode::UNAUTHORIZED, "{case}");
    (status, body)
}

/// A fresh provider misbehaving as told: the login is refused with a client error.
async fn refused(framework: Framework, misbehavior: Misbehavior) -> (StatusCode, String) {
    let provider = MockProvider::start().await.expect("provider");
    let app = TestApp::start_on(framework, &provider, defaults).await;
    provider.set_misbehavior(Some(misbehavior));
    let (status, body) = refused_on(&app, &format!("{misbehavior:?}")).await;
    assert!(status.is_client_error(), "{misbehavior:?}: {status}");
    (status, body)
}

/// The login is refused for the ID token's signature, and says so.
async fn refused_for_the_signature(app: &TestApp, case: &str) {
    let (status, body) = refused_on(app, case).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{case}: {body}");
    assert!(body.contains("bad signature"), "{case}: {body}");
}

// ---------------------------------------------------------------------------- Basic RP

async fn rp_response_type_code(framework: Framework) {
    let provider = MockProvider::start().await.expect("provider");
    let app = TestApp::start_on(framework, &provider, defaults).await;
    let browser = Browser::default();
    let authorize = location(&browser.get(app.at("/login")).await).expect("authorize");
    let response_type = authorize.query_pairs().find(|(k, _)| k == "response_type");
    assert_eq!(
        response_type.map(|(_, v)| v.into_owned()).as_deref(),
        Some("code")
    );
    assert_eq!(browser.follow(authorize).await.0.status(), StatusCode::OK);
}

async fn rp_token_endpoint_client_secret_basic(framework: Framework) {
    let provider = MockProvider::start().await.expect("provider");
    provider.set_client_auth(MockClientAuth::Basic);
    signed_in(framework, &provider, defaults).await;
    assert!(provider.stats().client_auth_basic > 0);
}

async fn rp_token_endpoint_client_secret_post(framework: Framework) {
    let provider = MockProvider::start().await.expect("provider");
    provider.set_client_auth(MockClientAuth::Post);
    signed_in(framework, &provider, defaults).await;
    assert!(provider.stats().client_auth_post > 0);
    assert_eq!(provider.stats().client_auth_basic, 0);
}

async fn rp_id_token_aud(framework: Framework) {
    refused(framework, Misbehavior::WrongAudience).await;
}

async fn rp_id_token_iat(framework: Framework) {
    refused(framework, Misbehavior::MissingIat).await;
    refused(framework, Misbehavior::IatInFuture).await;
}

async fn rp_id_token_sub(framework: Framework) {
    refused(framework, Misbehavior::MissingSub).await;
}

async fn rp_id_token_issuer_mismatch(framework: Framework) {
    let (_, body) = refused(framework, Misbehavior::WrongIssuer).await;
    assert!(body.contains("wrong issuer"), "{body}");
}

async fn rp_id_token_kid_absent_single_jwks(framework: Framework) {
    let provider = MockProvider::start().await.expect("provider");
    provider.set_misbehavior(Some(Misbehavior::KidAbsentSingleKey));
    signed_in(framework, &provider, defaults).await;
}

async fn rp_id_token_kid_absent_multiple_jwks(framework: Framework) {
    // Without a kid, every published key of the token's algorithm is tried.
    let provider = MockProvider::start().await.expect("provider");
    provider.set_misbehavior(Some(Misbehavior::KidAbsent));
    signed_in(framework, &provider, defaults).await;
}

async fn rp_id_token_sig_none(framework: Framework) {
    // Registered for `none`: the token endpoint (loopback here, TLS in production) is
    // the only protection, and the claims are still checked.
    let provider = MockProvider::start().await.expect("provider");
    provider.set_signing_alg(MockAlg::None);
    let (_, _, me) = signed_in(framework, &provider, registered("none")).await;
    assert_eq!(me["user_id"], "alice");
    let app = TestApp::start_on(framework, &provider, registered("none")).await;
    provider.set_misbehavior(Some(Misbehavior::NonceMismatch));
    refused_on(&app, "unsigned with a wrong nonce").await;
}

async fn rp_id_token_sig_rs256(framework: Framework) {
    let provider = MockProvider::start().await.expect("provider");
    signed_in(framework, &provider, registered("RS256")).await;
    // Registered for RS256, an ES256 token from a published key is refused.
    provider.set_signing_alg(MockAlg::Es256);
    let app = TestApp::start_on(framework, &provider, registered("RS256")).await;
    refused_for_the_signature(&app, "ES256 when registered for RS256").await;
}

async fn rp_id_token_sig_es256(framework: Framework) {
    let provider = MockProvider::start().await.expect("provider");
    provider.set_signing_alg(MockAlg::Es256);
    signed_in(framework, &provider, registered("ES256")).await;
}

async fn rp_id_token_sig_hs256(framework: Framework) {
    let provider = MockProvider::start().await.expect("provider");
    provider.set_signing_alg(MockAlg::Hs256);
    let (_, _, me) = signed_in(framework, &provider, registered("HS256")).await;
    assert_eq!(me["user_id"], "alice");
    // Registered for HS512, an HS256 token is refused.
    let app = TestApp::start_on(framework, &provider, registered("HS512")).await;
    refused_for_the_signature(&app, "HS256 when registered for HS512").await;
}

async fn rp_id_token_bad_sig_rs256(framework: Framework) {
    let provider = MockProvider::start().await.expect("provider");
    let app = TestApp::start_on(framework, &provider, defaults).await;
    provider.set_misbehavior(Some(Misbehavior::BadSignature));
    refused_for_the_signature(&app, "bad RS256 signature").await;
}

async fn rp_id_token_bad_sig_es256(framework: Framework) {
    let provider = MockProvider::start().await.expect("provider");
    provider.set_signing_alg(MockAlg::Es256);
    let app = TestApp::start_on(framework, &provider, defaults).await;
    provider.set_misbehavior(Some(Misbehavior::BadSignature));
    refused_for_the_signature(&app, "bad ES256 signature").await;
}

async fn rp_id_token_bad_sig_hs256(framework: Framework) {
    let provider = MockProvider::start().await.expect("provider");
    provider.set_signing_alg(MockAlg::Hs256);
    let app = TestApp::start_on(framework, &provider, registered("HS256")).await;
    provider.set_misbehavior(Some(Misbehavior::BadSignature));
    refused_for_the_signature(&app, "bad HS256 signature").await;
}

async fn rp_nonce_invalid(framework: Framework) {
    refused(framework, Misbehavior::NonceMismatch).await;
    refused(framework, Misbehavior::MissingNonce).await;
}

async fn rp_nonce_unless_code_flow(framework: Framework) {
    // The code flow makes nonce optional; this RP always sends one and checks it.
    let provider = MockProvider::start().await.expect("provider");
    let app = TestApp::start_on(framework, &provider, defaults).await;
    let authorize = location(&Browser::default().get(app.at("/login")).await).expect("authorize");
    let nonce = authorize
        .query_pairs()
        .find(|(k, _)| k == "nonce")
        .map(|(_, v)| v.into_owned());
    assert!(nonce.is_some_and(|n| n.len() >= 32));
}

async fn rp_scope_userinfo_claims(framework: Framework) {
    let provider = MockProvider::start().await.expect("provider");
    provider.set_minimal_id_token(true);
    let mut user = MockUser::new("scoped");
    user.name = Some("Scoped User".into());
    provider.set_user(user);
    let (_, _, me) = signed_in(framework, &provider, defaults).await;
    assert_eq!(me["claims"]["email"], "scoped@example.com");
    assert_eq!(me["claims"]["name"], "Scoped User");
    assert_eq!(provider.stats().userinfo, 1);
}

async fn rp_userinfo_bearer_header(framework: Framework) {
    // The mock's userinfo accepts the access token in the Authorization header only.
    let provider = MockProvider::start().await.expect("provider");
    provider.set_minimal_id_token(true);
    let (_, _, me) = signed_in(framework, &provider, defaults).await;
    assert_eq!(me["claims"]["email"], "alice@example.com");
    assert_eq!(provider.stats().userinfo, 1);
}

async fn rp_userinfo_bad_sub_claim(framework: Framework) {
    refused(framework, Misbehavior::UserinfoBadSub).await;
    let provider = MockProvider::start().await.expect("provider");
    provider.set_userinfo_signed(true);
    let app = TestApp::start_on(framework, &provider, defaults).await;
    provider.set_misbehavior(Some(Misbehavior::UserinfoBadSub));
    refused_on(&app, "signed userinfo about another subject").await;
}

async fn rp_userinfo_sig(framework: Framework) {
    let provider = MockProvider::start().await.expect("provider");
    provider.set_minimal_id_token(true);
    provider.set_userinfo_signed(true);
    let (_, _, me) = signed_in(framework, &provider, defaults).await;
    assert_eq!(me["claims"]["email"], "alice@example.com");
    assert_eq!(me["claims"]["name"], "Alice Example");
    // The signed document's iss and aud do not replace the ID token's.
    assert_eq!(me["claims"]["aud"], provider.client_id());
}

async fn rp_claims_aggregated(framework: Framework) {
    let provider = MockProvider::start().await.expect("provider");
    provider.set_aggregated_claims(
        json!({"shoe_size": 8, "eye_color": "blue"}),
        ClaimsPlace::Userinfo,
    );
    let (_, _, me) = signed_in(framework, &provider, resolving).await;
    assert_eq!(me["claims"]["shoe_size"], 8);
    assert_eq!(me["claims"]["eye_color"], "blue");
    assert!(me["claims"].get("_claim_sources").is_none(), "{me}");
    assert!(me["claims"].get("_claim_names").is_none(), "{me}");
}

async fn rp_claims_distributed(framework: Framework) {
    let provider = MockProvider::start().await.expect("provider");
    provider.set_distributed_claims(
        json!({"age": 30, "credit_score": 650}),
        ClaimsPlace::Userinfo,
    );
    let (_, _, me) = signed_in(framework, &provider, resolving).await;
    assert_eq!(me["claims"]["age"], 30);
    assert_eq!(me["claims"]["credit_score"], 650);
    assert!(me["claims"].get("_claim_sources").is_none(), "{me}");
    assert_eq!(provider.stats().claims_source, 1);
}

// ---------------------------------------------------------------------------- Config RP

async fn rp_discovery_openid_configuration(framework: Framework) {
    let provider = MockProvider::start().await.expect("provider");
    let app = TestApp::start_on(framework, &provider, defaults).await;
    let authorize = location(&Browser::default().get(app.at("/login")).await).expect("authorize");
    assert_eq!(
        authorize.as_str().split('?').next(),
        Some(format!("{}/authorize", provider.issuer()).as_str()),
        "the endpoint comes from the discovery document"
    );
    assert!(provider.stats().discovery >= 1);
}

async fn rp_discovery_jwks_uri_keys(framework: Framework) {
    let provider = MockProvider::start().await.expect("provider");
    signed_in(framework, &provider, defaults).await;
    let stats = provider.stats();
    assert!(stats.discovery >= 1 && stats.jwks >= 1, "{stats:?}");
}

async fn rp_discovery_issuer_not_matching_config(framework: Framework) {
    let provider = MockProvider::start().await.expect("provider");
    provider.set_misbehavior(Some(Misbehavior::DiscoveryIssuerMismatch));
    let app = TestApp::start_on(framework, &provider, defaults).await;
    let browser = Browser::default();
    for _ in 0..2 {
        let page = browser.get(app.at("/login")).await;
        assert_eq!(page.status(), StatusCode::BAD_GATEWAY);
        let body = page.text().await.expect("body");
        assert!(body.contains("not-this-issuer"), "{body}");
    }
    let api = browser.api(app.at("/login")).await;
    assert_eq!(api.status(), StatusCode::BAD_GATEWAY);
    let json: Value = api.json().await.expect("json");
    assert_eq!(json["error"], "issuer_mismatch");
    let message = json["message"].as_str().expect("message");
    assert!(
        message.contains(&format!("`{}/not-this-issuer`", provider.issuer())),
        "{message}"
    );
    assert!(
        message.contains(&format!("`{}`", provider.issuer())),
        "{message}"
    );
    assert!(!browser.has_session(&app));
}

async fn rp_key_rotation_op_sign_key(framework: Framework) {
    let provider = MockProvider::start().await.expect("provider");
    let app = TestApp::start_on(framework, &provider, defaults).await;
    let login = || async { Browser::default().login(&app).await.status() };
    assert_eq!(login().await, StatusCode::OK);
    let fetches = provider.stats().jwks;
    // Two rotations seconds apart: each new key is fetched at once.
    provider.rotate_signing_key();
    assert_eq!(
        login().await,
        StatusCode::OK,
        "right after the first rotation"
    );
    provider.rotate_signing_key();
    assert_eq!(
        login().await,
        StatusCode::OK,
        "right after the second rotation"
    );
    assert_eq!(
        provider.stats().jwks,
        fetches + 2,
        "keys fetched again for each new kid, once"
    );
}

// ---------------------------------------------------------------------------- Logout

/// An app with a server-side store, a post-logout landing page and the mock provider
/// posting logout tokens to its back-channel logout route.
async fn logout_app(
    framework: Framework,
    provider: &MockProvider,
    tweak: impl FnOnce(ConfigBuilder) -> ConfigBuilder,
) -> TestApp {
    let app = TestApp::start_on(framework, provider, |config| {
        tweak(config.memory_sessions().post_logout_redirect_uri("/health"))
    })
    .await;
    provider.set_backchannel_logout_uri(Some(app.at("/backchannel_logout").as_str()));
    app
}

/// A browser signed in to `app`, and its provider session id.
async fn browser_with_sid(app: &TestApp) -> (Browser, String) {
    let browser = Browser::default();
    assert_eq!(browser.login(app).await.status(), StatusCode::OK);
    let me: Value = browser.api(app.at("/me")).await.json().await.expect("json");
    let sid = me["claims"]["sid"].as_str().expect("sid").to_owned();
    (browser, sid)
}

/// RP-initiated logout followed to its end: the end-session URL and the landing page.
async fn rp_initiated_logout(app: &TestApp, browser: &Browser) -> url::Url {
    let logout = browser.get(app.at("/logout")).await;
    assert_eq!(logout.status(), StatusCode::FOUND);
    let end_session = location(&logout).expect("end-session redirect");
    let (landed, visited) = browser.follow(end_session.clone()).await;
    assert_eq!(landed.status(), StatusCode::OK, "post-logout landing");
    assert_eq!(
        visited.last().map(url::Url::path),
        Some("/health"),
        "{visited:?}"
    );
    assert_eq!(
        landed.text().await.expect("body"),
        "ok",
        "no session after logout"
    );
    end_session
}

async fn signed_in_still(app: &TestApp, browser: &Browser) -> bool {
    browser.api(app.at("/api/data")).await.status() == StatusCode::OK
}

/// The provider ends one of its sessions on its own (the user signed out elsewhere): it
/// posts a logout token for that `sid` through the end-session endpoint.
async fn provider_ends_session(provider: &MockProvider, sid: &str) {
    let hint = provider.mint_jwt(
        MockAlg::Rs256,
        json!({"iss": provider.issuer(), "sub": "alice", "sid": sid}),
    );
    let mut url = url::Url::parse(&format!("{}/end_session", provider.issuer())).expect("url");
    url.query_pairs_mut().append_pair("id_token_hint", &hint);
    let answer = reqwest::get(url).await.expect("end session");
    assert!(answer.status().is_success());
}

async fn rp_init_logout(framework: Framework) {
    let provider = MockProvider::start().await.expect("provider");
    let app = logout_app(framework, &provider, defaults).await;
    let (browser, _) = browser_with_sid(&app).await;
    let end_session = rp_initiated_logout(&app, &browser).await;
    assert!(end_session
        .as_str()
        .starts_with(&format!("{}/end_session?", provider.issuer())));
    let requests = provider.end_session_requests();
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert_eq!(request.client_id.as_deref(), Some(provider.client_id()));
    assert_eq!(
        request.post_logout_redirect_uri.as_deref(),
        Some(app.at("/health").as_str())
    );
    let hint = request.id_token_hint.as_deref().expect("id_token_hint");
    assert_eq!(hint.split('.').count(), 3);
    assert!(!browser.has_session(&app));
    assert!(!signed_in_still(&app, &browser).await);
}

async fn rp_init_logout_session(framework: Framework) {
    // The server side of session management: the logout names the provider session the
    // login opened (`sid` of the id_token_hint), and the next login opens another one. The
    // check_session_iframe polling is the page's own JavaScript.
    let provider = MockProvider::start().await.expect("provider");
    let app = logout_app(framework, &provider, defaults).await;
    let (browser, sid) = browser_with_sid(&app).await;
    rp_initiated_logout(&app, &browser).await;
    let hint = provider.end_session_requests()[0]
        .id_token_hint
        .clone()
        .expect("hint");
    let payload = hint.split('.').nth(1).expect("payload");
    use base64::Engine as _;
    let claims: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .expect("base64url"),
    )
    .expect("json");
    assert_eq!(claims["sid"], sid.as_str());
    let (_, next_sid) = browser_with_sid(&app).await;
    assert_ne!(next_sid, sid);
}

async fn rp_backchannel_rpinitlogout(framework: Framework) {
    let provider = MockProvider::start().await.expect("provider");
    let app = logout_app(framework, &provider, defaults).await;
    let (leaving, _) = browser_with_sid(&app).await;
    let (staying, staying_sid) = browser_with_sid(&app).await;
    rp_initiated_logout(&app, &leaving).await;
    // The session was ended locally already: the valid logout token is acknowledged.
    assert_eq!(provider.backchannel_logout_statuses(), [200]);
    assert!(signed_in_still(&app, &staying).await, "another session");
    // A logout at the provider reaches the other session through the back channel.
    provider_ends_session(&provider, &staying_sid).await;
    assert_eq!(provider.backchannel_logout_statuses(), [200, 200]);
    assert!(!signed_in_still(&app, &staying).await);
}

/// The provider's hidden iframe at the front-channel logout URI: cross-site, so the
/// browser sends no `SameSite=Lax` cookie; the server-side store finds the session.
async fn frontchannel_iframe(app: &TestApp, iss: &str, sid: &str) -> reqwest::Response {
    let mut url = app.at("/frontchannel_logout");
    url.query_pairs_mut()
        .append_pair("iss", iss)
        .append_pair("sid", sid);
    reqwest::get(url).await.expect("front-channel logout")
}

async fn rp_frontchannel_rpinitlogout(framework: Framework) {
    let provider = MockProvider::start().await.expect("provider");
    let app = logout_app(framework, &provider, defaults).await;
    provider.set_backchannel_logout_uri(None);
    let (leaving, leaving_sid) = browser_with_sid(&app).await;
    let (staying, staying_sid) = browser_with_sid(&app).await;
    rp_initiated_logout(&app, &leaving).await;
    // The provider then renders the RP's front-channel logout URI in an iframe.
    let answer = frontchannel_iframe(&app, &provider.issuer(), &leaving_sid).await;
    assert_eq!(answer.status(), StatusCode::OK);
    assert_eq!(answer.headers()["cache-control"], "no-store");
    assert!(answer.headers().get("x-frame-options").is_none());
    let csp = answer.headers()["content-security-policy"]
        .to_str()
        .expect("csp");
    assert!(
        csp.contains(&format!("frame-ancestors {}", provider.issuer())),
        "{csp}"
    );
    assert!(signed_in_still(&app, &staying).await, "another session");
    // Another issuer, or no sid, ends nothing.
    let foreign = frontchannel_iframe(&app, "https://op.evil.example", &staying_sid).await;
    assert_eq!(foreign.status(), StatusCode::BAD_REQUEST);
    let no_sid = reqwest::get(app.at(&format!("/frontchannel_logout?iss={}", provider.issuer())))
        .await
        .expect("request");
    assert_eq!(no_sid.status(), StatusCode::BAD_REQUEST);
    assert!(
        signed_in_still(&app, &staying).await,
        "refused: nothing ended"
    );
    // The provider ending the other session reaches it through the front channel.
    let answer = frontchannel_iframe(&app, &provider.issuer(), &staying_sid).await;
    assert_eq!(answer.status(), StatusCode::OK);
    assert!(!signed_in_still(&app, &staying).await);
}

/// A logout token with `defect` is answered 400 and ends nothing: neither at RP-initiated
/// logout nor when it names another live session.
async fn defective_logout_token(framework: Framework, defect: LogoutTokenDefect, tweak: Tweak) {
    let provider = MockProvider::start().await.expect("provider");
    let app = logout_app(framework, &provider, tweak).await;
    provider.set_logout_token_defect(Some(defect));
    let (leaving, _) = browser_with_sid(&app).await;
    let (staying, staying_sid) = browser_with_sid(&app).await;
    rp_initiated_logout(&app, &leaving).await;
    assert_eq!(provider.backchannel_logout_statuses(), [400], "{defect:?}");
    provider_ends_session(&provider, &staying_sid).await;
    assert_eq!(
        provider.backchannel_logout_statuses(),
        [400, 400],
        "{defect:?}"
    );
    assert!(
        signed_in_still(&app, &staying).await,
        "{defect:?} ended a session"
    );
}

async fn rp_backchannel_rpinitlogout_lt_alg_none(framework: Framework) {
    defective_logout_token(framework, LogoutTokenDefect::AlgNone, defaults).await;
}

async fn rp_backchannel_rpinitlogout_lt_wrong_alg(framework: Framework) {
    // Registered for RS256 as the certification registers: an ES256 logout token, even
    // from a published key, is refused.
    fn rs256(config: ConfigBuilder) -> ConfigBuilder {
        registered("RS256")(config)
    }
    defective_logout_token(framework, LogoutTokenDefect::WrongAlg, rs256).await;
}

async fn rp_backchannel_rpinitlogout_lt_wrong_aud(framework: Framework) {
    defective_logout_token(framework, LogoutTokenDefect::WrongAudience, defaults).await;
}

async fn rp_backchannel_rpinitlogout_lt_no_event(framework: Framework) {
    defective_logout_token(framework, LogoutTokenDefect::NoEvent, defaults).await;
}

async fn rp_backchannel_rpinitlogout_lt_wrong_event(framework: Framework) {
    defective_logout_token(framework, LogoutTokenDefect::WrongEvent, defaults).await;
}

async fn rp_backchannel_rpinitlogout_lt_wrong_issuer(framework: Framework) {
    defective_logout_token(framework, LogoutTokenDefect::WrongIssuer, defaults).await;
}

async fn rp_backchannel_rpinitlogout_lt_with_nonce(framework: Framework) {
    defective_logout_token(framework, LogoutTokenDefect::WithNonce, defaults).await;
}

async fn rp_backchannel_rpinitlogout_lt_wrong_sid(framework: Framework) {
    // A valid token for an unknown sid is acknowledged (it looks like a session ended
    // already) but ends nothing, although its sub names a user with live sessions.
    let provider = MockProvider::start().await.expect("provider");
    let app = logout_app(framework, &provider, defaults).await;
    provider.set_logout_token_defect(Some(LogoutTokenDefect::WrongSid));
    let (leaving, _) = browser_with_sid(&app).await;
    let (staying, staying_sid) = browser_with_sid(&app).await;
    rp_initiated_logout(&app, &leaving).await;
    provider_ends_session(&provider, &staying_sid).await;
    assert_eq!(provider.backchannel_logout_statuses(), [200, 200]);
    assert!(
        signed_in_still(&app, &staying).await,
        "a wrong sid ended a session"
    );
}

// ---------------------------------------------------------------------------- Around

async fn unsigned_id_tokens_are_refused_unless_registered(framework: Framework) {
    let (_, body) = refused(framework, Misbehavior::AlgNone).await;
    assert!(body.contains("bad signature"), "{body}");
    let provider = MockProvider::start().await.expect("provider");
    provider.set_signing_alg(MockAlg::None);
    for tweak in [registered("RS256"), registered("HS256")] {
        let app = TestApp::start_on(framework, &provider, tweak).await;
        refused_for_the_signature(&app, "unsigned, registered for a signature").await;
    }
}

async fn none_registration_never_reaches_bearer_or_logout_tokens(framework: Framework) {
    let provider = MockProvider::start().await.expect("provider");
    let app = logout_app(framework, &provider, registered("none")).await;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    let claims = json!({"iss": provider.issuer(), "aud": provider.client_id(), "sub": "svc",
                        "exp": now + 300, "iat": now});
    let unsigned = provider.mint_jwt(MockAlg::None, claims.clone());
    let bearer = reqwest::Client::new()
        .get(app.at("/api/data"))
        .bearer_auth(&unsigned)
        .send()
        .await
        .expect("request");
    assert_eq!(bearer.status(), StatusCode::UNAUTHORIZED);
    let signed = provider.mint_jwt(MockAlg::Rs256, claims);
    let bearer = reqwest::Client::new()
        .get(app.at("/api/data"))
        .bearer_auth(&signed)
        .send()
        .await
        .expect("request");
    assert_eq!(
        bearer.status(),
        StatusCode::OK,
        "signed bearer tokens still work"
    );

    provider.set_signing_alg(MockAlg::None);
    provider.set_logout_token_defect(Some(LogoutTokenDefect::AlgNone));
    let (staying, staying_sid) = browser_with_sid(&app).await;
    provider_ends_session(&provider, &staying_sid).await;
    assert_eq!(provider.backchannel_logout_statuses(), [400]);
    assert!(signed_in_still(&app, &staying).await);
}

async fn hmac_registration_never_keys_with_a_public_key(framework: Framework) {
    let provider = MockProvider::start().await.expect("provider");
    let app = TestApp::start_on(framework, &provider, registered("HS256")).await;
    provider.set_misbehavior(Some(Misbehavior::HmacWithPublicKey));
    refused_for_the_signature(&app, "HS256 keyed with the public key").await;
}

async fn a_flood_of_unknown_kids_costs_a_bounded_number_of_fetches(framework: Framework) {
    let provider = MockProvider::start().await.expect("provider");
    let (app, _, _) = signed_in(framework, &provider, defaults).await;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    let claims = json!({"iss": provider.issuer(), "aud": provider.client_id(), "sub": "svc",
                        "exp": now + 300, "iat": now});
    let client = reqwest::Client::new();
    let send = |token: String| {
        let request = client.get(app.at("/api/data")).bearer_auth(token);
        async move { request.send().await.expect("request").status() }
    };
    let before = provider.stats().jwks;
    for _ in 0..20 {
        let token = provider.mint_jwt_with_kid("the-same-made-up-kid", claims.clone());
        assert_eq!(send(token).await, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(provider.stats().jwks, before + 1, "one kid, one fetch");
    for n in 0..60 {
        let token = provider.mint_jwt_with_kid(&format!("made-up-{n}"), claims.clone());
        assert_eq!(send(token).await, StatusCode::UNAUTHORIZED);
    }
    let fetched = provider.stats().jwks - before;
    assert!(
        fetched <= 5,
        "{fetched} fetches for a flood of made-up kids"
    );
    let genuine = provider.mint_jwt(MockAlg::Rs256, claims);
    assert_eq!(send(genuine).await, StatusCode::OK);
}

async fn claim_sources_in_the_id_token_are_resolved_too(framework: Framework) {
    let provider = MockProvider::start().await.expect("provider");
    provider.set_aggregated_claims(json!({"shoe_size": 8}), ClaimsPlace::IdToken);
    provider.set_distributed_claims(json!({"age": 30}), ClaimsPlace::IdToken);
    let (_, _, me) = signed_in(framework, &provider, resolving).await;
    assert_eq!(me["claims"]["shoe_size"], 8);
    assert_eq!(me["claims"]["age"], 30);
}

async fn claim_sources_are_left_alone_by_default(framework: Framework) {
    let provider = MockProvider::start().await.expect("provider");
    provider.set_aggregated_claims(json!({"shoe_size": 8}), ClaimsPlace::Userinfo);
    provider.set_distributed_claims(json!({"age": 30}), ClaimsPlace::Userinfo);
    let (_, _, me) = signed_in(framework, &provider, defaults).await;
    assert!(me["claims"].get("shoe_size").is_none());
    assert!(me["claims"]["_claim_sources"].is_object(), "{me}");
    assert_eq!(
        provider.stats().claims_source,
        0,
        "no URL of the token fetched"
    );
}

async fn claim_sources_that_fail_are_skipped_within_bounds(framework: Framework) {
    for misbehavior in [
        Misbehavior::ClaimSourceBadSignature,
        Misbehavior::OversizedClaimSource,
        Misbehavior::SlowClaimSource,
    ] {
        let provider = MockProvider::start().await.expect("provider");
        provider.set_aggregated_claims(json!({"shoe_size": 8}), ClaimsPlace::Userinfo);
        provider.set_distributed_claims(json!({"age": 30}), ClaimsPlace::Userinfo);
        provider.set_misbehavior(Some(misbehavior));
        let started = Instant::now();
        let (_, _, me) = signed_in(framework, &provider, resolving).await;
        assert!(
            started.elapsed() < Duration::from_secs(8),
            "{misbehavior:?} took {:?}",
            started.elapsed()
        );
        assert!(me["claims"].get("age").is_none(), "{misbehavior:?}: {me}");
        if misbehavior == Misbehavior::ClaimSourceBadSignature {
            assert!(me["claims"].get("shoe_size").is_none(), "{me}");
        } else {
            assert_eq!(me["claims"]["shoe_size"], 8, "{misbehavior:?}");
        }
        assert!(me["claims"].get("_claim_sources").is_none(), "{me}");
    }
}

/// A signed answer that does not verify was tampered with or comes from elsewhere: the
/// login fails rather than going on without it.
async fn signed_userinfo_that_does_not_verify_fails_the_login(framework: Framework) {
    let provider = MockProvider::start().await.expect("provider");
    provider.set_minimal_id_token(true);
    provider.set_userinfo_signed(true);
    let app = TestApp::start_on(framework, &provider, defaults).await;
    provider.set_misbehavior(Some(Misbehavior::UserinfoBadSignature));
    let (status, body) = refused_on(&app, "signed userinfo with a bad signature").await;
    assert_eq!(status, StatusCode::BAD_GATEWAY, "{body}");
    assert!(body.contains("userinfo"), "{body}");
}

async fn azp_is_required_with_several_audiences(framework: Framework) {
    refused(framework, Misbehavior::MultipleAudiencesNoAzp).await;
    refused(framework, Misbehavior::WrongAzp).await;
}

async fn hmac_signed_with_the_public_key_is_refused(framework: Framework) {
    let (_, body) = refused(framework, Misbehavior::HmacWithPublicKey).await;
    assert!(body.contains("bad signature"), "{body}");
}

async fn expired_id_tokens_are_refused(framework: Framework) {
    let (_, body) = refused(framework, Misbehavior::Expired).await;
    assert!(body.contains("claim check failed"), "{body}");
    refused(framework, Misbehavior::MissingExp).await;
}

async fn provider_errors_are_clear_4xx(framework: Framework) {
    refused(framework, Misbehavior::TokenEndpointError).await;
    refused(framework, Misbehavior::AuthorizeError).await;
}
