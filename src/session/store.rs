//! The server-side session store interface, its error, and the type-erased form the
//! configuration keeps.

use std::any::Any;
use std::error::Error;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use super::changes::ChangeListener;
use super::memory::MemoryStore;
use super::SessionData;
use crate::telemetry;

/// A failure of a session store, by what the layer should do about it.
///
/// | Variant | Meaning | The layer answers |
/// |---|---|---|
/// | [`Unavailable`](Self::Unavailable) | the store cannot be reached or did not answer in time | `503 Service Unavailable`; the same cookie works again once the store is back |
/// | [`Corrupt`](Self::Corrupt) | a record exists but cannot be read | as if there were no session: the cookie is removed and the user signs in again |
/// | [`Unsupported`](Self::Unsupported) | the store cannot do this at all | back-channel logout: `501 Not Implemented`; single-use keys: kept in this process instead |
/// | [`Other`](Self::Other) | anything else: an invalid URL, an error the server answered with | `503 Service Unavailable` |
///
/// Errors are logged: their messages and sources must not carry session contents or
/// session ids (an id is as good as the session it names).
///
/// ```
/// use std::error::Error as _;
/// use tower_oidc::store::StoreError;
///
/// let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
/// let err = StoreError::unavailable(refused);
/// assert!(matches!(err, StoreError::Unavailable { .. }));
/// assert!(err.to_string().starts_with("session store unavailable: "));
/// assert!(err.source().is_some_and(|source| source.is::<std::io::Error>()));
///
/// let err = StoreError::other("the table has the wrong columns");
/// assert_eq!(err.to_string(), "session store: the table has the wrong columns");
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum StoreError {
    /// The store cannot be reached, or did not answer in time: trying again later may work.
    Unavailable {
        /// What went wrong, e.g. the I/O error of the connection.
        source: Box<dyn Error + Send + Sync>,
    },
    /// A record exists but cannot be read: damaged, or written by an incompatible version.
    /// [`SessionData::from_record`] answers this.
    Corrupt {
        /// Why the record cannot be read; never its contents.
        source: Box<dyn Error + Send + Sync>,
    },
    /// The store cannot do this at all, e.g. find sessions for back-channel logout
    /// ([`SessionStore::delete_indexed`]'s default) or keep single-use keys
    /// ([`SessionStore::first_use`]'s default).
    Unsupported,
    /// Any other failure: an invalid configuration, an error the server answered with, a
    /// session that cannot be encoded.
    Other {
        /// What went wrong.
        source: Box<dyn Error + Send + Sync>,
    },
}

impl StoreError {
    /// [`StoreError::Unavailable`] caused by `source`: an error, or a message.
    #[must_use]
    pub fn unavailable(source: impl Into<Box<dyn Error + Send + Sync>>) -> Self {
        Self::Unavailable {
            source: source.into(),
        }
    }

    /// [`StoreError::Corrupt`] caused by `source`: an error, or a message.
    #[must_use]
    pub fn corrupt(source: impl Into<Box<dyn Error + Send + Sync>>) -> Self {
        Self::Corrupt {
            source: source.into(),
        }
    }

    /// [`StoreError::Other`] caused by `source`: an error, or a message.
    #[must_use]
    pub fn other(source: impl Into<Box<dyn Error + Send + Sync>>) -> Self {
        Self::Other {
            source: source.into(),
        }
    }
}

impl telemetry::FailureKind for StoreError {
    fn failure_kind(&self) -> Option<&'static str> {
        match self {
            StoreError::Unavailable { .. } => Some("unavailable"),
            StoreError::Corrupt { .. } => Some("corrupt"),
            StoreError::Other { .. } => Some("other"),
            // A capability the store lacks, answered by design: no failure.
            _ => None,
        }
    }
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unavailable { source } => write!(f, "session store unavailable: {source}"),
            Self::Corrupt { source } => write!(f, "unreadable session record: {source}"),
            Self::Unsupported => f.write_str("not supported by this session store"),
            Self::Other { source } => write!(f, "session store: {source}"),
        }
    }
}

impl Error for StoreError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            Self::Unavailable { source } | Self::Corrupt { source } | Self::Other { source } => {
                Some(&**source)
            }
            Self::Unsupported => None,
        }
    }
}

/// A server-side session store. The session cookie then carries only a random id of 256
/// bits; the store keeps the [`SessionData`] under that id. Give one to
/// [`ConfigBuilder::session_store`](crate::ConfigBuilder::session_store); the crate has
/// [`MemoryStore`](crate::store::MemoryStore), `RedisStore` (feature `redis`) and `SqlStore`
/// (feature `sql`).
///
/// # Writing a store
///
/// * Keep each session as its record: [`SessionData::to_record`] in `save`,
///   [`SessionData::from_record`] in `load`. That is the JSON text the Redis and SQL stores
///   keep, and it holds the session's tokens: keep it where only the application reads it.
/// * `load` answers `Ok(None)` for an id never saved, deleted, or saved longer than its
///   `ttl` ago.
/// * A record that exists but cannot be read (damaged, or written by an incompatible
///   version) must give `Err(StoreError::Corrupt { .. })`, which is what
///   [`SessionData::from_record`] returns for it. The layer logs it and treats the request
///   as carrying no session: the cookie is removed and the user signs in again. It is not
///   answered `503`, because a record that cannot be read now cannot be read on a retry
///   either: a `503` would lock the user out until the record expires (every user at once
///   after a rollback to a version that cannot read newer records). Do not hide it as
///   `Ok(None)`: the user would see the same, but operators would not see the damage.
/// * A store that cannot be reached, or does not answer in time, gives
///   `Err(StoreError::Unavailable { .. })`: the request is answered `503` and the same
///   cookie works again once the store is back. Answer within a few seconds, as a request
///   waits for the store.
/// * Ids are opaque: any string, including spaces, quotes, `*`, newlines and non-ASCII
///   text, up to a kilobyte. Never put an id or a record in an error or a log line.
/// * For back-channel logout, implement [`index`](Self::index) and
///   [`delete_indexed`](Self::delete_indexed); without them logout tokens are answered
///   `501 Not Implemented`. Make `delete_indexed` all or nothing: a logout that fails
///   halfway must leave what a retry needs to finish it.
/// * So that a logout wins over a token refresh or a user reload that was under way when
///   it happened, implement [`save_existing`](Self::save_existing) atomically (the
///   default loads, then saves, which leaves a short window between the two).
/// * So that every instance sharing the store refuses a replayed login or logout token,
///   implement [`first_use`](Self::first_use); without it each instance remembers what
///   it has seen itself, until it restarts.
/// * A store that keeps sessions in this process can also implement [`InProcessStore`], so
///   requests are decided without waiting.
/// * Check the store with the conformance suite: `tower_oidc::testing::store_suite::run`
///   (feature `testing`).
///
/// An `Arc` of a store is a store too: keep a clone to look at the store the
/// configuration uses.
///
/// # Example
///
/// Sessions in a `HashMap`, with their expiry and the index back-channel logout needs:
///
/// ```
/// use std::collections::{HashMap, HashSet};
/// use std::sync::{Arc, Mutex, MutexGuard};
/// use std::time::{Duration, Instant};
///
/// use tower_oidc::{Config, store::{SessionData, SessionStore, StoreError}};
///
/// #[derive(Default)]
/// pub struct HashMapStore {
///     inner: Mutex<Inner>,
/// }
///
/// #[derive(Default)]
/// struct Inner {
///     /// Session ids to their records and when these expire (`None`: beyond `Instant`).
///     records: HashMap<String, (String, Option<Instant>)>,
///     /// Logout keys (`sid:…`, `sub:…`) to the ids of the sessions they name.
///     by_logout_key: HashMap<String, HashSet<String>>,
/// }
///
/// fn is_live(expires: Option<Instant>, now: Instant) -> bool {
///     expires.is_none_or(|expires| now < expires)
/// }
///
/// impl HashMapStore {
///     fn lock(&self) -> Result<MutexGuard<'_, Inner>, StoreError> {
///         // A thread panicked while holding the lock: the maps may be half updated.
///         self.inner.lock().map_err(|_| StoreError::other("session map lock poisoned"))
///     }
/// }
///
/// impl SessionStore for HashMapStore {
///     async fn load(&self, id: &str) -> Result<Option<SessionData>, StoreError> {
///         let inner = self.lock()?;
///         match inner.records.get(id) {
///             Some((record, expires)) if is_live(*expires, Instant::now()) => {
///                 SessionData::from_record(record).map(Some)
///             }
///             _ => Ok(None),
///         }
///     }
///
///     async fn save(&self, id: &str, session: &SessionData, ttl: Duration) -> Result<(), StoreError> {
///         let record = session.to_record()?;
///         let now = Instant::now();
///         let mut inner = self.lock()?;
///         // Expired sessions go when another is saved: O(n), fine for a small map.
///         inner.records.retain(|_, (_, expires)| is_live(*expires, now));
///         let Inner { records, by_logout_key } = &mut *inner;
///         by_logout_key.retain(|_, ids| {
///             ids.retain(|id| records.contains_key(id));
///             !ids.is_empty()
///         });
///         inner.records.insert(id.to_owned(), (record, now.checked_add(ttl)));
///         Ok(())
///     }
///
///     async fn delete(&self, id: &str) -> Result<(), StoreError> {
///         self.lock()?.records.remove(id);
///         Ok(())
///     }
///
///     async fn index(&self, id: &str, keys: &[String], _ttl: Duration) -> Result<(), StoreError> {
///         let mut inner = self.lock()?;
///         for key in keys {
///             inner.by_logout_key.entry(key.clone()).or_default().insert(id.to_owned());
///         }
///         Ok(())
///     }
///
///     async fn delete_indexed(&self, key: &str) -> Result<usize, StoreError> {
///         let now = Instant::now();
///         let mut inner = self.lock()?;
///         let ids = inner.by_logout_key.remove(key).unwrap_or_default();
///         let ended = ids
///             .iter()
///             .filter_map(|id| inner.records.remove(id))
///             .filter(|(_, expires)| is_live(*expires, now))
///             .count();
///         Ok(ended)
///     }
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let store = Arc::new(HashMapStore::default());
/// let config = Config::builder()
///     .issuer("https://accounts.example.com")
///     .client_id("my-app")
///     .client_secret("my-secret")
///     .secret_key("a random string of at least 32 bytes!!")
///     .session_store(Arc::clone(&store))
///     .build()?;
/// # let _ = config;
///
/// let session = SessionData::from_record(
///     r#"{"sid":"s1","user_id":"alice","claims":{"sub":"alice"},"created_at":1,"expires_at":2}"#,
/// )?;
/// store.save("id-1", &session, Duration::from_secs(60)).await?;
/// store.index("id-1", &["sub:alice".to_owned()], Duration::from_secs(60)).await?;
/// assert!(store.load("id-1").await?.is_some());
/// assert_eq!(store.delete_indexed("sub:alice").await?, 1);
/// assert!(store.load("id-1").await?.is_none());
///
/// store.inner.lock().unwrap().records.insert("id-2".into(), ("{".into(), None));
/// assert!(matches!(store.load("id-2").await, Err(StoreError::Corrupt { .. })));
/// # Ok(())
/// # }
/// ```
pub trait SessionStore: Send + Sync + 'static {
    /// The session stored under `id`, if it exists and its time to live has not passed.
    ///
    /// # Errors
    ///
    /// [`StoreError::Corrupt`] when a record exists but cannot be read (the layer then
    /// treats the request as carrying no session); [`StoreError::Unavailable`] when the
    /// store cannot be reached.
    fn load(
        &self,
        id: &str,
    ) -> impl Future<Output = Result<Option<SessionData>, StoreError>> + Send;

    /// Stores `session` under `id` for `ttl`, replacing what `id` held.
    ///
    /// # Errors
    ///
    /// [`StoreError::Unavailable`] when the store cannot be reached; the login or refresh
    /// that wrote the session is answered `503`.
    fn save(
        &self,
        id: &str,
        session: &SessionData,
        ttl: Duration,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Removes the session stored under `id`; removing a missing session is not an error.
    ///
    /// # Errors
    ///
    /// [`StoreError::Unavailable`] when the store cannot be reached; logout then still
    /// removes the cookie.
    fn delete(&self, id: &str) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Records that session `id` answers to each of `keys` (`sid:<provider session id>`,
    /// `sub:<subject>`) for `ttl`, so a back-channel logout can find it. Called after each
    /// [`save`](Self::save). Stores that cannot index keep the default, which records
    /// nothing.
    ///
    /// # Errors
    ///
    /// [`StoreError::Unavailable`] when the store cannot be reached.
    fn index(
        &self,
        id: &str,
        keys: &[String],
        ttl: Duration,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        let _ = (id, keys, ttl);
        async { Ok(()) }
    }

    /// Deletes every live session indexed under `key`, returning how many it ended.
    ///
    /// # Errors
    ///
    /// The default answers [`StoreError::Unsupported`]: back-channel logout then answers
    /// `501 Not Implemented`. [`StoreError::Unavailable`] when the store cannot be reached
    /// (the provider is answered `503` and may retry).
    fn delete_indexed(&self, key: &str) -> impl Future<Output = Result<usize, StoreError>> + Send {
        let _ = key;
        async { Err(StoreError::Unsupported) }
    }

    /// Replaces the session stored under `id` with `session` for `ttl`, only if a live
    /// session is stored there; returns whether it did. A session that was deleted (a
    /// logout, a back-channel logout) or has expired stays gone.
    ///
    /// The layer writes renewed sessions with it (a refreshed access token, a reloaded
    /// user), so a logout that happens while the renewal is under way wins: the renewal
    /// must not bring the session back. The check and the write should be one atomic
    /// step (Redis `SET … XX`, SQL `UPDATE … WHERE id = … AND expires_at > now`). The
    /// default loads, then saves: correct except when a delete falls between the two.
    /// It keeps the logout keys [`index`](Self::index) recorded for `id`.
    ///
    /// # Errors
    ///
    /// [`StoreError::Unavailable`] when the store cannot be reached; the renewed session
    /// is then not kept, and the request goes on with the session it had.
    /// [`StoreError::Corrupt`] from the default's `load` when the record cannot be read.
    fn save_existing(
        &self,
        id: &str,
        session: &SessionData,
        ttl: Duration,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send {
        async move {
            if self.load(id).await?.is_none() {
                return Ok(false);
            }
            self.save(id, session, ttl).await?;
            Ok(true)
        }
    }

    /// Records `key` for `ttl`; `true` when it was not recorded already (or its `ttl` has
    /// passed since), `false` when it was. Concurrent calls with one key answer `true` to
    /// exactly one of them (Redis `SET key 1 NX PX ttl`, SQL `INSERT … ON CONFLICT DO
    /// NOTHING`).
    ///
    /// The layer records single-use values here: the `state` of each finished login and
    /// the `jti` of each back-channel logout token, so a replay sent to another instance
    /// sharing the store, or after a restart, is refused. Keys are opaque strings like
    /// ids, and never collide with session ids: keep them apart from sessions (a prefix,
    /// a table of their own). A store should remember them for their whole `ttl` (at
    /// most an hour by default) and may drop them after.
    ///
    /// # Errors
    ///
    /// The default answers [`StoreError::Unsupported`]: the layer then remembers keys in
    /// this process only, and asks the store no more. [`StoreError::Unavailable`] when
    /// the store cannot be reached: a login completing then is answered `503`; a logout
    /// token is let through this check, as ending its sessions needs the store too and
    /// fails with `503`, which the provider retries.
    fn first_use(
        &self,
        key: &str,
        ttl: Duration,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send {
        let _ = (key, ttl);
        async { Err(StoreError::Unsupported) }
    }

    /// Forgets a single-use `key` recorded by [`first_use`](Self::first_use), so that its
    /// next `first_use` answers `true` again; forgetting a key never recorded is no error.
    ///
    /// The layer forgets a back-channel logout token's `jti` when ending the sessions it
    /// names failed: the provider sends the token again, and that retry must not be taken
    /// for a replay.
    ///
    /// # Errors
    ///
    /// The default answers [`StoreError::Unsupported`], as a store that keeps no
    /// single-use keys has none to forget; [`StoreError::Unavailable`] when the store
    /// cannot be reached.
    fn forget_use(&self, key: &str) -> impl Future<Output = Result<(), StoreError>> + Send {
        let _ = key;
        async { Err(StoreError::Unsupported) }
    }

    /// Checks, as cheaply as the store can, that it answers: the health report
    /// (`tower_oidc::health`) calls it. The default loads a session id that never
    /// exists; a store with a cheaper round trip (Redis `PING`, SQL `SELECT 1`) may
    /// override it.
    ///
    /// # Errors
    ///
    /// The store's error when it cannot be reached.
    fn ping(&self) -> impl Future<Output = Result<(), StoreError>> + Send {
        let load = self.load(PING_ID);
        async move { load.await.map(|_| ()) }
    }

    /// Starts delivering to `listener` the changes every instance sharing this store makes
    /// to sessions, and returns at once: the store listens in the background (on the
    /// current tokio runtime), calling [`ChangeListener::subscribed`] once it receives every
    /// change, [`ChangeListener::lost`] whenever it may miss one, and
    /// [`ChangeListener::changed`] with the [`change_tag`](crate::store::change_tag) of each
    /// session written or deleted. A store that supports it publishes that tag on every
    /// `save`, `save_existing` and `delete`, and for each session `delete_indexed` ends.
    ///
    /// With it, the layer keeps the sessions it loaded in memory and decides requests on
    /// them without asking the store (a near cache), while a logout, a refresh or a
    /// back-channel logout on any instance reaches every other one at once.
    ///
    /// # Errors
    ///
    /// The default answers [`StoreError::Unsupported`]: the layer then asks the store on
    /// every request. [`StoreError::Unavailable`] when there is no tokio runtime to listen
    /// on.
    fn subscribe_changes(&self, listener: ChangeListener) -> Result<(), StoreError> {
        let _ = listener;
        Err(StoreError::Unsupported)
    }
}

/// The session id [`SessionStore::ping`] loads by default: not one the layer ever makes
/// (those are random URL-safe base64).
const PING_ID: &str = "tower-oidc:health-ping";

/// A [`SessionStore`] that keeps sessions in this process and answers loads at once.
///
/// A request on such a session is decided without waiting, and the stored session is
/// shared rather than copied. [`MemoryStore`](crate::store::MemoryStore) is one.
///
/// The configuration learns that a store answers at once from the builder method it is
/// given to: [`ConfigBuilder::in_process_session_store`] takes any `InProcessStore`;
/// [`ConfigBuilder::session_store`] awaits [`SessionStore::load`] on every request, except
/// for a `MemoryStore` (owned or in an `Arc`), which it recognises.
///
/// [`ConfigBuilder::in_process_session_store`]: crate::ConfigBuilder::in_process_session_store
/// [`ConfigBuilder::session_store`]: crate::ConfigBuilder::session_store
///
/// ```
/// use std::sync::Arc;
/// use tower_oidc::{store::{InProcessStore, MemoryStore}};
///
/// let store = Arc::new(MemoryStore::new(1000));
/// assert!(store.load_now("unknown id")?.is_none());
/// let config = tower_oidc::Config::builder()
///     .issuer("https://accounts.example.com")
///     .client_id("my-app")
///     .client_secret("my-secret")
///     .secret_key("a random string of at least 32 bytes!!")
///     .in_process_session_store(Arc::clone(&store))
///     .build()?;
/// # let _ = config;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub trait InProcessStore: SessionStore {
    /// What [`load`](SessionStore::load) would answer, at once and shared.
    ///
    /// It runs on the request's task, so it must not block: no I/O, only short locks.
    ///
    /// # Errors
    ///
    /// As [`SessionStore::load`].
    fn load_now(&self, id: &str) -> Result<Option<Arc<SessionData>>, StoreError>;
}

impl<S: SessionStore> SessionStore for Arc<S> {
    fn load(
        &self,
        id: &str,
    ) -> impl Future<Output = Result<Option<SessionData>, StoreError>> + Send {
        S::load(self, id)
    }

    fn save(
        &self,
        id: &str,
        session: &SessionData,
        ttl: Duration,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        S::save(self, id, session, ttl)
    }

    fn delete(&self, id: &str) -> impl Future<Output = Result<(), StoreError>> + Send {
        S::delete(self, id)
    }

    fn index(
        &self,
        id: &str,
        keys: &[String],
        ttl: Duration,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        S::index(self, id, keys, ttl)
    }

    fn delete_indexed(&self, key: &str) -> impl Future<Output = Result<usize, StoreError>> + Send {
        S::delete_indexed(self, key)
    }

    fn save_existing(
        &self,
        id: &str,
        session: &SessionData,
        ttl: Duration,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send {
        S::save_existing(self, id, session, ttl)
    }

    fn first_use(
        &self,
        key: &str,
        ttl: Duration,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send {
        S::first_use(self, key, ttl)
    }

    fn forget_use(&self, key: &str) -> impl Future<Output = Result<(), StoreError>> + Send {
        S::forget_use(self, key)
    }

    fn ping(&self) -> impl Future<Output = Result<(), StoreError>> + Send {
        S::ping(self)
    }

    fn subscribe_changes(&self, listener: ChangeListener) -> Result<(), StoreError> {
        S::subscribe_changes(self, listener)
    }
}

impl<S: InProcessStore> InProcessStore for Arc<S> {
    fn load_now(&self, id: &str) -> Result<Option<Arc<SessionData>>, StoreError> {
        S::load_now(self, id)
    }
}

pub(crate) type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// [`SessionStore`] in a form that can sit behind `Arc<dyn _>`.
pub(crate) trait DynStore: Send + Sync {
    fn name(&self) -> &'static str;
    /// `Some` for a store that answers at once ([`InProcessStore`]); `None`: await `load`.
    fn load_now(&self, id: &str) -> Option<Result<Option<Arc<SessionData>>, StoreError>>;
    fn load<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<Option<SessionData>, StoreError>>;
    fn save<'a>(
        &'a self,
        id: &'a str,
        session: &'a SessionData,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<(), StoreError>>;
    fn delete<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<(), StoreError>>;
    fn index<'a>(
        &'a self,
        id: &'a str,
        keys: &'a [String],
        ttl: Duration,
    ) -> BoxFuture<'a, Result<(), StoreError>>;
    fn delete_indexed<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<usize, StoreError>>;
    fn save_existing<'a>(
        &'a self,
        id: &'a str,
        session: &'a SessionData,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<bool, StoreError>>;
    fn first_use<'a>(
        &'a self,
        key: &'a str,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<bool, StoreError>>;
    fn forget_use<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<(), StoreError>>;
    fn ping(&self) -> BoxFuture<'_, Result<(), StoreError>>;
    fn subscribe_changes(&self, listener: ChangeListener) -> Result<(), StoreError>;
}

impl<T: SessionStore> DynStore for T {
    fn name(&self) -> &'static str {
        std::any::type_name::<T>()
    }

    fn load_now(&self, _id: &str) -> Option<Result<Option<Arc<SessionData>>, StoreError>> {
        None
    }

    fn load<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<Option<SessionData>, StoreError>> {
        Box::pin(telemetry::store_call("load", SessionStore::load(self, id)))
    }

    fn save<'a>(
        &'a self,
        id: &'a str,
        session: &'a SessionData,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(telemetry::store_call(
            "save",
            SessionStore::save(self, id, session, ttl),
        ))
    }

    fn delete<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(telemetry::store_call(
            "delete",
            SessionStore::delete(self, id),
        ))
    }

    fn index<'a>(
        &'a self,
        id: &'a str,
        keys: &'a [String],
        ttl: Duration,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(telemetry::store_call(
            "index",
            SessionStore::index(self, id, keys, ttl),
        ))
    }

    fn delete_indexed<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<usize, StoreError>> {
        Box::pin(telemetry::store_call(
            "delete_indexed",
            SessionStore::delete_indexed(self, key),
        ))
    }

    fn save_existing<'a>(
        &'a self,
        id: &'a str,
        session: &'a SessionData,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(telemetry::store_call(
            "save_existing",
            SessionStore::save_existing(self, id, session, ttl),
        ))
    }

    fn first_use<'a>(
        &'a self,
        key: &'a str,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(telemetry::store_call(
            "first_use",
            SessionStore::first_use(self, key, ttl),
        ))
    }

    fn ping(&self) -> BoxFuture<'_, Result<(), StoreError>> {
        Box::pin(telemetry::store_call("ping", SessionStore::ping(self)))
    }

    fn subscribe_changes(&self, listener: ChangeListener) -> Result<(), StoreError> {
        SessionStore::subscribe_changes(self, listener)
    }

    fn forget_use<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(telemetry::store_call(
            "forget_use",
            SessionStore::forget_use(self, key),
        ))
    }
}

/// An [`InProcessStore`], erased with its `load_now`.
struct InProcess<S>(S);

impl<S: InProcessStore> DynStore for InProcess<S> {
    fn name(&self) -> &'static str {
        std::any::type_name::<S>()
    }

    fn load_now(&self, id: &str) -> Option<Result<Option<Arc<SessionData>>, StoreError>> {
        Some(InProcessStore::load_now(&self.0, id))
    }

    fn load<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<Option<SessionData>, StoreError>> {
        DynStore::load(&self.0, id)
    }

    fn save<'a>(
        &'a self,
        id: &'a str,
        session: &'a SessionData,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        DynStore::save(&self.0, id, session, ttl)
    }

    fn delete<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<(), StoreError>> {
        DynStore::delete(&self.0, id)
    }

    fn index<'a>(
        &'a self,
        id: &'a str,
        keys: &'a [String],
        ttl: Duration,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        DynStore::index(&self.0, id, keys, ttl)
    }

    fn delete_indexed<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<usize, StoreError>> {
        DynStore::delete_indexed(&self.0, key)
    }

    fn save_existing<'a>(
        &'a self,
        id: &'a str,
        session: &'a SessionData,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        DynStore::save_existing(&self.0, id, session, ttl)
    }

    fn first_use<'a>(
        &'a self,
        key: &'a str,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        DynStore::first_use(&self.0, key, ttl)
    }

    fn forget_use<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<(), StoreError>> {
        DynStore::forget_use(&self.0, key)
    }

    fn ping(&self) -> BoxFuture<'_, Result<(), StoreError>> {
        DynStore::ping(&self.0)
    }

    fn subscribe_changes(&self, listener: ChangeListener) -> Result<(), StoreError> {
        DynStore::subscribe_changes(&self.0, listener)
    }
}

/// `store` for the configuration: loads are awaited, except that a [`MemoryStore`], owned
/// or shared, keeps answering at once.
pub(crate) fn erased<S: SessionStore>(store: S) -> Arc<dyn DynStore> {
    if let Some(shared) = (&store as &dyn Any).downcast_ref::<Arc<MemoryStore>>() {
        return erased_in_process(Arc::clone(shared));
    }
    let store = Arc::new(store);
    let any: Arc<dyn Any + Send + Sync> = store.clone();
    match any.downcast::<MemoryStore>() {
        Ok(memory) => {
            drop(store);
            match Arc::try_unwrap(memory) {
                Ok(memory) => erased_in_process(memory),
                Err(shared) => erased_in_process(shared),
            }
        }
        Err(_) => store,
    }
}

/// `store` for the configuration, answering loads at once.
pub(crate) fn erased_in_process<S: InProcessStore>(store: S) -> Arc<dyn DynStore> {
    Arc::new(InProcess(store))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A store that answers only by waiting.
    struct Remote;

    impl SessionStore for Remote {
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

    #[test]
    fn memory_stores_answer_at_once_however_they_are_given() {
        let memory = || MemoryStore::new(10);
        assert!(erased(memory()).load_now("id").is_some());
        assert!(erased(Arc::new(memory())).load_now("id").is_some());
        assert!(erased_in_process(memory()).load_now("id").is_some());
        assert!(erased_in_process(Arc::new(memory()))
            .load_now("id")
            .is_some());
        assert!(erased(Remote).load_now("id").is_none());
        assert!(erased(Arc::new(Remote)).load_now("id").is_none());
        assert!(erased(memory()).name().ends_with("MemoryStore"));
    }

    #[test]
    fn a_shared_memory_store_is_the_one_the_configuration_uses() {
        let store = Arc::new(MemoryStore::new(10));
        let erased = erased(Arc::clone(&store));
        let session: SessionData = serde_json::from_str(
            r#"{"sid":"s","user_id":"u","claims":{},"created_at":1,"expires_at":2}"#,
        )
        .expect("session");
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        runtime
            .block_on(erased.save("id", &session, Duration::from_secs(60)))
            .expect("save");
        assert_eq!(store.len(), 1);
    }

    #[test]
    fn an_arc_forwards_the_logout_index() {
        let store = Arc::new(MemoryStore::new(10));
        let session: SessionData = serde_json::from_str(
            r#"{"sid":"s","user_id":"u","claims":{},"created_at":1,"expires_at":2}"#,
        )
        .expect("session");
        let keys = ["sub:u".to_owned()];
        let ttl = Duration::from_secs(60);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        let ended = runtime.block_on(async {
            SessionStore::save(&store, "id", &session, ttl).await?;
            SessionStore::index(&store, "id", &keys, ttl).await?;
            assert!(InProcessStore::load_now(&store, "id")?.is_some());
            SessionStore::delete_indexed(&store, "sub:u").await
        });
        assert_eq!(ended.expect("indexed"), 1);
        assert!(store.is_empty());
    }

    #[test]
    fn an_arc_and_the_erased_store_forward_single_use_keys_and_conditional_saves() {
        let store = Arc::new(MemoryStore::new(10));
        let erased = erased_in_process(Arc::clone(&store));
        let session: SessionData = serde_json::from_str(
            r#"{"sid":"s","user_id":"u","claims":{},"created_at":1,"expires_at":2}"#,
        )
        .expect("session");
        let ttl = Duration::from_secs(60);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        runtime.block_on(async {
            // The defaults would answer `Unsupported`, and save what was never there.
            assert!(SessionStore::first_use(&store, "k", ttl)
                .await
                .expect("kept"));
            assert!(!erased.first_use("k", ttl).await.expect("kept"));
            assert!(!SessionStore::save_existing(&store, "id", &session, ttl)
                .await
                .expect("saved"));
            assert!(!erased
                .save_existing("id", &session, ttl)
                .await
                .expect("saved"));
            assert!(store.is_empty());
            SessionStore::save(&store, "id", &session, ttl)
                .await
                .expect("saved");
            assert!(erased
                .save_existing("id", &session, ttl)
                .await
                .expect("saved"));
        });
    }

    /// Keeps sessions, and nothing else: the defaults of the other methods.
    struct Minimal(MemoryStore);

    impl SessionStore for Minimal {
        async fn load(&self, id: &str) -> Result<Option<SessionData>, StoreError> {
            SessionStore::load(&self.0, id).await
        }
        async fn save(&self, id: &str, s: &SessionData, ttl: Duration) -> Result<(), StoreError> {
            SessionStore::save(&self.0, id, s, ttl).await
        }
        async fn delete(&self, id: &str) -> Result<(), StoreError> {
            SessionStore::delete(&self.0, id).await
        }
    }

    #[test]
    fn the_defaults_save_only_what_exists_and_keep_no_single_use_keys() {
        let store = Minimal(MemoryStore::new(10));
        let session: SessionData = serde_json::from_str(
            r#"{"sid":"s","user_id":"u","claims":{},"created_at":1,"expires_at":2}"#,
        )
        .expect("session");
        let ttl = Duration::from_secs(60);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        runtime.block_on(async {
            assert!(matches!(
                SessionStore::first_use(&store, "k", ttl).await,
                Err(StoreError::Unsupported)
            ));
            let save_existing = || SessionStore::save_existing(&store, "id", &session, ttl);
            assert!(!save_existing().await.expect("saved"));
            assert!(store.0.is_empty());
            SessionStore::save(&store, "id", &session, ttl)
                .await
                .expect("saved");
            assert!(save_existing().await.expect("saved"));
            SessionStore::delete(&store, "id").await.expect("deleted");
            assert!(!save_existing().await.expect("saved"));
            assert!(store.0.is_empty());
        });
    }

    #[test]
    fn errors_say_what_happened_and_keep_their_cause() {
        let cause = std::io::Error::from(std::io::ErrorKind::TimedOut);
        let err = StoreError::unavailable(cause);
        assert!(err.source().is_some_and(|s| s.is::<std::io::Error>()));
        assert!(err.to_string().starts_with("session store unavailable: "));
        assert_eq!(
            StoreError::corrupt("truncated").to_string(),
            "unreadable session record: truncated"
        );
        assert!(StoreError::Unsupported.source().is_none());
        assert_eq!(
            StoreError::other(String::from("bad URL")).to_string(),
            "session store: bad URL"
        );
    }
}
