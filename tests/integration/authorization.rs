//! Requirements on claims: global and per route, 403 versus 401 versus 302, the custom page.

use reqwest::StatusCode;
use serde_json::json;
use tower_oidc::testing::{MockProvider, MockUser};
use tower_oidc::{AccessDeniedPage, Require};

use crate::harness::{base_config, Browser, TestApp};

fn user_with(sub: &str, email: &str, extra: serde_json::Value) -> MockUser {
    let mut user = MockUser::new(sub);
    user.email = Some(email.to_owned());
    user.extra = extra.as_object().cloned().unwrap_or_default();
    user
}

async fn global(provider: &MockProvider, require: Require) -> TestApp {
    TestApp::start_with(provider, |c| c.require(require)).await
}

#[tokio::test]
async fn email_domain_allowlist() {
    let provider = MockProvider::start().await.expect("provider");
    let app = global(&provider, Require::new().email_domain(["Example.com"])).await;
    let browser = Browser::default();
    assert_eq!(browser.login(&app).await.status(), StatusCode::OK);

    provider.set_user(user_with("eve", "eve@evil.example", json!({})));
    let browser = Browser::default();
    let denied = browser.login(&app).await;
    assert_eq!(denied.status(), StatusCode::FORBIDDEN);
    let page = denied.text().await.expect("body");
    assert!(
        page.contains("eve") && page.contains("href=\"/logout\""),
        "{page}"
    );
    assert!(
        !page.contains("email_domain") && !page.contains("evil.example"),
        "no internals"
    );
    // Signed in but not allowed: 403 again, never a redirect back into the login.
    assert!(browser.has_session(&app));
    assert_eq!(
        browser.get(app.at("/")).await.status(),
        StatusCode::FORBIDDEN
    );
    let api = browser.api(app.at("/api/data")).await;
    assert_eq!(api.status(), StatusCode::FORBIDDEN);
    let json: serde_json::Value = api.json().await.expect("json");
    assert_eq!(json["error"], "forbidden");

    let mut unverified = user_with("mallory", "mallory@example.com", json!({}));
    unverified.email_verified = Some(false);
    provider.set_user(unverified);
    let browser = Browser::default();
    assert_eq!(browser.login(&app).await.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn claims_flat_and_nested() {
    let provider = MockProvider::start().await.expect("provider");
    let app = global(
        &provider,
        Require::new()
            .claim_contains("groups", "data-platform")
            .claim_contains("realm_access.roles", "admin")
            .claim_equals("tenant", "acme"),
    )
    .await;
    provider.set_user(user_with(
        "ok",
        "ok@example.com",
        json!({"groups": ["data-platform"], "realm_access": {"roles": ["admin"]}, "tenant": "acme"}),
    ));
    assert_eq!(
        Browser::default().login(&app).await.status(),
        StatusCode::OK
    );
    for extra in [
        json!({"groups": ["other"], "realm_access": {"roles": ["admin"]}, "tenant": "acme"}),
        json!({"groups": ["data-platform"], "realm_access": {"roles": ["user"]}, "tenant": "acme"}),
        json!({"groups": ["data-platform"], "realm_access": {"roles": ["admin"]}, "tenant": "other"}),
        json!({"groups": ["data-platform"], "tenant": "acme"}),
    ] {
        provider.set_user(user_with("no", "no@example.com", extra.clone()));
        let status = Browser::default().login(&app).await.status();
        assert_eq!(status, StatusCode::FORBIDDEN, "{extra}");
    }
}

#[tokio::test]
async fn predicates_and_alternatives() {
    let provider = MockProvider::start().await.expect("provider");
    let staff = Require::new().predicate("staff id", |id| id.user_id().starts_with("staff-"));
    let admins = Require::new().claim_contains("groups", "admins");
    let app = global(&provider, Require::new().any_of([staff, admins])).await;
    provider.set_user(MockUser::new("staff-1"));
    assert_eq!(
        Browser::default().login(&app).await.status(),
        StatusCode::OK
    );
    provider.set_user(user_with(
        "x",
        "x@example.com",
        json!({"groups": ["admins"]}),
    ));
    assert_eq!(
        Browser::default().login(&app).await.status(),
        StatusCode::OK
    );
    provider.set_user(MockUser::new("guest"));
    assert_eq!(
        Browser::default().login(&app).await.status(),
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn bearer_scopes() {
    let provider = MockProvider::start().await.expect("provider");
    let app = global(&provider, Require::new().scope("read:data")).await;
    let client = reqwest::Client::new();
    for (claims, expected) in [
        (json!({"scope": "openid read:data"}), StatusCode::OK),
        (json!({"scope": null, "scp": ["read:data"]}), StatusCode::OK),
        (json!({"scope": "openid write:data"}), StatusCode::FORBIDDEN),
    ] {
        let token = provider.mint_access_token("svc", claims.clone());
        let status = client
            .get(app.at("/api/data"))
            .bearer_auth(token)
            .send()
            .await
            .expect("request")
            .status();
        assert_eq!(status, expected, "{claims}");
    }
}

#[tokio::test]
async fn per_route_requirements_and_the_three_answers() {
    let provider = MockProvider::start().await.expect("provider");
    // The harness's `/admin` carries `Require::new().claim_contains("groups", "admins")`.
    let app = TestApp::serve(base_config(&provider).build().expect("config")).await;

    // Not signed in: browsers go to log in, API clients get 401.
    let browser = Browser::default();
    assert_eq!(
        browser.get(app.at("/admin")).await.status(),
        StatusCode::FOUND
    );
    assert_eq!(
        browser.api(app.at("/admin")).await.status(),
        StatusCode::UNAUTHORIZED
    );

    // Signed in without the group: the rest of the app works, /admin is 403.
    browser.login(&app).await;
    assert_eq!(browser.get(app.at("/")).await.status(), StatusCode::OK);
    assert_eq!(
        browser.get(app.at("/admin")).await.status(),
        StatusCode::FORBIDDEN
    );

    provider.set_user(user_with(
        "boss",
        "boss@example.com",
        json!({"groups": ["admins"]}),
    ));
    let admin = Browser::default();
    admin.login(&app).await;
    let response = admin.get(app.at("/admin")).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.text().await.expect("body"), "admin area");
}

#[tokio::test]
async fn the_page_can_be_replaced() {
    let provider = MockProvider::start().await.expect("provider");
    let app = TestApp::start_with(&provider, |c| {
        c.require(Require::new().claim_contains("groups", "admins"))
            .access_denied_page(AccessDeniedPage::new(|identity, logout| {
                format!(
                    "<p>Sorry {}, ask #data-platform. <a href=\"{logout}\">out</a></p>",
                    identity.user_id()
                )
            }))
    })
    .await;
    let page = Browser::default().login(&app).await;
    assert_eq!(page.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        page.text().await.expect("body"),
        "<p>Sorry alice, ask #data-platform. <a href=\"/logout\">out</a></p>"
    );
}

#[tokio::test]
async fn requirements_from_the_environment() {
    let provider = MockProvider::start().await.expect("provider");
    let issuer = provider.issuer();
    let vars = [
        ("OIDC_ISSUER", issuer.as_str()),
        ("OIDC_CLIENT_ID", provider.client_id()),
        ("OIDC_CLIENT_SECRET", provider.client_secret()),
        ("OIDC_SECRET_KEY", "environment-test-key-0123456789abcdef"),
        ("OIDC_COOKIE_SECURE", "false"),
        ("OIDC_ALLOWED_EMAIL_DOMAINS", "example.com, example.org"),
        ("OIDC_REQUIRED_CLAIMS", "groups=admins"),
    ];
    let config = tower_oidc::Config::from_lookup(|name| {
        vars.iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| (*v).to_owned())
    })
    .expect("config");
    let app = TestApp::serve(config).await;
    assert_eq!(
        Browser::default().login(&app).await.status(),
        StatusCode::FORBIDDEN
    );
    provider.set_user(user_with(
        "a",
        "a@example.org",
        json!({"groups": ["admins"]}),
    ));
    assert_eq!(
        Browser::default().login(&app).await.status(),
        StatusCode::OK
    );
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Member {
    active: bool,
}

struct Members;

impl tower_oidc::UserDetails for Members {
    type User = Member;
    type Error = std::convert::Infallible;

    async fn load_user(
        &self,
        identity: &tower_oidc::Identity,
    ) -> Result<Option<Member>, Self::Error> {
        Ok(Some(Member {
            active: identity.user_id() != "former",
        }))
    }
}

/// A global predicate reads the hook's user, typed, as handlers do.
#[tokio::test]
async fn predicates_read_the_hooks_user() {
    let provider = MockProvider::start().await.expect("provider");
    let active = Require::new().predicate("active member", |identity| {
        identity
            .user::<Member>()
            .is_some_and(|member| member.active)
    });
    let app = TestApp::start_with(&provider, |c| c.user_details(Members).require(active)).await;
    assert_eq!(
        Browser::default().login(&app).await.status(),
        StatusCode::OK
    );
    provider.set_user(MockUser::new("former"));
    assert_eq!(
        Browser::default().login(&app).await.status(),
        StatusCode::FORBIDDEN
    );
}

/// The per-route layer without the `OidcLayer` around it: `500` JSON, even for a browser.
#[tokio::test]
async fn a_route_requirement_without_the_layer() {
    use axum::routing::get;
    let app = axum::Router::new()
        .route("/admin", get(|| async { "admin area" }))
        .route_layer(Require::new().claim_contains("groups", "admins").layer());
    let request = http::Request::get("/admin")
        .header("accept", "text/html")
        .body(axum::body::Body::empty())
        .expect("request");
    let response = tower::ServiceExt::oneshot(app, request)
        .await
        .expect("infallible");
    assert_eq!(response.status(), http::StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(response.headers()["content-type"], "application/json");
}
