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
    hosts.split(',').map(|host| format!("redis://{host}")).collect()
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
    assert!(started.elapsed() < Duration::from_secs(8), "{:?}", started.elapsed());
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
    assert!(started.elapsed() < Duration::from_secs(8), "{:?}", started.elapsed());
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
