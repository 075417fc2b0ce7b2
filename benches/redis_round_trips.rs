//! Redis round trips per authenticated request through the layer (target: at most one; none
//! once the session is kept in the near cache, which is on by default; the subscription's
//! `PING`, once a second, counts too).
//!
//! ```sh
//! bash .ci/services.sh cargo bench --bench redis_round_trips --features testing,redis
//! ```
//!
//! Signs in once through the mock provider with sessions in Redis, resets Redis's command
//! statistics, sends authenticated requests, and divides the commands Redis processed by the
//! requests sent. Needs `TOWER_OIDC_TEST_REDIS_URL` (set by `.ci/services.sh`).

use axum::routing::get;
use axum::Router;
use tower_oidc::testing::MockProvider;
use tower_oidc::{store::RedisStore, Config, Identity, OidcLayer};

const REQUESTS: u64 = 2_000;

async fn commands_processed(client: &redis::Client) -> redis::RedisResult<u64> {
    let mut connection = client.get_multiplexed_async_connection().await?;
    let info: String = redis::cmd("INFO")
        .arg("stats")
        .query_async(&mut connection)
        .await?;
    Ok(info
        .lines()
        .find_map(|line| line.strip_prefix("total_commands_processed:"))
        .and_then(|value| value.trim().parse().ok())
        .unwrap_or(0))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let Ok(url) = std::env::var("TOWER_OIDC_TEST_REDIS_URL") else {
        eprintln!(
            "redis_round_trips did NOT run: TOWER_OIDC_TEST_REDIS_URL unset (use .ci/services.sh)"
        );
        return Ok(());
    };
    let provider = MockProvider::start().await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let app_url = format!("http://{}", listener.local_addr()?);
    let config = Config::builder()
        .issuer(provider.issuer())
        .client_id(provider.client_id())
        .client_secret(provider.client_secret())
        .generate_secret_key()
        .cookie_secure(false)
        .session_store(RedisStore::connect(&url).await?)
        .build()?;
    let app = Router::new()
        .route(
            "/api/data",
            get(|id: Identity| async move { id.user_id().to_owned() }),
        )
        .layer(OidcLayer::new(config));
    tokio::spawn(async move { axum::serve(listener, app).await });

    let browser = reqwest::Client::builder().cookie_store(true).build()?;
    let signed_in = browser
        .get(format!("{app_url}/api/data"))
        .header("accept", "text/html")
        .send()
        .await?;
    assert!(
        signed_in.status().is_success(),
        "sign-in failed: {}",
        signed_in.status()
    );

    let redis = redis::Client::open(url.as_str())?;
    let before = commands_processed(&redis).await?;
    for _ in 0..REQUESTS {
        let response = browser.get(format!("{app_url}/api/data")).send().await?;
        assert!(response.status().is_success());
    }
    // The INFO call itself counts once.
    let after = commands_processed(&redis).await?.saturating_sub(1);
    let per_request = (after - before) as f64 / REQUESTS as f64;
    println!("redis commands per authenticated request: {per_request:.3} ({} commands / {REQUESTS} requests)", after - before);
    Ok(())
}
