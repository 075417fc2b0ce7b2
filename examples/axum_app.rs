//! The example-app contract: configured only from the environment (`OIDC_*`, or flaskoidc's
//! `FLASK_OIDC_*` names), serving `/`, `/me`, `/api/data` and `/health`, plus the layer's
//! health report at `/health/oidc` (whitelisted here, whatever the environment says).
//!
//! ```sh
//! OIDC_ISSUER=https://accounts.example.com OIDC_CLIENT_ID=app OIDC_CLIENT_SECRET=... \
//! OIDC_SECRET_KEY="$(openssl rand -base64 48)" OIDC_WHITELISTED_ENDPOINTS=health \
//!   cargo run --example axum_app
//! ```
//!
//! Several providers: `OIDC_PROVIDERS=google,okta` with each one's `OIDC_GOOGLE_ISSUER`,
//! `OIDC_GOOGLE_CLIENT_ID`, `OIDC_GOOGLE_CLIENT_SECRET`, … (every provider setting has an
//! `OIDC_{NAME}_` form); `/login` then offers a choice, `/login/google` signs in with
//! Google, and `/me` says which provider signed the user in (`provider`).
//!
//! Built with `--features api-keys`, `OIDC_API_KEYS=true` lets signed-in users make personal
//! API keys at `/api-keys` (`OIDC_API_KEYS_PATH`), which then authenticate as them:
//! `curl -H "Authorization: Bearer toidc_…" http://127.0.0.1:5000/api/data`. `/me` says
//! which key a request used (`api_key`).

use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};
use tower_oidc::{Config, Identity, OidcLayer, UserDetails};

/// The example's user-detail hook: the application's view of a user, built from the
/// identity's claims at login and kept in the session.
pub(crate) struct ExampleUsers;

impl UserDetails for ExampleUsers {
    type User = Value;
    type Error = std::convert::Infallible;

    async fn load_user(&self, identity: &Identity) -> Result<Option<Value>, Self::Error> {
        let claim = |name: &str| identity.claim(name).cloned().unwrap_or(Value::Null);
        Ok(Some(json!({
            "user_id": identity.user_id(),
            "email": claim("email"),
            "display_name": claim("name"),
        })))
    }
}

/// Where the layer's health report is served.
pub(crate) const OIDC_HEALTH: &str = "/health/oidc";

/// The contract's routes wrapped in `oidc` (also served by `bench_app` for load tests).
pub(crate) fn app(oidc: OidcLayer) -> Router {
    Router::new()
        .route(
            "/",
            get(|identity: Identity| async move { format!("Hello, {}!\n", identity.user_id()) }),
        )
        .route(
            "/me",
            get(|identity: Identity| async move {
                Json(json!({
                    "user_id": identity.user_id(),
                    "claims": identity.claims(),
                    "user": identity.user_json(),
                    "api_key": identity.api_key_id(),
                    "provider": identity.provider(),
                }))
            }),
        )
        .route(
            "/api/data",
            get(|identity: Identity| async move {
                Json(json!({ "user_id": identity.user_id(), "data": [1, 2, 3] }))
            }),
        )
        .route("/health", get(|| async { "ok" }))
        .route_service(OIDC_HEALTH, tower_oidc::health(&oidc))
        .layer(oidc)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,tower_oidc=info".into()),
        )
        .init();
    let config = Config::builder_from_env().and_then(|builder| {
        builder
            .user_details(ExampleUsers)
            .whitelist([OIDC_HEALTH])
            .build()
    });
    let oidc = match config {
        Ok(config) => OidcLayer::new(config),
        Err(err) => {
            eprintln!("{err}");
            std::process::exit(2);
        }
    };
    let bind = std::env::var("BIND").unwrap_or_else(|_| "127.0.0.1:5000".into());
    let listener = tokio::net::TcpListener::bind(&bind).await?;
    println!("listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app(oidc)).await?;
    Ok(())
}
