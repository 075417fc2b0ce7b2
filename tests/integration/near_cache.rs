//! Sessions of a Redis store kept in each instance (the near cache): two layers share one
//! Redis (one server, behind Sentinel, or a cluster), and whatever ends or renews a session
//! on one is seen on the other at once;
//! requests on a kept session send Redis nothing; and while the change notifications do
//! not arrive, no kept session is served.
//!
//! The shared Redis of `TOWER_OIDC_TEST_REDIS_URL` (`.ci/services.sh`) serves the
//! propagation cases, each under a prefix of its own; the cases that count commands or cut
//! the notification channel run a `redis-server` of their own.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::Value;
use tower_oidc::store::RedisStore;
use tower_oidc::testing::{MockProvider, MockUser};

use crate::harness::{assert_status, Browser, TestApp};
use crate::stores::{
    logout_token, nonce, post_logout_token, redis_server_available, redis_url, replay,
    session_cookie,
};

/// How long a change made on one instance may take to reach the other.
const PROPAGATION: Duration = Duration::from_secs(1);

/// Two instances on one Redis under a prefix of their own, both listening for changes,
/// and a session signed in on the first, as its cookie.
struct Pair {
    provider: MockProvider,
    a: TestApp,
    b: TestApp,
    cookie: String,
    redis: redis::Client,
    prefix: String,
}

impl Pair {
    async fn start(
        url: &str,
        user: &str,
        tweak_a: fn(tower_oidc::ConfigBuilder) -> tower_oidc::ConfigBuilder,
    ) -> Self {
        let provider = MockProvider::start().await.expect("provider");
        provider.set_user(MockUser::new(user));
        Self::start_with(url, url, provider, tweak_a, |c| c).await
    }

    /// Instances with sessions at `url`, a URL of any Redis deployment, whose data node
    /// is at `data_url`.
    async fn start_with(
        url: &str,
        data_url: &str,
        provider: MockProvider,
        tweak_a: fn(tower_oidc::ConfigBuilder) -> tower_oidc::ConfigBuilder,
        tweak_b: fn(tower_oidc::ConfigBuilder) -> tower_oidc::ConfigBuilder,
    ) -> Self {
        let prefix = format!("near-{}:", nonce());
        let store = || {
            RedisStore::new(url)
                .expect("url")
                .with_prefix(prefix.clone())
        };
        let a = TestApp::start_with(&provider, |c| tweak_a(c.session_store(store()))).await;
        let b = TestApp::start_with(&provider, |c| tweak_b(c.session_store(store()))).await;
        let redis = redis::Client::open(data_url).expect("redis url");
        let pair = Self {
            provider,
            a,
            b,
            cookie: String::new(),
            redis,
            prefix,
        };
        pair.wait_for_subscribers(2).await;
        pair
    }

    async fn sign_in_on_a(mut self) -> Self {
        let browser = Browser::default();
        assert_status(browser.login(&self.a).await, StatusCode::OK).await;
        self.cookie = session_cookie(&browser, &self.a);
        self
    }

    async fn connection(&self) -> redis::aio::MultiplexedConnection {
        self.redis
            .get_multiplexed_async_connection()
            .await
            .expect("redis")
    }

    /// Waits until `count` connections listen on the prefix's change channel.
    async fn wait_for_subscribers(&self, count: i64) {
        let channel = format!("{}changes", self.prefix);
        let mut connection = self.connection().await;
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let (_, subscribers): (String, i64) = redis::cmd("PUBSUB")
                .arg("NUMSUB")
                .arg(&channel)
                .query_async(&mut connection)
                .await
                .expect("PUBSUB NUMSUB");
            if subscribers >= count {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{count} subscribers on {channel}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The session answers on `app`, a few times, so it is kept there.
    async fn warm(&self, app: &TestApp) -> Value {
        let mut me = Value::Null;
        for _ in 0..3 {
            let body = assert_status(replay(app, "/me", &self.cookie).await, StatusCode::OK).await;
            me = serde_json::from_str(&body).expect("json");
        }
        me
    }

    async fn logout_on_a(&self) {
        logout(&self.a, &self.cookie).await;
    }

    /// Signs in on A, has B keep the session, logs out on A: B refuses it in time.
    async fn sign_in_and_out_refused_on_b(mut self) {
        let browser = Browser::default();
        assert_status(browser.login(&self.a).await, StatusCode::OK).await;
        self.cookie = session_cookie(&browser, &self.a);
        self.warm(&self.b).await;
        self.logout_on_a().await;
        refused_within(&self.b, &self.cookie, PROPAGATION).await;
    }
}

/// Logs the session `cookie` out on `app`, which redirects.
pub(crate) async fn logout(app: &TestApp, cookie: &str) {
    let logout = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
        .get(app.at("/logout"))
        .header("cookie", format!("tower_oidc.0={cookie}"))
        .send()
        .await
        .expect("logout");
    assert_eq!(logout.status(), StatusCode::FOUND);
}

/// Polls `app` with `cookie` until it refuses the session; panics after `within`.
async fn refused_within(app: &TestApp, cookie: &str, within: Duration) -> Duration {
    let start = Instant::now();
    loop {
        let status = replay(app, "/me", cookie).await.status();
        if status == StatusCode::UNAUTHORIZED {
            return start.elapsed();
        }
        assert_eq!(status, StatusCode::OK);
        assert!(
            start.elapsed() < within,
            "the ended session was still served after {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

fn same(c: tower_oidc::ConfigBuilder) -> tower_oidc::ConfigBuilder {
    c
}

#[tokio::test]
async fn a_logout_on_one_instance_is_refused_on_the_other() {
    let Some(url) = redis_url() else { return };
    let pair = Pair::start(&url, &format!("nc-{}", nonce()), same)
        .await
        .sign_in_on_a()
        .await;
    pair.warm(&pair.b).await;
    pair.logout_on_a().await;
    refused_within(&pair.b, &pair.cookie, PROPAGATION).await;
    refused_within(&pair.a, &pair.cookie, Duration::ZERO).await;
}

#[tokio::test]
async fn a_backchannel_logout_on_one_instance_is_refused_on_the_other() {
    let Some(url) = redis_url() else { return };
    let user = format!("nc-{}", nonce());
    let pair = Pair::start(&url, &user, same).await.sign_in_on_a().await;
    pair.warm(&pair.a).await;
    pair.warm(&pair.b).await;
    let token = logout_token(&pair.provider, &user);
    assert_eq!(post_logout_token(&pair.a, &token).await, StatusCode::OK);
    refused_within(&pair.b, &pair.cookie, PROPAGATION).await;
    refused_within(&pair.a, &pair.cookie, Duration::ZERO).await;
}

#[tokio::test]
async fn ending_a_users_sessions_on_one_instance_is_refused_on_the_other() {
    let Some(url) = redis_url() else { return };
    let user = format!("nc-{}", nonce());
    let pair = Pair::start(&url, &user, same).await.sign_in_on_a().await;
    pair.warm(&pair.a).await;
    pair.warm(&pair.b).await;
    assert_eq!(
        pair.a.layer.end_sessions_for(&user).await.expect("ended"),
        1
    );
    refused_within(&pair.b, &pair.cookie, PROPAGATION).await;
    refused_within(&pair.a, &pair.cookie, Duration::ZERO).await;
}

#[tokio::test]
async fn a_refresh_on_one_instance_is_seen_on_the_other() {
    let Some(url) = redis_url() else { return };
    let provider = MockProvider::start().await.expect("provider");
    provider.set_user(MockUser::new(format!("nc-{}", nonce())));
    // A token valid for 30 s: B (no leeway) keeps using it, A (a 60 s leeway) refreshes it.
    provider.set_access_token_ttl(Duration::from_secs(30));
    let mut pair = Pair::start_with(
        &url,
        &url,
        provider,
        |c| c.leeway(Duration::from_secs(60)),
        |c| c.leeway(Duration::ZERO),
    )
    .await;
    let browser = Browser::default();
    assert_status(browser.login(&pair.b).await, StatusCode::OK).await;
    pair.cookie = session_cookie(&browser, &pair.b);
    let before = pair.warm(&pair.b).await["access_token"].clone();

    let refreshes = pair.provider.stats().token_refresh;
    let on_a = assert_status(replay(&pair.a, "/me", &pair.cookie).await, StatusCode::OK).await;
    let refreshed = serde_json::from_str::<Value>(&on_a).expect("json")["access_token"].clone();
    assert_eq!(
        pair.provider.stats().token_refresh,
        refreshes + 1,
        "A refreshed"
    );
    assert_ne!(refreshed, before);

    let start = Instant::now();
    loop {
        let body = assert_status(replay(&pair.b, "/me", &pair.cookie).await, StatusCode::OK).await;
        let on_b = serde_json::from_str::<Value>(&body).expect("json")["access_token"].clone();
        if on_b == refreshed {
            break;
        }
        assert_eq!(on_b, before);
        assert!(start.elapsed() < PROPAGATION, "B still has the old token");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(
        pair.provider.stats().token_refresh,
        refreshes + 1,
        "B did not refresh it again"
    );
}

#[tokio::test]
async fn a_logout_reaches_the_other_instance_through_sentinel() {
    let Some(url) =
        crate::stores::service_url("TOWER_OIDC_TEST_REDIS_SENTINEL_URL", "redis sentinel")
    else {
        return;
    };
    // The master the sentinel names, where the instances subscribe.
    let sentinel = url::Url::parse(&url.replacen("redis+sentinel", "redis", 1)).expect("url");
    let master_name = sentinel
        .path()
        .trim_matches('/')
        .split('/')
        .next()
        .expect("master");
    let client = redis::Client::open(format!(
        "redis://{}:{}",
        sentinel.host_str().expect("host"),
        sentinel.port().unwrap_or(26379)
    ))
    .expect("sentinel url");
    let mut connection = client
        .get_multiplexed_async_connection()
        .await
        .expect("sentinel");
    let (host, port): (String, u16) = redis::cmd("SENTINEL")
        .arg("get-master-addr-by-name")
        .arg(master_name)
        .query_async(&mut connection)
        .await
        .expect("master address");
    let provider = MockProvider::start().await.expect("provider");
    let master = format!("redis://{host}:{port}");
    Pair::start_with(&url, &master, provider, same, same)
        .await
        .sign_in_and_out_refused_on_b()
        .await;
}

#[tokio::test]
async fn a_logout_reaches_the_other_instance_through_a_cluster() {
    let Some(url) =
        crate::stores::service_url("TOWER_OIDC_TEST_REDIS_CLUSTER_URL", "redis cluster")
    else {
        return;
    };
    // Each instance subscribes on the first node named first.
    let first = url
        .trim_start_matches("redis+cluster://")
        .split(',')
        .next()
        .expect("a node");
    let provider = MockProvider::start().await.expect("provider");
    provider.set_user(MockUser::new(format!("cluster-{}", nonce())));
    Pair::start_with(&url, &format!("redis://{first}"), provider, same, same)
        .await
        .sign_in_and_out_refused_on_b()
        .await;
}

// ---------------------------------------------------------------------------------------
// A Redis of the test's own: commands counted, the notification channel cut.

/// A `redis-server` on a free port, killed when dropped.
struct OwnRedis {
    child: Child,
    url: String,
}

impl OwnRedis {
    async fn start() -> Option<Self> {
        // Run where the other Redis tests run (`.ci/services.sh`), and say so otherwise.
        redis_url()?;
        assert!(redis_server_available(), "redis-server not found");
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("free port")
            .port();
        let child = Command::new("redis-server")
            .args(["--bind", "127.0.0.1", "--port", &port.to_string()])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server starts");
        let own = Self {
            child,
            url: format!("redis://127.0.0.1:{port}/0"),
        };
        let client = redis::Client::open(own.url.as_str()).expect("url");
        let deadline = Instant::now() + Duration::from_secs(10);
        while client.get_multiplexed_async_connection().await.is_err() {
            assert!(Instant::now() < deadline, "redis-server answers");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Some(own)
    }
}

impl Drop for OwnRedis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// How many times Redis ran `command` since it started.
async fn calls(connection: &mut redis::aio::MultiplexedConnection, command: &str) -> u64 {
    let info: String = redis::cmd("INFO")
        .arg("commandstats")
        .query_async(connection)
        .await
        .expect("INFO");
    let prefix = format!("cmdstat_{command}:calls=");
    info.lines()
        .find_map(|line| line.strip_prefix(prefix.as_str()))
        .and_then(|rest| rest.split(',').next())
        .and_then(|calls| calls.parse().ok())
        .unwrap_or(0)
}

/// Commands Redis ran since it started, other than `INFO` and the subscriptions' `PING`s.
async fn commands_but_info_and_ping(connection: &mut redis::aio::MultiplexedConnection) -> u64 {
    let info: String = redis::cmd("INFO")
        .arg("commandstats")
        .query_async(connection)
        .await
        .expect("INFO");
    info.lines()
        .filter_map(|line| line.strip_prefix("cmdstat_"))
        .filter(|line| !line.starts_with("info:") && !line.starts_with("ping:"))
        .filter_map(|line| {
            line.split("calls=")
                .nth(1)?
                .split(',')
                .next()?
                .parse::<u64>()
                .ok()
        })
        .sum()
}

#[tokio::test]
async fn requests_on_a_kept_session_send_redis_nothing() {
    let Some(redis) = OwnRedis::start().await else {
        return;
    };
    let pair = Pair::start(&redis.url, "steady", same)
        .await
        .sign_in_on_a()
        .await;
    pair.warm(&pair.b).await;
    pair.warm(&pair.a).await;
    let mut connection = pair.connection().await;
    let gets = calls(&mut connection, "get").await;
    let total = commands_but_info_and_ping(&mut connection).await;
    const REQUESTS: usize = 200;
    for app in [&pair.a, &pair.b] {
        for _ in 0..REQUESTS / 2 {
            assert_eq!(
                replay(app, "/api/data", &pair.cookie).await.status(),
                StatusCode::OK
            );
        }
    }
    assert_eq!(calls(&mut connection, "get").await, gets, "no GET");
    let sent = commands_but_info_and_ping(&mut connection).await - total;
    assert_eq!(sent, 0, "{sent} commands for {REQUESTS} requests");
}

/// Cuts the notification channel of both instances and keeps it cut (no connection may
/// `SUBSCRIBE`) until [`restore`] is called.
async fn cut_notifications(connection: &mut redis::aio::MultiplexedConnection) {
    redis::cmd("ACL")
        .arg(&["SETUSER", "default", "-subscribe"])
        .query_async::<()>(connection)
        .await
        .expect("ACL");
    let killed: i64 = redis::cmd("CLIENT")
        .arg(&["KILL", "TYPE", "pubsub"])
        .query_async(connection)
        .await
        .expect("CLIENT KILL");
    assert_eq!(killed, 2, "both subscribers cut");
}

async fn restore(connection: &mut redis::aio::MultiplexedConnection) {
    redis::cmd("ACL")
        .arg(&["SETUSER", "default", "+subscribe"])
        .query_async::<()>(connection)
        .await
        .expect("ACL");
}

/// A pair on a Redis of its own, the session of user `user` kept on B, then both
/// instances' notifications cut; the Redis lives as long as what is returned.
async fn kept_on_b_then_cut(
    user: &str,
) -> Option<(OwnRedis, Pair, redis::aio::MultiplexedConnection)> {
    let redis = OwnRedis::start().await?;
    let pair = Pair::start(&redis.url, user, same)
        .await
        .sign_in_on_a()
        .await;
    pair.warm(&pair.b).await;
    let mut connection = pair.connection().await;
    cut_notifications(&mut connection).await;
    Some((redis, pair, connection))
}

#[tokio::test]
async fn no_kept_session_is_served_while_the_notifications_are_cut() {
    let Some((_redis, pair, mut connection)) = kept_on_b_then_cut("cut").await else {
        return;
    };
    let gets = calls(&mut connection, "get").await;

    // Requests go to Redis again, and see the logout A made meanwhile, unannounced.
    assert_eq!(
        replay(&pair.b, "/me", &pair.cookie).await.status(),
        StatusCode::OK
    );
    assert!(calls(&mut connection, "get").await > gets, "B asked Redis");
    pair.logout_on_a().await;
    assert_eq!(
        replay(&pair.b, "/me", &pair.cookie).await.status(),
        StatusCode::UNAUTHORIZED
    );
    restore(&mut connection).await;
}

#[tokio::test]
async fn a_reconnected_instance_forgets_what_it_may_have_missed() {
    let Some((_redis, pair, mut connection)) = kept_on_b_then_cut("reconnect").await else {
        return;
    };
    // The session ends without a word on the channel: as a notification missed.
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{}*", pair.prefix))
        .query_async(&mut connection)
        .await
        .expect("KEYS");
    let deleted: i64 = redis::cmd("DEL")
        .arg(&keys)
        .query_async(&mut connection)
        .await
        .expect("DEL");
    assert!(deleted >= 1);
    restore(&mut connection).await;
    pair.wait_for_subscribers(2).await;
    assert_eq!(
        replay(&pair.b, "/me", &pair.cookie).await.status(),
        StatusCode::UNAUTHORIZED
    );
}
