//! API keys in this process's memory.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, RwLock};

use super::record::ApiKey;
use super::store::ApiKeyStore;
use crate::store::StoreError;

/// API keys in this process's memory: lost when the process stops, and not shared
/// between instances. The layer uses it when sessions are not kept in Redis or SQL and no
/// other key store is given. Loads answer without waiting.
///
/// ```
/// use std::sync::Arc;
/// use tower_oidc::store::MemoryApiKeyStore;
///
/// let keys = Arc::new(MemoryApiKeyStore::default());
/// let config = tower_oidc::Config::builder()
///     .issuer("https://accounts.example.com")
///     .client_id("my-app")
///     .client_secret("my-secret")
///     .secret_key("a random string of at least 32 bytes!!")
///     .api_keys(true)
///     .api_key_store(Arc::clone(&keys))
///     .build()?;
/// # let _ = config;
/// assert!(keys.is_empty());
/// # Ok::<(), tower_oidc::ConfigError>(())
/// ```
#[derive(Debug, Default)]
pub struct MemoryApiKeyStore {
    inner: RwLock<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    /// Ids are random, made here: a fast hasher is safe.
    keys: HashMap<String, Arc<ApiKey>, foldhash::fast::RandomState>,
    by_user: HashMap<String, HashSet<String>>,
}

fn poisoned() -> StoreError {
    StoreError::other("API key map lock poisoned")
}

impl MemoryApiKeyStore {
    /// How many keys are stored, expired ones included until their user's next change.
    #[must_use]
    pub fn len(&self) -> usize {
        self.inner.read().map_or(0, |inner| inner.keys.len())
    }

    /// Whether no key is stored.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The key `id`, at once and shared.
    pub(crate) fn get(&self, id: &str) -> Option<Arc<ApiKey>> {
        self.inner.read().ok()?.keys.get(id).cloned()
    }
}

impl Inner {
    /// Drops `user_id`'s expired keys; the ids of those left.
    fn live_ids(&mut self, user_id: &str, now: u64) -> usize {
        let Some(ids) = self.by_user.get_mut(user_id) else {
            return 0;
        };
        let keys = &mut self.keys;
        ids.retain(|id| match keys.get(id) {
            Some(key) if !key.is_expired(now) => true,
            Some(_) => {
                keys.remove(id);
                false
            }
            None => false,
        });
        ids.len()
    }
}

impl ApiKeyStore for MemoryApiKeyStore {
    async fn create(&self, key: &ApiKey, limit: usize) -> Result<bool, StoreError> {
        let now = crate::session::now();
        let mut inner = self.inner.write().map_err(|_| poisoned())?;
        if inner.live_ids(&key.user_id, now) >= limit {
            return Ok(false);
        }
        inner.keys.insert(key.id.clone(), Arc::new(key.clone()));
        inner
            .by_user
            .entry(key.user_id.clone())
            .or_default()
            .insert(key.id.clone());
        Ok(true)
    }

    async fn load(&self, id: &str) -> Result<Option<ApiKey>, StoreError> {
        let inner = self.inner.read().map_err(|_| poisoned())?;
        Ok(inner.keys.get(id).map(|key| (**key).clone()))
    }

    async fn list(&self, user_id: &str) -> Result<Vec<ApiKey>, StoreError> {
        let now = crate::session::now();
        let inner = self.inner.read().map_err(|_| poisoned())?;
        let mut keys: Vec<ApiKey> = inner
            .by_user
            .get(user_id)
            .into_iter()
            .flatten()
            .filter_map(|id| inner.keys.get(id))
            .filter(|key| !key.is_expired(now))
            .map(|key| (**key).clone())
            .collect();
        keys.sort_by(|a, b| (a.created, &a.id).cmp(&(b.created, &b.id)));
        Ok(keys)
    }

    async fn touch(&self, id: &str, now: u64) -> Result<(), StoreError> {
        let mut inner = self.inner.write().map_err(|_| poisoned())?;
        if let Some(key) = inner.keys.get_mut(id) {
            Arc::make_mut(key).set_last_used(now);
        }
        Ok(())
    }

    async fn revoke(&self, user_id: &str, id: &str) -> Result<bool, StoreError> {
        let mut inner = self.inner.write().map_err(|_| poisoned())?;
        let owned = inner.keys.get(id).is_some_and(|key| key.user_id == user_id);
        if owned {
            inner.keys.remove(id);
            if let Some(ids) = inner.by_user.get_mut(user_id) {
                ids.remove(id);
                if ids.is_empty() {
                    inner.by_user.remove(user_id);
                }
            }
        }
        Ok(owned)
    }

    async fn revoke_all(&self, user_id: &str) -> Result<usize, StoreError> {
        let mut inner = self.inner.write().map_err(|_| poisoned())?;
        let ids = inner.by_user.remove(user_id).unwrap_or_default();
        Ok(ids
            .iter()
            .filter(|id| inner.keys.remove(id.as_str()).is_some())
            .count())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(id: &str, user: &str, expires: Option<u64>) -> ApiKey {
        ApiKey {
            id: id.into(),
            user_id: user.into(),
            name: None,
            hash: "00".into(),
            created: 1,
            last_used: None,
            expires,
            scopes: Vec::new(),
            claims: serde_json::Map::new(),
        }
    }

    #[tokio::test]
    async fn keys_are_capped_per_user_owned_and_revoked_together() {
        let store = MemoryApiKeyStore::default();
        assert!(store
            .create(&key("a1", "alice", None), 2)
            .await
            .expect("a1"));
        assert!(store
            .create(&key("a2", "alice", Some(1)), 2)
            .await
            .expect("a2"));
        assert!(store.create(&key("b1", "bob", None), 2).await.expect("b1"));
        // An expired key does not count against the cap.
        assert!(store
            .create(&key("a3", "alice", None), 2)
            .await
            .expect("a3"));
        assert!(!store
            .create(&key("a4", "alice", None), 2)
            .await
            .expect("full"));
        assert_eq!(store.list("alice").await.expect("list").len(), 2);
        assert!(!store.revoke("bob", "a1").await.expect("not bob's"));
        assert!(store.revoke("alice", "a1").await.expect("alice's"));
        assert!(store.load("a1").await.expect("load").is_none());
        store.touch("a3", 42).await.expect("touch");
        assert_eq!(store.get("a3").and_then(|k| k.last_used()), Some(42));
        store
            .touch("a1", 42)
            .await
            .expect("a revoked key stays gone");
        assert!(store.get("a1").is_none());
        assert_eq!(store.revoke_all("alice").await.expect("all"), 1);
        assert_eq!(store.len(), 1);
    }
}
