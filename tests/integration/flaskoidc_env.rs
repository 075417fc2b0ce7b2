//! A flaskoidc deployment's environment file, as the Amundsen + Auth0 guide writes it, runs a
//! tower-oidc service unchanged (only its secrets and URLs point at the mock provider).

use reqwest::StatusCode;
use tower_oidc::testing::MockProvider;
use tower_oidc::Config;

use crate::harness::{Browser, TestApp};

#[tokio::test]
async fn an_amundsen_env_file_completes_a_login() {
    let provider = MockProvider::start().await.expect("provider");
    let dir = std::env::temp_dir().join(format!("tower-oidc-envfile-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    // The discovery document saved as client_secrets.json, as the guide suggests.
    let secrets = dir.join("client_secrets.json");
    let issuer = provider.issuer();
    std::fs::write(
        &secrets,
        format!(
            r#"{{"issuer": "{issuer}", "authorization_endpoint": "{issuer}/authorize",
                "token_endpoint": "{issuer}/token", "jwks_uri": "{issuer}/jwks",
                "userinfo_endpoint": "{issuer}/userinfo"}}"#
        ),
    )
    .expect("write");

    // The app must know its own address before the file is written (OVERWRITE_REDIRECT_URI).
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    drop(listener);
    let env_file = dir.join("amundsen.env");
    std::fs::write(
        &env_file,
        format!(
            r#"export FLASK_APP_MODULE_NAME=flaskoidc
export FLASK_APP_CLASS_NAME=FlaskOIDC
export SQLALCHEMY_DATABASE_URI='sqlite:///sessions.db'
export SESSION_TYPE='sqlalchemy'
export FRONTEND_SVC_CONFIG_MODULE_CLASS='amundsen_application.oidc_config.OidcConfig'
export APP_WRAPPER=flaskoidc
export APP_WRAPPER_CLASS=FlaskOIDC

export FLASK_OIDC_SECRET_KEY='a-real-random-key-not-the-published-example'
export FLASK_OIDC_WHITELISTED_ENDPOINTS="status,healthcheck,health"
export FLASK_OIDC_LOG_DATE_FORMAT='%Y-%m-%dT%H:%M:%S%z'
export FLASK_OIDC_LOG_LEVEL='INFO'

export OIDC_CLIENT_SECRETS='{secrets}'
export OVERWRITE_REDIRECT_URI='http://{addr}/authorization-code/callback'
export OIDC_CALLBACK_ROUTE='/authorization-code/callback'
export OIDC_DEBUG=True

export FLASK_OIDC_PROVIDER_NAME='auth0'
export FLASK_OIDC_CONFIG_URL='{issuer}/.well-known/openid-configuration'
export FLASK_OIDC_USER_ID_FIELD='email'
export FLASK_OIDC_CLIENT_ID='{client_id}'
export FLASK_OIDC_CLIENT_SECRET='{client_secret}'
export FLASK_OIDC_REDIRECT_URI='/authorization-code/callback'
export OIDC_COOKIE_SECURE=false
"#,
            secrets = secrets.display(),
            client_id = provider.client_id(),
            client_secret = provider.client_secret(),
        ),
    )
    .expect("write");

    let config = Config::from_env_file(&env_file).expect("the env file is accepted");
    assert_eq!(config.callback_path(), "/authorization-code/callback");
    assert_eq!(config.user_id_claim(), "email");
    let app = TestApp::serve_at(config, addr).await;
    let browser = Browser::default();
    let landed = browser.login(&app).await;
    assert_eq!(landed.status(), StatusCode::OK);
    assert_eq!(
        landed.text().await.expect("body"),
        "hello alice@example.com"
    );
    assert_eq!(
        browser.get(app.at("/healthcheck")).await.status(),
        StatusCode::NOT_FOUND,
        "whitelisted: reaches the app, which has no such route"
    );
    // The sessions went to `sessions.db` in the working directory, as flaskoidc's did.
    let cookie = browser.cookies(&app.url);
    assert!(
        cookie.len() < 300,
        "the cookie holds only a session id: {cookie}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn the_published_example_key_is_refused() {
    let dir = std::env::temp_dir().join(format!("tower-oidc-badkey-{}.env", std::process::id()));
    std::fs::write(
        &dir,
        "export FLASK_OIDC_SECRET_KEY='base-flask-oidc-secret-key'\n\
         export FLASK_OIDC_CLIENT_ID=x\n\
         export FLASK_OIDC_CONFIG_URL='https://tenant.auth0.com/.well-known/openid-configuration'\n",
    )
    .expect("write");
    let err = Config::from_env_file(&dir).unwrap_err();
    let _ = std::fs::remove_file(&dir);
    assert_eq!(err.setting(), "FLASK_OIDC_SECRET_KEY");
}

/// A parameter file that overrides what the login flow sets is refused, naming the flaskoidc
/// variable the deployment used.
#[tokio::test]
async fn a_parameters_file_that_overrides_the_scope_names_its_variable() {
    let dir = std::env::temp_dir().join(format!("tower-oidc-params-env-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let params = dir.join("params.json");
    std::fs::write(&params, r#"{"scope": "openid admin"}"#).expect("write");
    let env_file = dir.join("deployment.env");
    std::fs::write(
        &env_file,
        format!(
            "export FLASK_OIDC_SECRET_KEY='a-real-random-key-not-the-published-example'\n\
             export FLASK_OIDC_CLIENT_ID=x\n\
             export FLASK_OIDC_CONFIG_URL='https://tenant.auth0.com/.well-known/openid-configuration'\n\
             export FLASK_OIDC_PROVIDER_ADDITIONAL_PARAMETERS_FILE_PATH='{}'\n",
            params.display()
        ),
    )
    .expect("write");
    let err = Config::from_env_file(&env_file).unwrap_err();
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(
        err.setting(),
        "FLASK_OIDC_PROVIDER_ADDITIONAL_PARAMETERS_FILE_PATH"
    );
    assert!(err.problem().contains("`scope`"), "{err}");
}
