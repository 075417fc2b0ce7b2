//! Sessions of a PostgreSQL store kept in each instance (the near cache): two layers share
//! the PostgreSQL of `TOWER_OIDC_TEST_POSTGRES_URL` (`.ci/services.sh`), told of each
//! other's writes by `LISTEN`/`NOTIFY`. A logout on one is refused on the other at once;
//! requests on a kept session load nothing from the database; and while an instance's
//! listening connection is cut, it serves no kept session.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use sqlx::postgres::PgPool;
use tower_oidc::store::SqlStore;
use tower_oidc::testing::{CountedStore, LoadCount, MockProvider, MockUser};

use crate::harness::{assert_status, Browser, TestApp};
use crate::near_cache::logout;
use crate::stores::{nonce, postgres_url, replay, session_cookie};

/// How long a change made on one instance may take to reach the other.
const PROPAGATION: Duration = Duration::from_secs(1);
/// How long an instance may take to listen, or to notice its listener is gone.
const SETTLE: Duration = Duration::from_secs(10);

/// Two instances on one PostgreSQL, each connecting under an `application_name` of its
/// own, and a session signed in on the first, as its cookie.
struct Pair {
    _provider: MockProvider,
    a: TestApp,
    b: TestApp,
    b_loads: LoadCount,
    /// The `application_name` of B's listening connection.
    b_listener: String,
    admin: PgPool,
    cookie: String,
}

impl Pair {
    async fn start(url: &str) -> Self {
        let provider = MockProvider::start().await.expect("provider");
        provider.set_user(MockUser::new(format!("pg-near-{}", nonce())));
        let run = nonce();
        let store = |instance: &str| {
            let separator = if url.contains('?') { '&' } else { '?' };
            let named = format!("{url}{separator}application_name=near-{run}-{instance}");
            let store = CountedStore::new(SqlStore::new(&named).expect("url"));
            let loads = store.loads();
            (store, loads)
        };
        let (store_a, _) = store("a");
        let (store_b, b_loads) = store("b");
        let a = TestApp::start_with(&provider, |c| c.session_store(store_a)).await;
        let b = TestApp::start_with(&provider, |c| c.session_store(store_b)).await;
        let browser = Browser::default();
        assert_status(browser.login(&a).await, StatusCode::OK).await;
        let cookie = session_cookie(&browser, &a);
        Self {
            _provider: provider,
            a,
            b,
            b_loads,
            b_listener: format!("near-{run}-b session changes"),
            admin: PgPool::connect(url).await.expect("postgres"),
            cookie,
        }
    }

    async fn me(&self, app: &TestApp) -> StatusCode {
        replay(app, "/me", &self.cookie).await.status()
    }

    /// Loads B made from the database for one request on the session.
    async fn loads_for_one_request_on_b(&self) -> u64 {
        let before = self.b_loads.get();
        assert_eq!(self.me(&self.b).await, StatusCode::OK);
        self.b_loads.get() - before
    }

    /// Waits until B answers the session from memory: it listens, and keeps the session.
    async fn kept_on_b(&self) {
        let deadline = Instant::now() + SETTLE;
        while self.loads_for_one_request_on_b().await > 0 {
            assert!(Instant::now() < deadline, "B keeps the session");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn logout_on_a(&self) {
        logout(&self.a, &self.cookie).await;
    }

    /// The server processes of B's listening connections.
    async fn b_listeners(&self) -> Vec<i32> {
        sqlx::query_scalar("SELECT pid FROM pg_stat_activity WHERE application_name = $1")
            .bind(&self.b_listener)
            .fetch_all(&self.admin)
            .await
            .expect("pg_stat_activity")
    }

    /// Waits until B has a listening connection open other than those of `gone`.
    async fn b_listens_anew(&self, gone: &[i32]) {
        let deadline = Instant::now() + SETTLE;
        while !self
            .b_listeners()
            .await
            .iter()
            .any(|pid| !gone.contains(pid))
        {
            assert!(Instant::now() < deadline, "B listens");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Ends B's listening connection from the server side; how many it ended.
    async fn terminate_b_listener(&self) -> i64 {
        sqlx::query_scalar(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity \
             WHERE application_name = $1",
        )
        .bind(&self.b_listener)
        .fetch_one(&self.admin)
        .await
        .expect("pg_terminate_backend")
    }
}

#[tokio::test]
async fn a_logout_on_one_instance_is_refused_on_the_other_in_postgres() {
    let Some(url) = postgres_url() else { return };
    let pair = Pair::start(&url).await;
    pair.kept_on_b().await;
    pair.logout_on_a().await;
    let start = Instant::now();
    loop {
        let status = pair.me(&pair.b).await;
        if status == StatusCode::UNAUTHORIZED {
            break;
        }
        assert_eq!(status, StatusCode::OK);
        assert!(
            start.elapsed() < PROPAGATION,
            "the ended session was still served after {PROPAGATION:?}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test]
async fn requests_on_a_kept_session_load_nothing_from_postgres() {
    let Some(url) = postgres_url() else { return };
    let pair = Pair::start(&url).await;
    pair.kept_on_b().await;
    let before = pair.b_loads.get();
    const REQUESTS: usize = 100;
    for _ in 0..REQUESTS {
        assert_eq!(pair.me(&pair.b).await, StatusCode::OK);
    }
    let loads = pair.b_loads.get() - before;
    assert_eq!(loads, 0, "{loads} loads for {REQUESTS} requests");
}

#[tokio::test]
async fn no_kept_session_is_served_while_the_listener_is_cut() {
    let Some(url) = postgres_url() else { return };
    let pair = Pair::start(&url).await;
    pair.kept_on_b().await;

    // B's listener is ended again and again, so B cannot stay subscribed.
    let cutting = Arc::new(AtomicBool::new(true));
    let cutter = {
        let admin = pair.admin.clone();
        let name = pair.b_listener.clone();
        let cutting = Arc::clone(&cutting);
        tokio::spawn(async move {
            while cutting.load(Ordering::SeqCst) {
                let _ = sqlx::query(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                     WHERE application_name = $1",
                )
                .bind(&name)
                .execute(&admin)
                .await;
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
    };
    // Requests on B go to the database again.
    let deadline = Instant::now() + SETTLE;
    while pair.loads_for_one_request_on_b().await == 0 {
        assert!(Instant::now() < deadline, "B asks the database once cut");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // A's logout is notified, but not heard by B: B sees it in the database.
    pair.logout_on_a().await;
    assert_eq!(pair.me(&pair.b).await, StatusCode::UNAUTHORIZED);

    cutting.store(false, Ordering::SeqCst);
    cutter.await.expect("cutter");
    // Once B listens again, the ended session stays refused.
    pair.b_listens_anew(&[]).await;
    assert_eq!(pair.me(&pair.b).await, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_listener_ended_by_the_server_is_made_again() {
    let Some(url) = postgres_url() else { return };
    let pair = Pair::start(&url).await;
    pair.kept_on_b().await;
    let ended = pair.b_listeners().await;
    assert_eq!(ended.len(), 1, "B listens on one connection");
    assert_eq!(pair.terminate_b_listener().await, 1);
    // B listens again, on a new connection, and keeps the session again.
    pair.b_listens_anew(&ended).await;
    pair.kept_on_b().await;
    pair.logout_on_a().await;
    let start = Instant::now();
    while pair.me(&pair.b).await == StatusCode::OK {
        assert!(start.elapsed() < PROPAGATION, "B hears of the logout again");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}
