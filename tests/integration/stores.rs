//! Session stores: the exported conformance suite (`tower_oidc::testing::store_suite`) run
//! against every store (memory, Redis, SQLite, PostgreSQL), a login round trip through the
//! layer with each, back-channel logout, a Redis outage, and two app instances sharing one
//! Redis.
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
use tower_oidc::testing::{store_suite, MockProvider};
use tower_oidc::{
    store::{
        InProcessStore, MemoryStore, RedisStore, SessionData, SessionStore, SqlStore, StoreError,
    },
    Config,
};

use crate::harness::{assert_status, Browser, TestApp};

// ---------------------------------------------------------------------------------------
// Stores under test.

/// The URL of a test server, or `None` after saying on stderr that `what`'s tests did not
/// run. Under `CI=true` a missing server fails the test instead.
pub(crate) fn service_url(var: &str, what: &str) -> Option<String> {
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
pub(crate) fn say_once(message: &str) {
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

pub(crate) fn redis_url() -> Option<String> {
    service_url("TOWER_OIDC_TEST_REDIS_URL", "redis")
}

pub(crate) fn postgres_url() -> Option<String> {
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
pub(crate) fn sqlite_path() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("sessions-{}.db", nonce()))
}

pub(crate) fn remove_sqlite(path: &std::path::Path) {
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
pub(crate) fn nonce() -> String {
    format!("{:016x}", rand::random::<u64>())
}

pub(crate) fn session(user: &str, note: &str) -> SessionData {
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
// The exported conformance suite, against every store.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_store_conforms() {
    let Some(store) = memory_store().await else {
        return;
    };
    store_suite::run(store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_store_conforms() {
    let Some(store) = redis_store().await else {
        return;
    };
    store_suite::run(store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_store_conforms() {
    let Some(store) = sqlite_store().await else {
        return;
    };
    store_suite::run(store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_store_conforms() {
    let Some(store) = postgres_store().await else {
        return;
    };
    store_suite::run(store).await;
}

/// The suite fails a store that breaks the contract, and says which case.
#[tokio::test]
async fn the_suite_names_the_case_a_store_fails() {
    /// Forgets every session at once.
    struct Forgetful;

    impl SessionStore for Forgetful {
        async fn load(&self, _id: &str) -> Result<Option<SessionData>, StoreError> {
            Ok(None)
        }
        async fn save(&self, _: &str, _: &SessionData, _: Duration) -> Result<(), StoreError> {
            Ok(())
        }
        async fn delete(&self, _id: &str) -> Result<(), StoreError> {
            Ok(())
        }
    }

    let outcome = tokio::spawn(store_suite::run(Forgetful)).await;
    let panic = outcome.expect_err("the suite fails").into_panic();
    let message = panic.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(message.contains("case `round_trip` failed"), "{message}");
    assert!(message.contains("a saved session loads"), "{message}");
}

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
pub(crate) fn session_cookie(browser: &Browser, app: &TestApp) -> String {
    let cookies = browser.cookies(&app.url);
    assert!(!cookies.contains("tower_oidc.1="), "one chunk: {cookies}");
    cookies
        .split("; ")
        .find_map(|pair| pair.strip_prefix("tower_oidc.0="))
        .expect("session cookie")
        .to_owned()
}

/// A request carrying exactly `cookie` as the session, without a cookie jar.
pub(crate) async fn replay(app: &TestApp, path: &str, cookie: &str) -> reqwest::Response {
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
pub(crate) async fn login_round_trip<S: SessionStore>(store: Arc<S>) -> String {
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

/// What a [`Faulty`] store answers loads with.
#[derive(Clone, Copy, PartialEq)]
enum Fault {
    None,
    Corrupt,
    Unavailable,
}

/// A memory store whose records can turn unreadable, or which can become unreachable.
struct Faulty {
    inner: MemoryStore,
    fault: Mutex<Fault>,
}

impl Faulty {
    fn new() -> Self {
        Self {
            inner: MemoryStore::new(100),
            fault: Mutex::new(Fault::None),
        }
    }

    fn set(&self, fault: Fault) {
        *self.fault.lock().expect("lock") = fault;
    }

    fn check(&self) -> Result<(), StoreError> {
        match *self.fault.lock().expect("lock") {
            Fault::None => Ok(()),
            Fault::Corrupt => Err(StoreError::corrupt("the record is cut short")),
            Fault::Unavailable => Err(StoreError::unavailable("connection refused")),
        }
    }
}

impl SessionStore for Faulty {
    async fn load(&self, id: &str) -> Result<Option<SessionData>, StoreError> {
        self.check()?;
        self.inner.load(id).await
    }

    async fn save(&self, id: &str, session: &SessionData, ttl: Duration) -> Result<(), StoreError> {
        self.inner.save(id, session, ttl).await
    }

    async fn delete(&self, id: &str) -> Result<(), StoreError> {
        self.inner.delete(id).await
    }
}

impl InProcessStore for Faulty {
    fn load_now(&self, id: &str) -> Result<Option<Arc<SessionData>>, StoreError> {
        self.check()?;
        self.inner.load_now(id)
    }
}

/// An unreadable record counts as no session (`401`, the cookie removed); an unreachable
/// store is `503` and keeps the cookie. Both when loads are awaited and when they answer at
/// once.
async fn faults_through_the_layer(in_process: bool) {
    let provider = MockProvider::start().await.expect("provider");
    let store = Arc::new(Faulty::new());
    let app = TestApp::start_with(&provider, |c| {
        if in_process {
            c.in_process_session_store(Arc::clone(&store))
        } else {
            c.session_store(Arc::clone(&store))
        }
    })
    .await;
    let browser = Browser::default();
    assert_status(browser.login(&app).await, StatusCode::OK).await;
    let cookie = session_cookie(&browser, &app);

    store.set(Fault::Unavailable);
    let response = replay(&app, "/api/data", &cookie).await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(response.headers().get("set-cookie").is_none());

    store.set(Fault::Corrupt);
    let response = replay(&app, "/api/data", &cookie).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let removals: Vec<_> = response.headers().get_all("set-cookie").iter().collect();
    assert!(
        removals
            .iter()
            .any(|c| c.to_str().is_ok_and(|c| c.starts_with("tower_oidc.0=;"))),
        "the session cookie is removed: {removals:?}"
    );

    store.set(Fault::None);
    assert_status(replay(&app, "/api/data", &cookie).await, StatusCode::OK).await;
}

#[tokio::test]
async fn store_faults_when_loads_are_awaited() {
    faults_through_the_layer(false).await;
}

#[tokio::test]
async fn store_faults_when_loads_answer_at_once() {
    faults_through_the_layer(true).await;
}

/// A record the SQL store cannot read is `Corrupt`, and the layer treats it as no session.
#[tokio::test]
async fn an_unreadable_sqlite_record_is_no_session() {
    let path = sqlite_path();
    let url = format!("sqlite:///{}", path.display());
    let store = Arc::new(SqlStore::connect(&url).await.expect("sqlite"));
    let provider = MockProvider::start().await.expect("provider");
    let (recording, saved) = Recording::new(Arc::clone(&store));
    let app = TestApp::start_with(&provider, |c| c.session_store(recording)).await;
    let browser = Browser::default();
    assert_status(browser.login(&app).await, StatusCode::OK).await;
    let cookie = session_cookie(&browser, &app);
    let id = saved.lock().expect("lock").last().cloned().expect("saved");

    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", path.display()))
        .await
        .expect("open");
    sqlx::query("UPDATE tower_oidc_sessions SET data = '{\"sid\": \"cut' WHERE id = $1")
        .bind(&id)
        .execute(&pool)
        .await
        .expect("damage the record");
    pool.close().await;

    assert!(matches!(
        store.load(&id).await,
        Err(StoreError::Corrupt { .. })
    ));
    assert_eq!(
        replay(&app, "/api/data", &cookie).await.status(),
        StatusCode::UNAUTHORIZED
    );
    drop(app);
    remove_sqlite(&path);
}

/// The application keeps a handle on the store the configuration uses.
#[tokio::test]
async fn a_shared_store_is_the_one_the_layer_uses() {
    let provider = MockProvider::start().await.expect("provider");
    let store = Arc::new(MemoryStore::new(100));
    let app = TestApp::start_with(&provider, |c| c.session_store(Arc::clone(&store))).await;
    assert!(store.is_empty());
    let browser = Browser::default();
    assert_status(browser.login(&app).await, StatusCode::OK).await;
    assert_eq!(store.len(), 1, "the login's session is in the app's store");
    assert_eq!(
        browser.get(app.at("/logout")).await.status(),
        StatusCode::FOUND
    );
    assert!(store.is_empty(), "logout deleted it there");
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

/// The configuration from the environment, with the store `store` and `more` variables.
pub(crate) fn env_config_with(
    provider: &MockProvider,
    store: &str,
    more: &[(&str, &str)],
) -> Config {
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
            .or_else(|| {
                more.iter()
                    .find(|(key, _)| *key == name)
                    .map(|(_, value)| (*value).to_owned())
            })
    })
    .expect("config from the environment")
}

/// Signs in and out with a configuration from the environment; the old cookie must stop
/// working, which only a server-side store can arrange.
async fn env_round_trip(store: &str) {
    env_round_trip_with(store, &[]).await;
}

/// [`env_round_trip`] with `more` variables.
pub(crate) async fn env_round_trip_with(store: &str, more: &[(&str, &str)]) {
    let provider = MockProvider::start().await.expect("provider");
    let app = TestApp::serve(env_config_with(&provider, store, more)).await;
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
pub(crate) fn logout_token(provider: &MockProvider, sub: &str) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    provider.mint_jwt(
        tower_oidc::testing::MockAlg::Rs256,
        json!({
            "iss": provider.issuer(), "aud": provider.client_id(), "iat": now, "exp": now + 120,
            "jti": nonce(), "sub": sub,
            "events": { "http://schemas.openid.net/event/backchannel-logout": {} },
        }),
    )
}

pub(crate) async fn post_logout_token(app: &TestApp, token: &str) -> StatusCode {
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

/// Signs in with `store`, then has the provider end the session through back-channel
/// logout: the old cookie no longer works.
pub(crate) async fn backchannel_logout_with(store: impl SessionStore) {
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

pub(crate) fn redis_server_available() -> bool {
    Command::new("redis-server")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

pub(crate) async fn wait_for<F, Fut>(what: &str, mut check: F)
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
    // The session kept in the near cache is served until the layer sees its subscription
    // to changes drop, which takes a moment: nothing can change the session meanwhile.
    redis.kill();
    wait_for("503 once redis is down", || async {
        browser.api(app.at("/api/data")).await.status() == StatusCode::SERVICE_UNAVAILABLE
    })
    .await;
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

/// Expired rows are not only ignored but removed: `purge_expired` deletes them. Returns the
/// ids of the expired rows; other stores on the same server purge in the background too, so
/// the caller checks that those rows are gone rather than who removed them.
async fn purge_removes_expired_rows(store: &SqlStore) -> Vec<String> {
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
    // Past the stored expiry, which is kept in whole seconds.
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    store.purge_expired().await.expect("purge");
    assert!(store.load(&kept).await.expect("load").is_some());
    store.delete(&kept).await.expect("cleanup");
    expired
}

#[tokio::test]
async fn sqlite_purge_removes_expired_rows() {
    let path = sqlite_path();
    let store = SqlStore::connect(&format!("sqlite:///{}", path.display()))
        .await
        .expect("sqlite");
    purge_removes_expired_rows(&store).await;
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
    let expired = purge_removes_expired_rows(&store).await;
    let url = postgres_url().expect("url");
    let pool = sqlx::PgPool::connect(&url).await.expect("open");
    let rows: (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM tower_oidc_sessions WHERE id = ANY($1)")
            .bind(&expired)
            .fetch_one(&pool)
            .await
            .expect("count");
    assert_eq!(rows.0, 0, "expired rows are deleted");
    pool.close().await;
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

/// Two sessions under one logout key, and a database that refuses, once, to delete the
/// second (a trigger `refuse` installs, given that session's id, and removes, given
/// `None`). The failed logout must end nothing and keep what its retry needs: the retry
/// then ends both.
async fn a_logout_failing_halfway_is_retried<F, Fut>(store: &SqlStore, refuse: F)
where
    F: Fn(Option<String>) -> Fut,
    Fut: Future<Output = ()>,
{
    let (first, second) = (nonce(), nonce());
    let key = format!("sub:{}", nonce());
    for id in [&first, &second] {
        store
            .save(id, &session("alice", "x"), TTL)
            .await
            .expect("save");
        store
            .index(id, std::slice::from_ref(&key), TTL)
            .await
            .expect("index");
    }
    refuse(Some(second.clone())).await;
    let failed = store.delete_indexed(&key).await;
    refuse(None).await;
    assert!(failed.is_err(), "the refused delete fails the logout");
    for id in [&first, &second] {
        assert!(
            store.load(id).await.expect("load").is_some(),
            "a failed logout ends nothing"
        );
    }
    assert_eq!(
        store.delete_indexed(&key).await.expect("retry"),
        2,
        "the provider's retry finds both sessions"
    );
    for id in [&first, &second] {
        assert!(store.load(id).await.expect("load").is_none());
    }
}

#[tokio::test]
async fn sqlite_a_logout_failing_halfway_loses_nothing() {
    let path = sqlite_path();
    let url = format!("sqlite:///{}", path.display());
    let store = SqlStore::connect(&url).await.expect("sqlite");
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", path.display()))
        .await
        .expect("open");
    a_logout_failing_halfway_is_retried(&store, |id| {
        let pool = pool.clone();
        async move {
            let sql = match id {
                Some(id) => format!(
                    "CREATE TRIGGER refuse BEFORE DELETE ON tower_oidc_sessions \
                     WHEN OLD.id = '{id}' BEGIN SELECT RAISE(ABORT, 'refused'); END"
                ),
                None => "DROP TRIGGER refuse".to_owned(),
            };
            sqlx::query(&sql).execute(&pool).await.expect("trigger");
        }
    })
    .await;
    pool.close().await;
    remove_sqlite(&path);
}

#[tokio::test]
async fn postgres_a_logout_failing_halfway_loses_nothing() {
    let Some(url) = postgres_url() else { return };
    let store = SqlStore::connect(&url).await.expect("postgres");
    let pool = sqlx::PgPool::connect(&url).await.expect("connect");
    let name = format!("refuse_{}", nonce());
    a_logout_failing_halfway_is_retried(&store, |id| {
        let pool = pool.clone();
        let name = name.clone();
        async move {
            let statements = match id {
                Some(id) => vec![
                    format!(
                        "CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$ \
                         BEGIN IF OLD.id = '{id}' THEN RAISE EXCEPTION 'refused'; END IF; \
                         RETURN OLD; END $$"
                    ),
                    format!(
                        "CREATE TRIGGER {name} BEFORE DELETE ON tower_oidc_sessions \
                         FOR EACH ROW EXECUTE FUNCTION {name}()"
                    ),
                ],
                None => vec![
                    format!("DROP TRIGGER {name} ON tower_oidc_sessions"),
                    format!("DROP FUNCTION {name}()"),
                ],
            };
            for sql in statements {
                sqlx::query(&sql).execute(&pool).await.expect("trigger");
            }
        }
    })
    .await;
}
