//! Tests of the test client against small apps wrapped in the layer.

use axum::routing::get;
use axum::Router;
use http::{Request, StatusCode};
use serde_json::json;

use super::*;
use crate::{Config, Identity, OidcLayer};

fn config(provider: &MockProvider) -> Config {
    Config::builder()
        .issuer(provider.issuer())
        .client_id(provider.client_id())
        .client_secret(provider.client_secret())
        .secret_key("client-tests-secret-key-0123456789abcdef")
        .whitelist(["/open/*"])
        .build()
        .expect("config")
}

fn app(provider: &MockProvider) -> Router {
    routes().layer(OidcLayer::new(config(provider)))
}

fn routes() -> Router {
    Router::new()
        .route(
            "/me",
            get(|id: Identity| async move {
                let team = id.claim("team").cloned().unwrap_or_default();
                format!("{} {team}", id.user_id())
            }),
        )
        .route("/open", get(|| async { "open" }))
        .route(
            "/open/echo",
            get(|headers: http::HeaderMap| async move {
                let get = |name: &str| headers.get(name).map(|v| v.to_str().unwrap().to_owned());
                axum::Json(json!({ "cookie": get("cookie"), "host": get("host") }))
            }),
        )
}

#[tokio::test]
async fn signs_in_the_chosen_user_and_sends_the_session() {
    let provider = MockProvider::start().await.expect("provider");
    let client = TestClient::new(app(&provider));
    assert_eq!(
        client.get("/me").await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );

    let landing = client
        .sign_in_as(&provider, MockUser::new("bob").claim("team", "blue"))
        .await
        .unwrap();
    assert!(landing.status().is_redirection());
    let me = client.get("/me").await.unwrap();
    assert_eq!(
        (me.status(), me.text()),
        (StatusCode::OK, r#"bob "blue""#.to_owned())
    );
    assert_eq!(provider.user().sub, "alice");
    let stats = provider.stats();
    assert_eq!((stats.authorize, stats.token_code), (1, 1));

    client.clear_cookies();
    assert_eq!(client.cookie_header(), None);
    assert_eq!(
        client.get("/me").await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn clients_signed_in_as_different_users_share_a_provider() {
    let provider = MockProvider::start().await.expect("provider");
    let app = app(&provider);
    let (bob, carol, current) = (
        TestClient::new(app.clone()),
        TestClient::new(app.clone()),
        TestClient::new(app),
    );
    let (signed_bob, signed_carol, signed_current) = tokio::join!(
        bob.sign_in_as(&provider, MockUser::new("bob")),
        carol.sign_in_as(&provider, MockUser::new("carol")),
        current.sign_in(&provider),
    );
    signed_bob.unwrap();
    signed_carol.unwrap();
    signed_current.unwrap();
    assert_eq!(bob.get("/me").await.unwrap().text(), "bob null");
    assert_eq!(carol.get("/me").await.unwrap().text(), "carol null");
    assert_eq!(current.get("/me").await.unwrap().text(), "alice null");
}

#[tokio::test]
async fn own_cookie_headers_go_first_and_host_defaults() {
    let provider = MockProvider::start().await.expect("provider");
    let client = TestClient::new(routes()).host("app.test");
    let seen: serde_json::Value = client.get("/open/echo").await.unwrap().json().unwrap();
    assert_eq!(seen, json!({ "cookie": null, "host": "app.test" }));

    let client = TestClient::new(app(&provider));
    client.sign_in(&provider).await.unwrap();
    let session = client.cookie_header().expect("session cookie");
    let request = Request::get("/open/echo")
        .header("cookie", "mine=1")
        .header("host", "other.test")
        .body("")
        .unwrap();
    let seen: serde_json::Value = client.send(request).await.unwrap().json().unwrap();
    assert_eq!(seen["cookie"], format!("mine=1; {session}"));
    assert_eq!(seen["host"], "other.test");
}

#[tokio::test]
async fn sign_in_reports_the_step_that_stopped_it() {
    let provider = MockProvider::start().await.expect("provider");

    let open_route = TestClient::new(app(&provider)).login_path("/open");
    match open_route.sign_in(&provider).await {
        Err(TestClientError::SignIn { step, status, .. }) => {
            assert_eq!((step, status), (SignInStep::Login, StatusCode::OK));
        }
        other => panic!("signed in through an open route: {other:?}"),
    }
    // Any protected page starts a login too, and the login lands there.
    let landing = TestClient::new(app(&provider))
        .login_path("/me?tab=1")
        .sign_in(&provider)
        .await
        .unwrap();
    assert_eq!(landing.location(), Some("/me?tab=1"));

    let other = MockProvider::start().await.expect("other provider");
    let elsewhere = TestClient::new(app(&other));
    match elsewhere.sign_in(&provider).await {
        Err(TestClientError::SignIn { step, message, .. }) => {
            assert_eq!(step, SignInStep::Login);
            assert!(
                message.contains("instead of the mock provider"),
                "{message}"
            );
        }
        other => panic!("signed in at the wrong provider: {other:?}"),
    }

    provider.set_misbehavior(Some(Misbehavior::AuthorizeError));
    let refused = TestClient::new(app(&provider));
    match refused.sign_in_as(&provider, MockUser::new("bob")).await {
        Err(TestClientError::SignIn { step, status, .. }) => {
            assert_eq!(step, SignInStep::Callback);
            assert!(status.is_client_error(), "{status}");
        }
        other => panic!("signed in despite the refusal: {other:?}"),
    }
    assert_eq!(
        refused.get("/me").await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );

    provider.set_misbehavior(None);
    provider.set_available(false);
    match TestClient::new(app(&provider)).sign_in(&provider).await {
        Err(TestClientError::SignIn { step, status, .. }) => {
            assert_eq!(
                (step, status),
                (SignInStep::Login, StatusCode::SERVICE_UNAVAILABLE)
            );
        }
        other => panic!("signed in while the provider is down: {other:?}"),
    }
}

#[tokio::test]
async fn service_errors_and_bad_requests_are_errors() {
    let failing = tower::service_fn(|_: Request<axum::body::Body>| async {
        Err::<http::Response<String>, _>(std::io::Error::other("broken app"))
    });
    match TestClient::new(failing).get("/").await {
        Err(TestClientError::App(message)) => assert!(message.contains("broken app")),
        other => panic!("{other:?}"),
    }
    let client = TestClient::new(Router::new());
    assert!(matches!(
        client.get("/").header("bad header", "x").await,
        Err(TestClientError::InvalidRequest(_))
    ));
    assert!(matches!(
        TestClient::served_at("not a url"),
        Err(TestClientError::InvalidRequest(_))
    ));
    assert!(matches!(
        TestClient::served_at("file:///tmp"),
        Err(TestClientError::InvalidRequest(_))
    ));
}

#[tokio::test]
async fn debug_output_shows_no_session_or_body() {
    let provider = MockProvider::start().await.expect("provider");
    let client = TestClient::new(app(&provider));
    client
        .sign_in_as(&provider, MockUser::new("bob"))
        .await
        .unwrap();
    let cookie = client.cookie_header().expect("session");
    let value = cookie.split_once('=').expect("pair").1;
    let value = value.split(';').next().expect("value");
    let debug = format!("{client:?}");
    assert!(!debug.contains(value), "{debug}");
    let me = client.get("/me").await.unwrap();
    let debug = format!("{me:?}");
    assert!(!debug.contains("bob"), "{debug}");
    let token = provider.access_token().mint();
    let request = client.get("/me").bearer(&token);
    assert!(!format!("{request:?}").contains(&token));
}

#[tokio::test]
async fn served_apps_are_reached_over_http() {
    let provider = MockProvider::start().await.expect("provider");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    let app = app(&provider);
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    let client = TestClient::served_at(&url).unwrap();
    assert_eq!(client.get("/open").await.unwrap().text(), "open");
    client
        .sign_in_as(&provider, MockUser::new("dave"))
        .await
        .unwrap();
    assert_eq!(client.get("/me").await.unwrap().text(), "dave null");
    server.abort();
}

#[cfg(feature = "actix")]
#[actix_web::test]
async fn actix_services_and_their_errors() {
    use actix_web::{error, web, App};

    let provider = MockProvider::start().await.expect("provider");
    let oidc = crate::actix::OidcMiddleware::new(config(&provider));
    let app = actix_web::test::init_service(
        App::new()
            .wrap_fn(|request, service| {
                use actix_web::dev::Service as _;
                let fail = request.path() == "/fail";
                let response = service.call(request);
                async move {
                    if fail {
                        return Err(error::ErrorImATeapot("teapot"));
                    }
                    response.await
                }
            })
            .wrap(oidc)
            .route(
                "/me",
                web::get().to(|id: Identity| async move { id.user_id().to_owned() }),
            )
            .route("/fail", web::get().to(|| async { "unreachable" })),
    )
    .await;
    let client = TestClient::actix(app);
    assert_eq!(
        client.get("/me").await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
    client
        .sign_in_as(&provider, MockUser::new("erin"))
        .await
        .unwrap();
    assert_eq!(client.get("/me").await.unwrap().text(), "erin");
    let teapot = client.get("/fail").await.unwrap();
    assert_eq!(
        (teapot.status(), teapot.text()),
        (StatusCode::IM_A_TEAPOT, "teapot".to_owned())
    );
}

#[tokio::test]
async fn signing_in_again_switches_the_user() {
    let provider = MockProvider::start().await.expect("provider");
    let client = TestClient::new(app(&provider));
    client
        .sign_in_as(&provider, MockUser::new("bob"))
        .await
        .unwrap();
    client
        .sign_in_as(&provider, MockUser::new("carol"))
        .await
        .unwrap();
    assert_eq!(client.get("/me").await.unwrap().text(), "carol null");
}
