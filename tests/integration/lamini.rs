//! The Lamini platform's routes from the environment alone: `/v1/auth/login` starts the
//! login, `/v1/auth/auth` is the callback registered at the provider, the provider's
//! metadata comes from a full discovery URL (its `server_metadata_url`), and logout lands
//! on the site root.

use reqwest::StatusCode;
use tower_oidc::testing::MockProvider;
use tower_oidc::Config;

use crate::harness::{assert_status, location, Browser, Framework, TestApp};

both!(lamini_routes_complete_a_login_and_a_logout);

async fn lamini_routes_complete_a_login_and_a_logout(framework: Framework) {
    let provider = MockProvider::start().await.expect("provider");
    let metadata_url = format!("{}/.well-known/openid-configuration", provider.issuer());
    let vars = [
        ("OIDC_CONFIG_URL", metadata_url.as_str()),
        ("OIDC_CLIENT_ID", provider.client_id()),
        ("OIDC_CLIENT_SECRET", provider.client_secret()),
        ("OIDC_SECRET_KEY", "lamini-test-key-0123456789abcdef-0123"),
        ("OIDC_COOKIE_SECURE", "false"),
        ("OIDC_LOGIN_PATH", "/v1/auth/login"),
        ("OIDC_REDIRECT_URI", "/v1/auth/auth"),
        ("OIDC_POST_LOGOUT_REDIRECT_URI", "/"),
        ("OIDC_WHITELISTED_ENDPOINTS", "health"),
    ];
    let config = Config::from_lookup(|name| {
        vars.iter()
            .find(|(var, _)| *var == name)
            .map(|(_, value)| (*value).to_owned())
    })
    .expect("Lamini's settings");
    assert_eq!(config.login_path(), "/v1/auth/login");
    assert_eq!(config.callback_path(), "/v1/auth/auth");
    let app = TestApp::serve_on(framework, config, "").await;
    let browser = Browser::default();

    // The login route, with the page to return to.
    let start = browser.get(app.at("/v1/auth/login?next=/me")).await;
    assert_eq!(start.status(), StatusCode::FOUND);
    let authorize = location(&start).expect("authorize");
    assert!(
        authorize.as_str().starts_with(&provider.issuer()),
        "{authorize}"
    );
    let redirect_uri = authorize
        .query_pairs()
        .find(|(name, _)| name == "redirect_uri")
        .map(|(_, value)| value.into_owned());
    assert_eq!(
        redirect_uri.as_deref(),
        Some(app.at("/v1/auth/auth").as_str())
    );

    // The provider sends the browser to /v1/auth/auth, which lands on the page asked for.
    let (landed, visited) = browser.follow(authorize).await;
    let paths: Vec<&str> = visited.iter().map(url::Url::path).collect();
    assert!(paths.contains(&"/v1/auth/auth"), "{paths:?}");
    assert_eq!(paths.last(), Some(&"/me"));
    let me: serde_json::Value =
        serde_json::from_str(&assert_status(landed, StatusCode::OK).await).expect("json");
    assert_eq!(me["user_id"], "alice");
    assert!(browser.has_session(&app));

    // The old default routes are the application's now, not the layer's.
    assert_eq!(
        browser.get(app.at("/login")).await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        browser.get(app.at("/auth")).await.status(),
        StatusCode::NOT_FOUND
    );

    // Logout goes through the provider's end-session endpoint back to the site root.
    let logout = browser.get(app.at("/logout")).await;
    assert_eq!(logout.status(), StatusCode::FOUND);
    let end_session = location(&logout).expect("end session");
    let post_logout = end_session
        .query_pairs()
        .find(|(name, _)| name == "post_logout_redirect_uri")
        .map(|(_, value)| value.into_owned());
    assert_eq!(post_logout.as_deref(), Some(app.at("/").as_str()));
    let back = browser.get(end_session).await;
    assert_eq!(location(&back).as_ref(), Some(&app.at("/")));
    assert!(!browser.has_session(&app));
}
