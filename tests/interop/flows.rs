//! The flows, each against its own oidc-provider process.

use std::time::Duration;

use base64::Engine as _;
use reqwest::{Response, StatusCode};
use serde_json::Value;
use url::Url;

use crate::browser::{location, set_cookies, Browser};
use crate::harness::{interop, Interop, Setup, TestApp, SIGNED_OUT_PATH};
use crate::provider::CLIENT_ID;

async fn text(response: Response, status: StatusCode) -> String {
    let url = response.url().clone();
    let actual = response.status();
    let body = response.text().await.unwrap_or_default();
    assert_eq!(actual, status, "{url} answered: {body}");
    body
}

async fn me(env: &Interop) -> Value {
    let response = env.browser.api(env.app.at("/me")).await;
    let body = text(response, StatusCode::OK).await;
    serde_json::from_str(&body).expect("json")
}

fn jwt_payload(token: &str) -> Value {
    let payload = token.split('.').nth(1).expect("a JWT");
    let json = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .expect("base64url");
    serde_json::from_slice(&json).expect("json payload")
}

fn query(url: &Url, name: &str) -> Option<String> {
    url.query_pairs()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.into_owned())
}

#[tokio::test]
async fn login_shows_the_user_id_from_sub() {
    interop(Setup::default(), |env| async move {
        let page = env.login("alice").await;
        assert_eq!(page.url(), &env.app.at("/"), "lands where it started");
        assert_eq!(text(page, StatusCode::OK).await, "hello alice");

        let me = me(&env).await;
        assert_eq!(me["user_id"], "alice");
        // oidc-provider's ID tokens of the code flow carry `sub` but no profile claims...
        let id_token = jwt_payload(me["id_token"].as_str().expect("id token"));
        assert_eq!(id_token["sub"], "alice");
        assert_eq!(id_token["iss"], env.provider.issuer());
        assert_eq!(id_token["aud"], CLIENT_ID);
        assert!(id_token.get("email").is_none(), "{id_token}");
        // ...which tower-oidc merged from userinfo.
        assert_eq!(me["claims"]["email"], "alice@example.com");
        assert_eq!(me["claims"]["email_verified"], true);
        assert_eq!(me["claims"]["name"], "Test User alice");
        assert_eq!(env.provider.grants("authorization_code").await, 1);

        let api = env.browser.api(env.app.at("/api/data")).await;
        assert_eq!(
            text(api, StatusCode::OK).await,
            r#"{"data":[1,2,3],"user_id":"alice"}"#
        );
    })
    .await;
}

#[tokio::test]
async fn login_with_email_as_user_id_uses_userinfo() {
    let setup = Setup {
        config: |config| config.user_id_claim("email"),
        ..Setup::default()
    };
    interop(setup, |env| async move {
        let page = env.login("bob").await;
        assert_eq!(text(page, StatusCode::OK).await, "hello bob@example.com");
        let me = me(&env).await;
        let id_token = jwt_payload(me["id_token"].as_str().expect("id token"));
        assert!(
            id_token.get("email").is_none(),
            "the email must have come from userinfo: {id_token}"
        );
        assert_eq!(me["claims"]["sub"], "bob");
    })
    .await;
}

#[tokio::test]
async fn expiring_access_tokens_are_refreshed_and_rotation_is_followed() {
    // Tokens live 3 s and are renewed 1 s before they expire: due 2 s after issue.
    let setup = Setup {
        access_token_ttl: Duration::from_secs(3),
        config: |config| config.leeway(Duration::from_secs(1)),
    };
    interop(setup, |env| async move {
        let page = env.login("carol").await;
        assert_eq!(text(page, StatusCode::OK).await, "hello carol");
        let first = me(&env).await["access_token"].clone();
        assert!(first.is_string(), "{first}");
        let before = env.provider.grants("refresh_token").await;

        tokio::time::sleep(Duration::from_millis(3100)).await;
        let second = me(&env).await["access_token"].clone();
        assert_ne!(first, second, "the access token was renewed");
        assert_eq!(env.provider.grants("refresh_token").await, before + 1);

        // oidc-provider consumed the first refresh token: presenting it again would be
        // refused (and revoke the grant), so a second refresh proves the rotated one was
        // stored in the session.
        tokio::time::sleep(Duration::from_millis(3100)).await;
        let third = me(&env).await["access_token"].clone();
        assert_ne!(second, third);
        assert_eq!(env.provider.grants("refresh_token").await, before + 2);
        let api = env.browser.api(env.app.at("/api/data")).await;
        text(api, StatusCode::OK).await;
    })
    .await;
}

#[tokio::test]
async fn logout_ends_the_app_and_provider_sessions() {
    interop(Setup::default(), |env| async move {
        let page = env.login("dave").await;
        assert_eq!(text(page, StatusCode::OK).await, "hello dave");
        let id_token = me(&env).await["id_token"]
            .as_str()
            .expect("id token")
            .to_owned();

        let logout = env.browser.get(env.app.at("/logout")).await;
        assert_eq!(logout.status(), StatusCode::FOUND);
        assert!(
            set_cookies(&logout)
                .iter()
                .any(|c| c.starts_with("tower_oidc.0=") && c.contains("Max-Age=0")),
            "the session cookie is removed: {:?}",
            set_cookies(&logout)
        );
        let end_session = location(&logout).expect("redirect");
        assert_eq!(
            format!(
                "{}{}",
                end_session.origin().ascii_serialization(),
                end_session.path()
            ),
            format!("{}/session/end", env.provider.issuer()),
            "the discovered end_session_endpoint"
        );
        assert_eq!(query(&end_session, "id_token_hint"), Some(id_token));
        assert_eq!(query(&end_session, "client_id").as_deref(), Some(CLIENT_ID));
        let signed_out = env.app.at(SIGNED_OUT_PATH);
        assert_eq!(
            query(&end_session, "post_logout_redirect_uri").as_deref(),
            Some(signed_out.as_str())
        );

        // The provider asks for confirmation, then sends the browser back.
        let landed = env
            .browser
            .drive(end_session, &env.provider.origin(), "dave", |_| false)
            .await
            .done();
        assert_eq!(landed.url().as_str(), signed_out.as_str());
        assert_eq!(text(landed, StatusCode::OK).await, "signed out");

        let api = env.browser.api(env.app.at("/api/data")).await;
        text(api, StatusCode::UNAUTHORIZED).await;
        assert!(env
            .browser
            .cookies_named(&env.app.url, "tower_oidc.")
            .is_empty());

        // The provider's session is over too: the next login asks for credentials again,
        // and may be someone else.
        let page = env.login("erin").await;
        assert_eq!(text(page, StatusCode::OK).await, "hello erin");
    })
    .await;
}

#[tokio::test]
async fn a_replayed_authorization_code_is_refused_by_the_provider() {
    interop(Setup::default(), |env| async move {
        let app_origin = env.app.url.origin().ascii_serialization();
        let callback = env
            .browser
            .drive(env.app.at("/"), &env.provider.origin(), "frank", |url| {
                url.origin().ascii_serialization() == app_origin && url.path() == "/auth"
            })
            .await
            .stopped();
        assert!(query(&callback, "code").is_some(), "{callback}");
        assert!(query(&callback, "state").is_some(), "{callback}");
        let login_cookies = env.browser.cookies_named(&env.app.url, "tower_oidc_login_");
        assert_eq!(login_cookies.len(), 1, "{login_cookies:?}");

        // The legitimate completion.
        let done = env.browser.get(callback.clone()).await;
        assert_eq!(done.status(), StatusCode::FOUND, "{:?}", done.text().await);
        let page = env.browser.get(env.app.at("/")).await;
        assert_eq!(text(page, StatusCode::OK).await, "hello frank");
        assert_eq!(env.provider.grants("authorization_code").await, 1);

        // The same callback at a fresh instance (which has not seen this state) with the
        // login cookie: only the provider can refuse it now.
        let fresh = {
            let (listener, url) = TestApp::bind().await;
            TestApp::serve(listener, url, env.app.layer.config().clone()).await
        };
        let replayed = fresh
            .url
            .join(&format!("/auth?{}", callback.query().unwrap_or("")))
            .expect("url");
        let attacker = Browser::default();
        for cookie in &login_cookies {
            attacker.jar.add_cookie_str(cookie, &fresh.url);
        }
        let response = attacker.api(replayed).await;
        let status = response.status();
        let cookies = set_cookies(&response);
        let body = response.text().await.unwrap_or_default();
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert!(body.contains("code_rejected"), "{body}");
        assert!(body.contains("invalid_grant"), "{body}");
        assert!(
            !cookies
                .iter()
                .any(|c| c.starts_with("tower_oidc.0=") && !c.contains("Max-Age=0")),
            "no session was created: {cookies:?}"
        );
        assert!(attacker.cookies_named(&fresh.url, "tower_oidc.").is_empty());
        assert_eq!(env.provider.grants("authorization_code").await, 1);
    })
    .await;
}

#[tokio::test]
async fn logout_revokes_the_tokens_at_the_provider() {
    interop(Setup::default(), |env| async move {
        let page = env.login("gina").await;
        assert_eq!(text(page, StatusCode::OK).await, "hello gina");
        let access_token = me(&env).await["access_token"]
            .as_str()
            .expect("access token")
            .to_owned();
        let userinfo = || async {
            reqwest::Client::new()
                .get(format!("{}/me", env.provider.issuer()))
                .bearer_auth(&access_token)
                .send()
                .await
                .expect("userinfo")
                .status()
        };
        assert_eq!(userinfo().await, StatusCode::OK);

        let logout = env.browser.get(env.app.at("/logout")).await;
        assert_eq!(logout.status(), StatusCode::FOUND);
        assert!(env.provider.grants("revocation").await >= 1);
        // Revoking the refresh token ends its grant: the access token is dead too.
        assert_eq!(userinfo().await, StatusCode::UNAUTHORIZED);
    })
    .await;
}

#[tokio::test]
async fn prompt_none_without_a_provider_session_falls_back_to_one_interactive_login() {
    interop(Setup::default(), |env| async move {
        let provider_origin = env.provider.origin();
        let authorize_requests = std::sync::Mutex::new(Vec::new());
        let landed = env
            .browser
            .drive(
                env.app.at("/login?prompt=none"),
                &provider_origin,
                "hank",
                |url| {
                    if url.origin().ascii_serialization() == provider_origin
                        && url.path() == "/auth"
                    {
                        if let Ok(mut seen) = authorize_requests.lock() {
                            seen.push(url.clone());
                        }
                    }
                    false
                },
            )
            .await
            .done();
        assert_eq!(text(landed, StatusCode::OK).await, "hello hank");
        let seen = authorize_requests.lock().expect("lock").clone();
        assert_eq!(
            seen.len(),
            2,
            "one silent attempt, one interactive: {seen:?}"
        );
        assert_eq!(query(&seen[0], "prompt").as_deref(), Some("none"));
        assert_ne!(query(&seen[1], "prompt").as_deref(), Some("none"));
    })
    .await;
}

#[tokio::test]
async fn max_age_makes_the_provider_authenticate_again() {
    interop(Setup::default(), |env| async move {
        let page = env.login("ivan").await;
        assert_eq!(text(page, StatusCode::OK).await, "hello ivan");
        tokio::time::sleep(Duration::from_millis(1_100)).await;
        let asked_at = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("clock")
            .as_secs();
        let again = env
            .browser
            .drive(
                env.app.at("/login?max_age=0"),
                &env.provider.origin(),
                "ivan",
                |_| false,
            )
            .await
            .done();
        assert_eq!(text(again, StatusCode::OK).await, "hello ivan");
        let id_token = me(&env).await["id_token"]
            .as_str()
            .expect("id token")
            .to_owned();
        let auth_time = jwt_payload(&id_token)["auth_time"]
            .as_u64()
            .expect("auth_time in an ID token asked for with max_age");
        assert!(
            auth_time >= asked_at,
            "the provider signed the user in again: auth_time {auth_time} >= {asked_at}"
        );
    })
    .await;
}
