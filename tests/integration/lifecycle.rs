//! Session lifecycle, on both frameworks: tokens revoked at logout, every session of a
//! user ended by an admin, front-channel logout, silent login and step-up authentication.

use reqwest::StatusCode;
use tower_oidc::actix::OidcMiddleware;
use tower_oidc::store::StoreError;
use tower_oidc::testing::MockProvider;

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
