//! A session store in Redis (feature `redis`): one server, a Redis Cluster, or a master
//! found through Redis Sentinel, over TLS if asked.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use super::changes::{change_tag, ChangeListener};
use super::redis_connection::{redis_error, Backend, Connection};
use super::redis_url::{self, Target};
use super::store::{SessionStore, StoreError};
use super::SessionData;

/// The key prefix unless [`RedisStore::with_prefix`] sets another.
const DEFAULT_PREFIX: &str = "tower_oidc:session:";

/// Sessions in Redis, shared by every instance that uses the same deployment and prefix.
///
/// Each session is one key, `tower_oidc:session:{id}` by default, holding the session's
/// record ([`SessionData::to_record`], JSON) and expiring with it (`SET … EX`); logout
/// deletes it (`DEL`), and a renewal replaces it only while it exists (`SET … XX`).
/// Back-channel logout finds sessions through a set per logout key
/// (`tower_oidc:session:index:{key}`); on one server (or behind Sentinel) one Lua script
/// ends them all, so a logout ends every session it names or none. Single-use keys are
/// `tower_oidc:session:used:{key}` (`SET … NX PX`). Every write of a session publishes its
/// [`change_tag`](crate::store::change_tag) on `tower_oidc:session:changes` in the same round
/// trip (on a cluster, in the next one, once the write is done), and the layer listens there
/// ([`SessionStore::subscribe_changes`]; on a cluster, on one node at a time, as a cluster
/// relays every message to all its nodes) to keep sessions in memory while seeing every
/// logout at once. The connection is
/// re-established automatically: while Redis is unreachable, requests that need a session
/// are answered `503 Service Unavailable`, and they succeed again once it is back, without
/// a restart.
///
/// # URLs
///
/// | URL | Deployment |
/// |---|---|
/// | `redis://[[user]:password@]host[:port][/db]` | one server |
/// | `redis+unix:///path/to/socket` | one server, through a Unix socket |
/// | `redis+cluster://[[user]:password@]host:port,host:port,…` | a Redis Cluster, from any of its nodes (port 6379 by default) |
/// | `redis+sentinel://[[user]:password@]host[:port],…/master[/db]` | the master that Redis Sentinel monitors as `master` (sentinels on port 26379 by default) |
///
/// `rediss://`, `rediss+cluster://` and `rediss+sentinel://` are the same over TLS (to
/// the sentinels too). The server certificates are checked against the system's trusted
/// CAs, or against the CA given to [`RedisStoreBuilder::ca_file`]
/// (`OIDC_SESSION_STORE_CA_FILE` when configured from the environment). The credentials
/// of a Sentinel URL are the master's; sentinels that require a password of their own
/// take the query parameters `sentinel_password` and `sentinel_username`.
///
/// On a cluster every command names one key, so no command spans two slots; a
/// back-channel logout there deletes the sessions one by one and keeps the index until
/// all are gone, so the provider's retry finishes a logout that failed halfway.
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use tower_oidc::{Config, store::RedisStore};
///
/// let store = RedisStore::connect("redis://127.0.0.1:6379").await?;
/// let config = Config::builder_from_env()?.session_store(store).build()?;
/// # let _ = config; Ok(()) }
/// ```
#[derive(Clone)]
pub struct RedisStore {
    backend: Arc<Backend>,
    prefix: Arc<str>,
}

impl fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The URL may carry a password: show only where the keys go.
        f.debug_struct("RedisStore")
            .field("addr", &self.backend.describe())
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

/// A [`RedisStore`] with options: the CA that signed the servers' TLS certificates, the
/// key prefix. From [`RedisStore::builder`] or [`RedisStore::cluster`].
///
/// ```
/// use tower_oidc::store::RedisStore;
///
/// let store = RedisStore::builder("rediss+cluster://10.0.0.1:7000,10.0.0.2:7000")
///     .prefix("app1:")
///     .build()?;
/// assert_eq!(store.key("abc"), "app1:abc");
///
/// // A CA of its own: the file must exist and hold PEM certificates.
/// let missing = RedisStore::builder("rediss://cache.internal:6380")
///     .ca_file("/nonexistent/redis-ca.pem")
///     .build();
/// assert!(missing.is_err());
/// # Ok::<(), tower_oidc::store::StoreError>(())
/// ```
#[derive(Clone)]
#[must_use]
pub struct RedisStoreBuilder {
    target: Result<Target, String>,
    ca: Option<Ca>,
    prefix: String,
}

#[derive(Clone)]
enum Ca {
    File(PathBuf),
    Pem(Vec<u8>),
}

impl fmt::Debug for RedisStoreBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ca = match &self.ca {
            None => None,
            Some(Ca::File(path)) => Some(path.display().to_string()),
            Some(Ca::Pem(_)) => Some("PEM".to_owned()),
        };
        f.debug_struct("RedisStoreBuilder")
            .field("ca", &ca)
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

impl RedisStoreBuilder {
    /// Trusts the CA certificates (PEM) in the file at `path`, instead of the system's,
    /// for the servers' TLS certificates. The URL must be a `rediss` one. The file is read
    /// by [`build`](Self::build).
    pub fn ca_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.ca = Some(Ca::File(path.into()));
        self
    }

    /// Trusts these CA certificates (PEM) instead of the system's, as
    /// [`ca_file`](Self::ca_file) does.
    pub fn ca_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.ca = Some(Ca::Pem(pem.into()));
        self
    }

    /// The key prefix, as [`RedisStore::with_prefix`] sets it.
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// The store, connecting on first use: the service can start while Redis is down.
    ///
    /// # Errors
    ///
    /// [`StoreError::Other`] if the URL is not a Redis URL of a form [`RedisStore`]
    /// lists, or the CA file cannot be read or holds no PEM certificate, or a CA is given
    /// for a URL without TLS.
    pub fn build(self) -> Result<RedisStore, StoreError> {
        let target = self
            .target
            .map_err(|problem| StoreError::other(format!("invalid Redis URL: it {problem}")))?;
        let ca = match self.ca {
            None => None,
            Some(Ca::Pem(pem)) => Some(pem),
            Some(Ca::File(path)) => Some(std::fs::read(&path).map_err(|err| {
                StoreError::other(format!("cannot read the CA file {}: {err}", path.display()))
            })?),
        };
        if let Some(pem) = &ca {
            check_pem_certificates(pem)?;
        }
        Ok(RedisStore {
            backend: Arc::new(Backend::new(&target, ca.as_deref())?),
            prefix: self.prefix.into(),
        })
    }

    /// The store, once it has answered a `PING`.
    ///
    /// # Errors
    ///
    /// As [`build`](Self::build), and as [`RedisStore::connect`].
    pub async fn connect(self) -> Result<RedisStore, StoreError> {
        let store = self.build()?;
        store.ping().await?;
        Ok(store)
    }
}

/// At least one PEM certificate, so a wrong file is refused when configured rather than
/// when the first TLS connection fails.
fn check_pem_certificates(pem: &[u8]) -> Result<(), StoreError> {
    let text = String::from_utf8_lossy(pem);
    let certificates = text.matches("-----BEGIN CERTIFICATE-----").count();
    if certificates == 0 || certificates != text.matches("-----END CERTIFICATE-----").count() {
        return Err(StoreError::other(
            "the CA file holds no PEM certificate (`-----BEGIN CERTIFICATE-----`)",
        ));
    }
    Ok(())
}

impl RedisStore {
    /// A store for the Redis deployment at `url` (any form listed [above](Self#urls)) that
    /// connects on first use: the service can start while Redis is down. Only the URL is
    /// checked here.
    ///
    /// # Errors
    ///
    /// [`StoreError::Other`] if the URL is not a Redis URL.
    pub fn new(url: &str) -> Result<Self, StoreError> {
        Self::builder(url).build()
    }

    /// Connects to the Redis deployment at `url` and checks it answers.
    ///
    /// # Errors
    ///
    /// [`StoreError::Other`] if the URL is not a Redis URL or the server refuses the
    /// connection's credentials or certificate; [`StoreError::Unavailable`] if the
    /// server cannot be reached.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        Self::builder(url).connect().await
    }

    /// A builder for a store at `url` (any form listed [above](Self#urls)), to set a CA
    /// or a prefix.
    pub fn builder(url: &str) -> RedisStoreBuilder {
        RedisStoreBuilder {
            target: redis_url::parse(url),
            ca: None,
            prefix: DEFAULT_PREFIX.to_owned(),
        }
    }

    /// A builder for a store on the Redis Cluster that these nodes belong to, each a
    /// `redis://` or `rediss://` URL (with the same credentials); one reachable node is
    /// enough to find the others.
    ///
    /// ```
    /// use tower_oidc::store::RedisStore;
    ///
    /// let store = RedisStore::cluster(["redis://10.0.0.1:7000", "redis://10.0.0.2:7000"])
    ///     .build()?;
    /// # let _ = store; Ok::<(), tower_oidc::store::StoreError>(())
    /// ```
    pub fn cluster<I, S>(nodes: I) -> RedisStoreBuilder
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        RedisStoreBuilder {
            target: redis_url::cluster_nodes(nodes),
            ca: None,
            prefix: DEFAULT_PREFIX.to_owned(),
        }
    }

    /// Keys are `{prefix}{session id}`; the default prefix is `tower_oidc:session:`.
    /// Applications sharing a Redis database keep their sessions apart with distinct
    /// prefixes. The store keeps its connection, shared with its clones.
    #[must_use]
    pub fn with_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into().into();
        self
    }

    /// The key under which the session `id` is stored.
    #[must_use]
    pub fn key(&self, id: &str) -> String {
        format!("{}{id}", self.prefix)
    }

    /// Whether the store talks to a Redis Cluster, where keys of one command or script
    /// must share a slot.
    #[cfg_attr(not(feature = "api-keys"), allow(dead_code))]
    pub(crate) fn is_cluster(&self) -> bool {
        self.backend.is_cluster()
    }

    /// `{prefix}{name}`: where other records of this store (API keys) go.
    #[cfg_attr(not(feature = "api-keys"), allow(dead_code))]
    pub(crate) fn prefixed(&self, name: &str) -> String {
        format!("{}{name}", self.prefix)
    }

    fn index_key(&self, logout_key: &str) -> String {
        format!("{}index:{logout_key}", self.prefix)
    }

    fn used_key(&self, key: &str) -> String {
        format!("{}used:{key}", self.prefix)
    }

    /// The pub/sub channel of session changes: `{prefix}changes`.
    fn changes_channel(&self) -> String {
        format!("{}changes", self.prefix)
    }

    /// Adds the `PUBLISH` of session `id`'s change tag to `pipeline`, so it goes in the
    /// write's own round trip, after the write on the same server. Not on a cluster, where
    /// the channel's node may answer before the session's: there
    /// [`published_after`](Self::published_after) sends it once the write is done.
    fn publish_change(&self, pipeline: &mut ::redis::Pipeline, id: &str) {
        if !self.backend.is_cluster() {
            pipeline
                .cmd("PUBLISH")
                .arg(self.changes_channel())
                .arg(change_tag(id))
                .ignore();
        }
    }

    /// On a cluster, publishes session `id`'s change once its write is done, so no
    /// instance that hears of it can still read what was there before. A failure is the
    /// write's: instances that missed it would serve the old session until their near
    /// cache's entry expires, so the caller must know.
    async fn published_after(
        &self,
        connection: &mut Connection,
        id: &str,
    ) -> Result<(), StoreError> {
        if !self.backend.is_cluster() {
            return Ok(());
        }
        ::redis::cmd("PUBLISH")
            .arg(self.changes_channel())
            .arg(change_tag(id))
            .query_async::<()>(connection)
            .await
            .map_err(redis_error)
    }

    /// Publishes the change tags of the sessions `ids`. The sessions are gone already: a
    /// failure here is logged, and instances that miss it forget the sessions when their
    /// near cache's entries expire.
    async fn publish_changes(&self, connection: &mut Connection, ids: &[String]) {
        if ids.is_empty() {
            return;
        }
        let mut pipeline = ::redis::pipe();
        for id in ids {
            self.publish_change(&mut pipeline, id);
        }
        if let Err(err) = pipeline.query_async::<()>(connection).await {
            tracing::warn!(error = %err, "could not publish the end of sessions");
        }
    }

    /// Sends `PING`: whether Redis answers now.
    ///
    /// # Errors
    ///
    /// [`StoreError::Unavailable`] if Redis cannot be reached or is not ready (loading its
    /// data, failing over); [`StoreError::Other`] if it answered with another error.
    pub async fn ping(&self) -> Result<(), StoreError> {
        let mut connection = self.connection().await?;
        ::redis::cmd("PING")
            .query_async::<String>(&mut connection)
            .await
            .map(drop)
            .map_err(redis_error)
    }

    /// The shared, self-healing connection; made on first use, inside the runtime.
    pub(crate) async fn connection(&self) -> Result<Connection, StoreError> {
        self.backend.connection().await
    }

    /// Deletes the sessions a logout key's set names one key at a time, for a cluster,
    /// where they live on different slots. The ids read are removed from the set only
    /// once their sessions are gone: a failure leaves them for the retry, and a session
    /// indexed meanwhile stays in the set.
    async fn delete_indexed_per_key(&self, key: &str) -> Result<usize, StoreError> {
        let set = self.index_key(key);
        let mut connection = self.connection().await?;
        let ids: Vec<String> = ::redis::cmd("SMEMBERS")
            .arg(&set)
            .query_async(&mut connection)
            .await
            .map_err(redis_error)?;
        let mut ended = 0;
        for id in &ids {
            let deleted: usize = ::redis::cmd("DEL")
                .arg(self.key(id))
                .query_async(&mut connection)
                .await
                .map_err(redis_error)?;
            ended += deleted;
        }
        if !ids.is_empty() {
            ::redis::cmd("SREM")
                .arg(&set)
                .arg(&ids)
                .query_async::<()>(&mut connection)
                .await
                .map_err(redis_error)?;
        }
        Ok(ended)
    }
}

impl SessionStore for RedisStore {
    async fn load(&self, id: &str) -> Result<Option<SessionData>, StoreError> {
        let mut connection = self.connection().await?;
        let json: Option<String> = ::redis::cmd("GET")
            .arg(self.key(id))
            .query_async(&mut connection)
            .await
            .map_err(redis_error)?;
        json.map(SessionData::from_record).transpose()
    }

    async fn save(&self, id: &str, session: &SessionData, ttl: Duration) -> Result<(), StoreError> {
        if ttl.is_zero() {
            return SessionStore::delete(self, id).await;
        }
        let mut pipeline = ::redis::pipe();
        pipeline
            .add_command(set_command(self.key(id), session.to_record()?, ttl))
            .ignore();
        self.publish_change(&mut pipeline, id);
        let mut connection = self.connection().await?;
        pipeline
            .query_async::<()>(&mut connection)
            .await
            .map_err(redis_error)?;
        self.published_after(&mut connection, id).await
    }

    /// `SET … XX`: Redis replaces the key only if it exists, in one step.
    async fn save_existing(
        &self,
        id: &str,
        session: &SessionData,
        ttl: Duration,
    ) -> Result<bool, StoreError> {
        if ttl.is_zero() {
            SessionStore::delete(self, id).await?;
            return Ok(false);
        }
        let mut command = set_command(self.key(id), session.to_record()?, ttl);
        command.arg("XX");
        let mut pipeline = ::redis::pipe();
        pipeline.add_command(command);
        self.publish_change(&mut pipeline, id);
        let mut connection = self.connection().await?;
        let (done,): (Option<String>,) = pipeline
            .query_async(&mut connection)
            .await
            .map_err(redis_error)?;
        self.published_after(&mut connection, id).await?;
        Ok(done.is_some())
    }

    /// `SET {prefix}used:{key} 1 NX PX ttl`.
    async fn first_use(&self, key: &str, ttl: Duration) -> Result<bool, StoreError> {
        let millis = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
        let mut connection = self.connection().await?;
        let done: Option<String> = ::redis::cmd("SET")
            .arg(self.used_key(key))
            .arg(1)
            .arg("NX")
            .arg("PX")
            .arg(millis)
            .query_async(&mut connection)
            .await
            .map_err(redis_error)?;
        Ok(done.is_some())
    }

    /// `DEL {prefix}used:{key}`.
    async fn forget_use(&self, key: &str) -> Result<(), StoreError> {
        let mut connection = self.connection().await?;
        ::redis::cmd("DEL")
            .arg(self.used_key(key))
            .query_async::<()>(&mut connection)
            .await
            .map_err(redis_error)
    }

    async fn delete(&self, id: &str) -> Result<(), StoreError> {
        let mut pipeline = ::redis::pipe();
        pipeline.cmd("DEL").arg(self.key(id)).ignore();
        self.publish_change(&mut pipeline, id);
        let mut connection = self.connection().await?;
        pipeline
            .query_async::<()>(&mut connection)
            .await
            .map_err(redis_error)?;
        self.published_after(&mut connection, id).await
    }

    /// A set per logout key (`{prefix}index:{key}`) holding session ids, expiring with the
    /// longest session it names. Ids of sessions already gone are harmless there. One
    /// pipeline per set, so that on a cluster each goes to the set's own slot.
    async fn index(&self, id: &str, keys: &[String], ttl: Duration) -> Result<(), StoreError> {
        if keys.is_empty() || ttl.is_zero() {
            return Ok(());
        }
        let mut connection = self.connection().await?;
        for key in keys {
            let set = self.index_key(key);
            let mut pipeline = ::redis::pipe();
            pipeline.cmd("SADD").arg(&set).arg(id).ignore();
            pipeline
                .cmd("EXPIRE")
                .arg(&set)
                .arg(ttl.as_secs().max(1))
                .arg("GT")
                .ignore();
            // `GT` never sets an expiry on a key without one: a new set gets it here.
            pipeline
                .cmd("EXPIRE")
                .arg(&set)
                .arg(ttl.as_secs().max(1))
                .arg("NX")
                .ignore();
            pipeline
                .query_async::<()>(&mut connection)
                .await
                .map_err(redis_error)?;
        }
        Ok(())
    }

    /// On one server, one Lua script reads the set and deletes it with the sessions it
    /// names: Redis runs it atomically, so a session indexed meanwhile is never dropped
    /// from the index without being ended, and a failure ends nothing and leaves the set
    /// for a retry. On a cluster, where the sessions live on other slots than the set,
    /// one key at a time, removing ids from the set only once their sessions are gone.
    async fn delete_indexed(&self, key: &str) -> Result<usize, StoreError> {
        if self.backend.is_cluster() {
            return self.delete_indexed_per_key(key).await;
        }
        let mut connection = self.connection().await?;
        let ended: Vec<String> = ::redis::cmd("EVAL")
            .arg(DELETE_INDEXED)
            .arg(1)
            .arg(self.index_key(key))
            .arg(&*self.prefix)
            .query_async(&mut connection)
            .await
            .map_err(redis_error)?;
        self.publish_changes(&mut connection, &ended).await;
        Ok(ended.len())
    }

    /// `SUBSCRIBE {prefix}changes` on a connection of its own, to one server, the master
    /// the sentinels name, or one node of a Redis Cluster (the next one after each drop).
    fn subscribe_changes(&self, listener: ChangeListener) -> Result<(), StoreError> {
        super::redis_changes::spawn(Arc::clone(&self.backend), self.changes_channel(), listener)
    }
}

/// Deletes the sessions whose ids the set `KEYS[1]` holds (keys `ARGV[1]` + id), then the
/// set; answers the ids of the sessions it deleted. The session keys are derived inside the
/// script, so it needs a single Redis server: on a cluster, sessions of one logout key
/// live on different slots.
const DELETE_INDEXED: &str = r"
local ended = {}
for _, id in ipairs(redis.call('SMEMBERS', KEYS[1])) do
    if redis.call('DEL', ARGV[1] .. id) == 1 then
        ended[#ended + 1] = id
    end
end
redis.call('DEL', KEYS[1])
return ended
";

/// `SET key value` expiring after `ttl`: `EX` in whole seconds, else `PX`.
fn set_command(key: String, record: String, ttl: Duration) -> ::redis::Cmd {
    let mut command = ::redis::cmd("SET");
    command.arg(key).arg(record);
    if ttl.subsec_nanos() == 0 {
        command.arg("EX").arg(ttl.as_secs());
    } else {
        let millis = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
        command.arg("PX").arg(millis);
    }
    command
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_checked_without_connecting() {
        let store = RedisStore::new("redis://:hunter2@127.0.0.1:1/0").expect("valid URL");
        assert_eq!(store.key("abc"), "tower_oidc:session:abc");
        assert!(!format!("{store:?}").contains("hunter2"));
        let store = store.with_prefix("app1:");
        assert_eq!(store.key("abc"), "app1:abc");
        assert!(matches!(
            RedisStore::new("http://example.com"),
            Err(StoreError::Other { .. })
        ));
        assert!(RedisStore::new("rediss://cache.example.com:6380").is_ok());
    }

    #[test]
    fn every_deployment_is_described_without_credentials() {
        let cases = [
            (
                "redis+cluster://:hunter2@10.0.0.1:7000,10.0.0.2",
                "cluster 10.0.0.1:7000,10.0.0.2:6379",
            ),
            (
                "redis+sentinel://:hunter2@s1,s2:26380/main",
                "master `main` of sentinels s1:26379,s2:26380",
            ),
        ];
        for (url, described) in cases {
            let store = RedisStore::new(url).expect(url);
            let debug = format!("{store:?}");
            assert!(debug.contains(described), "{debug}");
            assert!(!debug.contains("hunter2"), "{debug}");
        }
        let store = RedisStore::cluster(["redis://10.0.0.1:7000"])
            .build()
            .expect("nodes");
        assert!(format!("{store:?}").contains("cluster 10.0.0.1:7000"));
        assert!(RedisStore::cluster(["10.0.0.1:7000"]).build().is_err());
    }

    const CA: &str = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";

    #[test]
    fn a_ca_needs_tls_and_a_certificate() {
        for url in [
            "rediss://h:6380",
            "rediss+cluster://h:1,h:2",
            "rediss+sentinel://s/main",
        ] {
            // The PEM is only looked at for its markers here; rustls parses it at `build`.
            let built = RedisStore::builder(url).ca_pem(CA).build();
            assert!(
                !built
                    .as_ref()
                    .is_err_and(|err| err.to_string().contains("TLS URL")),
                "{url}: {built:?}"
            );
        }
        for url in [
            "redis://h:6379",
            "redis+cluster://h:1",
            "redis+sentinel://s/main",
        ] {
            let err = RedisStore::builder(url).ca_pem(CA).build().expect_err(url);
            assert!(err.to_string().contains("`rediss://`"), "{url}: {err}");
        }
        let err = RedisStore::builder("rediss://h")
            .ca_pem("not a certificate")
            .build()
            .expect_err("pem");
        assert!(err.to_string().contains("no PEM certificate"), "{err}");
        let err = RedisStore::builder("rediss://h")
            .ca_file("/nonexistent/ca.pem")
            .build()
            .expect_err("file");
        assert!(err.to_string().contains("/nonexistent/ca.pem"), "{err}");
    }
}
