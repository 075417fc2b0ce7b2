//! A bounded in-process session store.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::store::{SessionStore, StoreError};
use super::SessionData;

/// The most stale sessions one call removes on its way, so no request pays for a large
/// backlog; the rest go on later calls.
const PURGE_PER_CALL: usize = 64;
/// Longer lifetimes are cut to this, so the expiry instant cannot overflow.
const CENTURY: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

/// Sessions in this process's memory: bounded in count, each with its time to live and an
/// optional idle timeout. Sessions end when the process stops and are not shared between
/// instances.
///
/// Every operation costs O(log n): expired and idle sessions are found through ordered
/// indexes (by expiry and by last use) and removed a few at a time as the store is used,
/// and when the store is full the least recently used session makes room. Loads answer
/// without waiting and share the stored session ([`SessionStore::load_now`]): a request
/// on a memory-store session copies nothing.
///
/// ```
/// use std::time::Duration;
/// use tower_oidc::MemoryStore;
///
/// let store = MemoryStore::new(10_000).with_idle_timeout(Duration::from_secs(30 * 60));
/// assert!(store.is_empty());
/// ```
#[derive(Debug)]
pub struct MemoryStore {
    inner: Mutex<Inner>,
    max_sessions: usize,
    idle_timeout: Option<Duration>,
}

/// Ids are shared between the map and its indexes, so marking a use allocates nothing.
type Id = Arc<str>;

#[derive(Debug, Default)]
struct Inner {
    sessions: HashMap<Id, Entry>,
    /// Session ids by last use (a counter that grows with every load and save): the
    /// first entry is the least recently used.
    by_use: BTreeMap<u64, Id>,
    /// Session ids by expiry: the first entry expires first.
    by_expiry: BTreeSet<(Instant, Id)>,
    /// Back-channel logout keys (`sid:…`, `sub:…`) to the sessions they name.
    by_logout_key: HashMap<String, HashSet<String>>,
    clock: u64,
}

#[derive(Debug)]
struct Entry {
    id: Id,
    session: Arc<SessionData>,
    /// The back-channel logout keys this session is indexed under.
    logout_keys: Vec<String>,
    expires: Instant,
    last_used: Instant,
    use_tick: u64,
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self::new(100_000)
    }
}

impl MemoryStore {
    /// A store holding at most `max_sessions`; when full, expired and idle sessions are
    /// dropped first, then the least recently used.
    #[must_use]
    pub fn new(max_sessions: usize) -> Self {
        Self {
            inner: Mutex::new(Inner::default()),
            max_sessions: max_sessions.max(1),
            idle_timeout: None,
        }
    }

    /// Also ends sessions unused for `idle`: each load or save of a session counts as a use.
    /// Without it sessions last until their time to live ends.
    #[must_use]
    pub fn with_idle_timeout(mut self, idle: Duration) -> Self {
        self.idle_timeout = Some(idle);
        self
    }

    /// How many sessions are held, expired and idle ones included until they are swept.
    #[must_use]
    pub fn len(&self) -> usize {
        self.inner.lock().map_or(0, |inner| inner.sessions.len())
    }

    /// Whether no session is held.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> Result<MutexGuard<'_, Inner>, StoreError> {
        self.inner
            .lock()
            .map_err(|_| StoreError::new("memory store lock poisoned"))
    }

    fn is_stale(&self, entry: &Entry, now: Instant) -> bool {
        entry.expires <= now
            || self
                .idle_timeout
                .is_some_and(|idle| now.saturating_duration_since(entry.last_used) >= idle)
    }
}

impl Inner {
    fn tick(&mut self) -> u64 {
        self.clock += 1;
        self.clock
    }

    fn remove(&mut self, id: &str) -> Option<Entry> {
        let entry = self.sessions.remove(id)?;
        self.by_use.remove(&entry.use_tick);
        self.by_expiry
            .remove(&(entry.expires, Arc::clone(&entry.id)));
        for key in &entry.logout_keys {
            if let Some(ids) = self.by_logout_key.get_mut(key) {
                ids.remove(id);
                if ids.is_empty() {
                    self.by_logout_key.remove(key);
                }
            }
        }
        Some(entry)
    }

    /// Marks `id` used now; returns its session.
    fn touch(&mut self, id: &str, now: Instant) -> Option<Arc<SessionData>> {
        let tick = self.tick();
        let entry = self.sessions.get_mut(id)?;
        let old = std::mem::replace(&mut entry.use_tick, tick);
        entry.last_used = now;
        let session = Arc::clone(&entry.session);
        let id = Arc::clone(&entry.id);
        self.by_use.remove(&old);
        self.by_use.insert(tick, id);
        Some(session)
    }

    /// Removes up to `budget` sessions that have expired or, with an idle timeout, have
    /// gone unused for it. Both kinds sit at the front of their index.
    fn purge(&mut self, now: Instant, idle: Option<Duration>, budget: usize) {
        for _ in 0..budget {
            let Some((expires, id)) = self.by_expiry.first().cloned() else {
                break;
            };
            if expires > now {
                break;
            }
            self.remove(&id);
        }
        let Some(idle) = idle else { return };
        for _ in 0..budget {
            let Some(id) = self.by_use.first_key_value().map(|(_, id)| id.clone()) else {
                break;
            };
            let idle_since = self.sessions.get(&id).map_or(now, |entry| entry.last_used);
            if now.saturating_duration_since(idle_since) < idle {
                break;
            }
            self.remove(&id);
        }
    }
}

impl MemoryStore {
    fn load_shared(&self, id: &str) -> Result<Option<Arc<SessionData>>, StoreError> {
        let now = Instant::now();
        let mut inner = self.lock()?;
        inner.purge(now, self.idle_timeout, PURGE_PER_CALL);
        let stale = match inner.sessions.get(id) {
            None => return Ok(None),
            Some(entry) => self.is_stale(entry, now),
        };
        if stale {
            inner.remove(id);
            return Ok(None);
        }
        Ok(inner.touch(id, now))
    }
}

impl SessionStore for MemoryStore {
    async fn load(&self, id: &str) -> Result<Option<SessionData>, StoreError> {
        Ok(self.load_shared(id)?.map(Arc::unwrap_or_clone))
    }

    fn load_now(&self, id: &str) -> Option<Result<Option<Arc<SessionData>>, StoreError>> {
        Some(self.load_shared(id))
    }

    async fn save(&self, id: &str, session: &SessionData, ttl: Duration) -> Result<(), StoreError> {
        let now = Instant::now();
        let expires = now.checked_add(ttl.min(CENTURY)).unwrap_or(now);
        let mut inner = self.lock()?;
        inner.purge(now, self.idle_timeout, PURGE_PER_CALL);
        inner.remove(id);
        while inner.sessions.len() >= self.max_sessions {
            let Some(oldest) = inner.by_use.first_key_value().map(|(_, id)| id.clone()) else {
                break;
            };
            inner.remove(&oldest);
        }
        let use_tick = inner.tick();
        let id: Id = Arc::from(id);
        inner.by_use.insert(use_tick, Arc::clone(&id));
        inner.by_expiry.insert((expires, Arc::clone(&id)));
        inner.sessions.insert(
            Arc::clone(&id),
            Entry {
                id,
                session: Arc::new(session.clone()),
                logout_keys: Vec::new(),
                expires,
                last_used: now,
                use_tick,
            },
        );
        Ok(())
    }

    async fn delete(&self, id: &str) -> Result<(), StoreError> {
        self.lock()?.remove(id);
        Ok(())
    }

    async fn index(&self, id: &str, keys: &[String], _ttl: Duration) -> Result<(), StoreError> {
        let mut inner = self.lock()?;
        let Some(entry) = inner.sessions.get_mut(id) else {
            return Ok(());
        };
        let added: Vec<String> = keys
            .iter()
            .filter(|key| !entry.logout_keys.contains(key))
            .cloned()
            .collect();
        entry.logout_keys.extend(added.iter().cloned());
        for key in added {
            inner
                .by_logout_key
                .entry(key)
                .or_default()
                .insert(id.to_owned());
        }
        Ok(())
    }

    async fn delete_indexed(&self, key: &str) -> Result<usize, StoreError> {
        let mut inner = self.lock()?;
        let ids = inner.by_logout_key.remove(key).unwrap_or_default();
        Ok(ids.iter().filter(|id| inner.remove(id).is_some()).count())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::Map;

    use super::*;

    fn session(user: &str) -> SessionData {
        SessionData {
            sid: user.to_owned(),
            user_id: user.to_owned(),
            claims: Map::new(),
            id_token: None,
            access_token: None,
            refresh_token: None,
            access_expires_at: None,
            created_at: 0,
            expires_at: u64::MAX,
            user: None,
            user_loaded_at: None,
            bearer: false,
            typed_user: Default::default(),
        }
    }

    fn block<F: std::future::Future>(future: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .expect("runtime")
            .block_on(future)
    }

    const HOUR: Duration = Duration::from_secs(3600);

    #[test]
    fn full_store_evicts_the_least_recently_used() {
        block(async {
            let store = MemoryStore::new(3);
            for id in ["a", "b", "c"] {
                store.save(id, &session(id), HOUR).await.expect("save");
            }
            // `a` is used again, so `b` is now the least recently used.
            assert!(store.load("a").await.expect("load").is_some());
            store.save("d", &session("d"), HOUR).await.expect("save");
            assert_eq!(store.len(), 3);
            assert!(store.load("b").await.expect("load").is_none());
            for id in ["a", "c", "d"] {
                assert!(store.load(id).await.expect("load").is_some(), "{id}");
            }
            // Overwriting does not count twice.
            store.save("d", &session("d2"), HOUR).await.expect("save");
            assert_eq!(store.len(), 3);
        });
    }

    #[test]
    fn expired_sessions_are_swept_by_later_calls() {
        block(async {
            let store = MemoryStore::new(100);
            for i in 0..10 {
                let id = format!("short{i}");
                store
                    .save(&id, &session(&id), Duration::from_millis(20))
                    .await
                    .expect("save");
            }
            store
                .save("long", &session("long"), HOUR)
                .await
                .expect("save");
            assert_eq!(store.len(), 11);
            tokio::time::sleep(Duration::from_millis(40)).await;
            assert!(store.load("long").await.expect("load").is_some());
            assert_eq!(store.len(), 1);
        });
    }

    #[test]
    fn idle_sessions_end_and_loads_keep_them_alive() {
        block(async {
            let store = MemoryStore::new(100).with_idle_timeout(Duration::from_millis(150));
            store
                .save("used", &session("used"), HOUR)
                .await
                .expect("save");
            store
                .save("idle", &session("idle"), HOUR)
                .await
                .expect("save");
            for _ in 0..4 {
                tokio::time::sleep(Duration::from_millis(50)).await;
                assert!(store.load("used").await.expect("load").is_some());
            }
            assert!(store.load("idle").await.expect("load").is_none());
            assert!(store.load("used").await.expect("load").is_some());
            assert_eq!(store.len(), 1);
        });
    }

    #[test]
    fn indexes_stay_consistent() {
        block(async {
            let store = MemoryStore::new(8).with_idle_timeout(HOUR);
            for round in 0..200u64 {
                let id = format!("id{}", round % 13);
                match round % 4 {
                    0 | 1 => store
                        .save(&id, &session(&id), Duration::from_secs(round % 5))
                        .await
                        .expect("save"),
                    2 => {
                        store.load(&id).await.expect("load");
                    }
                    _ => store.delete(&id).await.expect("delete"),
                }
                let inner = store.lock().expect("lock");
                assert!(inner.sessions.len() <= 8);
                assert_eq!(inner.sessions.len(), inner.by_use.len());
                assert_eq!(inner.sessions.len(), inner.by_expiry.len());
                for (id, entry) in &inner.sessions {
                    assert_eq!(inner.by_use.get(&entry.use_tick), Some(id));
                    assert!(inner.by_expiry.contains(&(entry.expires, id.clone())));
                }
            }
        });
    }
}
