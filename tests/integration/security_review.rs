//! Attacks on tokens, sessions and logout (token confusion, unverified email, logout CSRF,
//! introspection floods, shared caches, shared keys), one named case each, on axum and actix-web.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;
use tower_oidc::testing::{MockProvider, MockUser};

use crate::harness::{assert_status, location, set_cookies, Browser, Framework, TestApp};

both!(
    id_and_logout_tokens_are_not_bearer_tokens,
    unverified_emails_name_no_user,
    bearer_tokens_without_the_user_id_claim_are_refused,
    global_requirements_hold_on_whitelisted_paths_and_at_the_callback,
    cross_site_logout_asks_to_confirm,
    unknown_opaque_tokens_are_introspected_once,
    answers_that_set_session_cookies_are_kept_from_shared_caches,
    apps_sharing_a_key_refuse_each_others_cookies,
    backchannel_logout_tokens_must_expire_and_be_fresh,
);

async fn bearer_status(app: &TestApp, token: &str) -> StatusCode {
    reqwest::Client::new()
        .get(app.at("/api/data"))
        .bearer_auth(token)
        .send()
        .await
        .expect("request")
        .status()
}

async fn id_and_logout_tokens_are_not_bearer_tokens(framework: Framework) {
    let provider = MockProvider::start().await.expect("provider");
    let app = TestApp::start_on(framework, &provider, |c| c).await;
    let access = provider.mint_access_token("alice", json!({}));
    assert_eq!(bearer_status(&app, &access).await, StatusCode::OK);
    // An ID token: the client id as audience, a nonce, signed with the provider's key.
    let id_token = provider.mint_access_token("alice", json!({"nonce": "n-1", "scope": null}));
    assert_eq!(
        bearer_status(&app, &id_token).await,
        StatusCode::UNAUTHORIZED
    );
    let logout_token = provider.mint_access_token(
        "alice",
        json!({"events": {"http://schemas.openid.net/event/backchannel-logout": {}}}),
    );
    assert_eq!(
        bearer_status(&app, &logout_token).await,
        StatusCode::UNAUTHORIZED
    );
}

async fn unverified_emails_name_no_user(framework: Framework) {
    let provider = MockProvider::start().await.expect("provider");
    let app = TestApp::start_on(framework, &provider, |c| c.user_id_claim("email")).await;
    let mut user = MockUser::new("mallory");
    user.email = Some("alice@example.com".into());
    user.email_verified = None;
    provider.set_user(user);
    let (response, _) = Browser::default().follow(app.at("/login")).await;
    let page = assert_status(response, StatusCode::FORBIDDEN).await;
    assert!(page.contains("not verified"), "{page}");
    for verified in [json!(false), json!("false"), json!(null)] {
        let token = provider.mint_access_token(
            "mallory",
            json!({"email": "alice@example.com", "email_verified": verified}),
        );
        assert_eq!(
            bearer_status(&app, &token).await,
            StatusCode::UNAUTHORIZED,
            "email_verified: {verified}"
        );
    }
    let verified = provider.mint_access_token(
        "alice",
        json!({"email": "alice@example.com", "email_verified": true}),
    );
    assert_eq!(bearer_status(&app, &verified).await, StatusCode::OK);

    let trusting = TestApp::start_on(framework, &provider, |c| {
        c.user_id_claim("email").danger_trust_unverified_email(true)
    })
    .await;
    let (landed, _) = Browser::default().follow(trusting.at("/")).await;
    assert_eq!(
        assert_status(landed, StatusCode::OK).await,
        "hello alice@example.com"
    );
}

async fn bearer_tokens_without_the_user_id_claim_are_refused(framework: Framework) {
    let provider = MockProvider::start().await.expect("provider");
    let app = TestApp::start_on(framework, &provider, |c| c.user_id_claim("email")).await;
    // A token for another principal that has no email: neither its `sub` nor its
    // `client_id` may stand in for the configured claim.
    let token = provider.mint_access_token("svc", json!({"email": null}));
    assert_eq!(bearer_status(&app, &token).await, StatusCode::UNAUTHORIZED);
    let by_sub = TestApp::start_on(framework, &provider, |c| c).await;
    let client_only = provider.mint_access_token("svc", json!({"sub": null}));
    assert_eq!(
        bearer_status(&by_sub, &client_only).await,
        StatusCode::UNAUTHORIZED
    );
}

async fn global_requirements_hold_on_whitelisted_paths_and_at_the_callback(framework: Framework) {
    let provider = MockProvider::start().await.expect("provider");
    let app = TestApp::start_on(framework, &provider, |c| {
        c.require(tower_oidc::Require::new().claim_contains("groups", "admins"))
    })
    .await;
    let browser = Browser::default();
    let start = browser.get(app.at("/login?next=/health")).await;
    let authorize = location(&start).expect("to the provider");
    let back = browser.get(authorize).await;
    let callback = location(&back).expect("back to the callback");
    let answer = browser.get(callback).await;
    assert!(
        set_cookies(&answer)
            .iter()
            .any(|c| c.starts_with("tower_oidc.0=")),
        "the session is kept, so the page's logout link can end it at the provider"
    );
    let page = assert_status(answer, StatusCode::FORBIDDEN).await;
    assert!(page.contains("/logout"), "{page}");
    let health = browser.api(app.at("/health")).await;
    assert_eq!(
        assert_status(health, StatusCode::OK).await,
        "ok",
        "a whitelisted handler never sees an identity that fails the requirements"
    );
}

async fn cross_site_logout_asks_to_confirm(framework: Framework) {
    let provider = MockProvider::start().await.expect("provider");
    let app = TestApp::start_on(framework, &provider, |c| c).await;
    let browser = Browser::default();
    assert_status(browser.login(&app).await, StatusCode::OK).await;
    let signed_in = || async { browser.api(app.at("/api/data")).await.status() == StatusCode::OK };

    let link = browser
        .client
        .get(app.at("/logout"))
        .header("accept", "text/html")
        .header("sec-fetch-site", "cross-site")
        .send()
        .await
        .expect("request");
    let page = assert_status(link, StatusCode::OK).await;
    assert!(page.contains("method=\"post\""), "{page}");
    assert!(signed_in().await, "a link on another site ends nothing");

    let form = browser
        .client
        .post(app.at("/logout"))
        .header("accept", "text/html")
        .header("origin", "https://evil.example")
        .send()
        .await
        .expect("request");
    assert_status(form, StatusCode::OK).await;
    assert!(signed_in().await, "a form on another site ends nothing");

    let script = browser
        .client
        .post(app.at("/logout"))
        .header("accept", "application/json")
        .header("sec-fetch-site", "cross-site")
        .send()
        .await
        .expect("request");
    let json = assert_status(script, StatusCode::FORBIDDEN).await;
    assert!(json.contains("cross_site_logout"), "{json}");
    assert!(signed_in().await);

    let own = app.url.as_str().trim_end_matches('/').to_owned();
    let confirmed = browser
        .client
        .post(app.at("/logout"))
        .header("accept", "text/html")
        .header("origin", own)
        .header("sec-fetch-site", "same-origin")
        .send()
        .await
        .expect("request");
    assert_eq!(confirmed.status(), StatusCode::SEE_OTHER);
    assert!(
        !signed_in().await,
        "the confirmed, same-origin logout ends the session"
    );

    let trusting = TestApp::start_on(framework, &provider, |c| {
        c.trust_cross_site_logout_get(true)
    })
    .await;
    let other = Browser::default();
    assert_status(other.login(&trusting).await, StatusCode::OK).await;
    let link = other
        .client
        .get(trusting.at("/logout"))
        .header("sec-fetch-site", "cross-site")
        .send()
        .await
        .expect("request");
    assert_eq!(link.status(), StatusCode::FOUND);
}

async fn unknown_opaque_tokens_are_introspected_once(framework: Framework) {
    let provider = MockProvider::start().await.expect("provider");
    let app = TestApp::start_on(framework, &provider, |c| c.introspect_opaque_tokens(true)).await;
    let before = provider.stats().introspection;
    for _ in 0..5 {
        assert_eq!(
            bearer_status(&app, "made-up-opaque-token").await,
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(provider.stats().introspection, before + 1);
    // A flood of made-up tokens: however long it takes, the calls stay under the ceiling
    // of 20 at once plus 10 a second.
    let client = reqwest::Client::new();
    let started = std::time::Instant::now();
    for wave in 0..4 {
        let mut flood = tokio::task::JoinSet::new();
        for i in 0..25 {
            let request = client
                .get(app.at("/api/data"))
                .bearer_auth(format!("random-opaque-{wave}-{i}"));
            flood.spawn(async move { request.send().await.expect("request").status() });
        }
        while let Some(status) = flood.join_next().await {
            let status = status.expect("task");
            assert!(
                status == StatusCode::UNAUTHORIZED || status == StatusCode::SERVICE_UNAVAILABLE,
                "{status}"
            );
        }
    }
    let ceiling = 20 + (started.elapsed().as_secs_f64() * 10.0).ceil() as u64 + 1;
    let asked = provider.stats().introspection - before - 1;
    assert!(
        asked <= ceiling,
        "100 made-up tokens cost {asked} introspection calls (ceiling {ceiling})"
    );
}

async fn answers_that_set_session_cookies_are_kept_from_shared_caches(framework: Framework) {
    let provider = MockProvider::start().await.expect("provider");
    provider.set_access_token_ttl(Duration::from_secs(30));
    let app = TestApp::start_on(framework, &provider, |c| c.leeway(Duration::from_secs(60))).await;
    let browser = Browser::default();
    assert_status(browser.login(&app).await, StatusCode::OK).await;
    let refreshed = browser.api(app.at("/cached")).await;
    assert!(
        set_cookies(&refreshed)
            .iter()
            .any(|c| c.starts_with("tower_oidc.0=")),
        "the refresh renews the session cookie"
    );
    assert_eq!(refreshed.headers()["cache-control"], "no-store");
    assert_status(refreshed, StatusCode::OK).await;
}

async fn apps_sharing_a_key_refuse_each_others_cookies(framework: Framework) {
    let provider = MockProvider::start().await.expect("provider");
    let first = TestApp::start_on(framework, &provider, |c| c).await;
    let second = TestApp::start_on(framework, &provider, |c| c.client_id("another-app")).await;
    let browser = Browser::default();
    assert_status(browser.login(&first).await, StatusCode::OK).await;
    // Both listen on 127.0.0.1, so the browser sends the first app's cookies to the second.
    assert_eq!(
        browser.api(second.at("/api/data")).await.status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn actix_reads_backchannel_bodies_under_the_layers_own_limit() {
    use actix_web::{test, web, App};
    let provider = MockProvider::start().await.expect("provider");
    let config = crate::harness::base_config(&provider)
        .memory_sessions()
        .build()
        .expect("config");
    let app = test::init_service(
        App::new()
            .app_data(web::PayloadConfig::new(16))
            .wrap(tower_oidc::actix::OidcMiddleware::new(config))
            .route("/", web::get().to(|| async { "home" })),
    )
    .await;
    let post = |body: String| {
        test::TestRequest::post()
            .uri("/backchannel_logout")
            .insert_header(("content-type", "application/x-www-form-urlencoded"))
            .set_payload(body)
            .to_request()
    };
    let small_for_the_app =
        test::call_service(&app, post(format!("logout_token={}", "x".repeat(64)))).await;
    assert_eq!(
        small_for_the_app.status().as_u16(),
        400,
        "read and judged by the layer, whatever the app's own payload limit"
    );
    let too_large = test::call_service(&app, post("x".repeat(40 * 1024))).await;
    assert_eq!(too_large.status().as_u16(), 413);
}

#[tokio::test]
async fn secure_root_cookies_carry_the_host_prefix() {
    let provider = MockProvider::start().await.expect("provider");
    let app = TestApp::start_on(Framework::Axum, &provider, |c| c.cookie_secure(true)).await;
    let login = Browser::default().get(app.at("/login")).await;
    let cookies = set_cookies(&login);
    assert!(
        !cookies.is_empty()
            && cookies.iter().all(|c| c.starts_with("__Host-")
                && c.contains("Secure")
                && c.contains("Path=/")
                && !c.contains("Domain")),
        "{cookies:?}"
    );
    let prefixless = TestApp::start_on(Framework::Axum, &provider, |c| {
        c.cookie_secure(true).cookie_host_prefix(false)
    })
    .await;
    let login = Browser::default().get(prefixless.at("/login")).await;
    assert!(set_cookies(&login)
        .iter()
        .all(|c| !c.starts_with("__Host-")));
}

async fn backchannel_logout_tokens_must_expire_and_be_fresh(framework: Framework) {
    let provider = MockProvider::start().await.expect("provider");
    let app = TestApp::start_on(framework, &provider, |c| c.memory_sessions()).await;
    let browser = Browser::default();
    assert_status(browser.login(&app).await, StatusCode::OK).await;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    let post = |claims: serde_json::Value| {
        let token = provider.mint_jwt(tower_oidc::testing::MockAlg::Rs256, claims);
        let url = app.at("/backchannel_logout");
        async move {
            reqwest::Client::new()
                .post(url)
                .form(&[("logout_token", token.as_str())])
                .send()
                .await
                .expect("request")
                .status()
        }
    };
    let claims = |jti: &str, iat: u64, exp: Option<u64>| {
        let mut claims = json!({
            "iss": provider.issuer(), "aud": provider.client_id(), "iat": iat, "jti": jti,
            "sub": "alice",
            "events": { "http://schemas.openid.net/event/backchannel-logout": {} },
        });
        if let Some(exp) = exp {
            claims["exp"] = json!(exp);
        }
        claims
    };
    assert_eq!(
        post(claims("no-exp", now, None)).await,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        post(claims("held-back", now - 600, Some(now + 600))).await,
        StatusCode::BAD_REQUEST,
        "a token issued ten minutes ago is refused"
    );
    assert_eq!(
        browser.api(app.at("/api/data")).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        post(claims("fresh", now, Some(now + 120))).await,
        StatusCode::OK
    );
    assert_eq!(
        browser.api(app.at("/api/data")).await.status(),
        StatusCode::UNAUTHORIZED
    );
}
