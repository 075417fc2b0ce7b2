//! Sign-in with no account anywhere: starts the in-process mock OpenID Provider and an
//! axum app protected by tower-oidc, then prints the URL to open.
//!
//! ```sh
//! cargo run --example quickstart --features testing
//! ```
//!
//! With `--self-test` it signs in by itself over HTTP, prints what it saw and exits. The
//! layer's tracing spans (login, callback, logout, with user id and outcome) are printed too.

use axum::routing::get;
use axum::Router;
use tower_oidc::testing::MockProvider;
use tower_oidc::{Config, Identity, OidcLayer};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // The layer's spans (login, callback, refresh, logout, bearer) with user id and outcome,
    // printed when each closes; `RUST_LOG=tower_oidc=debug` shows more.
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "tower_oidc=info".into()),
        )
        .with_span_events(tracing_subscriber::fmt::format::FmtSpan::CLOSE)
        .init();
    let provider = MockProvider::start().await?;
    let bind = std::env::var("BIND").unwrap_or_else(|_| "127.0.0.1:5000".into());
    let listener = tokio::net::TcpListener::bind(&bind).await?;
    let app_url = format!("http://{}", listener.local_addr()?);

    let config = Config::builder()
        .issuer(provider.issuer())
        .client_id(provider.client_id())
        .client_secret(provider.client_secret())
        .redirect_uri(format!("{app_url}/auth"))
        .post_logout_redirect_uri(format!("{app_url}/health"))
        .generate_secret_key()
        // Plain http on loopback: browsers drop `Secure` cookies there.
        .cookie_secure(false)
        .whitelist(["health"])
        .build()?;
    let app = Router::new()
        .route(
            "/",
            get(|user: Identity| async move {
                format!(
                    "Signed in as {} ({}). Sign out at /logout\n",
                    user.user_id(),
                    user.claim("email")
                        .and_then(|v| v.as_str())
                        .unwrap_or("no email")
                )
            }),
        )
        .route("/health", get(|| async { "ok" }))
        .layer(OidcLayer::new(config));

    println!("mock provider: {}", provider.issuer());
    println!("open {app_url}/ and you will be signed in as `alice` through the mock provider");
    let server = tokio::spawn(async move { axum::serve(listener, app).await });

    if std::env::args().any(|arg| arg == "--self-test") {
        self_test(&app_url).await?;
        return Ok(());
    }
    server.await??;
    Ok(())
}

/// Follows the redirects a browser would, with a cookie jar, and checks the page.
async fn self_test(app_url: &str) -> Result<(), Box<dyn std::error::Error>> {
    let client = reqwest::Client::builder().cookie_store(true).build()?;
    let page = client
        .get(format!("{app_url}/"))
        .header("accept", "text/html")
        .send()
        .await?;
    let status = page.status();
    let body = page.text().await?;
    println!("GET / -> {status}: {}", body.trim());
    if !status.is_success() || !body.contains("alice") {
        return Err("self-test failed: not signed in".into());
    }
    let logout = client.get(format!("{app_url}/logout")).send().await?;
    println!(
        "GET /logout -> {} at {}",
        logout.status(),
        logout.url().path()
    );
    let api = client.get(format!("{app_url}/")).send().await?;
    println!("GET / after logout (API client) -> {}", api.status());
    if api.status() != reqwest::StatusCode::UNAUTHORIZED {
        return Err("self-test failed: still signed in after logout".into());
    }
    println!("self-test passed");
    Ok(())
}
