//! A session store that counts the loads reaching it.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::session::SessionData;
use crate::store::{ChangeListener, SessionStore, StoreError};

/// Passes everything to the store inside and counts the loads that reach it, so a test can
/// tell whether requests were answered without asking the store (from the near cache).
///
/// ```
/// use tower_oidc::store::{MemoryStore, SessionStore};
/// use tower_oidc::testing::CountedStore;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let store = CountedStore::new(MemoryStore::new(100));
/// let loads = store.loads();
/// assert!(store.load("an id").await.expect("answers").is_none());
/// assert_eq!(loads.get(), 1);
/// # }
/// ```
#[derive(Debug)]
pub struct CountedStore<S> {
    inner: S,
    loads: LoadCount,
}

/// How many loads reached a [`CountedStore`]; shared with it.
#[derive(Debug, Clone, Default)]
pub struct LoadCount(Arc<AtomicU64>);

impl LoadCount {
    /// The loads so far.
    #[must_use]
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }
}

impl<S> CountedStore<S> {
    /// `inner`, counted.
    pub fn new(inner: S) -> Self {
        Self {
            inner,
            loads: LoadCount::default(),
        }
    }

    /// The count of loads, which goes on counting once the store is given to the layer.
    #[must_use]
    pub fn loads(&self) -> LoadCount {
        self.loads.clone()
    }
}

impl<S: SessionStore> SessionStore for CountedStore<S> {
    async fn load(&self, id: &str) -> Result<Option<SessionData>, StoreError> {
        self.loads.0.fetch_add(1, Ordering::SeqCst);
        self.inner.load(id).await
    }

    async fn save(&self, id: &str, session: &SessionData, ttl: Duration) -> Result<(), StoreError> {
        self.inner.save(id, session, ttl).await
    }

    async fn save_existing(
        &self,
        id: &str,
        session: &SessionData,
        ttl: Duration,
    ) -> Result<bool, StoreError> {
        self.inner.save_existing(id, session, ttl).await
    }

    async fn delete(&self, id: &str) -> Result<(), StoreError> {
        self.inner.delete(id).await
    }

    async fn index(&self, id: &str, keys: &[String], ttl: Duration) -> Result<(), StoreError> {
        self.inner.index(id, keys, ttl).await
    }

    async fn delete_indexed(&self, key: &str) -> Result<usize, StoreError> {
        self.inner.delete_indexed(key).await
    }

    async fn first_use(&self, key: &str, ttl: Duration) -> Result<bool, StoreError> {
        self.inner.first_use(key, ttl).await
    }

    async fn forget_use(&self, key: &str) -> Result<(), StoreError> {
        self.inner.forget_use(key).await
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.inner.ping().await
    }

    fn subscribe_changes(&self, listener: ChangeListener) -> Result<(), StoreError> {
        self.inner.subscribe_changes(listener)
    }
}
