//! How long a logout on one instance takes to reach another that keeps the session in its
//! near cache: two layered apps on 127.0.0.1 sharing one Redis, or one PostgreSQL.
//!
//! ```sh
//! benches/propagation.sh          # starts a throwaway redis-server and runs this
//! ```
//!
//! Each round signs in through the mock provider, has instance B serve the session until
//! it keeps it, logs out on instance A, then asks B again and again until it refuses the
//! session. Prints, over the rounds, the time from A's answer to the logout until B's
//! first refusal, the requests B still served meanwhile, and per request on a kept session
//! the loads that reached the store (and, on Redis, the commands Redis ran).
//! `TOWER_OIDC_BENCH_REDIS_URL` names the Redis, or `TOWER_OIDC_BENCH_POSTGRES_URL` the
//! PostgreSQL; `ROUNDS` (default 200) and `NEAR_CACHE` (`true` by default; `false`
//! measures the same without it).

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::time::{Duration, Instant};

use axum::routing::get;
use axum::Router;
use reqwest::cookie::CookieStore;
use reqwest::StatusCode;
use tower_oidc::store::{RedisStore, SqlStore};
use tower_oidc::testing::{CountedStore, LoadCount, MockProvider};
use tower_oidc::{Config, ConfigBuilder, Identity, OidcLayer};

const KEY: &str = "propagation-bench-key-0123456789abcdef";

/// The shared store both instances use.
enum Shared {
    Redis(String),
    Postgres(String),
}

impl Shared {
    /// `builder` with a store of its own on the shared one, and the count of its loads.
    fn store(&self, builder: ConfigBuilder) -> (ConfigBuilder, LoadCount) {
        match self {
            Shared::Redis(url) => {
                let store = CountedStore::new(RedisStore::new(url).expect("redis url"));
                let loads = store.loads();
                (builder.session_store(store), loads)
            }
            Shared::Postgres(url) => {
                let store = CountedStore::new(SqlStore::new(url).expect("postgres url"));
                let loads = store.loads();
                (builder.session_store(store), loads)
            }
        }
    }
}

async fn serve(provider: &MockProvider, shared: &Shared, near_cache: bool) -> (String, LoadCount) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let app_url = format!("http://{}", listener.local_addr().expect("addr"));
    let builder = Config::builder()
        .issuer(provider.issuer())
        .client_id(provider.client_id())
        .client_secret(provider.client_secret())
        .secret_key(KEY)
        .cookie_secure(false)
        .session_near_cache(near_cache);
    let (builder, loads) = shared.store(builder);
    let config = builder.build().expect("config");
    let app = Router::new()
        .route(
            "/api/data",
            get(|id: Identity| async move { id.user_id().to_owned() }),
        )
        .layer(OidcLayer::new(config));
    tokio::spawn(async move { axum::serve(listener, app).await });
    (app_url, loads)
}

async fn stat(connection: &mut redis::aio::MultiplexedConnection, line: &str) -> u64 {
    let info: String = redis::cmd("INFO")
        .arg("stats")
        .query_async(connection)
        .await
        .expect("INFO");
    info.lines()
        .find_map(|l| l.strip_prefix(line))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let at = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[at.min(sorted.len() - 1)]
}

#[tokio::main]
async fn main() {
    let shared = if let Ok(url) = std::env::var("TOWER_OIDC_BENCH_REDIS_URL") {
        Shared::Redis(url)
    } else if let Ok(url) = std::env::var("TOWER_OIDC_BENCH_POSTGRES_URL") {
        Shared::Postgres(url)
    } else {
        eprintln!(
            "propagation did NOT run: TOWER_OIDC_BENCH_REDIS_URL and TOWER_OIDC_BENCH_POSTGRES_URL \
             unset (use benches/propagation.sh)"
        );
        return;
    };
    let rounds: usize = std::env::var("ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(200);
    let near_cache = std::env::var("NEAR_CACHE").map_or(true, |v| v != "false");
    let provider = MockProvider::start().await.expect("provider");
    let (a, _) = serve(&provider, &shared, near_cache).await;
    let (b, b_loads) = serve(&provider, &shared, near_cache).await;
    let mut redis = match &shared {
        Shared::Redis(url) => Some(
            redis::Client::open(url.as_str())
                .expect("redis url")
                .get_multiplexed_async_connection()
                .await
                .expect("redis"),
        ),
        Shared::Postgres(_) => None,
    };
    let plain = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let get = |base: &str, path: &str, cookie: &str| {
        plain
            .get(format!("{base}{path}"))
            .header("accept", "application/json")
            .header("cookie", cookie.to_owned())
            .send()
    };

    let mut waits = Vec::with_capacity(rounds);
    let mut stale_answers = 0usize;
    let mut kept_requests = 0u64;
    let mut kept_commands = 0u64;
    let mut kept_loads = 0u64;
    for _ in 0..rounds {
        let jar = std::sync::Arc::new(reqwest::cookie::Jar::default());
        let browser = reqwest::Client::builder()
            .cookie_provider(std::sync::Arc::clone(&jar))
            .build()
            .expect("client");
        let signed_in = browser
            .get(format!("{a}/api/data"))
            .header("accept", "text/html")
            .send()
            .await
            .expect("sign in");
        assert!(
            signed_in.status().is_success(),
            "sign-in: {}",
            signed_in.status()
        );
        let cookie = jar
            .cookies(&a.parse().expect("url"))
            .and_then(|value| value.to_str().ok().map(str::to_owned))
            .expect("session cookie");

        // B serves the session until it keeps it (a request loads nothing; without the
        // near cache, three requests), then on what it keeps.
        let keeping = Instant::now();
        for served in 0.. {
            let before = b_loads.get();
            let answer = get(&b, "/api/data", &cookie).await.expect("request");
            assert_eq!(answer.status(), StatusCode::OK);
            if served >= 2 && (!near_cache || b_loads.get() == before) {
                break;
            }
            assert!(
                keeping.elapsed() < Duration::from_secs(10),
                "B keeps the session"
            );
        }
        let loads_before = b_loads.get();
        let commands_before = match redis.as_mut() {
            Some(connection) => stat(connection, "total_commands_processed:").await,
            None => 0,
        };
        for _ in 0..10 {
            let answer = get(&b, "/api/data", &cookie).await.expect("request");
            assert_eq!(answer.status(), StatusCode::OK);
        }
        if let Some(connection) = redis.as_mut() {
            // Less the INFO itself.
            kept_commands +=
                stat(connection, "total_commands_processed:").await - commands_before - 1;
        }
        kept_loads += b_loads.get() - loads_before;
        kept_requests += 10;

        let logout = get(&a, "/logout", &cookie).await.expect("logout");
        assert_eq!(logout.status(), StatusCode::FOUND);
        let logged_out = Instant::now();
        loop {
            let answer = get(&b, "/api/data", &cookie).await.expect("request");
            if answer.status() == StatusCode::UNAUTHORIZED {
                waits.push(logged_out.elapsed());
                break;
            }
            assert_eq!(answer.status(), StatusCode::OK);
            stale_answers += 1;
            assert!(
                logged_out.elapsed() < Duration::from_secs(5),
                "B never refused"
            );
        }
    }
    waits.sort();
    let store = match shared {
        Shared::Redis(_) => format!(
            "Redis commands {:.3} ({kept_commands} / {kept_requests}), ",
            kept_commands as f64 / kept_requests as f64
        ),
        Shared::Postgres(_) => String::from("PostgreSQL: "),
    };
    println!(
        "near cache {}: {rounds} logouts on A; until B refused: p50 {:?}, p99 {:?}, max {:?}; \
         requests B served after the logout: {stale_answers}; per request on a kept session: \
         {store}store loads {:.3} ({kept_loads} / {kept_requests})",
        if near_cache { "on" } else { "off" },
        percentile(&waits, 0.5),
        percentile(&waits, 0.99),
        waits[waits.len() - 1],
        kept_loads as f64 / kept_requests as f64,
    );
}
