//! The load-test target of `benches/load.sh`: the mock OpenID Provider, `axum_app`'s own
//! `app()` (routes and user-detail hook) wrapped in the layer twice (sessions in cookies, and
//! in the memory store), and the same routes bare, each on its own loopback port, in one
//! process.
//!
//! ```sh
//! cargo run --release --example bench_app --features testing
//! ```
//!
//! It signs in once through the mock provider, then prints, one per line:
//!
//! ```text
//! LAYERED=http://127.0.0.1:PORT
//! LAYERED_MEMORY=http://127.0.0.1:PORT
//! BARE=http://127.0.0.1:PORT
//! COOKIE=tower_oidc.0=...          (a valid session, for the Cookie header)
//! MEMORY_COOKIE=tower_oidc.0=...   (a valid memory-store session on LAYERED_MEMORY)
//! BEARER=eyJ...                    (a valid access token, valid for an hour)
//! USER_ID=...                      (the signed-in user's id, which `/` answers with)
//! READY
//! ```
//!
//! and serves until it is stopped. No log output: the numbers are the layer's, not a
//! logger's.

use std::error::Error;
use std::sync::Arc;
use std::time::Duration;

use axum::routing::get;
use axum::{Json, Router};
use reqwest::cookie::{CookieStore, Jar};
use serde_json::json;
use tokio::net::TcpListener;
use tower_oidc::testing::MockProvider;
use tower_oidc::{Config, OidcLayer};

/// `axum_app` itself, so the load test measures exactly the example's routes and hook.
#[allow(dead_code)]
#[path = "axum_app.rs"]
pub(crate) mod axum_app;

use axum_app::ExampleUsers;

/// The same routes without the layer, doing the same work with a fixed user id.
pub(crate) fn bare() -> Router {
    Router::new()
        .route(
            "/",
            get(|| async { format!("Hello, {}!\n", std::hint::black_box("alice")) }),
        )
        .route(
            "/api/data",
            get(|| async {
                Json(json!({ "user_id": std::hint::black_box("svc-user"), "data": [1, 2, 3] }))
            }),
        )
        .route("/health", get(|| async { "ok" }))
}

async fn serve(app: Router) -> std::io::Result<String> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok(url)
}

/// Serves `axum_app` behind a layer for `provider`, sessions in cookies or in the memory
/// store.
async fn layered(provider: &MockProvider, memory_store: bool) -> Result<String, Box<dyn Error>> {
    let builder = Config::builder()
        .issuer(provider.issuer())
        .client_id(provider.client_id())
        .client_secret(provider.client_secret())
        .generate_secret_key()
        .cookie_secure(false)
        .whitelist(["health"])
        .user_details(ExampleUsers);
    let builder = if memory_store {
        builder.memory_sessions()
    } else {
        builder
    };
    let oidc = OidcLayer::new(builder.build()?);
    oidc.ready(Duration::from_secs(10)).await?;
    Ok(serve(axum_app::app(oidc)).await?)
}

/// Signs in at `url` as a browser would (following the redirects with a cookie jar) and
/// returns the session's `Cookie` header.
async fn sign_in(url: &str) -> Result<String, Box<dyn Error>> {
    let jar = Arc::new(Jar::default());
    let browser = reqwest::Client::builder()
        .cookie_provider(Arc::clone(&jar))
        .build()?;
    let page = browser
        .get(format!("{url}/"))
        .header("accept", "text/html")
        .send()
        .await?;
    if !page.status().is_success() {
        return Err(format!("sign-in failed: {}", page.status()).into());
    }
    Ok(jar
        .cookies(&url.parse()?)
        .ok_or("no session cookie")?
        .to_str()?
        .to_owned())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let provider = MockProvider::start().await?;
    provider.set_access_token_ttl(Duration::from_secs(3600));
    let layered_url = layered(&provider, false).await?;
    let memory_url = layered(&provider, true).await?;
    let bare_url = serve(bare()).await?;
    let cookie = sign_in(&layered_url).await?;
    let memory_cookie = sign_in(&memory_url).await?;
    let token = provider.mint_access_token("svc-user", json!({}));

    println!("LAYERED={layered_url}");
    println!("LAYERED_MEMORY={memory_url}");
    println!("BARE={bare_url}");
    println!("COOKIE={cookie}");
    println!("MEMORY_COOKIE={memory_cookie}");
    println!("BEARER={token}");
    println!("USER_ID={}", provider.user().sub);
    println!("READY");
    std::future::pending::<()>().await;
    Ok(())
}
