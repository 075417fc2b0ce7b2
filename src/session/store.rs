//! The server-side session store interface.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use super::SessionData;

/// A failure of a session store (unreachable server, corrupt record). Requests that need
/// the store are answered `503 Service Unavailable`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreError {
    message: String,
}

impl StoreError {
    /// A store error with a message for operators. Do not include session contents.
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
        }
    }
}

impl StoreError {
    /// The store cannot do what was asked (e.g. find sessions for back-channel logout).
    #[must_use]
    pub fn unsupported() -> Self {
        Self {
            message: UNSUPPORTED.into(),
        }
    }

    /// Whether this is [`StoreError::unsupported`].
    #[must_use]
    pub fn is_unsupported(&self) -> bool {
        self.message == UNSUPPORTED
    }
}

const UNSUPPORTED: &str = "operation not supported by this store";

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "session store: {}", self.message)
    }
}

impl std::error::Error for StoreError {}

/// A server-side session store. The session cookie then carries only a random id of 256
/// bits; the store keeps [`SessionData`] (serializable with serde) under that id.
///
/// ```
/// use std::time::Duration;
/// use tower_oidc::{SessionData, SessionStore, StoreError};
///
/// struct NoStore;
///
/// impl SessionStore for NoStore {
///     async fn load(&self, _id: &str) -> Result<Option<SessionData>, StoreError> {
///         Ok(None)
///     }
///     async fn save(&self, _id: &str, _s: &SessionData, _ttl: Duration) -> Result<(), StoreError> {
///         Err(StoreError::new("read-only"))
///     }
///     async fn delete(&self, _id: &str) -> Result<(), StoreError> {
///         Ok(())
///     }
/// }
/// ```
pub trait SessionStore: Send + Sync + 'static {
    /// The session stored under `id`, if it exists and has not expired.
    fn load(
        &self,
        id: &str,
    ) -> impl Future<Output = Result<Option<SessionData>, StoreError>> + Send;

    /// Answers [`load`](Self::load) at once, for stores that keep sessions in this process:
    /// `Some` is taken as `load`'s answer, shared rather than copied, and the request is
    /// decided without waiting. The default, `None`, makes the layer await `load`.
    fn load_now(&self, id: &str) -> Option<Result<Option<Arc<SessionData>>, StoreError>> {
        let _ = id;
        None
    }

    /// Stores `session` under `id` for `ttl`.
    fn save(
        &self,
        id: &str,
        session: &SessionData,
        ttl: Duration,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Removes the session stored under `id`; removing a missing session is not an error.
    fn delete(&self, id: &str) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Records that session `id` answers to each of `keys` (`sid:<provider session id>`,
    /// `sub:<subject>`) for `ttl`, so a back-channel logout can find it. Stores that cannot
    /// index keep the default, which records nothing.
    fn index(
        &self,
        id: &str,
        keys: &[String],
        ttl: Duration,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        let _ = (id, keys, ttl);
        async { Ok(()) }
    }

    /// Deletes every session indexed under `key`, returning how many. The default refuses:
    /// back-channel logout then answers `501 Not Implemented`.
    fn delete_indexed(&self, key: &str) -> impl Future<Output = Result<usize, StoreError>> + Send {
        let _ = key;
        async { Err(StoreError::unsupported()) }
    }
}

type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// [`SessionStore`] in a form that can sit behind `Arc<dyn _>`.
pub(crate) trait DynStore: Send + Sync {
    fn name(&self) -> &'static str;
    fn load<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<Option<SessionData>, StoreError>>;
    fn load_now(&self, id: &str) -> Option<Result<Option<Arc<SessionData>>, StoreError>>;
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
}

impl<T: SessionStore> DynStore for T {
    fn name(&self) -> &'static str {
        std::any::type_name::<T>()
    }

    fn load<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<Option<SessionData>, StoreError>> {
        Box::pin(SessionStore::load(self, id))
    }

    fn load_now(&self, id: &str) -> Option<Result<Option<Arc<SessionData>>, StoreError>> {
        SessionStore::load_now(self, id)
    }

    fn save<'a>(
        &'a self,
        id: &'a str,
        session: &'a SessionData,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(SessionStore::save(self, id, session, ttl))
    }

    fn delete<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(SessionStore::delete(self, id))
    }

    fn index<'a>(
        &'a self,
        id: &'a str,
        keys: &'a [String],
        ttl: Duration,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(SessionStore::index(self, id, keys, ttl))
    }

    fn delete_indexed<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<usize, StoreError>> {
        Box::pin(SessionStore::delete_indexed(self, key))
    }
}
