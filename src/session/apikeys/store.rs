//! The API key store interface and the type-erased form the configuration keeps.

use std::any::Any;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use super::memory::MemoryApiKeyStore;
use super::record::ApiKey;
use crate::store::StoreError;

/// Where personal API keys are kept. The crate has [`MemoryApiKeyStore`] and implements
/// it for `RedisStore` (feature `redis`) and `SqlStore` (feature `sql`): an application
/// whose sessions are in Redis or SQL keeps its keys there too, unless
/// [`ConfigBuilder::api_key_store`](crate::ConfigBuilder::api_key_store) gives another.
///
/// # Writing a store
///
/// * Keep each key as its record ([`ApiKey::to_record`], [`ApiKey::from_record`]) under
///   its [`id`](ApiKey::id), and find a user's keys without scanning every key.
/// * Every method is awaited by a request: answer within a few seconds, and give
///   [`StoreError::Unavailable`] when the store cannot be reached (the request gets `503`).
/// * A key is looked up on every request that presents it, so that a key revoked on one
///   instance fails at once on every other: [`load`](Self::load) should be one read.
/// * Never put a record in an error or a log line.
///
/// ```
/// use tower_oidc::store::{ApiKeyStore, MemoryApiKeyStore};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), tower_oidc::store::StoreError> {
/// let store = MemoryApiKeyStore::default();
/// assert!(store.load("0123456789abcdef01234567").await?.is_none());
/// assert!(store.list("alice").await?.is_empty());
/// assert_eq!(store.revoke_all("alice").await?, 0);
/// # Ok(()) }
/// ```
pub trait ApiKeyStore: Send + Sync + 'static {
    /// Stores `key` if its user has fewer than `limit` live keys; whether it did.
    ///
    /// # Errors
    ///
    /// [`StoreError::Unavailable`] when the store cannot be reached.
    fn create(
        &self,
        key: &ApiKey,
        limit: usize,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// The key `id`, if stored. An expired key may be answered or not; the layer refuses it.
    ///
    /// # Errors
    ///
    /// [`StoreError::Unavailable`] when the store cannot be reached; [`StoreError::Corrupt`]
    /// for a record that cannot be read.
    fn load(&self, id: &str) -> impl Future<Output = Result<Option<ApiKey>, StoreError>> + Send;

    /// Every live key of `user_id`.
    ///
    /// # Errors
    ///
    /// [`StoreError::Unavailable`] when the store cannot be reached.
    fn list(&self, user_id: &str) -> impl Future<Output = Result<Vec<ApiKey>, StoreError>> + Send;

    /// Records that key `id` was used at `now` (Unix seconds), if it still exists; never
    /// brings back a revoked key. The layer calls it at most once a minute per key.
    ///
    /// # Errors
    ///
    /// [`StoreError::Unavailable`] when the store cannot be reached.
    fn touch(&self, id: &str, now: u64) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Deletes the key `id` if `user_id` owns it; whether it did.
    ///
    /// # Errors
    ///
    /// [`StoreError::Unavailable`] when the store cannot be reached.
    fn revoke(
        &self,
        user_id: &str,
        id: &str,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Deletes every key of `user_id`; how many.
    ///
    /// # Errors
    ///
    /// [`StoreError::Unavailable`] when the store cannot be reached.
    fn revoke_all(&self, user_id: &str) -> impl Future<Output = Result<usize, StoreError>> + Send;
}

impl<S: ApiKeyStore> ApiKeyStore for Arc<S> {
    fn create(
        &self,
        key: &ApiKey,
        limit: usize,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send {
        S::create(self, key, limit)
    }
    fn load(&self, id: &str) -> impl Future<Output = Result<Option<ApiKey>, StoreError>> + Send {
        S::load(self, id)
    }
    fn list(&self, user_id: &str) -> impl Future<Output = Result<Vec<ApiKey>, StoreError>> + Send {
        S::list(self, user_id)
    }
    fn touch(&self, id: &str, now: u64) -> impl Future<Output = Result<(), StoreError>> + Send {
        S::touch(self, id, now)
    }
    fn revoke(
        &self,
        user_id: &str,
        id: &str,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send {
        S::revoke(self, user_id, id)
    }
    fn revoke_all(&self, user_id: &str) -> impl Future<Output = Result<usize, StoreError>> + Send {
        S::revoke_all(self, user_id)
    }
}

type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// [`ApiKeyStore`] behind `Arc<dyn _>`.
pub(crate) trait DynKeyStore: Send + Sync {
    fn name(&self) -> &'static str;
    /// `Some` for a store in this process, which answers at once.
    fn load_now(&self, id: &str) -> Option<Option<Arc<ApiKey>>>;
    fn create<'a>(
        &'a self,
        key: &'a ApiKey,
        limit: usize,
    ) -> BoxFuture<'a, Result<bool, StoreError>>;
    fn load<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<Option<ApiKey>, StoreError>>;
    fn list<'a>(&'a self, user_id: &'a str) -> BoxFuture<'a, Result<Vec<ApiKey>, StoreError>>;
    fn touch<'a>(&'a self, id: &'a str, now: u64) -> BoxFuture<'a, Result<(), StoreError>>;
    fn revoke<'a>(
        &'a self,
        user_id: &'a str,
        id: &'a str,
    ) -> BoxFuture<'a, Result<bool, StoreError>>;
    fn revoke_all<'a>(&'a self, user_id: &'a str) -> BoxFuture<'a, Result<usize, StoreError>>;
}

/// Any [`ApiKeyStore`], with `answer_now` for the loads it answers without waiting (a
/// [`MemoryApiKeyStore`]'s), and `None` for a store whose loads are awaited.
struct Erased<S> {
    store: S,
    name: &'static str,
    answer_now: fn(&S, &str) -> Option<Option<Arc<ApiKey>>>,
}

/// A store whose loads are awaited.
fn remote<S: ApiKeyStore>(store: S) -> Erased<S> {
    Erased {
        store,
        name: std::any::type_name::<S>(),
        answer_now: |_, _| None,
    }
}

/// A [`MemoryApiKeyStore`], which answers loads at once.
fn in_process(store: Arc<MemoryApiKeyStore>) -> Erased<Arc<MemoryApiKeyStore>> {
    Erased {
        store,
        name: std::any::type_name::<MemoryApiKeyStore>(),
        answer_now: |store, id| Some(store.get(id)),
    }
}

impl<S: ApiKeyStore> DynKeyStore for Erased<S> {
    fn name(&self) -> &'static str {
        self.name
    }
    fn load_now(&self, id: &str) -> Option<Option<Arc<ApiKey>>> {
        (self.answer_now)(&self.store, id)
    }
    fn create<'a>(
        &'a self,
        key: &'a ApiKey,
        limit: usize,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(self.store.create(key, limit))
    }
    fn load<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<Option<ApiKey>, StoreError>> {
        Box::pin(self.store.load(id))
    }
    fn list<'a>(&'a self, user_id: &'a str) -> BoxFuture<'a, Result<Vec<ApiKey>, StoreError>> {
        Box::pin(self.store.list(user_id))
    }
    fn touch<'a>(&'a self, id: &'a str, now: u64) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(self.store.touch(id, now))
    }
    fn revoke<'a>(
        &'a self,
        user_id: &'a str,
        id: &'a str,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(self.store.revoke(user_id, id))
    }
    fn revoke_all<'a>(&'a self, user_id: &'a str) -> BoxFuture<'a, Result<usize, StoreError>> {
        Box::pin(self.store.revoke_all(user_id))
    }
}

/// `store` for the configuration: a [`MemoryApiKeyStore`], owned or shared, answers
/// loads at once; any other is awaited.
pub(crate) fn erased<S: ApiKeyStore>(store: S) -> Arc<dyn DynKeyStore> {
    let any: Box<dyn Any> = Box::new(store);
    let any = match any.downcast::<Arc<MemoryApiKeyStore>>() {
        Ok(shared) => return Arc::new(in_process(*shared)),
        Err(any) => any,
    };
    let any = match any.downcast::<MemoryApiKeyStore>() {
        Ok(owned) => return Arc::new(in_process(Arc::new(*owned))),
        Err(any) => any,
    };
    match any.downcast::<S>() {
        Ok(store) => Arc::new(remote(*store)),
        Err(_) => unreachable_store(),
    }
}

/// `Box<dyn Any>` of an `S` always downcasts to `S`; a memory store stands in for the
/// impossible case rather than a panic.
fn unreachable_store() -> Arc<dyn DynKeyStore> {
    Arc::new(in_process(Arc::new(MemoryApiKeyStore::default())))
}

/// The key store of a session store that keeps keys too (the Redis and SQL stores, owned
/// or in an `Arc`), so keys live on the same server as sessions.
pub(crate) fn of_session_store<S: 'static>(store: &S) -> Option<Arc<dyn DynKeyStore>> {
    let any = store as &dyn Any;
    #[cfg(feature = "redis")]
    {
        use crate::store::RedisStore;
        if let Some(redis) = any.downcast_ref::<RedisStore>() {
            return Some(erased(redis.clone()));
        }
        if let Some(redis) = any.downcast_ref::<Arc<RedisStore>>() {
            return Some(erased(Arc::clone(redis)));
        }
    }
    #[cfg(feature = "sql")]
    {
        use crate::store::SqlStore;
        if let Some(sql) = any.downcast_ref::<SqlStore>() {
            return Some(erased(sql.clone()));
        }
        if let Some(sql) = any.downcast_ref::<Arc<SqlStore>>() {
            return Some(erased(Arc::clone(sql)));
        }
    }
    let _ = any;
    None
}
