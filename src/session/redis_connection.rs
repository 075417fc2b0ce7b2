//! Self-healing connections to a Redis deployment: one server, a Redis Cluster, or the
//! master Redis Sentinel names. Each is made on first use, inside the runtime, and made
//! again after the deployment comes back, so the service never needs a restart.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use ::redis::aio::MultiplexedConnection;
use ::redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig};
use ::redis::cluster::{ClusterClient, ClusterClientBuilder};
use ::redis::cluster_async::ClusterConnection;
use ::redis::sentinel::{SentinelClient, SentinelClientBuilder, SentinelServerType};
use ::redis::{
    AsyncConnectionConfig, Client, Cmd, ConnectionAddr, ErrorKind, Pipeline, RedisError,
    RedisFuture, ServerErrorKind, TlsCertificates, TlsMode, Value,
};
use tokio::sync::OnceCell;

use super::redis_url::{Sentinel, Target};
use super::store::StoreError;

/// How long one connection attempt may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// How long one command may wait for its answer.
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(2);
/// Connection retries inside one request, so a request during an outage fails within a
/// few seconds (`503`) instead of hanging; later requests try again.
const CONNECT_RETRIES: usize = 2;
const MAX_RETRY_DELAY: Duration = Duration::from_millis(500);
/// Retries of one cluster command (redirections while slots move, a node failing over),
/// all within [`RESPONSE_TIMEOUT`].
const CLUSTER_RETRIES: u32 = 4;

/// Where a store's commands go, and the connection it keeps there.
pub(crate) enum Backend {
    Single(Box<Single>),
    Cluster(Box<Cluster>),
    Sentinel(Arc<SentinelMaster>),
}

/// One server's client, and the connection that reconnects to it.
pub(crate) struct Single {
    client: Client,
    manager: OnceCell<ConnectionManager>,
}

/// A cluster's client, and the connection it keeps to every node.
pub(crate) struct Cluster {
    client: ClusterClient,
    nodes: Vec<String>,
    connection: OnceCell<ClusterConnection>,
    /// A client of each node given, to receive published messages on: a cluster relays
    /// every `PUBLISH` to all its nodes, so any one of them will do.
    subscribers: Vec<Client>,
    /// Which of them to subscribe on next: each new subscription tries the next node.
    next_subscriber: AtomicUsize,
}

impl Backend {
    /// Checks `target` (and the CA certificates, PEM, if any) without connecting.
    pub(crate) fn new(target: &Target, ca: Option<&[u8]>) -> Result<Self, StoreError> {
        let certificates = ca.map(|pem| TlsCertificates {
            client_tls: None,
            root_cert: Some(pem.to_vec()),
        });
        let invalid = |err: RedisError| StoreError::other(format!("invalid Redis URL: {err}"));
        match target {
            Target::Single(url) => {
                let client = match certificates {
                    None => Client::open(url.as_str()).map_err(invalid)?,
                    Some(certificates) => {
                        if !url
                            .trim_start()
                            .to_ascii_lowercase()
                            .starts_with("rediss://")
                        {
                            return Err(ca_without_tls());
                        }
                        Client::build_with_tls(url.as_str(), certificates).map_err(invalid)?
                    }
                };
                Ok(Self::Single(Box::new(Single {
                    client,
                    manager: OnceCell::new(),
                })))
            }
            Target::Cluster(nodes) => {
                let mut builder = ClusterClientBuilder::new(nodes.iter().map(String::as_str))
                    .connection_timeout(CONNECT_TIMEOUT)
                    .response_timeout(RESPONSE_TIMEOUT)
                    .retries(CLUSTER_RETRIES)
                    .max_retry_wait(MAX_RETRY_DELAY.as_millis().try_into().unwrap_or(500));
                if let Some(certificates) = &certificates {
                    if !nodes
                        .iter()
                        .all(|node| node.to_ascii_lowercase().starts_with("rediss://"))
                    {
                        return Err(ca_without_tls());
                    }
                    builder = builder.certs(certificates.clone());
                }
                let subscribers = match &certificates {
                    None => nodes
                        .iter()
                        .map(|node| Client::open(node.as_str()))
                        .collect::<Result<Vec<_>, _>>(),
                    Some(certificates) => nodes
                        .iter()
                        .map(|node| Client::build_with_tls(node.as_str(), certificates.clone()))
                        .collect(),
                }
                .map_err(invalid)?;
                Ok(Self::Cluster(Box::new(Cluster {
                    client: builder.build().map_err(invalid)?,
                    nodes: nodes.iter().map(|node| redacted(node)).collect(),
                    connection: OnceCell::new(),
                    subscribers,
                    next_subscriber: AtomicUsize::new(0),
                })))
            }
            Target::Sentinel(sentinel) => {
                if certificates.is_some() && !sentinel.tls {
                    return Err(ca_without_tls());
                }
                let client = sentinel_client(sentinel, certificates).map_err(invalid)?;
                Ok(Self::Sentinel(Arc::new(SentinelMaster {
                    client: tokio::sync::Mutex::new(client),
                    current: Mutex::new(None),
                    nodes: sentinel
                        .nodes
                        .iter()
                        .map(|(host, port)| format!("{host}:{port}"))
                        .collect(),
                    master: sentinel.master.clone(),
                })))
            }
        }
    }

    /// Whether keys of one command may live on different servers.
    pub(crate) fn is_cluster(&self) -> bool {
        matches!(self, Self::Cluster(_))
    }

    /// Where the commands go, without credentials.
    pub(crate) fn describe(&self) -> String {
        match self {
            Self::Single(single) => single.client.get_connection_info().addr().to_string(),
            Self::Cluster(cluster) => format!("cluster {}", cluster.nodes.join(",")),
            Self::Sentinel(master) => format!(
                "master `{}` of sentinels {}",
                master.master,
                master.nodes.join(",")
            ),
        }
    }

    /// A connection to send commands on; cheap to clone and share.
    pub(crate) async fn connection(&self) -> Result<Connection, StoreError> {
        match self {
            Self::Single(single) => single
                .manager
                .get_or_try_init(|| async {
                    let config = ConnectionManagerConfig::new()
                        .set_connection_timeout(Some(CONNECT_TIMEOUT))
                        .set_response_timeout(Some(RESPONSE_TIMEOUT))
                        .set_number_of_retries(CONNECT_RETRIES)
                        .set_max_delay(MAX_RETRY_DELAY);
                    ConnectionManager::new_lazy_with_config(single.client.clone(), config)
                        .map_err(redis_error)
                })
                .await
                .cloned()
                .map(Connection::Single),
            Self::Cluster(cluster) => cluster
                .connection
                .get_or_try_init(|| async {
                    cluster
                        .client
                        .get_async_connection()
                        .await
                        .map_err(redis_error)
                })
                .await
                .cloned()
                .map(Connection::Cluster),
            Self::Sentinel(master) => {
                let connection = master.connection().await.map_err(redis_error)?;
                Ok(Connection::Sentinel {
                    connection,
                    master: Arc::clone(master),
                })
            }
        }
    }
}

impl Backend {
    /// A connection of its own for receiving published messages, to the one server, the
    /// master the sentinels name now, or a cluster's nodes in turn.
    pub(crate) async fn pubsub(&self) -> Result<::redis::aio::PubSub, RedisError> {
        let client = match self {
            Self::Single(single) => Ok(single.client.clone()),
            Self::Cluster(cluster) => {
                let turn = cluster.next_subscriber.fetch_add(1, Ordering::Relaxed);
                cluster
                    .subscribers
                    .get(turn % cluster.subscribers.len().max(1))
                    .cloned()
                    .ok_or_else(|| timed_out("a cluster without nodes"))
            }
            Self::Sentinel(master) => {
                let ask = async { master.client.lock().await.async_get_client().await };
                tokio::time::timeout(CONNECT_TIMEOUT * 2, ask)
                    .await
                    .unwrap_or_else(|_| {
                        Err(timed_out("no sentinel named a reachable master in time"))
                    })
            }
        };
        let connect = async { client?.get_async_pubsub().await };
        tokio::time::timeout(CONNECT_TIMEOUT, connect)
            .await
            .unwrap_or_else(|_| Err(timed_out("the subscriber connection timed out")))
    }
}

fn timed_out(what: &'static str) -> RedisError {
    RedisError::from((ErrorKind::Io, what))
}

/// The sentinels to ask, and the connection to the master they named last.
pub(crate) struct SentinelMaster {
    client: tokio::sync::Mutex<SentinelClient>,
    current: Mutex<Option<MultiplexedConnection>>,
    nodes: Vec<String>,
    master: String,
}

impl SentinelMaster {
    fn current(&self) -> Option<MultiplexedConnection> {
        self.current
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The connection to the master, asking the sentinels where it is when there is none.
    async fn connection(&self) -> Result<MultiplexedConnection, RedisError> {
        if let Some(connection) = self.current() {
            return Ok(connection);
        }
        let mut client = self.client.lock().await;
        if let Some(connection) = self.current() {
            return Ok(connection);
        }
        let ask = async {
            let master = client.async_get_client().await?;
            let config = AsyncConnectionConfig::new()
                .set_connection_timeout(Some(CONNECT_TIMEOUT))
                .set_response_timeout(Some(RESPONSE_TIMEOUT));
            master
                .get_multiplexed_async_connection_with_config(&config)
                .await
        };
        let connection = tokio::time::timeout(CONNECT_TIMEOUT * 2, ask)
            .await
            .map_err(|_| {
                RedisError::from((
                    ErrorKind::Io,
                    "no sentinel named a reachable master in time",
                ))
            })??;
        *self.current.lock().unwrap_or_else(PoisonError::into_inner) = Some(connection.clone());
        Ok(connection)
    }

    /// After a failure that may mean the master moved: the next request asks again.
    fn forget(&self) {
        *self.current.lock().unwrap_or_else(PoisonError::into_inner) = None;
    }
}

fn sentinel_client(
    sentinel: &Sentinel,
    certificates: Option<TlsCertificates>,
) -> Result<SentinelClient, RedisError> {
    let nodes = sentinel
        .nodes
        .iter()
        .map(|(host, port)| {
            let host = host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_owned();
            if sentinel.tls {
                ConnectionAddr::TcpTls {
                    host,
                    port: *port,
                    insecure: false,
                    tls_params: None,
                }
            } else {
                ConnectionAddr::Tcp(host, *port)
            }
        })
        .collect::<Vec<_>>();
    let mut builder =
        SentinelClientBuilder::new(nodes, &sentinel.master, SentinelServerType::Master)?
            .set_client_to_redis_db(sentinel.db);
    if sentinel.tls {
        builder = builder
            .set_client_to_redis_tls_mode(TlsMode::Secure)
            .set_client_to_sentinel_tls_mode(TlsMode::Secure);
    }
    if let Some(certificates) = certificates {
        builder = builder
            .set_client_to_redis_certificates(certificates.clone())
            .set_client_to_sentinel_certificates(certificates);
    }
    if let Some(username) = &sentinel.username {
        builder = builder.set_client_to_redis_username(username);
    }
    if let Some(password) = &sentinel.password {
        builder = builder.set_client_to_redis_password(password);
    }
    if let Some(username) = &sentinel.sentinel_username {
        builder = builder.set_client_to_sentinel_username(username);
    }
    if let Some(password) = &sentinel.sentinel_password {
        builder = builder.set_client_to_sentinel_password(password);
    }
    builder.build()
}

fn ca_without_tls() -> StoreError {
    StoreError::other(
        "a CA certificate for the session store needs a TLS URL: `rediss://`, \
         `rediss+cluster://` or `rediss+sentinel://`",
    )
}

/// A node URL without its credentials.
fn redacted(node: &str) -> String {
    match url::Url::parse(node) {
        Ok(url) => format!(
            "{}:{}",
            url.host_str().unwrap_or_default(),
            url.port().unwrap_or(6379)
        ),
        Err(_) => String::from("?"),
    }
}

/// A connection of any [`Backend`].
#[derive(Clone)]
pub(crate) enum Connection {
    Single(ConnectionManager),
    Cluster(ClusterConnection),
    Sentinel {
        connection: MultiplexedConnection,
        master: Arc<SentinelMaster>,
    },
}

/// A failure after which the master may be elsewhere (failed over) or the connection dead.
fn master_may_have_moved(err: &RedisError) -> bool {
    is_transient(err)
}

impl ConnectionLike for Connection {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Self::Single(connection) => connection.req_packed_command(cmd),
            Self::Cluster(connection) => connection.req_packed_command(cmd),
            Self::Sentinel { connection, master } => Box::pin(async move {
                let answer = connection.req_packed_command(cmd).await;
                if answer.as_ref().is_err_and(master_may_have_moved) {
                    master.forget();
                }
                answer
            }),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Self::Single(connection) => connection.req_packed_commands(pipeline, offset, count),
            Self::Cluster(connection) => connection.req_packed_commands(pipeline, offset, count),
            Self::Sentinel { connection, master } => Box::pin(async move {
                let answer = connection
                    .req_packed_commands(pipeline, offset, count)
                    .await;
                if answer.as_ref().is_err_and(master_may_have_moved) {
                    master.forget();
                }
                answer
            }),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Self::Single(connection) => connection.get_db(),
            Self::Cluster(connection) => connection.get_db(),
            Self::Sentinel { connection, .. } => connection.get_db(),
        }
    }
}

/// Failures of the connection, and answers that say the server cannot serve now (loading
/// its data, failing over, a replica after a failover).
fn is_transient(err: &RedisError) -> bool {
    err.is_io_error()
        || err.is_timeout()
        || err.is_connection_dropped()
        || err.is_connection_refusal()
        || err.is_cluster_error()
        || matches!(
            err.kind(),
            ErrorKind::ClusterConnectionNotFound
                | ErrorKind::Server(
                    ServerErrorKind::BusyLoading
                        | ServerErrorKind::MasterDown
                        | ServerErrorKind::ReadOnly
                        | ServerErrorKind::TryAgain
                        | ServerErrorKind::ClusterDown
                )
        )
}

/// Transient failures ([`is_transient`]) are [`StoreError::Unavailable`]; the rest, such
/// as a refused password or a key of the wrong type, are [`StoreError::Other`]. A server
/// certificate the client does not trust is said plainly, with the setting that fixes it.
pub(crate) fn redis_error(err: RedisError) -> StoreError {
    if let Some(problem) = untrusted_certificate(&err) {
        return StoreError::other(format!(
            "the Redis server's TLS certificate is not trusted ({problem}): give the CA that \
             signed it with OIDC_SESSION_STORE_CA_FILE or RedisStoreBuilder::ca_file"
        ));
    }
    if is_transient(&err) {
        StoreError::unavailable(err)
    } else {
        StoreError::other(err)
    }
}

/// The certificate problem, when the TLS handshake failed on the server's certificate
/// (rustls says `invalid peer certificate: …`, somewhere in the error's chain).
fn untrusted_certificate(err: &RedisError) -> Option<String> {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(error) = source {
        let text = error.to_string();
        if let Some(at) = text.find("invalid peer certificate") {
            return Some(text[at..].to_owned());
        }
        source = error.source();
    }
    None
}
