//! The development switch: one identity for every request and no provider, refused
//! wherever it could reach production, and loud on every answer.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use reqwest::StatusCode;
use serde_json::{json, Value};
use tower_oidc::{Config, ConfigBuilder, Identity, UserDetails};

use crate::harness::{assert_status, location, Browser, Framework, TestApp};

const KEY: &str = "integration-test-key-0123456789abcdef";

fn lookup(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let vars: Vec<(String, String)> = vars
        .iter()
        .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
        .collect();
    move |name| {
        vars.iter()
            .find(|(var, _)| var == name)
            .map(|(_, value)| value.clone())
    }
}

const SWITCH: &[(&str, &str)] = &[
    ("OIDC_DISABLE_AUTH", "true"),
    ("OIDC_DEV_USER", "alice"),
    (
        "OIDC_DEV_CLAIMS",
        r#"{"email": "alice@example.com", "groups": ["admins"]}"#,
    ),
    ("OIDC_COOKIE_SECURE", "false"),
    ("OIDC_WHITELISTED_ENDPOINTS", "health"),
];

fn with(extra: &[(&'static str, &'static str)]) -> Vec<(&'static str, &'static str)> {
    let mut vars = SWITCH.to_vec();
    for (name, value) in extra {
        vars.retain(|(var, _)| var != name);
        vars.push((name, value));
    }
    vars
}

/// The environment's switch alone builds; each setting a deployment has is refused, the
/// error naming the switch and the setting that stands in the way.
#[test]
fn every_production_setting_refuses_the_switch() {
    assert!(Config::from_lookup(lookup(SWITCH)).is_ok());
    let refusals: &[(&str, &str, &str)] = &[
        ("OIDC_COOKIE_SECURE", "true", "Secure"),
        ("OIDC_ISSUER", "https://op.example.com", "OIDC_ISSUER"),
        (
            "OIDC_CONFIG_URL",
            "https://op.example.com/.well-known/openid-configuration",
            "OIDC_CONFIG_URL",
        ),
        (
            "FLASK_OIDC_CONFIG_URL",
            "https://op.example.com/.well-known/openid-configuration",
            "FLASK_OIDC_CONFIG_URL",
        ),
        ("OIDC_CLIENT_ID", "app", "OIDC_CLIENT_ID"),
        ("OIDC_CLIENT_SECRET", "s3cret", "client secret"),
        ("OIDC_REDIRECT_URI", "/auth", "OIDC_REDIRECT_URI"),
        ("OIDC_AUDIENCES", "api", "OIDC_AUDIENCES"),
        ("OIDC_CLIENT_AUTH", "post", "client_auth"),
        ("OIDC_BEARER_ONLY", "true", "bearer_only"),
        ("OIDC_INTROSPECT_TOKENS", "true", "introspect_opaque_tokens"),
    ];
    for (name, value, named) in refusals {
        let err = Config::from_lookup(lookup(&with(&[(name, value)]))).expect_err(name);
        assert_eq!(err.setting(), "OIDC_DISABLE_AUTH", "{name}: {err}");
        assert!(err.problem().contains(named), "{name}: {err}");
        assert!(err.problem().contains("never in production"), "{err}");
    }
    // A flask-oidc client_secrets.json brings a client: refused, naming the file's variable.
    let secrets = std::env::temp_dir().join(format!(
        "tower-oidc-development-secrets-{}.json",
        std::process::id()
    ));
    std::fs::write(
        &secrets,
        r#"{"web": {"issuer": "https://op.example.com", "client_id": "from-file"}}"#,
    )
    .expect("write");
    let file = secrets.to_string_lossy().into_owned();
    let mut vars = SWITCH.to_vec();
    vars.push(("OIDC_CLIENT_SECRETS", &file));
    let err = Config::from_lookup(lookup(&vars)).unwrap_err();
    let _ = std::fs::remove_file(&secrets);
    assert_eq!(err.setting(), "OIDC_DISABLE_AUTH");
    assert!(err.problem().contains("OIDC_CLIENT_SECRETS"), "{err}");
    // Secure cookies by default: leaving OIDC_COOKIE_SECURE out is refused too.
    let defaulted: Vec<_> = SWITCH
        .iter()
        .copied()
        .filter(|(name, _)| *name != "OIDC_COOKIE_SECURE")
        .collect();
    let err = Config::from_lookup(lookup(&defaulted)).unwrap_err();
    assert_eq!(err.setting(), "OIDC_DISABLE_AUTH");
    assert!(err.problem().contains("OIDC_COOKIE_SECURE=false"), "{err}");
}

#[test]
fn the_switch_needs_a_user_and_object_claims() {
    let no_user: Vec<_> = SWITCH
        .iter()
        .copied()
        .filter(|(name, _)| *name != "OIDC_DEV_USER")
        .collect();
    let err = Config::from_lookup(lookup(&no_user)).unwrap_err();
    assert_eq!(err.setting(), "OIDC_DISABLE_AUTH");
    assert!(err.problem().contains("OIDC_DEV_USER"), "{err}");
    let err = Config::from_lookup(lookup(&with(&[("OIDC_DEV_CLAIMS", "\"admin\"")]))).unwrap_err();
    assert_eq!(err.setting(), "OIDC_DEV_CLAIMS");
    // Switched off, the development variables change nothing.
    let off = with(&[
        ("OIDC_DISABLE_AUTH", "false"),
        ("OIDC_ISSUER", "https://op.example.com"),
        ("OIDC_CLIENT_ID", "app"),
        ("OIDC_SECRET_KEY", KEY),
    ]);
    assert!(Config::from_lookup(lookup(&off)).is_ok());
}

/// The builder's form refuses what the environment's does, naming its method.
#[test]
fn the_builder_form_is_refused_alike() {
    let user = || Config::builder().danger_development_user("alice", json!({}));
    assert!(user().cookie_secure(false).build().is_ok());
    let refused: Vec<(&str, ConfigBuilder)> = vec![
        ("default Secure cookies", user()),
        ("Secure cookies", user().cookie_secure(true)),
        (
            "issuer",
            user().cookie_secure(false).issuer("https://op.example.com"),
        ),
        ("client_id", user().cookie_secure(false).client_id("app")),
        (
            "client secret",
            user().cookie_secure(false).client_secret("s"),
        ),
        (
            "discovery_url",
            user()
                .cookie_secure(false)
                .discovery_url("https://op.example.com/.well-known/openid-configuration"),
        ),
        (
            "redirect_uri",
            user().cookie_secure(false).redirect_uri("/auth"),
        ),
    ];
    for (case, builder) in refused {
        let err = builder.build().expect_err(case);
        assert_eq!(err.setting(), "danger_development_user", "{case}: {err}");
    }
    let err = Config::builder()
        .danger_development_user(" ", json!({}))
        .cookie_secure(false)
        .build()
        .unwrap_err();
    assert_eq!(err.setting(), "danger_development_user");
    let err = Config::builder()
        .danger_development_user("alice", json!(["admins"]))
        .cookie_secure(false)
        .build()
        .unwrap_err();
    assert!(err.problem().contains("JSON object"), "{err}");
}

/// Counts its calls: the hook runs once, as at one login.
#[derive(Clone, Default)]
struct CountingUsers(Arc<AtomicUsize>);

impl UserDetails for CountingUsers {
    type User = Value;
    type Error = std::convert::Infallible;

    async fn load_user(&self, identity: &Identity) -> Result<Option<Value>, Self::Error> {
        self.0.fetch_add(1, Ordering::SeqCst);
        Ok(Some(
            json!({ "user_id": identity.user_id(), "email": identity.claim("email") }),
        ))
    }
}

both!(
    every_request_is_the_development_user_and_says_so,
    own_routes_lead_back_into_the_application,
);

fn disabled(response: &reqwest::Response) -> bool {
    response
        .headers()
        .get("x-oidc-auth")
        .is_some_and(|value| value == "disabled")
}

async fn every_request_is_the_development_user_and_says_so(framework: Framework) {
    let calls = CountingUsers::default();
    let claims = json!({ "email": "alice@example.com", "groups": ["admins"] });
    let config = Config::builder()
        .danger_development_user("alice", claims)
        .cookie_secure(false)
        .whitelist(["health"])
        .user_details(calls.clone())
        .build()
        .expect("development config");
    let app = TestApp::serve_on(framework, config, "").await;
    let browser = Browser::default();

    let me = browser.api(app.at("/me")).await;
    assert!(disabled(&me), "{:?}", me.headers());
    let me: Value = serde_json::from_str(&assert_status(me, StatusCode::OK).await).expect("json");
    assert_eq!(me["user_id"], "alice");
    assert_eq!(me["claims"]["email"], "alice@example.com");
    assert_eq!(me["claims"]["sub"], "alice");
    assert_eq!(me["access_token"], Value::Null);

    // A browser navigation is not sent anywhere; the whitelist still sees the user.
    let home = browser.get(app.at("/")).await;
    assert!(disabled(&home));
    assert_eq!(assert_status(home, StatusCode::OK).await, "hello alice");
    let health = browser.get(app.at("/health")).await;
    assert!(disabled(&health));
    assert_eq!(assert_status(health, StatusCode::OK).await, "ok alice");

    // Require sees the claims; the hook's user reaches handlers.
    let admin = browser.api(app.at("/admin")).await;
    assert!(disabled(&admin));
    assert_status(admin, StatusCode::OK).await;
    let user: Value = browser
        .api(app.at("/user"))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(
        user,
        json!({ "user_id": "alice", "email": "alice@example.com" })
    );
    assert_eq!(
        calls.0.load(Ordering::SeqCst),
        1,
        "the hook runs once, as at a login"
    );

    // Answers of every kind say so: the application's own errors too.
    let missing = browser.api(app.at("/no/such/route")).await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    assert!(disabled(&missing));
    // The application's failures too (on actix, an `Err` of an inner middleware).
    let failed = browser.api(app.at("/fail")).await;
    assert_eq!(failed.status(), StatusCode::IM_A_TEAPOT);
    assert!(disabled(&failed), "{:?}", failed.headers());
    // No session cookie is ever set: there is nothing to keep.
    assert!(!browser.has_session(&app));
}

async fn own_routes_lead_back_into_the_application(framework: Framework) {
    let config = Config::from_lookup(lookup(SWITCH)).expect("development config");
    let app = TestApp::serve_on(framework, config, "").await;
    let browser = Browser::default();
    let login = browser.get(app.at("/login?next=/me")).await;
    assert!(disabled(&login));
    assert_eq!(login.status(), StatusCode::FOUND);
    assert_eq!(location(&login).expect("location").path(), "/me");
    let logout = browser.get(app.at("/logout")).await;
    assert!(disabled(&logout));
    assert_eq!(logout.status(), StatusCode::FOUND);
    assert_eq!(location(&logout).expect("location").path(), "/");
    let health = browser.api(app.at("/health/oidc")).await;
    assert!(disabled(&health));
    let report: Value =
        serde_json::from_str(&assert_status(health, StatusCode::OK).await).expect("json");
    assert_eq!(report["auth"], "disabled");
    assert_eq!(report["provider"], "disabled");
}
