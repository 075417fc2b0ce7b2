//! Session lifecycle, on both frameworks: tokens revoked at logout, every session of a
//! user ended by an admin, front-channel logout, silent login and step-up authentication.

use reqwest::StatusCode;
use tower_oidc::actix::OidcMiddleware;
use tower_oidc::store::StoreError;
use tower_oidc::testing::MockProvider;

use crate::harness::{assert_status, Browser, Framework, TestApp};

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
);

async fn logout_revokes_the_refresh_and_access_tokens(framework: Framework) {
    let provider = MockProvider::start().await.expect("provider");
    let app = TestApp::start_on(framework, &provider, |c| c).await;
    let browser = Browser::default();
    browser.login(&app).await;
    let me: serde_json::Value = browser
        .api(app.at("/me"))
        .await
        .json()
        .await
        .expect("json");
    let access_token = me["access_token"].as_str().expect("access token").to_owned();
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
    assert_eq!(refresh.status(), StatusCode::BAD_REQUEST, "revoked: no refresh");
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
