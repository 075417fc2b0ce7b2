//! Sessions of a remote store kept in this process (a near cache), so a request on one is
//! decided at once, kept coherent with every instance by the store's change notification.
//!
//! Served only while the subscription to changes is known to be in place: before it is,
//! after it drops and until it is back, every request asks the store, and what was kept
//! is forgotten, as changes may have been missed meanwhile.

use std::collections::HashMap;
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard, Weak};
use std::time::Duration;

use foldhash::fast::RandomState;

use crate::session::changes::{change_tag, ChangeListener, ChangeTarget};
use crate::session::store::{BoxFuture, DynStore, StoreError};
use crate::session::SessionData;

/// How long a kept session is served before it is loaded again, even when no change was
/// heard: a notification lost without the subscription noticing heals within this.
pub(crate) const MAX_AGE_SECS: u64 = 60;

struct Entry {
    session: Arc<SessionData>,
    tag: Box<str>,
    /// Unix seconds when it was loaded.
    loaded_at: u64,
}

struct Inner {
    entries: HashMap<Arc<str>, Entry, RandomState>,
    /// Change tags to the ids kept under them.
    by_tag: HashMap<Box<str>, Arc<str>, RandomState>,
    /// Whether every change is being heard now.
    subscribed: bool,
    /// Counts every change heard or made, and every change of the subscription: a load
    /// that began before one of them may have read what it changed.
    epoch: u64,
    /// Unix seconds before which a full cache is not swept for expired sessions again, so
    /// a cache full of live sessions costs one eviction per load, not one sweep.
    next_sweep: u64,
}

impl Inner {
    fn remove(&mut self, id: &str) {
        if let Some(entry) = self.entries.remove(id) {
            self.by_tag.remove(&entry.tag);
        }
    }

    fn clear(&mut self) {
        self.entries.clear();
        self.by_tag.clear();
    }
}

/// Loaded sessions by id, bounded in number and age.
pub(crate) struct NearCache {
    inner: RwLock<Inner>,
    capacity: usize,
    max_age_secs: u64,
}

/// The moment a load began: it may be kept only if nothing changed since.
#[derive(Clone, Copy)]
pub(crate) struct Epoch(u64);

impl NearCache {
    pub(crate) fn new(capacity: usize, max_age_secs: u64) -> Self {
        Self {
            inner: RwLock::new(Inner {
                entries: HashMap::with_capacity_and_hasher(
                    capacity.min(1024),
                    RandomState::default(),
                ),
                by_tag: HashMap::with_capacity_and_hasher(
                    capacity.min(1024),
                    RandomState::default(),
                ),
                subscribed: false,
                epoch: 0,
                next_sweep: 0,
            }),
            capacity,
            max_age_secs,
        }
    }

    fn read(&self) -> Option<RwLockReadGuard<'_, Inner>> {
        self.inner.read().ok()
    }

    /// A poisoned lock is taken anyway: the maps are only ever emptied then.
    fn write(&self) -> RwLockWriteGuard<'_, Inner> {
        match self.inner.write() {
            Ok(guard) => guard,
            Err(poisoned) => {
                let mut guard = poisoned.into_inner();
                guard.clear();
                guard.subscribed = false;
                self.inner.clear_poison();
                guard
            }
        }
    }

    /// The session kept for `id`, if changes are heard now and it is younger than the
    /// maximum age at `now` (Unix seconds).
    pub(crate) fn get(&self, id: &str, now: u64) -> Option<Arc<SessionData>> {
        let inner = self.read()?;
        if !inner.subscribed {
            return None;
        }
        let entry = inner.entries.get(id)?;
        (now < entry.loaded_at.saturating_add(self.max_age_secs))
            .then(|| Arc::clone(&entry.session))
    }

    /// Taken before a load: `None` while changes are not heard (nothing will be kept).
    pub(crate) fn epoch(&self) -> Option<Epoch> {
        let inner = self.read()?;
        inner.subscribed.then_some(Epoch(inner.epoch))
    }

    /// Keeps `session`, loaded for `id` at `now`, unless anything changed since `since`.
    pub(crate) fn insert(&self, id: &str, session: Arc<SessionData>, since: Epoch, now: u64) {
        if self.capacity == 0 {
            return;
        }
        let tag: Box<str> = change_tag(id).into();
        let mut inner = self.write();
        if !inner.subscribed || inner.epoch != since.0 {
            return;
        }
        inner.remove(id);
        if inner.entries.len() >= self.capacity && now >= inner.next_sweep {
            inner.next_sweep = now.saturating_add(1);
            let max_age = self.max_age_secs;
            inner
                .entries
                .retain(|_, entry| now < entry.loaded_at.saturating_add(max_age));
            let Inner {
                entries, by_tag, ..
            } = &mut *inner;
            by_tag.retain(|_, id| entries.contains_key(id));
        }
        if inner.entries.len() >= self.capacity {
            let victim = inner.entries.keys().next().cloned();
            if let Some(victim) = victim {
                inner.remove(&victim);
            }
        }
        let id: Arc<str> = Arc::from(id);
        inner.by_tag.insert(tag.clone(), Arc::clone(&id));
        inner.entries.insert(
            id,
            Entry {
                session,
                tag,
                loaded_at: now,
            },
        );
    }

    /// This instance changed or deleted the session `id`.
    pub(crate) fn forget(&self, id: &str) {
        let mut inner = self.write();
        inner.epoch = inner.epoch.wrapping_add(1);
        inner.remove(id);
    }

    /// This instance ended the sessions indexed under the logout key `key`.
    pub(crate) fn forget_indexed(&self, key: &str) {
        let mut inner = self.write();
        inner.epoch = inner.epoch.wrapping_add(1);
        let ended: Vec<Arc<str>> = inner
            .entries
            .iter()
            .filter(|(_, entry)| {
                super::sessions::logout_keys(&entry.session)
                    .iter()
                    .any(|indexed| indexed == key)
            })
            .map(|(id, _)| Arc::clone(id))
            .collect();
        for id in ended {
            inner.remove(&id);
        }
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.read().map_or(0, |inner| inner.entries.len())
    }
}

impl ChangeTarget for NearCache {
    fn subscribed(&self) {
        let mut inner = self.write();
        inner.epoch = inner.epoch.wrapping_add(1);
        inner.clear();
        inner.subscribed = true;
    }

    fn lost(&self) {
        let mut inner = self.write();
        inner.epoch = inner.epoch.wrapping_add(1);
        inner.subscribed = false;
        inner.clear();
    }

    fn changed(&self, tag: &str) {
        let mut inner = self.write();
        inner.epoch = inner.epoch.wrapping_add(1);
        if let Some(id) = inner.by_tag.remove(tag) {
            inner.entries.remove(&id);
        }
    }
}

/// `store` with a near cache in front: loads answer at once from what is kept, and every
/// write through it forgets what it changes, before and after the store has it.
pub(crate) struct NearCached {
    store: Arc<dyn DynStore>,
    cache: Arc<NearCache>,
}

/// `store` behind a near cache of `capacity` sessions, if the store tells of changes;
/// `None` if it cannot (the layer then asks it on every request).
pub(crate) fn wrap(store: &Arc<dyn DynStore>, capacity: usize) -> Option<Arc<dyn DynStore>> {
    if capacity == 0 {
        return None;
    }
    let cache = Arc::new(NearCache::new(capacity, MAX_AGE_SECS));
    let target: Arc<dyn ChangeTarget> = cache.clone();
    let weak: Weak<dyn ChangeTarget> = Arc::downgrade(&target);
    drop(target);
    match store.subscribe_changes(ChangeListener::new(weak)) {
        Ok(()) => {
            tracing::debug!("sessions loaded from the store are kept in this process");
            Some(Arc::new(NearCached {
                store: Arc::clone(store),
                cache,
            }))
        }
        Err(StoreError::Unsupported) => None,
        Err(err) => {
            tracing::warn!(error = %err, "no near cache of sessions: every request asks the store");
            None
        }
    }
}

impl NearCached {
    async fn forgetting<T>(&self, id: &str, write: BoxFuture<'_, T>) -> T {
        self.cache.forget(id);
        let result = write.await;
        self.cache.forget(id);
        result
    }
}

impl DynStore for NearCached {
    fn name(&self) -> &'static str {
        self.store.name()
    }

    fn load_now(&self, id: &str) -> Option<Result<Option<Arc<SessionData>>, StoreError>> {
        let session = self.cache.get(id, crate::session::now())?;
        Some(Ok(Some(session)))
    }

    fn load<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<Option<SessionData>, StoreError>> {
        Box::pin(async move {
            let since = self.cache.epoch();
            let loaded = self.store.load(id).await;
            if let (Some(since), Ok(Some(session))) = (since, &loaded) {
                let now = crate::session::now();
                self.cache.insert(id, Arc::new(session.clone()), since, now);
            }
            loaded
        })
    }

    fn save<'a>(
        &'a self,
        id: &'a str,
        session: &'a SessionData,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(self.forgetting(id, self.store.save(id, session, ttl)))
    }

    fn delete<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(self.forgetting(id, self.store.delete(id)))
    }

    fn index<'a>(
        &'a self,
        id: &'a str,
        keys: &'a [String],
        ttl: Duration,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        self.store.index(id, keys, ttl)
    }

    fn delete_indexed<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<usize, StoreError>> {
        Box::pin(async move {
            self.cache.forget_indexed(key);
            let ended = self.store.delete_indexed(key).await;
            self.cache.forget_indexed(key);
            ended
        })
    }

    fn save_existing<'a>(
        &'a self,
        id: &'a str,
        session: &'a SessionData,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(self.forgetting(id, self.store.save_existing(id, session, ttl)))
    }

    fn first_use<'a>(
        &'a self,
        key: &'a str,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        self.store.first_use(key, ttl)
    }

    fn forget_use<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<(), StoreError>> {
        self.store.forget_use(key)
    }

    fn ping(&self) -> BoxFuture<'_, Result<(), StoreError>> {
        self.store.ping()
    }

    fn subscribe_changes(&self, listener: ChangeListener) -> Result<(), StoreError> {
        self.store.subscribe_changes(listener)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(user: &str) -> Arc<SessionData> {
        Arc::new(
            serde_json::from_str(&format!(
                r#"{{"sid":"s","user_id":"{user}","claims":{{"sub":"{user}","sid":"op-{user}"}},"created_at":1,"expires_at":2}}"#
            ))
            .expect("session"),
        )
    }

    fn subscribed(capacity: usize) -> NearCache {
        let cache = NearCache::new(capacity, 60);
        cache.subscribed();
        cache
    }

    fn keep(cache: &NearCache, id: &str, now: u64) {
        let since = cache.epoch().expect("subscribed");
        cache.insert(id, session(id), since, now);
    }

    #[test]
    fn nothing_is_served_or_kept_until_changes_are_heard() {
        let cache = NearCache::new(10, 60);
        assert!(cache.epoch().is_none());
        cache.insert("a", session("a"), Epoch(0), 100);
        assert_eq!(cache.len(), 0);
        cache.subscribed();
        keep(&cache, "a", 100);
        assert!(cache.get("a", 100).is_some());
    }

    #[test]
    fn a_lost_subscription_stops_serving_and_a_new_one_starts_empty() {
        let cache = subscribed(10);
        keep(&cache, "a", 100);
        let since = cache.epoch().expect("subscribed");
        cache.lost();
        assert!(cache.get("a", 100).is_none());
        assert!(cache.epoch().is_none());
        // A load that began before the loss is not kept, not even after a reconnection.
        cache.subscribed();
        cache.insert("b", session("b"), since, 100);
        assert!(cache.get("a", 100).is_none());
        assert!(cache.get("b", 100).is_none());
        assert_eq!(cache.len(), 0);
    }

    #[test]
    fn a_change_heard_or_made_during_a_load_keeps_it_out() {
        let cache = subscribed(10);
        let since = cache.epoch().expect("subscribed");
        cache.changed(&change_tag("other"));
        cache.insert("a", session("a"), since, 100);
        assert!(cache.get("a", 100).is_none());

        let since = cache.epoch().expect("subscribed");
        cache.forget("a");
        cache.insert("a", session("a"), since, 100);
        assert!(cache.get("a", 100).is_none());
    }

    #[test]
    fn changes_forget_the_session_they_name() {
        let cache = subscribed(10);
        keep(&cache, "a", 100);
        keep(&cache, "b", 100);
        cache.changed(&change_tag("a"));
        assert!(cache.get("a", 100).is_none());
        assert!(cache.get("b", 100).is_some());
        cache.forget("b");
        assert!(cache.get("b", 100).is_none());
    }

    #[test]
    fn an_indexed_logout_forgets_the_sessions_it_names() {
        let cache = subscribed(10);
        keep(&cache, "alice", 100);
        keep(&cache, "bob", 100);
        cache.forget_indexed("sub:alice");
        assert!(cache.get("alice", 100).is_none());
        assert!(cache.get("bob", 100).is_some());
        cache.forget_indexed("user:bob");
        assert!(cache.get("bob", 100).is_none());
    }

    #[test]
    fn sessions_are_served_for_the_maximum_age_only() {
        let cache = NearCache::new(10, 60);
        cache.subscribed();
        keep(&cache, "a", 100);
        assert!(cache.get("a", 159).is_some());
        assert!(cache.get("a", 160).is_none());
    }

    #[test]
    fn the_cache_holds_at_most_its_capacity() {
        let cache = subscribed(3);
        for (n, id) in ["a", "b", "c", "d", "e"].iter().enumerate() {
            keep(&cache, id, 100 + n as u64);
            assert!(cache.len() <= 3);
            assert!(cache.get(id, 100 + n as u64).is_some(), "{id} kept");
        }
        // Expired entries go first, swept at most once a second.
        keep(&cache, "f", 1000);
        assert_eq!(cache.len(), 1);
        let inner = cache.read().expect("lock");
        assert_eq!(inner.by_tag.len(), 1);
    }

    #[test]
    fn a_capacity_of_zero_keeps_nothing() {
        let cache = subscribed(0);
        keep(&cache, "a", 100);
        assert_eq!(cache.len(), 0);
    }
}
