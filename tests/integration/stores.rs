//! Session stores: one conformance suite run against every store (memory, Redis, SQLite,
//! PostgreSQL), a login round trip through the layer with each, a Redis outage, and two
//! app instances sharing one Redis.
//!
//! Redis and PostgreSQL are real servers named by `TOWER_OIDC_TEST_REDIS_URL` and
//! `TOWER_OIDC_TEST_POSTGRES_URL` (`.ci/services.sh` starts both). When one is unset its
//! tests say so on stderr and pass, except with `CI=true`, where they fail.

use std::future::Future;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{json, Value};
use tower_oidc::testing::MockProvider;
use tower_oidc::{
    Config, MemoryStore, RedisStore, SessionData, SessionStore, SqlStore, StoreError,
};

use crate::harness::{assert_status, Browser, TestApp};

// ---------------------------------------------------------------------------------------
// Stores under test.

/// The URL of a test server, or `None` after saying on stderr that `what`'s tests did not
/// run. Under `CI=true` a missing server fails the test instead.
fn service_url(var: &str, what: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(url) if !url.trim().is_empty() => Some(url.trim().to_owned()),
        _ => {
            let message = format!("{what} store tests did NOT run: {var} unset");
            if std::env::var("CI").is_ok_and(|ci| ci == "true") {
                panic!("{message} (and CI=true)");
            }
            say_once(&message);
            None
        }
    }
}

/// Writes `message` to stderr once per test run, past the test harness's capture so it
/// shows without `--nocapture`.
fn say_once(message: &str) {
    use std::io::Write;
    static SAID: Mutex<Vec<String>> = Mutex::new(Vec::new());
    let mut said = SAID
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if !said.iter().any(|m| m == message) {
        said.push(message.to_owned());
        let _ = writeln!(std::io::stderr(), "{message}");
    }
}

fn redis_url() -> Option<String> {
    service_url("TOWER_OIDC_TEST_REDIS_URL", "redis")
}

fn postgres_url() -> Option<String> {
    service_url("TOWER_OIDC_TEST_POSTGRES_URL", "postgres")
}

async fn memory_store() -> Option<MemoryStore> {
    Some(MemoryStore::new(10_000))
}

async fn redis_store() -> Option<RedisStore> {
    let url = redis_url()?;
    Some(RedisStore::connect(&url).await.expect("redis reachable"))
}

/// A SQLite file of its own in the target's temporary directory; remove it with
/// [`remove_sqlite`].
fn sqlite_path() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("sessions-{}.db", nonce()))
}

fn remove_sqlite(path: &std::path::Path) {
    for suffix in ["", "-wal", "-shm"] {
        let mut file = path.as_os_str().to_owned();
        file.push(suffix);
        let _ = std::fs::remove_file(file);
    }
}

/// The SQLite file the conformance cases share (reused by later runs, whose ids differ),
/// written SQLAlchemy-style: `sqlite:////absolute/path`, four slashes.
async fn sqlite_store() -> Option<SqlStore> {
    let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("sessions-shared.db");
    let url = format!("sqlite:///{}", path.display());
    Some(SqlStore::connect(&url).await.expect("sqlite opens"))
}

async fn postgres_store() -> Option<SqlStore> {
    let url = postgres_url()?;
    Some(SqlStore::connect(&url).await.expect("postgres reachable"))
}

/// Unique per call, so tests sharing a server (and earlier runs' leftovers) never meet.
fn nonce() -> String {
    format!("{:016x}", rand::random::<u64>())
}

fn session(user: &str, note: &str) -> SessionData {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    serde_json::from_value(json!({
        "sid": nonce(),
        "user_id": user,
        "claims": { "sub": user, "note": note, "groups": ["a", "b"] },
        "id_token": "header.payload.signature",
        "access_token": format!("at-{note}"),
        "created_at": now,
        "expires_at": now + 3600,
    }))
    .expect("session json")
}

fn as_json(session: &SessionData) -> Value {
    serde_json::to_value(session).expect("serializes")
}

const TTL: Duration = Duration::from_secs(120);

// ---------------------------------------------------------------------------------------
// The conformance cases, generic over the store.

mod cases {
    use super::*;

    pub async fn round_trip<S: SessionStore>(store: &S) {
        let id = nonce();
        let saved = session("alice", "round trip");
        store.save(&id, &saved, TTL).await.expect("save");
        let loaded = store.load(&id).await.expect("load").expect("present");
        assert_eq!(as_json(&loaded), as_json(&saved));
        store.delete(&id).await.expect("cleanup");
    }

    pub async fn missing_is_none<S: SessionStore>(store: &S) {
        assert!(store.load(&nonce()).await.expect("load").is_none());
    }

    pub async fn delete_removes<S: SessionStore>(store: &S) {
        let (id, other) = (nonce(), nonce());
        store
            .save(&id, &session("alice", "x"), TTL)
            .await
            .expect("save");
        store
            .save(&other, &session("bob", "y"), TTL)
            .await
            .expect("save");
        store.delete(&id).await.expect("delete");
        assert!(store.load(&id).await.expect("load").is_none());
        assert!(
            store.load(&other).await.expect("load").is_some(),
            "only that one"
        );
        store.delete(&other).await.expect("cleanup");
    }

    pub async fn delete_missing_is_ok<S: SessionStore>(store: &S) {
        store
            .delete(&nonce())
            .await
            .expect("deleting nothing is fine");
        let id = nonce();
        store
            .save(&id, &session("alice", "x"), TTL)
            .await
            .expect("save");
        store.delete(&id).await.expect("delete");
        store.delete(&id).await.expect("twice is fine");
    }

    pub async fn ttl_expiry<S: SessionStore>(store: &S) {
        let (short, long) = (nonce(), nonce());
        store
            .save(&short, &session("alice", "short"), Duration::from_secs(1))
            .await
            .expect("save");
        store
            .save(&long, &session("bob", "long"), TTL)
            .await
            .expect("save");
        assert!(
            store.load(&short).await.expect("load").is_some(),
            "alive at first"
        );
        tokio::time::sleep(Duration::from_millis(1500)).await;
        assert!(store.load(&short).await.expect("load").is_none(), "expired");
        assert!(
            store.load(&long).await.expect("load").is_some(),
            "the other lives"
        );
        // Saving again gives a fresh lifetime.
        store
            .save(&short, &session("alice", "again"), TTL)
            .await
            .expect("save");
        assert!(store.load(&short).await.expect("load").is_some());
        store.delete(&short).await.expect("cleanup");
        store.delete(&long).await.expect("cleanup");
    }

    pub async fn overwrite_keeps_latest<S: SessionStore>(store: &S) {
        let id = nonce();
        for round in 0..5 {
            store
                .save(&id, &session("alice", &format!("v{round}")), TTL)
                .await
                .expect("save");
        }
        let loaded = store.load(&id).await.expect("load").expect("present");
        assert_eq!(as_json(&loaded)["claims"]["note"], "v4");
        store.delete(&id).await.expect("cleanup");
    }

    pub async fn concurrent<S: SessionStore>(store: Arc<S>) {
        let shared = nonce();
        let tasks: Vec<_> = (0..64)
            .map(|task| {
                let store = Arc::clone(&store);
                let shared = shared.clone();
                tokio::spawn(async move {
                    let mut mine = Vec::new();
                    for round in 0..4 {
                        let id = nonce();
                        let note = format!("t{task}r{round}");
                        store
                            .save(&id, &session("u", &note), TTL)
                            .await
                            .expect("save");
                        let back = store.load(&id).await.expect("load").expect("present");
                        assert_eq!(as_json(&back)["claims"]["note"], note.as_str());
                        store
                            .save(&shared, &session("shared", &note), TTL)
                            .await
                            .expect("save shared");
                        let any = store.load(&shared).await.expect("load").expect("shared");
                        assert_eq!(as_json(&any)["user_id"], "shared");
                        mine.push((id, note));
                    }
                    mine
                })
            })
            .collect();
        let mut all = Vec::new();
        for task in tasks {
            all.extend(task.await.expect("task"));
        }
        assert_eq!(all.len(), 256);
        for (n, (id, note)) in all.iter().enumerate() {
            let back = store.load(id).await.expect("load").expect("kept");
            assert_eq!(as_json(&back)["claims"]["note"], note.as_str());
            if n % 2 == 0 {
                store.delete(id).await.expect("delete");
            }
        }
        for (n, (id, _)) in all.iter().enumerate() {
            assert_eq!(store.load(id).await.expect("load").is_some(), n % 2 == 1);
            store.delete(id).await.expect("cleanup");
        }
        let last = store.load(&shared).await.expect("load").expect("shared");
        let note = as_json(&last)["claims"]["note"]
            .as_str()
            .expect("note")
            .to_owned();
        assert!(note.starts_with('t'), "one of the writes, whole: {note}");
        store.delete(&shared).await.expect("cleanup");
    }

    pub async fn ids_are_opaque<S: SessionStore>(store: &S) {
        let suffix = nonce();
        let odd = [
            "plain",
            "Plain",
            "plain ",
            "with space",
            "colon:sep:arated",
            "glob*?[]",
            "quote'\"`",
            "'; DROP TABLE tower_oidc_sessions; --",
            "percent%s%d%%",
            "slash/back\\slash",
            "ключ-🔑-鍵",
            "new\nline\ttab",
        ];
        let long = "x".repeat(1000);
        let ids: Vec<String> = odd
            .iter()
            .copied()
            .chain([long.as_str()])
            .map(|id| format!("{id}{suffix}"))
            .collect();
        for (n, id) in ids.iter().enumerate() {
            store
                .save(id, &session("alice", &n.to_string()), TTL)
                .await
                .expect("save");
        }
        for (n, id) in ids.iter().enumerate() {
            let back = store.load(id).await.expect("load").expect("present");
            assert_eq!(as_json(&back)["claims"]["note"], n.to_string(), "{id:?}");
        }
        // Deleting one leaves its look-alikes.
        store.delete(&ids[0]).await.expect("delete");
        assert!(store.load(&ids[0]).await.expect("load").is_none());
        assert!(store.load(&ids[1]).await.expect("load").is_some());
        assert!(store.load(&ids[2]).await.expect("load").is_some());
        for id in &ids {
            store.delete(id).await.expect("cleanup");
        }
    }
}

/// One test per case per store. `$make` is an async fn giving the store, or `None` when
/// its server is not configured (the message is already printed).
macro_rules! conformance {
    ($module:ident, $make:path) => {
        mod $module {
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn round_trip() {
                let Some(store) = $make().await else { return };
                cases::round_trip(&store).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn missing_is_none() {
                let Some(store) = $make().await else { return };
                cases::missing_is_none(&store).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn delete_removes() {
                let Some(store) = $make().await else { return };
                cases::delete_removes(&store).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn delete_missing_is_ok() {
                let Some(store) = $make().await else { return };
                cases::delete_missing_is_ok(&store).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn ttl_expiry() {
                let Some(store) = $make().await else { return };
                cases::ttl_expiry(&store).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn overwrite_keeps_latest() {
                let Some(store) = $make().await else { return };
                cases::overwrite_keeps_latest(&store).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn concurrent() {
                let Some(store) = $make().await else { return };
                cases::concurrent(Arc::new(store)).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn ids_are_opaque() {
                let Some(store) = $make().await else { return };
                cases::ids_are_opaque(&store).await;
            }
        }
    };
}

conformance!(memory, memory_store);
conformance!(redis, redis_store);
conformance!(sqlite, sqlite_store);
conformance!(postgres, postgres_store);

// ---------------------------------------------------------------------------------------
// Through the layer.

/// Passes everything to `inner` and remembers the ids saved, so a test can look at the
/// server-side record behind a browser's cookie.
struct Recording<S> {
    inner: Arc<S>,
    saved: Arc<Mutex<Vec<String>>>,
}

impl<S> Recording<S> {
    fn new(inner: Arc<S>) -> (Self, Arc<Mutex<Vec<String>>>) {
        let saved = Arc::new(Mutex::new(Vec::new()));
        let recording = Self {
            inner,
            saved: Arc::clone(&saved),
        };
        (recording, saved)
    }
}

impl<S: SessionStore> SessionStore for Recording<S> {
    async fn load(&self, id: &str) -> Result<Option<SessionData>, StoreError> {
        self.inner.load(id).await
    }

    async fn save(&self, id: &str, session: &SessionData, ttl: Duration) -> Result<(), StoreError> {
        self.saved.lock().expect("lock").push(id.to_owned());
        self.inner.save(id, session, ttl).await
    }

    async fn delete(&self, id: &str) -> Result<(), StoreError> {
        self.inner.delete(id).await
    }
}

/// The session cookie's value; the session must fit in one cookie (`tower_oidc.0`).
fn session_cookie(browser: &Browser, app: &TestApp) -> String {
    let cookies = browser.cookies(&app.url);
    assert!(!cookies.contains("tower_oidc.1="), "one chunk: {cookies}");
    cookies
        .split("; ")
        .find_map(|pair| pair.strip_prefix("tower_oidc.0="))
        .expect("session cookie")
        .to_owned()
}

/// A request carrying exactly `cookie` as the session, without a cookie jar.
async fn replay(app: &TestApp, path: &str, cookie: &str) -> reqwest::Response {
    reqwest::Client::new()
        .get(app.at(path))
        .header("accept", "application/json")
        .header("cookie", format!("tower_oidc.0={cookie}"))
        .send()
        .await
        .expect("request")
}

/// Signs in through the layer with `store`, checks the cookie holds only a sealed id while
/// the store holds the session, then signs out and checks the record is gone (and the old
/// cookie no longer works). Returns the session id.
async fn login_round_trip<S: SessionStore>(store: Arc<S>) -> String {
    let provider = MockProvider::start().await.expect("provider");
    let (recording, saved) = Recording::new(Arc::clone(&store));
    let app = TestApp::start_with(&provider, |c| c.session_store(recording)).await;
    let browser = Browser::default();

    assert_status(browser.login(&app).await, StatusCode::OK).await;
    let me = assert_status(browser.api(app.at("/me")).await, StatusCode::OK).await;
    assert!(me.contains("\"alice\""), "{me}");
    let cookie = session_cookie(&browser, &app);
    assert!(
        cookie.len() < 200,
        "only a sealed id: {} chars",
        cookie.len()
    );

    let id = saved.lock().expect("lock").last().cloned().expect("saved");
    let record = store.load(&id).await.expect("load").expect("record");
    assert_eq!(as_json(&record)["user_id"], "alice");
    assert!(!cookie.contains(&id), "the id is sealed, not in clear");

    let logout = browser.get(app.at("/logout")).await;
    assert_eq!(logout.status(), StatusCode::FOUND);
    assert!(!browser.has_session(&app));
    assert!(
        store.load(&id).await.expect("load").is_none(),
        "record deleted"
    );
    assert_eq!(
        replay(&app, "/api/data", &cookie).await.status(),
        StatusCode::UNAUTHORIZED,
        "the old cookie is worthless once the record is gone"
    );
    id
}

#[tokio::test]
async fn cookie_store_login_round_trip() {
    let provider = MockProvider::start().await.expect("provider");
    let app = TestApp::start(&provider).await;
    let browser = Browser::default();
    assert_status(browser.login(&app).await, StatusCode::OK).await;
    let cookie = session_cookie(&browser, &app);
    assert!(
        cookie.len() > 200,
        "the whole session: {} chars",
        cookie.len()
    );
    assert_status(browser.api(app.at("/me")).await, StatusCode::OK).await;
    assert_status(replay(&app, "/me", &cookie).await, StatusCode::OK).await;
    let logout = browser.get(app.at("/logout")).await;
    assert_eq!(logout.status(), StatusCode::FOUND);
    assert!(!browser.has_session(&app));
    assert_eq!(
        browser.api(app.at("/api/data")).await.status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn memory_store_login_round_trip() {
    login_round_trip(Arc::new(MemoryStore::new(100))).await;
}

#[tokio::test]
async fn redis_store_login_round_trip() {
    let Some(url) = redis_url() else { return };
    let store = Arc::new(RedisStore::connect(&url).await.expect("redis"));
    let provider = MockProvider::start().await.expect("provider");
    let (recording, saved) = Recording::new(Arc::clone(&store));
    let app = TestApp::start_with(&provider, |c| c.session_store(recording)).await;
    let browser = Browser::default();
    assert_status(browser.login(&app).await, StatusCode::OK).await;

    // The record as Redis holds it: JSON under `tower_oidc:session:{id}`, expiring.
    let id = saved.lock().expect("lock").last().cloned().expect("saved");
    let mut raw = ::redis::Client::open(url.as_str())
        .expect("url")
        .get_multiplexed_async_connection()
        .await
        .expect("connect");
    let key = format!("tower_oidc:session:{id}");
    let json: String = ::redis::cmd("GET")
        .arg(&key)
        .query_async(&mut raw)
        .await
        .expect("get");
    let record: Value = serde_json::from_str(&json).expect("json");
    assert_eq!(record["user_id"], "alice");
    let ttl: i64 = ::redis::cmd("TTL")
        .arg(&key)
        .query_async(&mut raw)
        .await
        .expect("ttl");
    assert!(
        ttl > 8 * 3600 - 60 && ttl <= 8 * 3600,
        "expires with the session: {ttl}"
    );
    drop(app);

    let id = login_round_trip(store).await;
    let exists: i64 = ::redis::cmd("EXISTS")
        .arg(format!("tower_oidc:session:{id}"))
        .query_async(&mut raw)
        .await
        .expect("exists");
    assert_eq!(exists, 0);
}

#[tokio::test]
async fn sqlite_store_login_round_trip() {
    let Some(store) = sqlite_store().await else {
        return;
    };
    login_round_trip(Arc::new(store)).await;
}

#[tokio::test]
async fn postgres_store_login_round_trip() {
    let Some(url) = postgres_url() else { return };
    let store = Arc::new(SqlStore::connect(&url).await.expect("postgres"));
    let id = login_round_trip(Arc::clone(&store)).await;
    let pool = sqlx::PgPool::connect(&url).await.expect("connect");
    let rows: (i64,) = sqlx::query_as("SELECT COUNT(*) FROM tower_oidc_sessions WHERE id = $1")
        .bind(&id)
        .fetch_one(&pool)
        .await
        .expect("count");
    assert_eq!(rows.0, 0, "the row is gone");
}

// ---------------------------------------------------------------------------------------
// Configured from the environment: the stores connect on first use.

fn env_config(provider: &MockProvider, store: &str) -> Config {
    let vars = [
        ("OIDC_ISSUER", provider.issuer()),
        ("OIDC_CLIENT_ID", provider.client_id().to_owned()),
        ("OIDC_CLIENT_SECRET", provider.client_secret().to_owned()),
        (
            "OIDC_SECRET_KEY",
            "integration-test-key-0123456789abcdef".to_owned(),
        ),
        ("OIDC_COOKIE_SECURE", "false".to_owned()),
        ("OIDC_WHITELISTED_ENDPOINTS", "health".to_owned()),
        ("OIDC_SESSION_STORE", store.to_owned()),
    ];
    Config::from_lookup(|name| {
        vars.iter()
            .find(|(key, _)| *key == name)
            .map(|(_, value)| value.clone())
    })
    .expect("config from the environment")
}

/// Signs in and out with a configuration from the environment; the old cookie must stop
/// working, which only a server-side store can arrange.
async fn env_round_trip(store: &str) {
    let provider = MockProvider::start().await.expect("provider");
    let app = TestApp::serve(env_config(&provider, store)).await;
    let browser = Browser::default();
    assert_status(browser.login(&app).await, StatusCode::OK).await;
    let cookie = session_cookie(&browser, &app);
    assert!(
        cookie.len() < 200,
        "only a sealed id: {} chars",
        cookie.len()
    );
    assert_status(replay(&app, "/me", &cookie).await, StatusCode::OK).await;
    assert_eq!(
        browser.get(app.at("/logout")).await.status(),
        StatusCode::FOUND
    );
    assert_eq!(
        replay(&app, "/me", &cookie).await.status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn env_sqlite_store_sqlalchemy_url() {
    let path = sqlite_path();
    // `sqlite:///relative.db` as flaskoidc deployments write it, relative to the working
    // directory (the package root under `cargo test`) when the target directory is below it.
    let cwd = std::env::current_dir().expect("cwd");
    let url = match path.strip_prefix(&cwd) {
        Ok(relative) => format!("sqlite:///{}", relative.display()),
        Err(_) => format!("sqlite:///{}", path.display()),
    };
    env_round_trip(&url).await;
    assert!(path.exists(), "{url} wrote {}", path.display());
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", path.display()))
        .await
        .expect("open");
    let rows: (i64,) = sqlx::query_as("SELECT COUNT(*) FROM tower_oidc_sessions")
        .fetch_one(&pool)
        .await
        .expect("count");
    assert_eq!(rows.0, 0, "logout deleted the only session");
    pool.close().await;
    remove_sqlite(&path);
}

#[tokio::test]
async fn env_redis_store() {
    let Some(url) = redis_url() else { return };
    env_round_trip(&url).await;
}

#[tokio::test]
async fn env_postgres_store() {
    let Some(url) = postgres_url() else { return };
    env_round_trip(&url).await;
}

// ---------------------------------------------------------------------------------------
// Two instances, one Redis.

#[tokio::test]
async fn two_instances_share_sessions_through_redis() {
    let Some(url) = redis_url() else { return };
    let provider = MockProvider::start().await.expect("provider");
    let store = || RedisStore::new(&url).expect("url");
    let a = TestApp::start_with(&provider, |c| c.session_store(store())).await;
    let b = TestApp::start_with(&provider, |c| c.session_store(store())).await;
    assert_ne!(a.url, b.url);

    let browser = Browser::default();
    assert_status(browser.login(&a).await, StatusCode::OK).await;
    let cookie = session_cookie(&browser, &a);

    // Signed in on A, known on B.
    let on_b = assert_status(replay(&b, "/me", &cookie).await, StatusCode::OK).await;
    assert!(on_b.contains("\"alice\""), "{on_b}");

    // Signed out on B, over on A.
    let logout = browser
        .client
        .get(b.at("/logout"))
        .header("cookie", format!("tower_oidc.0={cookie}"))
        .send()
        .await
        .expect("logout");
    assert_eq!(logout.status(), StatusCode::FOUND);
    assert_eq!(
        replay(&a, "/me", &cookie).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        replay(&b, "/me", &cookie).await.status(),
        StatusCode::UNAUTHORIZED
    );
}

/// A logout token from the mock provider ending every session of `sub`.
fn logout_token(provider: &MockProvider, sub: &str) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    provider.mint_jwt(
        tower_oidc::testing::MockAlg::Rs256,
        json!({
            "iss": provider.issuer(), "aud": provider.client_id(), "iat": now,
            "jti": nonce(), "sub": sub,
            "events": { "http://schemas.openid.net/event/backchannel-logout": {} },
        }),
    )
}

async fn post_logout_token(app: &TestApp, token: &str) -> StatusCode {
    reqwest::Client::new()
        .post(app.at("/backchannel_logout"))
        .form(&[("logout_token", token)])
        .send()
        .await
        .expect("request")
        .status()
}

#[tokio::test]
async fn backchannel_logout_on_one_instance_ends_the_session_on_both() {
    let Some(url) = redis_url() else { return };
    let provider = MockProvider::start().await.expect("provider");
    let user = format!("bcl-{}", nonce());
    provider.set_user(tower_oidc::testing::MockUser::new(user.clone()));
    let store = || RedisStore::new(&url).expect("url");
    let a = TestApp::start_with(&provider, |c| c.session_store(store())).await;
    let b = TestApp::start_with(&provider, |c| c.session_store(store())).await;
    let browser = Browser::default();
    assert_status(browser.login(&a).await, StatusCode::OK).await;
    let cookie = session_cookie(&browser, &a);
    assert_eq!(replay(&b, "/me", &cookie).await.status(), StatusCode::OK);

    // The provider tells instance B; the session ends on A as well.
    assert_eq!(
        post_logout_token(&b, &logout_token(&provider, &user)).await,
        StatusCode::OK
    );
    assert_eq!(
        replay(&a, "/me", &cookie).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        replay(&b, "/me", &cookie).await.status(),
        StatusCode::UNAUTHORIZED
    );
}

async fn backchannel_logout_with(store: SqlStore) {
    let provider = MockProvider::start().await.expect("provider");
    let user = format!("bcl-{}", nonce());
    provider.set_user(tower_oidc::testing::MockUser::new(user.clone()));
    let app = TestApp::start_with(&provider, |c| c.session_store(store)).await;
    let browser = Browser::default();
    assert_status(browser.login(&app).await, StatusCode::OK).await;
    let cookie = session_cookie(&browser, &app);
    assert_eq!(
        post_logout_token(&app, &logout_token(&provider, &user)).await,
        StatusCode::OK
    );
    assert_eq!(
        replay(&app, "/me", &cookie).await.status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn backchannel_logout_with_sqlite() {
    let Some(store) = sqlite_store().await else {
        return;
    };
    backchannel_logout_with(store).await;
}

#[tokio::test]
async fn backchannel_logout_with_postgres() {
    let Some(store) = postgres_store().await else {
        return;
    };
    backchannel_logout_with(store).await;
}

// ---------------------------------------------------------------------------------------
// A Redis outage.

/// A `redis-server` of this test's own on `port`, persisting every write to `dir` so a
/// restart finds the sessions again. Killed when dropped.
struct OwnRedis {
    child: Child,
}

impl OwnRedis {
    fn start(port: u16, dir: &std::path::Path) -> Self {
        let child = Command::new("redis-server")
            .args(["--bind", "127.0.0.1", "--port", &port.to_string()])
            .args(["--dir", &dir.display().to_string()])
            .args([
                "--appendonly",
                "yes",
                "--appendfsync",
                "always",
                "--save",
                "",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server starts");
        Self { child }
    }

    /// A crash: no shutdown, no goodbye to clients.
    fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for OwnRedis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn redis_server_available() -> bool {
    Command::new("redis-server")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

async fn wait_for<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(20);
    while !check().await {
        assert!(Instant::now() < deadline, "{what}: timed out");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn redis_outage_answers_503_then_recovers() {
    if redis_url().is_none() {
        return;
    }
    if !redis_server_available() {
        let message = "redis outage test did NOT run: redis-server not found";
        assert!(std::env::var("CI").as_deref() != Ok("true"), "{message}");
        say_once(message);
        return;
    }
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("addr").port()
    };
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("redis-{}", nonce()));
    std::fs::create_dir_all(&dir).expect("dir");
    let url = format!("redis://127.0.0.1:{port}/0");

    // The app starts while Redis is down: public pages work, logins answer 503.
    let provider = MockProvider::start().await.expect("provider");
    let app = TestApp::start_with(&provider, |c| {
        c.session_store(RedisStore::new(&url).expect("url"))
    })
    .await;
    let browser = Browser::default();
    assert_status(browser.get(app.at("/health")).await, StatusCode::OK).await;
    let started = Instant::now();
    assert_eq!(
        browser.login(&app).await.status(),
        StatusCode::SERVICE_UNAVAILABLE
    );
    assert!(started.elapsed() < Duration::from_secs(10));

    // Redis comes up: logins work, without restarting the app.
    let redis = OwnRedis::start(port, &dir);
    wait_for("login once redis is up", || async {
        browser.login(&app).await.status() == StatusCode::OK
    })
    .await;
    assert_status(browser.api(app.at("/api/data")).await, StatusCode::OK).await;

    // Redis crashes: requests with a session answer 503, quickly; public pages still work.
    redis.kill();
    for _ in 0..3 {
        let started = Instant::now();
        let response = browser.api(app.at("/api/data")).await;
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        let body = response.text().await.expect("body");
        assert!(body.contains("session_store_unavailable"), "{body}");
        assert!(
            started.elapsed() < Duration::from_secs(8),
            "{:?}",
            started.elapsed()
        );
    }
    assert_status(browser.get(app.at("/health")).await, StatusCode::OK).await;
    assert!(browser.has_session(&app), "a store outage keeps the cookie");

    // Redis is back with its data: the same session works again.
    let _redis = OwnRedis::start(port, &dir);
    wait_for("the session once redis is back", || async {
        browser.api(app.at("/api/data")).await.status() == StatusCode::OK
    })
    .await;
    drop(_redis);
    let _ = std::fs::remove_dir_all(&dir);
}

// ---------------------------------------------------------------------------------------
// SQL specifics.

/// Expired rows are not only ignored but removed: `purge_expired` deletes them.
async fn purge_removes_expired_rows(store: &SqlStore) -> u64 {
    let expired: Vec<String> = (0..3).map(|_| nonce()).collect();
    for id in &expired {
        store
            .save(id, &session("alice", "short"), Duration::from_millis(200))
            .await
            .expect("save");
    }
    let kept = nonce();
    store
        .save(&kept, &session("bob", "long"), TTL)
        .await
        .expect("save");
    tokio::time::sleep(Duration::from_millis(400)).await;
    let removed = store.purge_expired().await.expect("purge");
    assert!(removed >= 3, "removed {removed}");
    assert!(store.load(&kept).await.expect("load").is_some());
    store.delete(&kept).await.expect("cleanup");
    removed
}

#[tokio::test]
async fn sqlite_purge_removes_expired_rows() {
    let path = sqlite_path();
    let store = SqlStore::connect(&format!("sqlite:///{}", path.display()))
        .await
        .expect("sqlite");
    assert_eq!(purge_removes_expired_rows(&store).await, 3);
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", path.display()))
        .await
        .expect("open");
    let rows: (i64,) = sqlx::query_as("SELECT COUNT(*) FROM tower_oidc_sessions")
        .fetch_one(&pool)
        .await
        .expect("count");
    assert_eq!(rows.0, 0);
    pool.close().await;
    remove_sqlite(&path);
}

#[tokio::test]
async fn postgres_purge_removes_expired_rows() {
    let Some(store) = postgres_store().await else {
        return;
    };
    purge_removes_expired_rows(&store).await;
}

/// A database that is down answers with an error within seconds (the engine answers
/// `503`), rather than holding the request.
#[tokio::test]
async fn sql_store_down_is_an_error_not_a_hang() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("addr").port()
    };
    let store = SqlStore::new(&format!("postgres://postgres@127.0.0.1:{port}/none")).expect("url");
    let started = Instant::now();
    assert!(store.load("anything").await.is_err());
    assert!(store
        .save("anything", &session("alice", "x"), TTL)
        .await
        .is_err());
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "{:?}",
        started.elapsed()
    );
}
