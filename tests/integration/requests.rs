//! Requests without a usable session, sent raw through the service (no client-side URL
//! normalization), including hostile ones.

use axum::body::Body;
use http::{Request, StatusCode};
use proptest::prelude::*;
use tower::ServiceExt;
use tower_oidc::testing::MockProvider;
use tower_oidc::OidcLayer;

use crate::harness::{base_config, routes};

async fn send(layer: &OidcLayer, request: Request<Body>) -> http::Response<axum::body::Body> {
    routes()
        .layer(layer.clone())
        .oneshot(request)
        .await
        .expect("infallible")
        .map(Body::new)
}

fn api(path: &str) -> Request<Body> {
    Request::get(path)
        .header("host", "app.test")
        .header("accept", "application/json")
        .body(Body::empty())
        .expect("request")
}

async fn layer() -> (MockProvider, OidcLayer) {
    let provider = MockProvider::start().await.expect("provider");
    let layer = OidcLayer::new(base_config(&provider).build().expect("config"));
    (provider, layer)
}

#[tokio::test]
async fn api_clients_get_401_json_and_browsers_a_redirect() {
    let (_provider, layer) = layer().await;
    let response = send(&layer, api("/api/data")).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(response.headers()["www-authenticate"], "Bearer");
    assert_eq!(response.headers()["content-type"], "application/json");
    let body = axum::body::to_bytes(response.into_body(), 1 << 16)
        .await
        .expect("body");
    let json: serde_json::Value = serde_json::from_slice(&body).expect("json");
    assert_eq!(json["error"], "unauthorized");

    let post = Request::post("/api/data")
        .header("host", "app.test")
        .header("accept", "text/html")
        .body(Body::empty())
        .expect("request");
    assert_eq!(send(&layer, post).await.status(), StatusCode::UNAUTHORIZED);

    let page = Request::get("/api/data")
        .header("host", "app.test")
        .header("accept", "text/html,*/*")
        .body(Body::empty())
        .expect("request");
    let response = send(&layer, page).await;
    assert_eq!(response.status(), StatusCode::FOUND);
    let cookies: Vec<_> = response.headers().get_all("set-cookie").iter().collect();
    let login_cookie = cookies[0].to_str().expect("ascii");
    assert!(login_cookie.contains("HttpOnly") && login_cookie.contains("SameSite=Lax"));
}

#[tokio::test]
async fn the_extractor_explains_a_missing_layer() {
    let response = routes()
        .oneshot(api("/api/data"))
        .await
        .expect("infallible");
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let body = axum::body::to_bytes(response.into_body(), 1 << 16)
        .await
        .expect("body");
    assert!(String::from_utf8_lossy(&body).contains("is the tower-oidc layer installed"));
}

#[tokio::test]
async fn own_routes_refuse_other_methods() {
    let (_provider, layer) = layer().await;
    for (method, path) in [("PUT", "/logout"), ("POST", "/login"), ("DELETE", "/auth")] {
        let request = Request::builder()
            .method(method)
            .uri(path)
            .header("host", "app.test")
            .body(Body::empty())
            .expect("request");
        let response = send(&layer, request).await;
        assert_eq!(
            response.status(),
            StatusCode::METHOD_NOT_ALLOWED,
            "{method} {path}"
        );
        assert!(response.headers().contains_key("allow"));
    }
}

#[tokio::test]
async fn oversized_and_odd_headers_never_cause_5xx() {
    let (_provider, layer) = layer().await;
    let huge = format!("tower_oidc_login_{}=x; ", "0".repeat(10)).repeat(500);
    for (name, value) in [
        ("cookie", huge.as_str()),
        ("cookie", "tower_oidc.7=a; tower_oidc.0=b"),
        ("host", "evil .example/x"),
        ("accept", "text/html"),
    ] {
        let request = Request::get("/login?next=/x")
            .header(name, value)
            .body(Body::empty())
            .expect("request");
        let status = send(&layer, request).await.status();
        assert!(
            status.is_client_error() || status.is_redirection(),
            "{name}: {status}"
        );
    }
}

fn raw_request(path: &str, query: &str, cookie: &str, html: bool) -> Option<Request<Body>> {
    let uri = format!("{path}?{query}");
    Request::get(uri.as_str())
        .header("host", "app.test")
        .header("cookie", cookie)
        .header(
            "accept",
            if html {
                "text/html"
            } else {
                "application/json"
            },
        )
        .body(Body::empty())
        .ok()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Whatever arrives, the answer is never a 5xx and never a panic.
    #[test]
    fn arbitrary_requests_never_fail_the_server(
        path in prop::sample::select(vec!["/", "/auth", "/login", "/logout", "/api/data", "/health", "/static/x"]),
        suffix in "[a-zA-Z0-9%./;\\\\_-]{0,24}",
        query in "[a-zA-Z0-9%=&._~-]{0,64}",
        cookie in "(tower_oidc(\\.[0-9]|_login_[0-9a-f]{10}_[a-zA-Z0-9]{4})=[a-zA-Z0-9+/=]{0,80}; ){0,4}",
        html in any::<bool>(),
    ) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        runtime.block_on(async {
            let (_provider, layer) = layer().await;
            let full_path = format!("{path}{suffix}");
            if let Some(request) = raw_request(&full_path, &query, &cookie, html) {
                let status = send(&layer, request).await.status();
                prop_assert!(status.as_u16() < 500 || status == StatusCode::SERVICE_UNAVAILABLE || status == StatusCode::BAD_GATEWAY,
                    "{full_path}?{query} -> {status}");
            }
            Ok(())
        })?;
    }
}
