//! What the benchmarks share: the routes with and without the layer, the configuration
//! against the mock provider, and an in-process sign-in that yields a real session cookie.
// Each bench binary uses part of this module.
#![allow(dead_code)]
// Setup code: failing loudly is right here.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use axum::body::Body;
use axum::response::Redirect;
use axum::routing::get;
use axum::Router;
use http::header::{ACCEPT, AUTHORIZATION, COOKIE, HOST, LOCATION, SET_COOKIE};
use http::{HeaderValue, Request, Response, StatusCode};
use tower::ServiceExt;
use tower_oidc::testing::MockProvider;
use tower_oidc::{Config, ConfigBuilder, OidcLayer};

/// The `Host` every in-process request carries; the callback URL is built from it.
pub const HOST_NAME: &str = "app.bench";

/// The load-test app, whose `axum_app` is the example itself: the benches measure the same
/// routes as `benches/load.sh`.
#[allow(dead_code, unreachable_pub)]
#[path = "../../examples/bench_app.rs"]
mod bench_app;

/// The application of `examples/axum_app.rs`, wrapped in the layer.
pub fn layered(layer: OidcLayer) -> Router {
    bench_app::axum_app::app(layer)
}

/// The same routes without the layer (`bench_app`'s bare app); `/login` and `/auth` answer a
/// fixed redirect, the least a handler of those routes does.
pub fn bare() -> Router {
    bench_app::bare()
        .route(
            "/login",
            get(|| async { Redirect::to("http://127.0.0.1:1/authorize?client_id=bench") }),
        )
        .route("/auth", get(|| async { Redirect::to("/") }))
}

/// The layer's configuration for `provider`: cookie sessions, `/health` whitelisted.
pub fn config(provider: &MockProvider) -> ConfigBuilder {
    Config::builder()
        .issuer(provider.issuer())
        .client_id(provider.client_id())
        .client_secret(provider.client_secret())
        .secret_key("bench-secret-key-0123456789abcdef-0123456789abcdef")
        .cookie_secure(false)
        .whitelist(["health"])
}

/// A layer whose provider metadata and keys are loaded.
pub async fn ready_layer(config: Config) -> OidcLayer {
    let layer = OidcLayer::new(config);
    layer
        .ready(std::time::Duration::from_secs(10))
        .await
        .expect("mock provider reachable");
    layer
}

/// A `GET` for `path_and_query` as a browser or an API client sends it.
pub fn get_request(path_and_query: &str, browser: bool) -> http::request::Builder {
    let accept = if browser {
        "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
    } else {
        "application/json"
    };
    Request::get(path_and_query)
        .header(HOST, HOST_NAME)
        .header(ACCEPT, accept)
}

/// A request carrying `cookie` (if any) and `authorization` (if any).
pub fn request(
    path: &str,
    browser: bool,
    cookie: Option<&HeaderValue>,
    authorization: Option<&HeaderValue>,
) -> Request<Body> {
    let mut builder = get_request(path, browser);
    if let Some(cookie) = cookie {
        builder = builder.header(COOKIE, cookie.clone());
    }
    if let Some(authorization) = authorization {
        builder = builder.header(AUTHORIZATION, authorization.clone());
    }
    builder.body(Body::empty()).expect("request")
}

/// Sends `request` through `app` and reads the whole answer.
pub async fn send(app: &Router, request: Request<Body>) -> (Response<()>, bytes::Bytes) {
    let response = app.clone().oneshot(request).await.expect("infallible");
    let (parts, body) = response.into_parts();
    let body = axum::body::to_bytes(body, usize::MAX).await.expect("body");
    (Response::from_parts(parts, ()), body)
}

/// `name=value` of every cookie the response sets with a value.
pub fn set_cookie_pairs(response: &Response<()>) -> Vec<String> {
    response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .filter_map(|value| value.split(';').next())
        .filter(|pair| pair.split_once('=').is_some_and(|(_, v)| !v.is_empty()))
        .map(str::to_owned)
        .collect()
}

/// A client for the provider's side of a login (the authorization endpoint), which
/// follows no redirects.
pub fn provider_client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

/// The callback request of a login started at `app`: `GET /login` in-process, then the
/// provider's (auto-approving) authorization endpoint over loopback.
pub async fn callback_request(app: &Router, http: &reqwest::Client) -> Request<Body> {
    let (start, _) = send(app, request("/login", true, None, None)).await;
    assert_eq!(start.status(), StatusCode::FOUND, "login redirect");
    let authorize = start.headers()[LOCATION]
        .to_str()
        .expect("ascii")
        .to_owned();
    let login_cookies = set_cookie_pairs(&start).join("; ");
    let approved = http.get(&authorize).send().await.expect("authorize");
    assert_eq!(approved.status(), reqwest::StatusCode::FOUND, "approval");
    let back = approved.headers()[reqwest::header::LOCATION]
        .to_str()
        .expect("ascii");
    let back = url::Url::parse(back).expect("callback URL");
    let target = format!("{}?{}", back.path(), back.query().unwrap_or(""));
    get_request(&target, true)
        .header(COOKIE, login_cookies)
        .body(Body::empty())
        .expect("request")
}

/// Signs in through `app` and the mock provider; returns the session's `Cookie` header.
pub async fn sign_in(app: &Router, http: &reqwest::Client) -> HeaderValue {
    let callback = callback_request(app, http).await;
    let (done, body) = send(app, callback).await;
    assert_eq!(
        done.status(),
        StatusCode::FOUND,
        "callback: {}",
        String::from_utf8_lossy(&body)
    );
    let session: Vec<String> = set_cookie_pairs(&done)
        .into_iter()
        .filter(|pair| pair.starts_with("tower_oidc."))
        .collect();
    assert!(!session.is_empty(), "no session cookie");
    HeaderValue::from_str(&session.join("; ")).expect("cookie header")
}

/// `Authorization: Bearer <token>`.
pub fn bearer(token: &str) -> HeaderValue {
    HeaderValue::from_str(&format!("Bearer {token}")).expect("header")
}

/// A key made through the key route, as `Bearer toidc_…`.
#[cfg(feature = "api-keys")]
pub async fn make_api_key(app: &Router, cookie: &HeaderValue) -> HeaderValue {
    let request = Request::post("/api-keys")
        .header(http::header::HOST, HOST_NAME)
        .header(http::header::COOKIE, cookie.clone())
        .header("sec-fetch-site", "same-origin")
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(Body::from(r#"{"name": "bench"}"#))
        .expect("request");
    let (response, body) = send(app, request).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let made: serde_json::Value = serde_json::from_slice(&body).expect("json");
    bearer(made["key"].as_str().expect("key"))
}
