//! One behaviour suite, run against both frameworks: the tower layer on axum and the
//! middleware on actix-web must answer alike. Each case is a function of the framework;
//! `both!` makes a test of it for each.

use std::time::Duration;

use reqwest::StatusCode;
use tower_oidc::testing::{MockProvider, MockUser};

use crate::harness::{
    assert_status, base_config, location, set_cookies, Browser, Framework, Profile, TestApp,
};

both!(
    login_round_trip,
    browsers_are_redirected_and_api_clients_get_401,
    whitelisted_paths_pass_and_bypass_attempts_do_not,
    logout_by_get_and_by_post,
    tampered_cookies_are_no_session,
    open_redirect_attempts_land_on_the_app,
    own_routes_refuse_other_methods,
    refreshed_sessions_reach_the_browser,
    a_failing_inner_service_keeps_the_refreshed_session,
    routes_under_a_base_path,
    a_bad_callback_is_a_client_error,
    the_extractor_explains_a_missing_layer,
    bearer_tokens_are_verified,
    authorization_answers_403_401_or_302,
    the_user_detail_hook_reaches_handlers,
    backchannel_logout_ends_the_session,
    memory_store_sessions_reach_whitelisted_paths,
    one_session_serves_the_user_as_json_and_typed,
    a_route_requirement_explains_a_missing_layer,
);

async fn login_round_trip(framework: Framework) {
    let provider = MockProvider::start().await.expect("provider");
    let app = TestApp::start_on(framework, &provider, |c| {
        c.post_logout_redirect_uri("http://127.0.0.1:1/bye")
    })
    .await;
    let browser = Browser::default();

    let first = browser.get(app.at("/me?tab=1")).await;
    assert_eq!(first.status(), StatusCode::FOUND);
    assert_eq!(first.headers()["cache-control"], "no-store");
    let authorize = location(&first).expect("location");
    assert!(authorize.as_str().starts_with(&provider.issuer()));
    let params: std::collections::HashMap<_, _> = authorize.query_pairs().into_owned().collect();
    assert_eq!(params["code_challenge_method"], "S256");
    assert_eq!(params["redirect_uri"], app.at("/auth").as_str());

    let (landed, visited) = browser.follow(authorize).await;
    assert_eq!(visited.last().map(|u| u.path()), Some("/me"));
    assert_eq!(visited.last().and_then(|u| u.query()), Some("tab=1"));
    assert_eq!(landed.headers()["content-type"], "application/json");
    let body = assert_status(landed, StatusCode::OK).await;
    let me: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(me["user_id"], "alice");
    assert_eq!(me["claims"]["email"], "alice@example.com");
    assert!(browser.has_session(&app));
    assert!(!browser.cookies(&app.url).contains("_login_"));

    let home = browser.get(app.at("/")).await;
    assert_eq!(assert_status(home, StatusCode::OK).await, "hello alice");
    let health = browser.get(app.at("/health")).await;
    assert_eq!(assert_status(health, StatusCode::OK).await, "ok alice");

    let logout = browser.get(app.at("/logout")).await;
    assert_eq!(logout.status(), StatusCode::FOUND);
    let end_session = location(&logout).expect("location");
    assert!(end_session
        .as_str()
        .starts_with(&format!("{}/end_session", provider.issuer())));
    let _ = browser.get(end_session).await;
    let requests = provider.end_session_requests();
    assert_eq!(requests.len(), 1);
    assert!(requests[0].id_token_hint.is_some());
    assert!(!browser.has_session(&app));
    let after = browser.api(app.at("/api/data")).await;
    assert_eq!(after.status(), StatusCode::UNAUTHORIZED);
}

async fn browsers_are_redirected_and_api_clients_get_401(framework: Framework) {
    let provider = MockProvider::start().await.expect("provider");
    let app = TestApp::start_on(framework, &provider, |c| c).await;
    let browser = Browser::default();

    let api = browser.api(app.at("/api/data")).await;
    assert_eq!(api.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(api.headers()["www-authenticate"], "Bearer");
    assert_eq!(api.headers()["content-type"], "application/json");
    assert_eq!(api.headers()["cache-control"], "no-store");
    let json: serde_json::Value = api.json().await.expect("json");
    assert_eq!(json["error"], "unauthorized");

    let post = browser
        .client
        .post(app.at("/api/data"))
        .header("accept", "text/html")
        .send()
        .await
        .expect("post");
    assert_eq!(post.status(), StatusCode::UNAUTHORIZED);

    let page = browser.get(app.at("/api/data")).await;
    assert_eq!(page.status(), StatusCode::FOUND);
    let cookies = set_cookies(&page);
    assert_eq!(cookies.len(), 1, "{cookies:?}");
    assert!(cookies[0].contains("HttpOnly") && cookies[0].contains("SameSite=Lax"));
    let authorize = location(&page).expect("location");
    assert!(authorize.as_str().starts_with(&provider.issuer()));

    let bearer = browser
        .client
        .get(app.at("/api/data"))
        .header("authorization", "Bearer not-a-token")
        .send()
        .await
        .expect("bearer");
    assert_eq!(bearer.status(), StatusCode::UNAUTHORIZED);
}

async fn whitelisted_paths_pass_and_bypass_attempts_do_not(framework: Framework) {
    let provider = MockProvider::start().await.expect("provider");
    let app = TestApp::start_on(framework, &provider, |c| c).await;
    let json = [("accept", "application/json")];
    for path in ["/health", "/static/app.js", "/static/a/b.css"] {
        let response = app.raw_get(path, &json).await;
        assert_eq!(response.status, 200, "{path}");
    }
    for path in [
        "/health/../api/data",
        "/static/../api/data",
        "/static/%2e%2e/api/data",
        "/static/%2E%2E/api/data",
        "/static%2F..%2Fapi%2Fdata",
        "/static/..%2fapi/data",
        "/static/..%5capi/data",
        "/static/..;/api/data",
        "/health;/../api/data",
        "/health/..;/api/data",
        "//api/data",
        "/api/data?x=/health",
        "/%68ealth",
        "/api/data/..%2f..%2fhealth",
        "/static//../api/data",
        "/static/./../api/data",
        "/./health/../api/data",
    ] {
        let response = app.raw_get(path, &json).await;
        assert_eq!(response.status, 401, "{path}: {response:?}");
        assert_eq!(
            response.header("www-authenticate"),
            Some("Bearer"),
            "{path}"
        );
    }
    // A browser asking for a bypass path is sent to log in, never served.
    let response = app
        .raw_get("/static/%2e%2e/api/data", &[("accept", "text/html")])
        .await;
    assert_eq!(response.status, 302);
}

async fn logout_by_get_and_by_post(framework: Framework) {
    let provider = MockProvider::start().await.expect("provider");
    let app = TestApp::start_on(framework, &provider, |c| c).await;
    let browser = Browser::default();
    assert_status(browser.login(&app).await, StatusCode::OK).await;
    let logout = browser
        .client
        .post(app.at("/logout"))
        .send()
        .await
        .expect("post");
    assert_eq!(logout.status(), StatusCode::SEE_OTHER);
    assert!(set_cookies(&logout)
        .iter()
        .any(|c| c.starts_with("tower_oidc.0=") && c.contains("Max-Age=0")));
    assert!(!browser.has_session(&app));

    assert_status(browser.login(&app).await, StatusCode::OK).await;
    let logout = browser.get(app.at("/logout")).await;
    assert_eq!(logout.status(), StatusCode::FOUND, "GET is answered 302");
    assert!(!browser.has_session(&app));

    // Without a session, logging out still lands somewhere sensible.
    let again = browser
        .client
        .post(app.at("/logout"))
        .send()
        .await
        .expect("post");
    assert_eq!(again.status(), StatusCode::SEE_OTHER);
}

async fn tampered_cookies_are_no_session(framework: Framework) {
    let provider = MockProvider::start().await.expect("provider");
    let app = TestApp::start_on(framework, &provider, |c| c).await;
    let browser = Browser::default();
    browser.login(&app).await;
    let cookie = browser.cookies(&app.url);
    let session = cookie
        .split("; ")
        .find(|c| c.starts_with("tower_oidc.0="))
        .expect("session cookie")
        .to_owned();
    let value = session.trim_start_matches("tower_oidc.0=");
    let mut flipped = value.as_bytes().to_vec();
    let middle = flipped.len() / 2;
    flipped[middle] = if flipped[middle] == b'A' { b'B' } else { b'A' };
    let flipped = String::from_utf8(flipped).expect("ascii");
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    for bad in [
        format!("tower_oidc.0={flipped}"),
        format!("tower_oidc.0={}", &value[..value.len() / 2]),
        "tower_oidc.0=".to_owned(),
        "tower_oidc.0=%%%%".to_owned(),
        "tower_oidc.1=abc".to_owned(),
        "tower_oidc.7=a; tower_oidc.0=b".to_owned(),
        format!("tower_oidc.0={}", "A".repeat(5000)),
    ] {
        let short = &bad[..bad.len().min(40)];
        for accept in ["application/json", "text/html"] {
            let response = client
                .get(app.at("/api/data"))
                .header("cookie", &bad)
                .header("accept", accept)
                .send()
                .await
                .expect("request");
            let status = response.status();
            assert!(!status.is_server_error(), "{short}: {status}");
            let expected = if accept == "text/html" {
                StatusCode::FOUND
            } else {
                StatusCode::UNAUTHORIZED
            };
            assert_eq!(status, expected, "{short} ({accept})");
            assert!(
                set_cookies(&response)
                    .iter()
                    .any(|v| v.starts_with("tower_oidc.") && v.contains("Max-Age=0")),
                "bad cookies are deleted: {short}"
            );
        }
    }
    let first_counts = client
        .get(app.at("/api/data"))
        .header(
            "cookie",
            format!("tower_oidc.0={value}; tower_oidc.0=garbage"),
        )
        .send()
        .await
        .expect("request");
    assert_eq!(
        first_counts.status(),
        StatusCode::OK,
        "the first copy counts"
    );

    // A session sealed with another key is no session either.
    let other = TestApp::start_on(framework, &provider, |c| {
        c.secret_key("a-completely-different-key-0123456789")
    })
    .await;
    let foreign = client
        .get(other.at("/api/data"))
        .header("cookie", &session)
        .send()
        .await
        .expect("request");
    assert_eq!(foreign.status(), StatusCode::UNAUTHORIZED);
}

async fn open_redirect_attempts_land_on_the_app(framework: Framework) {
    let provider = MockProvider::start().await.expect("provider");
    let app = TestApp::start_on(framework, &provider, |c| c).await;
    for attack in [
        "https://evil.example/",
        "//evil.example/",
        "/\\evil.example/",
        "\\\\evil.example",
        "%2F%2Fevil.example",
        "/%2F%2Fevil.example",
        "%5C%5Cevil.example",
        "/%5Cevil.example",
        "/%09/evil.example",
        "%20//evil.example",
        "/.//evil.example",
        "https:evil.example",
        "javascript:alert(1)",
        "///evil.example",
        "/ /evil.example",
    ] {
        let browser = Browser::default();
        let (_, visited) = browser
            .follow(app.at(&format!("/login?next={attack}")))
            .await;
        let landing = visited.last().expect("landed somewhere");
        assert_eq!(
            landing.host_str(),
            Some("127.0.0.1"),
            "{attack} -> {landing}"
        );
        assert_eq!(landing.port(), app.url.port(), "{attack} -> {landing}");
        assert!(browser.has_session(&app), "{attack}: login completed");
    }
    let browser = Browser::default();
    let (landed, visited) = browser
        .follow(app.at("/login?next=/api/data%3Fx%3D1"))
        .await;
    assert_eq!(landed.status(), StatusCode::OK);
    let last = visited.last().expect("landing");
    assert_eq!((last.path(), last.query()), ("/api/data", Some("x=1")));
}

async fn own_routes_refuse_other_methods(framework: Framework) {
    let provider = MockProvider::start().await.expect("provider");
    let app = TestApp::start_on(framework, &provider, |c| c).await;
    let client = reqwest::Client::new();
    for (method, path, allow) in [
        ("PUT", "/logout", "GET, POST"),
        ("POST", "/login", "GET"),
        ("DELETE", "/auth", "GET"),
    ] {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let response = client
            .request(method.clone(), app.at(path))
            .header("accept", "application/json")
            .send()
            .await
            .expect("request");
        assert_eq!(
            response.status(),
            StatusCode::METHOD_NOT_ALLOWED,
            "{method} {path}"
        );
        assert_eq!(response.headers()["allow"], allow);
        let json: serde_json::Value = response.json().await.expect("json");
        assert_eq!(json["error"], "method_not_allowed");
    }
}

/// Sessions whose access token expires within the leeway are refreshed on every request.
async fn short_lived(framework: Framework) -> (MockProvider, TestApp) {
    let provider = MockProvider::start().await.expect("provider");
    provider.set_access_token_ttl(Duration::from_secs(30));
    let app = TestApp::start_on(framework, &provider, |c| c.leeway(Duration::from_secs(60))).await;
    (provider, app)
}

async fn access_token(browser: &Browser, app: &TestApp) -> String {
    let response = browser.api(app.at("/me")).await;
    assert!(
        set_cookies(&response)
            .iter()
            .any(|c| c.starts_with("tower_oidc.0=") && !c.contains("Max-Age=0")),
        "the refreshed session is sent with the application's answer"
    );
    let me: serde_json::Value = response.json().await.expect("json");
    me["access_token"].as_str().expect("token").to_owned()
}

async fn refreshed_sessions_reach_the_browser(framework: Framework) {
    let (provider, app) = short_lived(framework).await;
    let browser = Browser::default();
    assert_status(browser.login(&app).await, StatusCode::OK).await;
    let before = provider.stats().token_refresh;
    let first = access_token(&browser, &app).await;
    let second = access_token(&browser, &app).await;
    assert_ne!(first, second);
    assert_eq!(provider.stats().token_refresh, before + 2);
    assert_eq!(
        provider.stats().refresh_replays,
        0,
        "rotated tokens were kept"
    );
}

/// `/fail` answers `418`: from a handler on axum, as an `Err` of an inner middleware on
/// actix-web. Either way the refreshed session must reach the browser, or the rotated
/// refresh token is lost.
async fn a_failing_inner_service_keeps_the_refreshed_session(framework: Framework) {
    let (provider, app) = short_lived(framework).await;
    let browser = Browser::default();
    assert_status(browser.login(&app).await, StatusCode::OK).await;
    let failed = browser.api(app.at("/fail")).await;
    assert_eq!(failed.status(), StatusCode::IM_A_TEAPOT);
    assert!(set_cookies(&failed)
        .iter()
        .any(|c| c.starts_with("tower_oidc.0=") && !c.contains("Max-Age=0")));
    let _ = access_token(&browser, &app).await;
    assert_eq!(provider.stats().refresh_replays, 0);

    // Without a session the error passes through untouched.
    let anonymous = TestApp::start_on(framework, &provider, |c| c.whitelist(["fail"])).await;
    let failed = reqwest::get(anonymous.at("/fail")).await.expect("request");
    assert_eq!(failed.status(), StatusCode::IM_A_TEAPOT);
    assert!(set_cookies(&failed).is_empty());
}

async fn routes_under_a_base_path(framework: Framework) {
    let provider = MockProvider::start().await.expect("provider");
    let config = base_config(&provider)
        .base_path("/my_app")
        .login_path("/auth/login")
        .logout_path("/auth/logout")
        .redirect_uri("/auth/callback")
        .build()
        .expect("config");
    let app = TestApp::serve_on(framework, config, "/my_app").await;
    let browser = Browser::default();
    let start = browser
        .get(app.at("/my_app/auth/login?next=/my_app/me"))
        .await;
    let authorize = location(&start).expect("authorize");
    let redirect_uri: String = authorize
        .query_pairs()
        .find(|(k, _)| k == "redirect_uri")
        .map(|(_, v)| v.into_owned())
        .expect("redirect_uri");
    assert_eq!(redirect_uri, app.at("/my_app/auth/callback").as_str());
    let (landed, visited) = browser.follow(authorize).await;
    assert_eq!(visited.last().map(|u| u.path()), Some("/my_app/me"));
    assert_status(landed, StatusCode::OK).await;
    let logout = browser.get(app.at("/my_app/auth/logout")).await;
    assert_eq!(logout.status(), StatusCode::FOUND);
}

async fn a_bad_callback_is_a_client_error(framework: Framework) {
    let provider = MockProvider::start().await.expect("provider");
    let app = TestApp::start_on(framework, &provider, |c| c).await;
    let browser = Browser::default();
    for query in [
        "",
        "?code=x",
        "?code=x&state=forged",
        "?error=access_denied&state=x",
    ] {
        let response = browser.get(app.at(&format!("/auth{query}"))).await;
        let status = response.status();
        assert!(status.is_client_error(), "/auth{query}: {status}");
        assert!(response.headers()["content-type"]
            .to_str()
            .expect("ascii")
            .starts_with("text/html"));
    }
    assert!(!browser.has_session(&app));
    // Another user's pending login cannot be completed here.
    provider.set_user(MockUser::new("bob"));
    let start = browser.get(app.at("/login")).await;
    let (landed, _) = Browser::default()
        .follow(location(&start).expect("authorize"))
        .await;
    assert!(landed.status().is_client_error());
}

async fn the_extractor_explains_a_missing_layer(framework: Framework) {
    let provider = MockProvider::start().await.expect("provider");
    let app = TestApp::start_without_layer(framework, &provider).await;
    let browser = Browser::default();
    let response = browser.api(app.at("/api/data")).await;
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(response.headers()["content-type"], "application/json");
    assert!(!response.headers().contains_key("www-authenticate"));
    let json: serde_json::Value = response.json().await.expect("json");
    assert_eq!(json["error"], "layer_missing");
    assert!(json["message"]
        .as_str()
        .expect("message")
        .contains("is the tower-oidc layer installed"));

    // `Option<Identity>`: axum still answers 500; actix-web's generic `Option<T>`
    // extractor turns the rejection into `None` (documented in `tower_oidc::actix`).
    let health = browser.get(app.at("/health")).await;
    match framework {
        Framework::Axum => assert_eq!(health.status(), StatusCode::INTERNAL_SERVER_ERROR),
        Framework::Actix => assert_eq!(assert_status(health, StatusCode::OK).await, "ok"),
    }
}

async fn bearer_tokens_are_verified(framework: Framework) {
    let provider = MockProvider::start().await.expect("provider");
    let app = TestApp::start_on(framework, &provider, |c| c).await;
    let client = reqwest::Client::new();
    let call = |authorization: String, accept: &'static str| {
        client
            .get(app.at("/api/data"))
            .header("authorization", authorization)
            .header("accept", accept)
            .send()
    };
    let token = provider.mint_access_token("svc", serde_json::json!({}));
    let ok = call(format!("Bearer {token}"), "application/json")
        .await
        .expect("request");
    assert!(assert_status(ok, StatusCode::OK).await.contains("svc"));
    let dict = serde_json::json!({ "access_token": token, "expires_at": 1 });
    let flaskoidc = call(format!("Bearer {dict}"), "application/json")
        .await
        .expect("request");
    assert_eq!(flaskoidc.status(), StatusCode::OK);
    let expired = provider.mint_access_token("svc", serde_json::json!({ "exp": 1_000_000 }));
    let refused = call(format!("Bearer {expired}"), "text/html")
        .await
        .expect("request");
    assert_eq!(
        refused.status(),
        StatusCode::UNAUTHORIZED,
        "never a redirect"
    );
    assert_eq!(
        refused.headers()["www-authenticate"],
        "Bearer error=\"invalid_token\""
    );
}

async fn authorization_answers_403_401_or_302(framework: Framework) {
    let provider = MockProvider::start().await.expect("provider");
    let app = TestApp::start_on(framework, &provider, |c| {
        c.require(tower_oidc::Require::new().email_domain(["example.com"]))
    })
    .await;
    let browser = Browser::default();
    assert_eq!(
        browser.get(app.at("/admin")).await.status(),
        StatusCode::FOUND
    );
    assert_eq!(
        browser.api(app.at("/admin")).await.status(),
        StatusCode::UNAUTHORIZED
    );
    browser.login(&app).await;
    assert_eq!(browser.get(app.at("/")).await.status(), StatusCode::OK);
    let denied = browser.get(app.at("/admin")).await;
    assert_eq!(denied.status(), StatusCode::FORBIDDEN);
    let page = denied.text().await.expect("body");
    assert!(page.contains("alice") && page.contains("/logout"), "{page}");
    let json = browser.api(app.at("/admin")).await;
    assert_eq!(json.status(), StatusCode::FORBIDDEN);
    assert_eq!(json.headers()["content-type"], "application/json");

    let mut boss = MockUser::new("boss");
    boss.extra = serde_json::json!({ "groups": ["admins"] })
        .as_object()
        .cloned()
        .expect("object");
    provider.set_user(boss);
    let admin = Browser::default();
    admin.login(&app).await;
    assert_eq!(admin.get(app.at("/admin")).await.status(), StatusCode::OK);

    let mut outsider = MockUser::new("eve");
    outsider.email = Some("eve@elsewhere.example".into());
    provider.set_user(outsider);
    let stranger = Browser::default();
    assert_eq!(
        stranger.login(&app).await.status(),
        StatusCode::FORBIDDEN,
        "global requirement"
    );
    assert_eq!(
        stranger.get(app.at("/")).await.status(),
        StatusCode::FORBIDDEN,
        "no login loop"
    );
}

struct JsonUsers;

impl tower_oidc::UserDetails for JsonUsers {
    type User = serde_json::Value;
    type Error = std::convert::Infallible;

    async fn load_user(
        &self,
        identity: &tower_oidc::Identity,
    ) -> Result<Option<serde_json::Value>, Self::Error> {
        Ok(Some(
            serde_json::json!({ "user_id": identity.user_id(), "is_active": true }),
        ))
    }
}

async fn the_user_detail_hook_reaches_handlers(framework: Framework) {
    let provider = MockProvider::start().await.expect("provider");
    let app = TestApp::start_on(framework, &provider, |c| c.user_details(JsonUsers)).await;
    let browser = Browser::default();
    browser.login(&app).await;
    let user: serde_json::Value = browser
        .api(app.at("/user"))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(
        user,
        serde_json::json!({ "user_id": "alice", "is_active": true })
    );

    let without = TestApp::start_on(framework, &provider, |c| c).await;
    let browser = Browser::default();
    browser.login(&without).await;
    let response = browser.api(without.at("/user")).await;
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
}

struct Profiles;

impl tower_oidc::UserDetails for Profiles {
    type User = Profile;
    type Error = std::convert::Infallible;

    async fn load_user(
        &self,
        identity: &tower_oidc::Identity,
    ) -> Result<Option<Profile>, Self::Error> {
        Ok(Some(Profile {
            user_id: identity.user_id().to_owned(),
            is_active: true,
        }))
    }
}

/// `/user` takes `User<serde_json::Value>`, `/profile` takes `User<Profile>`, the hook's
/// own type: on one session, in either order, both answer.
async fn one_session_serves_the_user_as_json_and_typed(framework: Framework) {
    let provider = MockProvider::start().await.expect("provider");
    let app = TestApp::start_on(framework, &provider, |c| c.user_details(Profiles)).await;
    let expected = Profile {
        user_id: "alice".into(),
        is_active: true,
    };
    for order in [["/user", "/profile"], ["/profile", "/user"]] {
        let browser = Browser::default();
        browser.login(&app).await;
        for path in order.iter().chain(&order) {
            let body = assert_status(browser.api(app.at(path)).await, StatusCode::OK).await;
            let profile: Profile = serde_json::from_str(&body).expect("json");
            assert_eq!(profile, expected, "{order:?} {path}");
        }
    }
}

/// `/admin` carries a route requirement; without the layer around it, both frameworks
/// give the extractor's answer, JSON even to a browser.
async fn a_route_requirement_explains_a_missing_layer(framework: Framework) {
    let provider = MockProvider::start().await.expect("provider");
    let app = TestApp::start_without_layer(framework, &provider).await;
    let browser = Browser::default();
    for response in [
        browser.get(app.at("/admin")).await,
        browser.api(app.at("/admin")).await,
    ] {
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(response.headers()["content-type"], "application/json");
        assert_eq!(response.headers()["cache-control"], "no-store");
        assert!(!response.headers().contains_key("www-authenticate"));
        let json: serde_json::Value = response.json().await.expect("json");
        assert_eq!(json["error"], "layer_missing");
        assert!(json["message"]
            .as_str()
            .expect("message")
            .contains("is the tower-oidc layer installed"));
    }
}

async fn backchannel_logout_ends_the_session(framework: Framework) {
    let provider = MockProvider::start().await.expect("provider");
    let app = TestApp::start_on(framework, &provider, |c| c.memory_sessions()).await;
    let browser = Browser::default();
    browser.login(&app).await;
    assert_eq!(
        browser.api(app.at("/api/data")).await.status(),
        StatusCode::OK
    );
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    let token = provider.mint_jwt(
        tower_oidc::testing::MockAlg::Rs256,
        serde_json::json!({
            "iss": provider.issuer(), "aud": provider.client_id(), "iat": now, "exp": now + 120,
            "jti": format!("jti-{framework:?}"), "sub": "alice",
            "events": { "http://schemas.openid.net/event/backchannel-logout": {} },
        }),
    );
    let response = reqwest::Client::new()
        .post(app.at("/backchannel_logout"))
        .form(&[("logout_token", token.as_str())])
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        browser.api(app.at("/api/data")).await.status(),
        StatusCode::UNAUTHORIZED
    );
}

async fn memory_store_sessions_reach_whitelisted_paths(framework: Framework) {
    let provider = MockProvider::start().await.expect("provider");
    let app = TestApp::start_on(framework, &provider, |c| c.memory_sessions()).await;
    let browser = Browser::default();
    let (browser, app) = (&browser, &app);
    let health = move || async move {
        let response = browser.api(app.at("/health")).await;
        response.text().await.expect("body")
    };
    assert_eq!(health().await, "ok");
    browser.login(app).await;
    assert_eq!(
        health().await,
        "ok alice",
        "the session is offered, never required"
    );
    assert_status(browser.get(app.at("/logout")).await, StatusCode::FOUND).await;
    assert_eq!(health().await, "ok");
}
