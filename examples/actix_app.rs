//! The example-app contract on actix-web: configured only from the environment (`OIDC_*`,
//! or flaskoidc's `FLASK_OIDC_*` names), serving `/`, `/me`, `/api/data` and `/health`, plus
//! the middleware's health report at `/health/oidc` (whitelisted here, whatever the
//! environment says).
//!
//! ```sh
//! OIDC_ISSUER=https://accounts.example.com OIDC_CLIENT_ID=app OIDC_CLIENT_SECRET=... \
//! OIDC_SECRET_KEY="$(openssl rand -base64 48)" OIDC_WHITELISTED_ENDPOINTS=health \
//!   cargo run --example actix_app --features actix
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

use actix_web::{web, App, HttpResponse, HttpServer};
use serde_json::{json, Value};
use tower_oidc::actix::OidcMiddleware;
use tower_oidc::{Config, Identity};

/// The application's view of a user, built from the identity's claims.
fn user_record(identity: &Identity) -> Value {
    let claim = |name: &str| identity.claim(name).cloned().unwrap_or(Value::Null);
    json!({
        "user_id": identity.user_id(),
        "email": claim("email"),
        "display_name": claim("name"),
    })
}

async fn index(identity: Identity) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .body(format!("Hello, {}!\n", identity.user_id()))
}

async fn me(identity: Identity) -> web::Json<Value> {
    web::Json(json!({
        "user_id": identity.user_id(),
        "claims": identity.claims(),
        "user": user_record(&identity),
        "api_key": identity.api_key_id(),
                    "provider": identity.provider(),
    }))
}

async fn data(identity: Identity) -> web::Json<Value> {
    web::Json(json!({ "user_id": identity.user_id(), "data": [1, 2, 3] }))
}

async fn health() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .body("ok")
}

/// Where the middleware's health report is served.
const OIDC_HEALTH: &str = "/health/oidc";

fn routes(config: &mut web::ServiceConfig) {
    config
        .route("/", web::get().to(index))
        .route("/me", web::get().to(me))
        .route("/api/data", web::get().to(data))
        .route("/health", web::get().to(health));
}

#[actix_web::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,tower_oidc=info".into()),
        )
        .init();
    let config =
        Config::builder_from_env().and_then(|builder| builder.whitelist([OIDC_HEALTH]).build());
    let oidc = match config {
        Ok(config) => OidcMiddleware::new(config),
        Err(err) => {
            eprintln!("{err}");
            std::process::exit(2);
        }
    };
    let bind = std::env::var("BIND").unwrap_or_else(|_| "127.0.0.1:5000".into());
    // One middleware for all workers: they share the engine.
    let server = HttpServer::new(move || {
        App::new()
            .wrap(oidc.clone())
            .route(OIDC_HEALTH, tower_oidc::actix::health(&oidc))
            .configure(routes)
    })
    .bind(&bind)?;
    for addr in server.addrs() {
        println!("listening on http://{addr}");
    }
    server.run().await?;
    Ok(())
}
