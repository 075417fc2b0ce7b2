//! The Redis store on Redis as it is deployed: a Redis Cluster, a master behind Redis
//! Sentinel, and a server that speaks TLS only with a certificate from a CA of its own.
//! Each runs the conformance suite and a login through the layer configured from the
//! environment.
//!
//! The servers are named by `TOWER_OIDC_TEST_REDIS_CLUSTER_URL`,
//! `TOWER_OIDC_TEST_REDIS_SENTINEL_URL`, `TOWER_OIDC_TEST_REDIS_TLS_URL` and
//! `TOWER_OIDC_TEST_REDIS_TLS_CA` (`.ci/services.sh` starts them). When one is unset its
//! tests say so on stderr and pass, except with `CI=true`, where they fail.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use tower_oidc::store::{RedisStore, SessionStore, StoreError};
use tower_oidc::testing::{store_suite, MockProvider};

use crate::harness::{Browser, TestApp};
use crate::stores::{
    backchannel_logout_with, env_round_trip_with, login_round_trip, nonce, service_url, session,
};

const TTL: Duration = Duration::from_secs(120);

fn cluster_url() -> Option<String> {
    service_url("TOWER_OIDC_TEST_REDIS_CLUSTER_URL", "redis cluster")
}

fn sentinel_url() -> Option<String> {
    service_url("TOWER_OIDC_TEST_REDIS_SENTINEL_URL", "redis sentinel")
}

/// The TLS server's URL and the file of the CA that signed its certificate.
fn tls_url_and_ca() -> Option<(String, String)> {
    let url = service_url("TOWER_OIDC_TEST_REDIS_TLS_URL", "redis TLS")?;
    let ca = service_url("TOWER_OIDC_TEST_REDIS_TLS_CA", "redis TLS")?;
    Some((url, ca))
}

// ---------------------------------------------------------------------------------------
// Redis Cluster.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_store_conforms() {
    let Some(url) = cluster_url() else { return };
    let store = RedisStore::connect(&url).await.expect("cluster reachable");
    store_suite::run(store).await;
}

/// The nodes of a `redis+cluster://` URL, as `redis://` URLs.
fn node_urls(url: &str) -> Vec<String> {
    let hosts = url.strip_prefix("redis+cluster://").expect("cluster URL");
    hosts
        .split(',')
        .map(|host| format!("redis://{host}"))
        .collect()
}

/// Sessions under one logout key land on many slots, which one command cannot span: the
/// index and the logout still find and end every one of them.
#[tokio::test]
async fn cluster_sessions_on_many_slots_end_by_logout_key() {
    let Some(url) = cluster_url() else { return };
    let store = RedisStore::cluster(node_urls(&url))
        .connect()
        .await
        .expect("cluster");
    let key = format!("sub:{}", nonce());
    let ids: Vec<String> = (0..24).map(|_| nonce()).collect();
    for id in &ids {
        store
            .save(id, &session("alice", "x"), TTL)
            .await
            .expect("save");
        store
            .index(id, &[key.clone(), format!("sid:{}", nonce())], TTL)
            .await
            .expect("index");
    }

    let client = ::redis::cluster::ClusterClient::new(node_urls(&url)).expect("client");
    let mut raw = client.get_async_connection().await.expect("connect");
    let mut slots = HashSet::new();
    for id in &ids {
        let slot: u16 = ::redis::cmd("CLUSTER")
            .arg("KEYSLOT")
            .arg(store.key(id))
            .query_async(&mut raw)
            .await
            .expect("keyslot");
        slots.insert(slot);
    }
    assert!(slots.len() > 10, "sessions spread over slots: {slots:?}");

    assert_eq!(store.delete_indexed(&key).await.expect("logout"), ids.len());
    for id in &ids {
        assert!(store.load(id).await.expect("load").is_none());
    }
    assert_eq!(store.delete_indexed(&key).await.expect("again"), 0);
}

#[tokio::test]
async fn cluster_login_through_the_layer() {
    let Some(url) = cluster_url() else { return };
    env_round_trip_with(&url, &[]).await;
    let store = RedisStore::new(&url).expect("url");
    login_round_trip(Arc::new(store.clone())).await;
    backchannel_logout_with(store).await;
}

/// A cluster none of whose nodes answers, or sentinels none of which answers: requests
/// fail within seconds as unavailable (`503`), not a hang and not a configuration error;
/// the store needs no server to be made.
#[tokio::test]
async fn deployments_down_are_unavailable_quickly() {
    let (a, b) = (free_port(), free_port());
    for url in [
        format!("redis+cluster://127.0.0.1:{a},127.0.0.1:{b}"),
        format!("redis+sentinel://127.0.0.1:{a},127.0.0.1:{b}/mymaster"),
    ] {
        let store = RedisStore::new(&url).expect("url");
        let started = Instant::now();
        let err = store.load("anything").await.expect_err("down");
        assert!(
            matches!(err, StoreError::Unavailable { .. }),
            "{url}: {err:?}"
        );
        assert!(
            started.elapsed() < Duration::from_secs(8),
            "{url}: {:?}",
            started.elapsed()
        );
    }
}

// ---------------------------------------------------------------------------------------
// Redis Sentinel.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sentinel_store_conforms() {
    let Some(url) = sentinel_url() else { return };
    let store = RedisStore::connect(&url).await.expect("sentinel reachable");
    store_suite::run(store).await;
}

/// What the store writes is on the master the sentinel names.
#[tokio::test]
async fn sentinel_store_writes_to_the_master_sentinel_names() {
    let Some(url) = sentinel_url() else { return };
    let store = RedisStore::connect(&url).await.expect("sentinel");
    let id = nonce();
    store
        .save(&id, &session("alice", "x"), TTL)
        .await
        .expect("save");

    let sentinel = url
        .strip_prefix("redis+sentinel://")
        .and_then(|rest| rest.split_once('/'))
        .expect("sentinel URL");
    let mut to_sentinel = ::redis::Client::open(format!("redis://{}", sentinel.0))
        .expect("sentinel")
        .get_multiplexed_async_connection()
        .await
        .expect("connect");
    let (host, port): (String, u16) = ::redis::cmd("SENTINEL")
        .arg("GET-MASTER-ADDR-BY-NAME")
        .arg(sentinel.1)
        .query_async(&mut to_sentinel)
        .await
        .expect("master address");
    let mut to_master = ::redis::Client::open(format!("redis://{host}:{port}"))
        .expect("master")
        .get_multiplexed_async_connection()
        .await
        .expect("connect");
    let exists: i64 = ::redis::cmd("EXISTS")
        .arg(store.key(&id))
        .query_async(&mut to_master)
        .await
        .expect("exists");
    assert_eq!(exists, 1);
    store.delete(&id).await.expect("cleanup");
}

#[tokio::test]
async fn sentinel_login_through_the_layer() {
    let Some(url) = sentinel_url() else { return };
    env_round_trip_with(&url, &[]).await;
    backchannel_logout_with(RedisStore::new(&url).expect("url")).await;
}

/// A master name no sentinel monitors is an error within seconds, not a hang.
#[tokio::test]
async fn sentinel_with_an_unknown_master_answers_quickly() {
    let Some(url) = sentinel_url() else { return };
    let (sentinels, _) = url.rsplit_once('/').expect("master name");
    let store = RedisStore::new(&format!("{sentinels}/no_such_master")).expect("url");
    let started = Instant::now();
    assert!(store.load("anything").await.is_err());
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "{:?}",
        started.elapsed()
    );
}

// ---------------------------------------------------------------------------------------
// TLS.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_store_trusting_its_ca_conforms() {
    let Some((url, ca)) = tls_url_and_ca() else {
        return;
    };
    let store = RedisStore::builder(&url)
        .ca_file(&ca)
        .connect()
        .await
        .expect("TLS Redis reachable with its CA");
    store_suite::run(store).await;
}

/// `OIDC_SESSION_STORE=rediss://…` with `OIDC_SESSION_STORE_CA_FILE`.
#[tokio::test]
async fn tls_store_from_the_environment() {
    let Some((url, ca)) = tls_url_and_ca() else {
        return;
    };
    env_round_trip_with(&url, &[("OIDC_SESSION_STORE_CA_FILE", &ca)]).await;
}

/// Without the CA, the server's certificate is not trusted: the store refuses to connect,
/// says why and what fixes it, and the layer answers logins `503`.
#[tokio::test]
async fn tls_store_without_its_ca_refuses_the_server() {
    let Some((url, _)) = tls_url_and_ca() else {
        return;
    };
    let started = Instant::now();
    let err = RedisStore::connect(&url).await.expect_err("untrusted");
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "{:?}",
        started.elapsed()
    );
    assert!(matches!(err, StoreError::Other { .. }), "{err:?}");
    let message = err.to_string();
    assert!(message.contains("not trusted"), "{message}");
    assert!(message.contains("OIDC_SESSION_STORE_CA_FILE"), "{message}");

    let provider = MockProvider::start().await.expect("provider");
    let app = TestApp::start_with(&provider, |c| {
        c.session_store(RedisStore::new(&url).expect("url"))
    })
    .await;
    let login = Browser::default().login(&app).await;
    assert_eq!(login.status(), StatusCode::SERVICE_UNAVAILABLE);
}

/// A CA other than the one that signed the server's certificate is refused alike.
#[tokio::test]
async fn tls_store_with_another_ca_refuses_the_server() {
    let Some((url, _)) = tls_url_and_ca() else {
        return;
    };
    let other_ca = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/integration/data/unrelated_ca.pem"
    );
    let err = RedisStore::builder(&url)
        .ca_file(other_ca)
        .connect()
        .await
        .expect_err("signed by another CA");
    assert!(err.to_string().contains("not trusted"), "{err}");
}

// ---------------------------------------------------------------------------------------
// A Sentinel failover.

/// A server process of this test's own, killed when dropped.
struct Spawned(std::process::Child);

impl Spawned {
    fn redis<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> Self {
        let child = std::process::Command::new("redis-server")
            .args(args)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("redis-server starts");
        Self(child)
    }
}

impl Drop for Spawned {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr").port()
}

async fn query<T: ::redis::FromRedisValue>(port: u16, command: &::redis::Cmd) -> Option<T> {
    let client = ::redis::Client::open(format!("redis://127.0.0.1:{port}")).ok()?;
    let mut connection = client.get_multiplexed_async_connection().await.ok()?;
    command.query_async(&mut connection).await.ok()
}

/// The master dies; Sentinel promotes its replica; the store finds the new master by
/// itself and the session written before the failover is still there.
#[tokio::test]
async fn sentinel_failover_moves_the_store_to_the_new_master() {
    if sentinel_url().is_none() {
        return;
    }
    if !crate::stores::redis_server_available() {
        let message = "sentinel failover test did NOT run: redis-server not found";
        assert!(std::env::var("CI").as_deref() != Ok("true"), "{message}");
        crate::stores::say_once(message);
        return;
    }
    let dir =
        std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("sentinel-{}", nonce()));
    std::fs::create_dir_all(&dir).expect("dir");
    let (master_port, replica_port, sentinel_port) = (free_port(), free_port(), free_port());
    let common = |port: u16| {
        vec![
            "--dir".to_owned(),
            dir.join(port.to_string()).display().to_string(),
            "--bind".to_owned(),
            "127.0.0.1".to_owned(),
            "--port".to_owned(),
            port.to_string(),
            "--save".to_owned(),
            String::new(),
            "--appendonly".to_owned(),
            "no".to_owned(),
        ]
    };
    for port in [master_port, replica_port] {
        std::fs::create_dir_all(dir.join(port.to_string())).expect("dir");
    }
    let master = Spawned::redis(&common(master_port));
    let mut replica_args = common(replica_port);
    replica_args.extend(["--replicaof".to_owned(), format!("127.0.0.1 {master_port}")]);
    let _replica = Spawned::redis(&replica_args);
    let config = dir.join("sentinel.conf");
    std::fs::write(
        &config,
        format!(
            "port {sentinel_port}\nbind 127.0.0.1\ndir {}\n\
             sentinel monitor failover 127.0.0.1 {master_port} 1\n\
             sentinel down-after-milliseconds failover 1000\n\
             sentinel failover-timeout failover 3000\n",
            dir.display()
        ),
    )
    .expect("sentinel.conf");
    let _sentinel = Spawned::redis(&[config.display().to_string(), "--sentinel".to_owned()]);

    // The replica follows the master, and the sentinel knows it.
    crate::stores::wait_for("the replica in sync", || async {
        query::<String>(replica_port, ::redis::cmd("INFO").arg("replication"))
            .await
            .is_some_and(|info| info.contains("master_link_status:up"))
    })
    .await;
    crate::stores::wait_for("the sentinel to know the replica", || async {
        query::<Vec<::redis::Value>>(
            sentinel_port,
            ::redis::cmd("SENTINEL").arg("REPLICAS").arg("failover"),
        )
        .await
        .is_some_and(|replicas| !replicas.is_empty())
    })
    .await;

    let store = RedisStore::new(&format!(
        "redis+sentinel://127.0.0.1:{sentinel_port}/failover"
    ))
    .expect("url");
    let id = nonce();
    store
        .save(&id, &session("alice", "before"), TTL)
        .await
        .expect("save on the first master");
    let key = store.key(&id);
    crate::stores::wait_for("the session on the replica", || async {
        query::<i64>(replica_port, ::redis::cmd("EXISTS").arg(&key)).await == Some(1)
    })
    .await;

    drop(master);
    crate::stores::wait_for("the store on the promoted replica", || async {
        matches!(store.load(&id).await, Ok(Some(_)))
            && store
                .save(&nonce(), &session("bob", "after"), TTL)
                .await
                .is_ok()
    })
    .await;
    let role: Vec<::redis::Value> = query(replica_port, &::redis::cmd("ROLE"))
        .await
        .expect("role");
    assert_eq!(
        role.first(),
        Some(&::redis::Value::BulkString(b"master".to_vec())),
        "the replica was promoted"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
