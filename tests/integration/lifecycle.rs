//! Session lifecycle, on both frameworks: tokens revoked at logout, every session of a
//! user ended by an admin, front-channel logout, silent login and step-up authentication.

use reqwest::StatusCode;
use tower_oidc::actix::OidcMiddleware;
use tower_oidc::store::StoreError;
use tower_oidc::testing::MockProvider;
use tower_oidc::Require;

use crate::harness::{assert_status, location, Browser, Framework, TestApp};

fn query(url: &url::Url, name: &str) -> Option<String> {
    url.query_pairs()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.into_owned())
}

/// `both!(case, ...)` defines `axum::case` and `actix::case` for each `case(Framework)`.
macro_rules! both {
    ($($case:ident),* $(,)?) => {
        mod axum {
            $(
                #[tokio::test]
                async fn $case() {
                    super::$case(super::Framework::Axum).await;
                }
            )*
        }
        mod actix {
            $(
                #[tokio::test]
                async fn $case() {
                    super::$case(super::Framework::Actix).await;
                }
            )*
        }
    };
}

both!(
    logout_revokes_the_refresh_and_access_tokens,
    end_sessions_for_signs_a_user_out_everywhere,
    end_sessions_for_needs_a_server_side_store,
    silent_login_signs_in_without_a_page,
    silent_login_required_falls_back_to_one_interactive_login,
    login_prompt_none_falls_back_once_without_the_switch,
    login_forwards_allowed_parameters_only,
    frontchannel_logout_ends_a_cookie_session_whose_sid_matches,
    step_up_sends_the_browser_back_for_a_stronger_sign_in,
    step_up_that_the_provider_ignores_ends_in_403,
    step_up_max_auth_age_signs_in_again_or_403,
    step_up_parameters_stripped_by_the_user_do_not_pass,
    step_up_api_clients_get_insufficient_user_authentication,
);

async fn logout_revokes_the_refresh_and_access_tokens(framework: Framework) {
    let provider = MockProvider::start().await.expect("provider");
    let app = TestApp::start_on(framework, &provider, |c| c).await;
    let browser = Browser::default();
    browser.login(&app).await;
    let me: serde_json::Value = browser.api(app.at("/me")).await.json().await.expect("json");
    let access_token = me["access_token"]
        .as_str()
        .expect("access token")
        .to_owned();
    assert_status(browser.get(app.at("/logout")).await, StatusCode::FOUND).await;
    let revocations = provider.revocations();
    let hints: Vec<_> = revocations
        .iter()
        .map(|revocation| revocation.token_type_hint.as_deref())
        .collect();
    assert_eq!(hints, [Some("refresh_token"), Some("access_token")]);
    assert_eq!(revocations[1].token, access_token);
    assert_eq!(provider.stats().revocation, 2);
    assert!(!browser.has_session(&app));
    let refresh = reqwest::Client::new()
        .post(format!("{}/token", provider.issuer()))
        .basic_auth(provider.client_id(), Some(provider.client_secret()))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", revocations[0].token.as_str()),
        ])
        .send()
        .await
        .expect("token request");
    assert_eq!(
        refresh.status(),
        StatusCode::BAD_REQUEST,
        "revoked: no refresh"
    );
}

async fn end_sessions_for_signs_a_user_out_everywhere(framework: Framework) {
    let provider = MockProvider::start().await.expect("provider");
    let app = TestApp::start_on(framework, &provider, |c| c.memory_sessions()).await;
    let (laptop, phone) = (Browser::default(), Browser::default());
    laptop.login(&app).await;
    phone.login(&app).await;
    for browser in [&laptop, &phone] {
        assert_eq!(browser.api(app.at("/me")).await.status(), StatusCode::OK);
    }
    let ended = match framework {
        Framework::Axum => app.layer.end_sessions_for("alice").await,
        Framework::Actix => {
            OidcMiddleware::from(&app.layer)
                .end_sessions_for("alice")
                .await
        }
    };
    assert_eq!(ended.expect("ended"), 2);
    for browser in [&laptop, &phone] {
        assert_eq!(
            browser.api(app.at("/me")).await.status(),
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(app.layer.end_sessions_for("nobody").await.expect("none"), 0);
}

async fn end_sessions_for_needs_a_server_side_store(framework: Framework) {
    let provider = MockProvider::start().await.expect("provider");
    let app = TestApp::start_on(framework, &provider, |c| c).await;
    let answer = OidcMiddleware::from(&app.layer)
        .end_sessions_for("alice")
        .await;
    assert!(matches!(answer, Err(StoreError::Unsupported)), "{answer:?}");
}

async fn silent_login_signs_in_without_a_page(framework: Framework) {
    let provider = MockProvider::start().await.expect("provider");
    let app = TestApp::start_on(framework, &provider, |c| c.silent_login_first(true)).await;
    let browser = Browser::default();
    let (page, visited) = browser.follow(app.at("/")).await;
    assert_eq!(page.text().await.expect("body"), "hello alice");
    assert_eq!(query(&visited[0], "prompt").as_deref(), Some("none"));
    assert_eq!(provider.stats().authorize, 1);
}

async fn silent_login_required_falls_back_to_one_interactive_login(framework: Framework) {
    let provider = MockProvider::start().await.expect("provider");
    provider.set_login_required(true);
    let app = TestApp::start_on(framework, &provider, |c| c.silent_login_first(true)).await;
    let browser = Browser::default();
    let (page, visited) = browser.follow(app.at("/api/data?x=1")).await;
    assert_eq!(page.status(), StatusCode::OK);
    assert_eq!(provider.stats().authorize, 2, "{visited:?}");
    // silent authorize, error callback, interactive authorize, callback, the page
    assert_eq!(visited.len(), 5, "{visited:?}");
    assert_eq!(query(&visited[0], "prompt").as_deref(), Some("none"));
    assert_eq!(
        query(&visited[1], "error").as_deref(),
        Some("login_required")
    );
    assert_eq!(query(&visited[2], "prompt"), None);
    assert_eq!(visited[4].path(), "/api/data");
    // The error answer, replayed, starts nothing.
    let replay = browser.get(visited[1].clone()).await;
    assert!(replay.status().is_client_error(), "{}", replay.status());
    assert_eq!(provider.stats().authorize, 2);
}

async fn login_prompt_none_falls_back_once_without_the_switch(framework: Framework) {
    let provider = MockProvider::start().await.expect("provider");
    provider.set_login_required(true);
    let app = TestApp::start_on(framework, &provider, |c| c).await;
    let browser = Browser::default();
    let (page, visited) = browser
        .follow(app.at("/login?prompt=none&login_hint=alice&next=/me"))
        .await;
    assert_eq!(page.status(), StatusCode::OK);
    assert_eq!(provider.stats().authorize, 2, "{visited:?}");
    assert_eq!(query(&visited[2], "login_hint").as_deref(), Some("alice"));
    assert_eq!(visited.last().map(url::Url::path), Some("/me"));
    // Without the switch a browser that is not signed in goes straight to the provider.
    let other = Browser::default();
    let to = location(&other.get(app.at("/")).await).expect("redirect");
    assert_eq!(query(&to, "prompt"), None);
}

async fn login_forwards_allowed_parameters_only(framework: Framework) {
    let provider = MockProvider::start().await.expect("provider");
    let app = TestApp::start_on(framework, &provider, |c| c.auth_param("prompt", "consent")).await;
    let browser = Browser::default();
    let response = browser
        .get(app.at(
            "/login?login_hint=bob%40example.com&ui_locales=fr&organization=acme\
             &redirect_uri=https://evil.example/&response_mode=form_post&claims=x\
             &max_age=abc&prompt=login",
        ))
        .await;
    let to = location(&response).expect("redirect");
    assert!(to.as_str().starts_with(&provider.issuer()), "{to}");
    assert_eq!(query(&to, "login_hint").as_deref(), Some("bob@example.com"));
    assert_eq!(query(&to, "ui_locales").as_deref(), Some("fr"));
    assert_eq!(query(&to, "organization").as_deref(), Some("acme"));
    assert_eq!(
        query(&to, "prompt").as_deref(),
        Some("login"),
        "the request's prompt wins"
    );
    for dropped in ["response_mode", "claims", "max_age"] {
        assert_eq!(query(&to, dropped), None, "{dropped}");
    }
    assert!(query(&to, "redirect_uri").is_some_and(|uri| uri.starts_with(app.url.as_str())));
    let prompts = to.query_pairs().filter(|(key, _)| key == "prompt").count();
    assert_eq!(prompts, 1);
}

async fn frontchannel_logout_ends_a_cookie_session_whose_sid_matches(framework: Framework) {
    let provider = MockProvider::start().await.expect("provider");
    let app = TestApp::start_on(framework, &provider, |c| c).await;
    let browser = Browser::default();
    browser.login(&app).await;
    let me: serde_json::Value = browser.api(app.at("/me")).await.json().await.expect("json");
    let sid = me["claims"]["sid"].as_str().expect("sid").to_owned();
    let at = |iss: &str, sid: &str| {
        let mut url = app.at("/frontchannel_logout");
        url.query_pairs_mut()
            .append_pair("iss", iss)
            .append_pair("sid", sid);
        url
    };
    let foreign = browser.get(at("https://op.evil.example", &sid)).await;
    assert_eq!(foreign.status(), StatusCode::BAD_REQUEST);
    let other = browser.get(at(&provider.issuer(), "another-sid")).await;
    assert_eq!(other.status(), StatusCode::OK);
    assert_eq!(browser.api(app.at("/me")).await.status(), StatusCode::OK);
    let posted = reqwest::Client::new()
        .post(at(&provider.issuer(), &sid))
        .send()
        .await
        .expect("post");
    assert_eq!(posted.status(), StatusCode::METHOD_NOT_ALLOWED);
    let ended = browser.get(at(&provider.issuer(), &sid)).await;
    assert_eq!(ended.status(), StatusCode::OK);
    assert!(!browser.has_session(&app));
    assert_eq!(
        browser.api(app.at("/me")).await.status(),
        StatusCode::UNAUTHORIZED
    );
}

const MFA: &str = "urn:example:mfa";

async fn step_up_sends_the_browser_back_for_a_stronger_sign_in(framework: Framework) {
    let provider = MockProvider::start().await.expect("provider");
    let app = TestApp::start_on(framework, &provider, |c| {
        c.require(Require::new().acr([MFA]))
    })
    .await;
    let browser = Browser::default();
    let (page, visited) = browser.follow(app.at("/api/data?page=2")).await;
    assert_eq!(page.status(), StatusCode::OK, "{visited:?}");
    assert_eq!(provider.stats().authorize, 2, "{visited:?}");
    let step_up = visited
        .iter()
        .find(|url| query(url, "acr_values").is_some())
        .expect("a step-up authorization request");
    assert_eq!(query(step_up, "acr_values").as_deref(), Some(MFA));
    assert_eq!(visited.last().map(url::Url::path), Some("/api/data"));
    let me: serde_json::Value = browser.api(app.at("/me")).await.json().await.expect("json");
    assert_eq!(me["claims"]["acr"], MFA);
}

async fn step_up_that_the_provider_ignores_ends_in_403(framework: Framework) {
    let provider = MockProvider::start().await.expect("provider");
    provider.set_acr(Some("urn:example:password"));
    let app = TestApp::start_on(framework, &provider, |c| {
        c.require(Require::new().acr([MFA]))
    })
    .await;
    let browser = Browser::default();
    let (page, visited) = browser.follow(app.at("/api/data")).await;
    assert_eq!(page.status(), StatusCode::FORBIDDEN, "{visited:?}");
    assert_eq!(
        provider.stats().authorize,
        2,
        "one step-up, no loop: {visited:?}"
    );
}

async fn step_up_max_auth_age_signs_in_again_or_403(framework: Framework) {
    let provider = MockProvider::start().await.expect("provider");
    provider.set_auth_time_age(std::time::Duration::from_secs(3600));
    let require = Require::new().max_auth_age(std::time::Duration::from_secs(300));
    let app = TestApp::start_on(framework, &provider, |c| c.require(require)).await;
    let stale = Browser::default();
    let (page, visited) = stale.follow(app.at("/api/data")).await;
    assert_eq!(page.status(), StatusCode::FORBIDDEN, "{visited:?}");
    assert_eq!(provider.stats().authorize, 2, "{visited:?}");
    assert!(visited
        .iter()
        .any(|url| query(url, "max_age").as_deref() == Some("300")));
    provider.set_auth_time_age(std::time::Duration::ZERO);
    let fresh = Browser::default();
    let (page, _) = fresh.follow(app.at("/api/data")).await;
    assert_eq!(page.status(), StatusCode::OK);
}

async fn step_up_parameters_stripped_by_the_user_do_not_pass(framework: Framework) {
    let provider = MockProvider::start().await.expect("provider");
    let app = TestApp::start_on(framework, &provider, |c| c).await;
    let browser = Browser::default();
    let login = browser
        .get(app.at(&format!("/login?acr_values={MFA}&next=/me")))
        .await;
    let mut authorize = location(&login).expect("authorization request");
    let kept: Vec<(String, String)> = authorize
        .query_pairs()
        .filter(|(name, _)| name != "acr_values")
        .map(|(name, value)| (name.into_owned(), value.into_owned()))
        .collect();
    authorize.query_pairs_mut().clear().extend_pairs(kept);
    let (page, visited) = browser.follow(authorize).await;
    assert_eq!(page.status(), StatusCode::FORBIDDEN, "{visited:?}");
    assert!(!browser.has_session(&app));
}

async fn step_up_api_clients_get_insufficient_user_authentication(framework: Framework) {
    let provider = MockProvider::start().await.expect("provider");
    let require = Require::new()
        .acr([MFA])
        .max_auth_age(std::time::Duration::from_secs(300));
    let app = TestApp::start_on(framework, &provider, |c| c.require(require)).await;
    let token = provider.access_token().subject("svc").mint();
    let answer = reqwest::Client::new()
        .get(app.at("/api/data"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("request");
    assert_eq!(answer.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        answer.headers()["www-authenticate"],
        format!("Bearer error=\"insufficient_user_authentication\", acr_values=\"{MFA}\"")
    );
    let strong = provider
        .access_token()
        .subject("svc")
        .claim("acr", MFA)
        .mint();
    let answer = reqwest::Client::new()
        .get(app.at("/api/data"))
        .bearer_auth(&strong)
        .send()
        .await
        .expect("request");
    assert_eq!(answer.status(), StatusCode::UNAUTHORIZED);
    assert!(answer.headers()["www-authenticate"]
        .to_str()
        .expect("ascii")
        .ends_with("max_age=300"));
}
