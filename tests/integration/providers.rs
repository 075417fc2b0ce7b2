//! Two OpenID Providers in one application: logins, bearer tokens, mix-up defence and
//! outages, each provider on its own mock.

use reqwest::StatusCode;
use serde_json::{json, Value};
use tower_oidc::testing::{MockProvider, MockUser};
use tower_oidc::{Config, ConfigBuilder, ProviderConfig, ProviderEndpoints, TenantIssuer};
use url::Url;

use crate::harness::{assert_status, location, Browser, Framework, TestApp};
use crate::stores::post_logout_token;

both!(
    logins_through_each_provider_keep_users_apart,
    the_chooser_lists_providers_and_keeps_next,
    a_default_provider_skips_the_chooser,
    bearer_tokens_are_verified_by_their_issuer,
    a_mixed_up_callback_is_refused,
    a_login_started_at_one_provider_cannot_finish_at_the_others_callback,
    one_provider_down_leaves_the_other_working,
    refresh_goes_to_the_provider_that_signed_in,
    tenant_tokens_need_an_allowed_tenant,
    backchannel_logout_ends_only_that_providers_sessions,
    a_session_of_a_removed_provider_is_no_session,
);

/// Two mock providers, both naming themselves in authorization responses.
async fn two_mocks() -> (MockProvider, MockProvider) {
    let alpha = MockProvider::start().await.expect("provider");
    let beta = MockProvider::start().await.expect("provider");
    alpha.set_authorization_response_iss(true);
    beta.set_authorization_response_iss(true);
    // Each signs with a key of its own.
    beta.rotate_signing_key();
    (alpha, beta)
}

fn provider_of(mock: &MockProvider) -> ProviderConfig {
    ProviderConfig::new()
        .issuer(mock.issuer())
        .client_id(mock.client_id())
        .client_secret(mock.client_secret())
}

fn two_providers(alpha: &MockProvider, beta: &MockProvider) -> ConfigBuilder {
    Config::builder()
        .provider("alpha", provider_of(alpha).display_name("Alpha Corp"))
        .provider("beta", provider_of(beta))
        .secret_key("integration-test-key-0123456789abcdef")
        .cookie_secure(false)
        .whitelist(["health", "/health/oidc"])
}

async fn app(framework: Framework, config: ConfigBuilder) -> TestApp {
    TestApp::serve_on(framework, config.build().expect("config"), "").await
}

async fn me(browser: &Browser, app: &TestApp) -> Value {
    let body = assert_status(browser.api(app.at("/me")).await, StatusCode::OK).await;
    serde_json::from_str(&body).expect("json")
}

async fn logins_through_each_provider_keep_users_apart(framework: Framework) {
    let (alpha, beta) = two_mocks().await;
    let app = app(framework, two_providers(&alpha, &beta)).await;

    let at_alpha = Browser::default();
    let (landed, visited) = at_alpha.follow(app.at("/login/alpha?next=/me")).await;
    assert!(
        visited[0].as_str().starts_with(&alpha.issuer()),
        "{visited:?}"
    );
    assert_status(landed, StatusCode::OK).await;
    let at_beta = Browser::default();
    let (landed, visited) = at_beta.follow(app.at("/login/beta?next=/me")).await;
    assert!(
        visited[0].as_str().starts_with(&beta.issuer()),
        "{visited:?}"
    );
    assert_status(landed, StatusCode::OK).await;

    // Both providers call their user `alice`: two users here.
    let alpha_me = me(&at_alpha, &app).await;
    let beta_me = me(&at_beta, &app).await;
    assert_eq!(alpha_me["user_id"], "alpha:alice");
    assert_eq!(beta_me["user_id"], "beta:alice");
    assert_eq!(alpha_me["claims"]["iss"], alpha.issuer());
    assert_eq!(beta_me["claims"]["iss"], beta.issuer());

    // Logout ends the session at the provider that signed the user in.
    let logout = at_beta.get(app.at("/logout")).await;
    let end_session = location(&logout).expect("end-session redirect");
    assert!(
        end_session.as_str().starts_with(&beta.issuer()),
        "{end_session}"
    );
    let _ = at_beta.get(end_session).await;
    assert_eq!(beta.end_session_requests().len(), 1);
    assert!(alpha.end_session_requests().is_empty());
    assert_eq!(
        at_beta.api(app.at("/me")).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(me(&at_alpha, &app).await["user_id"], "alpha:alice");

    // An unknown provider is not found.
    let unknown = at_alpha.get(app.at("/login/gamma")).await;
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
}

async fn the_chooser_lists_providers_and_keeps_next(framework: Framework) {
    let (alpha, beta) = two_mocks().await;
    let app = app(framework, two_providers(&alpha, &beta)).await;
    let browser = Browser::default();

    // A protected page sends the browser to the chooser, keeping the page.
    let first = browser.get(app.at("/me?tab=1")).await;
    assert_eq!(first.status(), StatusCode::FOUND);
    let chooser = location(&first).expect("location");
    assert_eq!(chooser.path(), "/login");
    assert_eq!(chooser.query(), Some("next=%2Fme%3Ftab%3D1"));
    assert_eq!(alpha.stats().authorize + beta.stats().authorize, 0);

    let page = browser.get(chooser.clone()).await;
    assert_eq!(page.headers()["content-type"], "text/html; charset=utf-8");
    let html = assert_status(page, StatusCode::OK).await;
    assert!(html.contains("Alpha Corp"), "{html}");
    assert!(
        html.contains("href=\"/login/beta?next=%2Fme%3Ftab%3D1\""),
        "{html}"
    );

    let listed = browser.api(chooser).await;
    let listed: Value =
        serde_json::from_str(&assert_status(listed, StatusCode::OK).await).expect("json");
    assert_eq!(
        listed["providers"],
        json!([
            {"name": "alpha", "display_name": "Alpha Corp",
             "login_url": "/login/alpha?next=%2Fme%3Ftab%3D1"},
            {"name": "beta", "display_name": "beta",
             "login_url": "/login/beta?next=%2Fme%3Ftab%3D1"},
        ])
    );

    // Following a link lands on the page first asked for.
    let (landed, visited) = browser
        .follow(app.at("/login/beta?next=%2Fme%3Ftab%3D1"))
        .await;
    assert_eq!(visited.last().map(Url::path), Some("/me"));
    assert_eq!(visited.last().and_then(Url::query), Some("tab=1"));
    assert_status(landed, StatusCode::OK).await;

    // API clients still get 401, not the chooser.
    let api = Browser::default().api(app.at("/api/data")).await;
    assert_eq!(api.status(), StatusCode::UNAUTHORIZED);
}

async fn a_default_provider_skips_the_chooser(framework: Framework) {
    let (alpha, beta) = two_mocks().await;
    let app = app(
        framework,
        two_providers(&alpha, &beta).default_provider("beta"),
    )
    .await;
    let browser = Browser::default();
    let first = browser.get(app.at("/me")).await;
    let authorize = location(&first).expect("location");
    assert!(
        authorize.as_str().starts_with(&beta.issuer()),
        "{authorize}"
    );
    let login = browser.get(app.at("/login")).await;
    let authorize = location(&login).expect("location");
    assert!(
        authorize.as_str().starts_with(&beta.issuer()),
        "{authorize}"
    );
    // The other provider stays one click away.
    let (landed, _) = browser.follow(app.at("/login/alpha?next=/me")).await;
    assert_status(landed, StatusCode::OK).await;
    assert_eq!(me(&browser, &app).await["user_id"], "alpha:alice");
}

async fn bearer_tokens_are_verified_by_their_issuer(framework: Framework) {
    let (alpha, beta) = two_mocks().await;
    let app = app(framework, two_providers(&alpha, &beta)).await;
    let call = |token: String| {
        let url = app.at("/api/data");
        async move {
            reqwest::Client::new()
                .get(url)
                .bearer_auth(token)
                .send()
                .await
                .expect("request")
        }
    };

    for (mock, user) in [(&alpha, "alpha:bob"), (&beta, "beta:bob")] {
        let response = call(mock.mint_access_token("bob", Value::Null)).await;
        let body: Value =
            serde_json::from_str(&assert_status(response, StatusCode::OK).await).expect("json");
        assert_eq!(body["user_id"], user);
    }

    // An issuer no provider has, signed with a key neither knows: refused without asking
    // anyone for keys.
    let before = (alpha.stats().jwks, beta.stats().jwks);
    let stranger = beta.mint_jwt_with_kid(
        "stranger-key",
        json!({ "iss": "https://stranger.example", "aud": alpha.client_id(), "sub": "bob",
                "exp": now() + 300 }),
    );
    let refused = call(stranger).await;
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    assert_eq!((alpha.stats().jwks, beta.stats().jwks), before);

    // Naming alpha, signed with beta's key: alpha's keys do not verify it.
    let forged = beta.mint_access_token("bob", json!({ "iss": alpha.issuer() }));
    assert_eq!(call(forged).await.status(), StatusCode::UNAUTHORIZED);
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs()
}

/// The callback URL the provider sends the browser back to after `start`.
async fn callback_of(browser: &Browser, app: &TestApp, start: &str) -> Url {
    let login = browser.get(app.at(start)).await;
    let authorize = location(&login).expect("authorize redirect");
    let approved = browser.get(authorize).await;
    location(&approved).expect("callback redirect")
}

fn with_param(url: &Url, name: &str, value: Option<&str>) -> Url {
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .into_owned()
        .filter(|(n, _)| n != name)
        .collect();
    let mut url = url.clone();
    {
        let mut query = url.query_pairs_mut();
        query.clear();
        for (n, v) in &pairs {
            query.append_pair(n, v);
        }
        if let Some(value) = value {
            query.append_pair(name, value);
        }
    }
    url
}

async fn a_mixed_up_callback_is_refused(framework: Framework) {
    let (alpha, beta) = two_mocks().await;
    let app = app(framework, two_providers(&alpha, &beta)).await;

    // Started with alpha, answered in beta's name.
    let browser = Browser::default();
    let callback = callback_of(&browser, &app, "/login/alpha").await;
    assert_eq!(
        callback
            .query_pairs()
            .find(|(n, _)| n == "iss")
            .map(|(_, v)| v.into_owned()),
        Some(alpha.issuer())
    );
    let mixed = browser
        .api(with_param(&callback, "iss", Some(&beta.issuer())))
        .await;
    let body = assert_status(mixed, StatusCode::BAD_REQUEST).await;
    assert!(body.contains("issuer_mismatch"), "{body}");
    assert_eq!(alpha.stats().token_code + beta.stats().token_code, 0);

    // A shared callback needs `iss`.
    let browser = Browser::default();
    let callback = callback_of(&browser, &app, "/login/beta").await;
    let unnamed = browser.api(with_param(&callback, "iss", None)).await;
    let body = assert_status(unnamed, StatusCode::BAD_REQUEST).await;
    assert!(body.contains("issuer_missing"), "{body}");
    assert!(!browser.has_session(&app));
    assert_eq!(alpha.stats().token_code + beta.stats().token_code, 0);
}

async fn a_login_started_at_one_provider_cannot_finish_at_the_others_callback(
    framework: Framework,
) {
    let (alpha, beta) = two_mocks().await;
    alpha.set_authorization_response_iss(false);
    beta.set_authorization_response_iss(false);
    let config = Config::builder()
        .provider("alpha", provider_of(&alpha).redirect_uri("/auth/alpha"))
        .provider("beta", provider_of(&beta).redirect_uri("/auth/beta"))
        .secret_key("integration-test-key-0123456789abcdef")
        .cookie_secure(false);
    let app = app(framework, config).await;

    // Own callbacks: no `iss` needed.
    let browser = Browser::default();
    let (landed, _) = browser.follow(app.at("/login/beta?next=/me")).await;
    assert_status(landed, StatusCode::OK).await;
    assert_eq!(me(&browser, &app).await["user_id"], "beta:alice");

    let browser = Browser::default();
    let callback = callback_of(&browser, &app, "/login/alpha").await;
    assert_eq!(callback.path(), "/auth/alpha");
    let mut elsewhere = callback.clone();
    elsewhere.set_path("/auth/beta");
    let body = assert_status(browser.api(elsewhere).await, StatusCode::BAD_REQUEST).await;
    assert!(body.contains("wrong_provider"), "{body}");
    assert_eq!(alpha.stats().token_code + beta.stats().token_code, 1);
}

async fn one_provider_down_leaves_the_other_working(framework: Framework) {
    let (alpha, beta) = two_mocks().await;
    beta.set_available(false);
    let app = app(framework, two_providers(&alpha, &beta)).await;

    let browser = Browser::default();
    let refused = browser.get(app.at("/login/beta")).await;
    assert_eq!(refused.status(), StatusCode::SERVICE_UNAVAILABLE);
    let (landed, _) = browser.follow(app.at("/login/alpha?next=/me")).await;
    assert_status(landed, StatusCode::OK).await;

    // Ready with one provider of two.
    app.layer
        .ready(std::time::Duration::from_millis(600))
        .await
        .expect("alpha is ready");

    // The health report says which provider fails, and stays 200 while another works.
    let health = Browser::default().api(app.at("/health/oidc")).await;
    let report: Value =
        serde_json::from_str(&assert_status(health, StatusCode::OK).await).expect("json");
    assert_eq!(report["status"], "degraded");
    assert_eq!(report["ready"], true);
    assert_eq!(report["providers"]["alpha"]["ready"], true);
    assert_eq!(report["providers"]["beta"]["ready"], false);
    assert!(report["failing"]
        .as_array()
        .expect("failing")
        .contains(&json!("providers.beta.discovery")));

    // Alpha goes down too: the signed-in session keeps working.
    alpha.set_available(false);
    assert_eq!(me(&browser, &app).await["user_id"], "alpha:alice");
    // New logins to beta still answer 503, beta's alone.
    let refused = Browser::default().get(app.at("/login/beta")).await;
    assert_eq!(refused.status(), StatusCode::SERVICE_UNAVAILABLE);

    // Not ready while no provider was ever loaded.
    let down = TestApp::serve_on(
        framework,
        two_providers(&beta, &beta_twin_down().await)
            .build()
            .expect("config"),
        "",
    )
    .await;
    assert!(down
        .layer
        .ready(std::time::Duration::from_millis(300))
        .await
        .is_err());
}

/// A second provider that never answers.
async fn beta_twin_down() -> MockProvider {
    let twin = MockProvider::start().await.expect("provider");
    twin.set_available(false);
    twin
}

async fn refresh_goes_to_the_provider_that_signed_in(framework: Framework) {
    let (alpha, beta) = two_mocks().await;
    beta.set_user(MockUser::new("carol"));
    beta.set_access_token_ttl(std::time::Duration::from_secs(1));
    let app = app(framework, two_providers(&alpha, &beta)).await;
    let browser = Browser::default();
    let (landed, _) = browser.follow(app.at("/login/beta?next=/me")).await;
    assert_status(landed, StatusCode::OK).await;
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert_eq!(me(&browser, &app).await["user_id"], "beta:carol");
    assert!(beta.stats().token_refresh >= 1);
    assert_eq!(alpha.stats().token_refresh, 0);
}

async fn tenant_tokens_need_an_allowed_tenant(framework: Framework) {
    let (alpha, beta) = two_mocks().await;
    const TEMPLATE: &str = "https://login.example.test/{tenantid}/v2.0";
    let op = Url::parse(&beta.issuer()).expect("issuer");
    let endpoints = ProviderEndpoints::new(
        TEMPLATE,
        op.join("authorize").expect("url"),
        op.join("token").expect("url"),
        op.join("jwks").expect("url"),
    );
    let config = Config::builder()
        .provider("alpha", provider_of(&alpha))
        .provider(
            "entra",
            ProviderConfig::new()
                .endpoints(endpoints)
                .tenant_issuer(
                    TenantIssuer::new(TEMPLATE)
                        .allow_tenants(["t1"])
                        .allow_tenant_if(|tenant| tenant.starts_with("cust-")),
                )
                .client_id(beta.client_id()),
        )
        .secret_key("integration-test-key-0123456789abcdef")
        .cookie_secure(false);
    let app = app(framework, config).await;
    let status_of = |claims: Value| {
        let url = app.at("/api/data");
        let token = beta.mint_access_token("bob", claims);
        async move {
            let response = reqwest::Client::new()
                .get(url)
                .bearer_auth(token)
                .send()
                .await
                .expect("request");
            let status = response.status();
            let body: Value = response.json().await.unwrap_or(Value::Null);
            (status, body["user_id"].clone())
        }
    };
    let tenant = |tid: &str| format!("https://login.example.test/{tid}/v2.0");

    assert_eq!(
        status_of(json!({"iss": tenant("t1"), "tid": "t1"})).await,
        (StatusCode::OK, json!("entra:bob"))
    );
    assert_eq!(
        status_of(json!({"iss": tenant("cust-7"), "tid": "cust-7"}))
            .await
            .0,
        StatusCode::OK
    );
    // A tenant not allowed, a `tid` naming another tenant than `iss`, the template itself.
    for claims in [
        json!({"iss": tenant("t2"), "tid": "t2"}),
        json!({"iss": tenant("t1"), "tid": "t2"}),
        json!({"iss": TEMPLATE, "tid": "t1"}),
        json!({"iss": tenant("t1/v2.0/x"), "tid": "t1/v2.0/x"}),
    ] {
        assert_eq!(
            status_of(claims.clone()).await.0,
            StatusCode::UNAUTHORIZED,
            "{claims}"
        );
    }
    // Alpha's tokens are alpha's still.
    let from_alpha = reqwest::Client::new()
        .get(app.at("/api/data"))
        .bearer_auth(alpha.mint_access_token("bob", Value::Null))
        .send()
        .await
        .expect("request");
    assert_eq!(from_alpha.status(), StatusCode::OK);
}

async fn backchannel_logout_ends_only_that_providers_sessions(framework: Framework) {
    let (alpha, beta) = two_mocks().await;
    let app = app(framework, two_providers(&alpha, &beta).memory_sessions()).await;
    let at_alpha = Browser::default();
    let (landed, _) = at_alpha.follow(app.at("/login/alpha?next=/me")).await;
    assert_status(landed, StatusCode::OK).await;
    let at_beta = Browser::default();
    let (landed, _) = at_beta.follow(app.at("/login/beta?next=/me")).await;
    assert_status(landed, StatusCode::OK).await;

    let logout_token = |mock: &MockProvider, iss: String, jti: &str| {
        mock.mint_jwt(
            tower_oidc::testing::MockAlg::Rs256,
            json!({
                "iss": iss, "aud": mock.client_id(), "iat": now(), "exp": now() + 120,
                "jti": format!("{jti}-{framework:?}"), "sub": "alice",
                "events": { "http://schemas.openid.net/event/backchannel-logout": {} },
            }),
        )
    };
    // Beta's key, alpha's name: refused, nobody signed out.
    let forged = logout_token(&beta, alpha.issuer(), "forged");
    assert_eq!(
        post_logout_token(&app, &forged).await,
        StatusCode::BAD_REQUEST
    );
    // An issuer no provider has.
    let stranger = logout_token(&beta, "https://stranger.example".into(), "stranger");
    assert_eq!(
        post_logout_token(&app, &stranger).await,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(me(&at_alpha, &app).await["user_id"], "alpha:alice");

    // Beta's `alice` ends; alpha's `alice` is another user and stays.
    let genuine = logout_token(&beta, beta.issuer(), "genuine");
    assert_eq!(post_logout_token(&app, &genuine).await, StatusCode::OK);
    assert_eq!(
        at_beta.api(app.at("/me")).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(me(&at_alpha, &app).await["user_id"], "alpha:alice");
}

async fn a_session_of_a_removed_provider_is_no_session(framework: Framework) {
    let (alpha, beta) = two_mocks().await;
    let both = app(framework, two_providers(&alpha, &beta)).await;
    let browser = Browser::default();
    let (landed, _) = browser.follow(both.at("/login/beta?next=/me")).await;
    assert_status(landed, StatusCode::OK).await;

    // The same application, now with alpha alone: the cookie still opens (same key, same
    // first provider), but beta's session is no session, never alpha's.
    let alpha_only = Config::builder()
        .provider("alpha", provider_of(&alpha))
        .secret_key("integration-test-key-0123456789abcdef")
        .cookie_secure(false);
    let alone = app(framework, alpha_only).await;
    assert_eq!(
        browser.api(alone.at("/me")).await.status(),
        StatusCode::UNAUTHORIZED
    );
    let navigation = browser.get(alone.at("/me")).await;
    let authorize = location(&navigation).expect("a new login");
    assert!(
        authorize.as_str().starts_with(&alpha.issuer()),
        "{authorize}"
    );
    assert_eq!(alpha.stats().token_refresh + beta.stats().token_refresh, 0);
    // And its cookie is cleared.
    assert!(!browser.has_session(&both));
}
