//! A session store in Redis (feature `redis`).

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use ::redis::aio::{ConnectionManager, ConnectionManagerConfig};
use tokio::sync::OnceCell;

use super::store::{SessionStore, StoreError};
use super::SessionData;

/// The key prefix unless [`RedisStore::with_prefix`] sets another.
const DEFAULT_PREFIX: &str = "tower_oidc:session:";
/// How long one connection attempt may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// How long one command may wait for its answer.
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(2);
/// Connection retries inside one request, so a request during an outage fails within a
/// few seconds (`503`) instead of hanging; later requests try again.
const CONNECT_RETRIES: usize = 2;
const MAX_RETRY_DELAY: Duration = Duration::from_millis(500);

/// Sessions in Redis, shared by every instance that uses the same server and prefix.
///
/// Each session is one key, `tower_oidc:session:{id}` by default, holding the session's
/// record ([`SessionData::to_record`], JSON) and expiring with it (`SET … EX`); logout
/// deletes it (`DEL`), and a renewal replaces it only while it exists (`SET … XX`).
/// Back-channel logout finds sessions through a set per logout key
/// (`tower_oidc:session:index:{key}`) and ends them in one Lua script, so a logout ends
/// every session it names or none. Single-use keys are `tower_oidc:session:used:{key}`
/// (`SET … NX PX`). The connection is
/// re-established automatically: while Redis is unreachable, requests that need a session
/// are answered `503 Service Unavailable`, and they succeed again once it is back, without
/// a restart.
///
/// URLs take the `redis` crate's forms: `redis://[user:password@]host[:port][/db]`,
/// `rediss://…` for TLS, `redis+unix:///path/to/socket`.
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
    inner: Arc<Inner>,
}

struct Inner {
    client: ::redis::Client,
    manager: OnceCell<ConnectionManager>,
    prefix: String,
}

impl fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The URL may carry a password: show only where the keys go.
        let info = self.inner.client.get_connection_info();
        f.debug_struct("RedisStore")
            .field("addr", &info.addr().to_string())
            .field("prefix", &self.inner.prefix)
            .finish_non_exhaustive()
    }
}

/// Failures of the connection, and answers that say the server cannot serve now (loading
/// its data, failing over), are [`StoreError::Unavailable`]; the rest, such as a refused
/// password or a key of the wrong type, are [`StoreError::Other`].
pub(crate) fn redis_error(err: ::redis::RedisError) -> StoreError {
    use ::redis::{ErrorKind, ServerErrorKind};
    let transient = err.is_io_error()
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
                )
        );
    if transient {
        StoreError::unavailable(err)
    } else {
        StoreError::other(err)
    }
}

impl RedisStore {
    /// A store for the Redis server at `url` that connects on first use: the service can
    /// start while Redis is down. Only the URL is checked here.
    ///
    /// # Errors
    ///
    /// [`StoreError::Other`] if the URL is not a Redis URL.
    pub fn new(url: &str) -> Result<Self, StoreError> {
        let client = ::redis::Client::open(url)
            .map_err(|err| StoreError::other(format!("invalid Redis URL: {err}")))?;
        Ok(Self {
            inner: Arc::new(Inner {
                client,
                manager: OnceCell::new(),
                prefix: DEFAULT_PREFIX.to_owned(),
            }),
        })
    }

    /// Connects to the Redis server at `url` and checks it answers.
    ///
    /// # Errors
    ///
    /// [`StoreError::Other`] if the URL is not a Redis URL or the server refuses the
    /// connection's credentials; [`StoreError::Unavailable`] if the server cannot be
    /// reached.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let store = Self::new(url)?;
        store.ping().await?;
        Ok(store)
    }

    /// Keys are `{prefix}{session id}`; the default prefix is `tower_oidc:session:`.
    /// Applications sharing a Redis database keep their sessions apart with distinct
    /// prefixes. Set it before the store is first used or cloned.
    #[must_use]
    pub fn with_prefix(mut self, prefix: impl Into<String>) -> Self {
        let prefix = prefix.into();
        match Arc::get_mut(&mut self.inner) {
            Some(inner) => inner.prefix = prefix,
            None => {
                self.inner = Arc::new(Inner {
                    client: self.inner.client.clone(),
                    manager: OnceCell::new(),
                    prefix,
                });
            }
        }
        self
    }

    /// The key under which the session `id` is stored.
    #[must_use]
    pub fn key(&self, id: &str) -> String {
        format!("{}{id}", self.inner.prefix)
    }

    /// `{prefix}{name}`: where other records of this store (API keys) go.
    #[cfg_attr(not(feature = "api-keys"), allow(dead_code))]
    pub(crate) fn prefixed(&self, name: &str) -> String {
        format!("{}{name}", self.inner.prefix)
    }

    fn index_key(&self, logout_key: &str) -> String {
        format!("{}index:{logout_key}", self.inner.prefix)
    }

    fn used_key(&self, key: &str) -> String {
        format!("{}used:{key}", self.inner.prefix)
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
    pub(crate) async fn connection(&self) -> Result<ConnectionManager, StoreError> {
        self.inner
            .manager
            .get_or_try_init(|| async {
                let config = ConnectionManagerConfig::new()
                    .set_connection_timeout(Some(CONNECT_TIMEOUT))
                    .set_response_timeout(Some(RESPONSE_TIMEOUT))
                    .set_number_of_retries(CONNECT_RETRIES)
                    .set_max_delay(MAX_RETRY_DELAY);
                ConnectionManager::new_lazy_with_config(self.inner.client.clone(), config)
                    .map_err(redis_error)
            })
            .await
            .cloned()
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
        let command = set_command(self.key(id), session.to_record()?, ttl);
        let mut connection = self.connection().await?;
        command
            .query_async::<()>(&mut connection)
            .await
            .map_err(redis_error)
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
        let mut connection = self.connection().await?;
        let done: Option<String> = command
            .query_async(&mut connection)
            .await
            .map_err(redis_error)?;
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

    async fn delete(&self, id: &str) -> Result<(), StoreError> {
        let mut connection = self.connection().await?;
        ::redis::cmd("DEL")
            .arg(self.key(id))
            .query_async::<()>(&mut connection)
            .await
            .map_err(redis_error)
    }

    /// A set per logout key (`{prefix}index:{key}`) holding session ids, expiring with the
    /// longest session it names. Ids of sessions already gone are harmless there.
    async fn index(&self, id: &str, keys: &[String], ttl: Duration) -> Result<(), StoreError> {
        if keys.is_empty() || ttl.is_zero() {
            return Ok(());
        }
        let mut pipeline = ::redis::pipe();
        for key in keys {
            let set = self.index_key(key);
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
        }
        let mut connection = self.connection().await?;
        pipeline
            .query_async::<()>(&mut connection)
            .await
            .map_err(redis_error)
    }

    /// One Lua script reads the set and deletes it with the sessions it names: Redis runs
    /// it atomically, so a session indexed meanwhile is never dropped from the index
    /// without being ended, and a failure ends nothing and leaves the set for a retry.
    async fn delete_indexed(&self, key: &str) -> Result<usize, StoreError> {
        let mut connection = self.connection().await?;
        let ended: usize = ::redis::cmd("EVAL")
            .arg(DELETE_INDEXED)
            .arg(1)
            .arg(self.index_key(key))
            .arg(&self.inner.prefix)
            .query_async(&mut connection)
            .await
            .map_err(redis_error)?;
        Ok(ended)
    }
}

/// Deletes the sessions whose ids the set `KEYS[1]` holds (keys `ARGV[1]` + id), then the
/// set; answers how many sessions were deleted. The session keys are derived inside the
/// script, so it needs a single Redis server (not a cluster), as sessions of one logout
/// key live on different slots anyway.
const DELETE_INDEXED: &str = r"
local ended = 0
for _, id in ipairs(redis.call('SMEMBERS', KEYS[1])) do
    ended = ended + redis.call('DEL', ARGV[1] .. id)
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
}
