//! Two `oidc-provider` processes behind one application: a login through each, one shared
//! callback told apart by RFC 9207 `iss`, users kept apart, and a mixed-up response
//! refused.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::Value;
use tower_oidc::{Config, ProviderConfig};
use url::Url;

use crate::browser::{location, Browser};
use crate::harness::{can_run, TestApp, SIGNED_OUT_PATH, TEST_TIMEOUT};
use crate::provider::{OidcProvider, ProviderOptions, CLIENT_ID, CLIENT_SECRET};

struct TwoProviders {
    alpha: OidcProvider,
    beta: OidcProvider,
    app: TestApp,
}

async fn start() -> TwoProviders {
    let (listener, app_url) = TestApp::bind().await;
    let options = || ProviderOptions {
        redirect_uris: vec![format!("{app_url}auth")],
        post_logout_redirect_uris: vec![app_url.join(SIGNED_OUT_PATH).expect("url").to_string()],
        ..ProviderOptions::default()
    };
    let alpha = OidcProvider::start(&options()).await;
    let beta = OidcProvider::start(&options()).await;
    let provider = |op: &OidcProvider| {
        ProviderConfig::new()
            .issuer(op.issuer())
            .client_id(CLIENT_ID)
            .client_secret(CLIENT_SECRET)
    };
    let config = Config::builder()
        .provider("alpha", provider(&alpha))
        .provider("beta", provider(&beta))
        .redirect_uri(format!("{app_url}auth"))
        .scopes(["openid", "email", "profile"])
        .post_logout_redirect_uri(app_url.join(SIGNED_OUT_PATH).expect("url").to_string())
        .whitelist([SIGNED_OUT_PATH])
        .secret_key("interop-test-cookie-key-0123456789abcdef")
        .cookie_secure(false)
        .http_timeout(Duration::from_secs(5))
        .build()
        .expect("config");
    let app = TestApp::serve(listener, app_url, config).await;
    TwoProviders { alpha, beta, app }
}

async fn me(browser: &Browser, app: &TestApp) -> Value {
    let response = browser.api(app.at("/me")).await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.expect("json")
}

async fn run(test: impl std::future::Future<Output = ()>) {
    if tokio::time::timeout(TEST_TIMEOUT, test).await.is_err() {
        panic!("interop test did not finish within {TEST_TIMEOUT:?}");
    }
}

#[tokio::test]
async fn a_login_through_each_provider_on_one_callback() {
    if !can_run() {
        return;
    }
    run(async {
        let env = start().await;
        for (name, op) in [("alpha", &env.alpha), ("beta", &env.beta)] {
            let browser = Browser::default();
            let landed = browser
                .drive(
                    env.app.at(&format!("/login/{name}?next=/me")),
                    &op.origin(),
                    "alice",
                    |_| false,
                )
                .await
                .done();
            assert_eq!(landed.status(), StatusCode::OK, "{name}: {}", landed.url());
            let me = me(&browser, &env.app).await;
            assert_eq!(me["user_id"], format!("{name}:alice"));
            assert_eq!(me["claims"]["iss"], op.issuer());
            assert_eq!(op.grants("authorization_code").await, 1);

            let logout = browser.get(env.app.at("/logout")).await;
            let end_session = location(&logout).expect("end-session redirect");
            assert!(
                end_session.as_str().starts_with(&op.issuer()),
                "{end_session}"
            );
        }
    })
    .await;
}

#[tokio::test]
async fn a_response_in_the_other_providers_name_is_refused() {
    if !can_run() {
        return;
    }
    run(async {
        let env = start().await;
        let browser = Browser::default();
        let app_origin = env.app.url.origin();
        let callback = browser
            .drive(
                env.app.at("/login/alpha"),
                &env.alpha.origin(),
                "alice",
                |url| url.origin() == app_origin && url.path() == "/auth",
            )
            .await
            .stopped();
        let iss = callback
            .query_pairs()
            .find(|(name, _)| name == "iss")
            .map(|(_, value)| value.into_owned());
        assert_eq!(
            iss,
            Some(env.alpha.issuer()),
            "oidc-provider sends RFC 9207 iss"
        );
        let mixed: Vec<(String, String)> = callback
            .query_pairs()
            .into_owned()
            .map(|(name, value)| {
                if name == "iss" {
                    (name, env.beta.issuer())
                } else {
                    (name, value)
                }
            })
            .collect();
        let mut mixed_url: Url = callback.clone();
        mixed_url.query_pairs_mut().clear().extend_pairs(&mixed);
        let refused = browser.api(mixed_url).await;
        assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
        let body = refused.text().await.unwrap_or_default();
        assert!(body.contains("issuer_mismatch"), "{body}");
        assert_eq!(env.alpha.grants("authorization_code").await, 0);
        assert_eq!(env.beta.grants("authorization_code").await, 0);
    })
    .await;
}
