//! A bounded in-process session store.

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{Duration, Instant};

use super::decoded::{self, DecodedSessions};
use super::expiring_set::ExpiringSet;
use super::logout_index::{LogoutIndex, Shared};
use super::store::{InProcessStore, SessionStore, StoreError};
use super::SessionData;

/// The most sessions one call sweeps or re-files on its way, so no request pays for a
/// large backlog; the rest go on later calls.
const SWEEP_PER_CALL: usize = 64;
/// Longer lifetimes are cut to this, so expiry times cannot overflow.
const CENTURY: Duration = Duration::from_secs(100 * 365 * 24 * 3600);
/// The most single-use keys remembered at once ([`SessionStore::first_use`]).
const USED_KEYS: usize = 100_000;
/// The most sessions kept decoded at once, for the sessions in use: as many as the layer's
/// cache of decoded cookie sessions holds.
const DECODED_SESSIONS: usize = 10_000;

/// Sessions in this process's memory: bounded in count, each with its time to live and an
/// optional idle timeout. Sessions end when the process stops and are not shared between
/// instances.
///
/// Each session is kept in its compact binary form (the one a session cookie carries, a
/// fraction of the decoded session's size: the claims and tokens decoded take most of it)
/// and decoded on its first use. Up to 10 000 sessions in use stay decoded
/// ([`with_decoded_sessions`](Self::with_decoded_sessions)); when more are, the decoded
/// ones are dropped all at once, each to be decoded again on its next use.
///
/// Loads answer without waiting and share the decoded session ([`InProcessStore`]):
/// a request on a memory-store session copies nothing, and requests on any number of
/// threads read the store at once. A load records its use in the session's entry; the
/// ordered indexes that find expired, idle and least recently used sessions are brought up
/// to date by the calls that change the store (saves, deletes, and loads that find
/// something to sweep), a few sessions at a time, so every operation costs O(log n).
/// When the store is full the least recently used session makes room.
///
/// Single-use keys ([`SessionStore::first_use`]) are kept apart from sessions, up to
/// 100 000 of them: when full, expired keys go first, then the key closest to its
/// expiry.
///
/// [`ConfigBuilder::session_store`](crate::ConfigBuilder::session_store) and
/// [`ConfigBuilder::in_process_session_store`](crate::ConfigBuilder::in_process_session_store)
/// both keep loads answering at once, for the store itself or an `Arc` of it.
///
/// ```
/// use std::time::Duration;
/// use tower_oidc::store::MemoryStore;
///
/// let store = MemoryStore::new(10_000).with_idle_timeout(Duration::from_secs(30 * 60));
/// assert!(store.is_empty());
/// ```
#[derive(Debug)]
pub struct MemoryStore {
    inner: RwLock<Inner>,
    /// Times below are nanoseconds since this instant.
    epoch: Instant,
    max_sessions: usize,
    idle_timeout: Option<u64>,
    /// Single-use keys, by expiry in the same nanoseconds.
    used_keys: ExpiringSet,
}

/// Ids are shared between the map and its indexes, so filing a session again allocates
/// nothing.
type Id = Shared;

#[derive(Debug)]
struct Inner {
    /// Ids are ours (random, and read from sealed cookies), so a fast hasher is safe.
    sessions: HashMap<Id, Entry, foldhash::fast::RandomState>,
    /// Session ids by the use each was last filed under: the first is the least recently
    /// used unless it has been used since (`Entry::last_used` is later), which whoever
    /// looks at the front checks, filing it again under its real last use.
    by_use: BTreeSet<(u64, Id)>,
    /// Session ids by expiry: the first expires first.
    by_expiry: BTreeSet<(u64, Id)>,
    /// Back-channel logout keys (`sid:…`, `sub:…`) to the sessions they name.
    by_logout_key: LogoutIndex,
    /// From this time on, the front of an index may hold an expired or idle session: loads
    /// before it need no sweeping, so they only read.
    next_sweep: u64,
    /// The sessions in use, decoded: an entry goes whenever its session's record does.
    decoded: DecodedSessions,
}

#[derive(Debug)]
struct Entry {
    id: Id,
    /// The session in its compact binary form.
    record: Box<[u8]>,
    /// The back-channel logout keys this session is indexed under, as the index holds them.
    logout_keys: Box<[Shared]>,
    expires: u64,
    /// Written by loads, which hold only the read lock.
    last_used: AtomicU64,
    /// The use `by_use` files this session under: never later than `last_used`.
    filed_use: u64,
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
            inner: RwLock::new(Inner {
                sessions: HashMap::default(),
                by_use: BTreeSet::new(),
                by_expiry: BTreeSet::new(),
                by_logout_key: LogoutIndex::default(),
                next_sweep: u64::MAX,
                decoded: DecodedSessions::new(DECODED_SESSIONS),
            }),
            epoch: Instant::now(),
            max_sessions: max_sessions.max(1),
            idle_timeout: None,
            used_keys: ExpiringSet::new(USED_KEYS),
        }
    }

    /// Also ends sessions unused for `idle`: each load or save of a session counts as a use.
    /// Without it sessions last until their time to live ends.
    #[must_use]
    pub fn with_idle_timeout(mut self, idle: Duration) -> Self {
        self.idle_timeout = Some(nanos(idle));
        self
    }

    /// Keeps up to `sessions` sessions decoded at once (10 000 unless set). Requests on a
    /// session that stays decoded copy and decode nothing; one that does not fit is decoded
    /// again (tens of microseconds) on its next use after the decoded ones were dropped. A
    /// decoded session takes a few kilobytes (most of it its claims and tokens), its compact
    /// record a fraction of that: size this for the sessions in use at once, not for all.
    ///
    /// ```
    /// use tower_oidc::store::MemoryStore;
    ///
    /// // A million sessions, of which up to 50 000 in use at once stay decoded.
    /// let store = MemoryStore::new(1_000_000).with_decoded_sessions(50_000);
    /// assert!(store.is_empty());
    /// ```
    #[must_use]
    pub fn with_decoded_sessions(mut self, sessions: usize) -> Self {
        let inner = self
            .inner
            .get_mut()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        inner.decoded = DecodedSessions::new(sessions);
        self
    }

    /// How many sessions are held, expired and idle ones included until they are swept.
    #[must_use]
    pub fn len(&self) -> usize {
        self.inner.read().map_or(0, |inner| inner.sessions.len())
    }

    /// Whether no session is held.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn read(&self) -> Result<RwLockReadGuard<'_, Inner>, StoreError> {
        self.inner.read().map_err(|_| poisoned())
    }

    fn write(&self) -> Result<RwLockWriteGuard<'_, Inner>, StoreError> {
        self.inner.write().map_err(|_| poisoned())
    }

    fn now(&self) -> u64 {
        nanos(self.epoch.elapsed())
    }

    fn is_stale(&self, entry: &Entry, now: u64) -> bool {
        entry.expires <= now
            || self.idle_timeout.is_some_and(|idle| {
                entry.last_used.load(Ordering::Relaxed).saturating_add(idle) <= now
            })
    }

    /// Answers under the read lock when it can: a live session, or none, with nothing due
    /// for sweeping. Otherwise sweeps, and drops the session if it has gone stale.
    fn load_shared(&self, id: &str) -> Result<Option<Arc<SessionData>>, StoreError> {
        let now = self.now();
        {
            let inner = self.read()?;
            if now < inner.next_sweep {
                return match inner.sessions.get(id) {
                    Some(entry) if !self.is_stale(entry, now) => {
                        inner.use_entry(entry, now).map(Some)
                    }
                    _ => Ok(None),
                };
            }
        }
        let mut inner = self.write()?;
        inner.sweep(now, self.idle_timeout);
        let session = match inner.sessions.get(id) {
            Some(entry) if self.is_stale(entry, now) => {
                inner.remove(id);
                Ok(None)
            }
            Some(entry) => inner.use_entry(entry, now).map(Some),
            None => Ok(None),
        };
        inner.plan_sweep(self.idle_timeout);
        session
    }
}

fn nanos(duration: Duration) -> u64 {
    u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX)
}

/// A thread panicked while changing the store: its indexes may be half updated.
fn poisoned() -> StoreError {
    StoreError::other("memory store lock poisoned")
}

impl Inner {
    /// The session of `entry`, one of this store's, marked as used `now`.
    fn use_entry(&self, entry: &Entry, now: u64) -> Result<Arc<SessionData>, StoreError> {
        entry.last_used.fetch_max(now, Ordering::Relaxed);
        self.decoded.get_or_decode(&entry.id, &entry.record)
    }

    /// Files a session under `id`, which holds none, with the logout keys it answers to.
    fn insert(
        &mut self,
        id: &str,
        record: Box<[u8]>,
        logout_keys: Box<[Shared]>,
        expires: u64,
        now: u64,
    ) {
        let id: Id = Arc::from(id);
        for key in &logout_keys {
            self.by_logout_key.insert(key, &id);
        }
        self.by_use.insert((now, Arc::clone(&id)));
        self.by_expiry.insert((expires, Arc::clone(&id)));
        self.sessions.insert(
            Arc::clone(&id),
            Entry {
                id,
                record,
                logout_keys,
                expires,
                last_used: AtomicU64::new(now),
                filed_use: now,
            },
        );
    }

    fn remove(&mut self, id: &str) -> Option<Entry> {
        let entry = self.sessions.remove(id)?;
        self.decoded.forget(&entry.id);
        self.by_use
            .remove(&(entry.filed_use, Arc::clone(&entry.id)));
        self.by_expiry
            .remove(&(entry.expires, Arc::clone(&entry.id)));
        for key in &entry.logout_keys {
            self.by_logout_key.remove(key, id);
        }
        Some(entry)
    }

    /// Files the session at the front of `by_use` under its real last use if it has been
    /// used since it was filed; returns whether it had to.
    fn refile_front(&mut self) -> bool {
        let Some((filed, id)) = self.by_use.first().cloned() else {
            return false;
        };
        let Some(entry) = self.sessions.get_mut(&id) else {
            self.by_use.remove(&(filed, id));
            return true;
        };
        let used = *entry.last_used.get_mut();
        if used <= filed {
            return false;
        }
        entry.filed_use = used;
        self.by_use.remove(&(filed, Arc::clone(&id)));
        self.by_use.insert((used, id));
        true
    }

    /// Removes up to a few sessions that have expired or, with an idle timeout, have gone
    /// unused for it, re-filing the recently used ones it meets on the way.
    fn sweep(&mut self, now: u64, idle: Option<u64>) {
        for _ in 0..SWEEP_PER_CALL {
            match self.by_expiry.first() {
                Some((expires, id)) if *expires <= now => {
                    let id = Arc::clone(id);
                    self.remove(&id);
                }
                _ => break,
            }
        }
        let Some(idle) = idle else { return };
        for _ in 0..SWEEP_PER_CALL {
            match self.by_use.first() {
                Some((filed, _)) if filed.saturating_add(idle) <= now => {}
                _ => break,
            }
            if !self.refile_front() {
                if let Some((_, id)) = self.by_use.first().cloned() {
                    self.remove(&id);
                }
            }
        }
    }

    /// Makes room for one more session: the least recently used goes, after re-filing up
    /// to a few that turn out to have been used since they were filed. Returns whether a
    /// session went.
    fn evict_one(&mut self) -> bool {
        for _ in 0..SWEEP_PER_CALL {
            if !self.refile_front() {
                break;
            }
        }
        let Some((_, id)) = self.by_use.first().cloned() else {
            return false;
        };
        self.remove(&id).is_some()
    }

    /// When the front of an index may next hold a session to sweep.
    fn plan_sweep(&mut self, idle: Option<u64>) {
        let expiry = self
            .by_expiry
            .first()
            .map_or(u64::MAX, |(expires, _)| *expires);
        let idle = idle
            .and_then(|idle| {
                let (filed, _) = self.by_use.first()?;
                Some(filed.saturating_add(idle))
            })
            .unwrap_or(u64::MAX);
        self.next_sweep = expiry.min(idle);
    }
}

impl SessionStore for MemoryStore {
    async fn load(&self, id: &str) -> Result<Option<SessionData>, StoreError> {
        Ok(self.load_shared(id)?.map(Arc::unwrap_or_clone))
    }

    async fn save(&self, id: &str, session: &SessionData, ttl: Duration) -> Result<(), StoreError> {
        let now = self.now();
        let expires = now.saturating_add(nanos(ttl.min(CENTURY)));
        let record = decoded::encode(session)?;
        let mut inner = self.write()?;
        inner.sweep(now, self.idle_timeout);
        inner.remove(id);
        while inner.sessions.len() >= self.max_sessions && inner.evict_one() {}
        inner.insert(id, record, Box::default(), expires, now);
        inner.plan_sweep(self.idle_timeout);
        Ok(())
    }

    /// Checks and replaces under one write lock, keeping the session's logout keys.
    async fn save_existing(
        &self,
        id: &str,
        session: &SessionData,
        ttl: Duration,
    ) -> Result<bool, StoreError> {
        let now = self.now();
        let expires = now.saturating_add(nanos(ttl.min(CENTURY)));
        let record = decoded::encode(session)?;
        let mut inner = self.write()?;
        inner.sweep(now, self.idle_timeout);
        let live = inner
            .sessions
            .get(id)
            .map(|entry| !self.is_stale(entry, now));
        let replaced = match live {
            Some(true) => {
                let logout_keys = inner
                    .remove(id)
                    .map(|entry| entry.logout_keys)
                    .unwrap_or_default();
                inner.insert(id, record, logout_keys, expires, now);
                true
            }
            Some(false) => {
                inner.remove(id);
                false
            }
            None => false,
        };
        inner.plan_sweep(self.idle_timeout);
        Ok(replaced)
    }

    async fn first_use(&self, key: &str, ttl: Duration) -> Result<bool, StoreError> {
        let now = self.now();
        let expires = now.saturating_add(nanos(ttl.min(CENTURY)));
        self.used_keys
            .insert(key, now, expires)
            .ok_or_else(poisoned)
    }

    async fn forget_use(&self, key: &str) -> Result<(), StoreError> {
        self.used_keys.remove(key).ok_or_else(poisoned)
    }

    async fn delete(&self, id: &str) -> Result<(), StoreError> {
        let mut inner = self.write()?;
        inner.remove(id);
        inner.plan_sweep(self.idle_timeout);
        Ok(())
    }

    async fn index(&self, id: &str, keys: &[String], _ttl: Duration) -> Result<(), StoreError> {
        let mut inner = self.write()?;
        let Inner {
            sessions,
            by_logout_key,
            ..
        } = &mut *inner;
        let Some(entry) = sessions.get_mut(id) else {
            return Ok(());
        };
        let mut all = std::mem::take(&mut entry.logout_keys).into_vec();
        for key in keys {
            if !all.iter().any(|known| **known == **key) {
                all.push(by_logout_key.insert(key, &entry.id));
            }
        }
        entry.logout_keys = all.into_boxed_slice();
        Ok(())
    }

    async fn delete_indexed(&self, key: &str) -> Result<usize, StoreError> {
        let mut inner = self.write()?;
        let ids = inner.by_logout_key.take(key);
        let removed = ids.iter().filter(|id| inner.remove(id).is_some()).count();
        inner.plan_sweep(self.idle_timeout);
        Ok(removed)
    }
}

impl InProcessStore for MemoryStore {
    fn load_now(&self, id: &str) -> Result<Option<Arc<SessionData>>, StoreError> {
        self.load_shared(id)
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
            last_seen: None,
            bearer: false,
            typed_user: Default::default(),
            dpop_key: None,
            provider: None,
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
                match round % 5 {
                    0 | 1 => store
                        .save(&id, &session(&id), Duration::from_secs(round % 5))
                        .await
                        .expect("save"),
                    2 => {
                        store.load(&id).await.expect("load");
                        let keys = [format!("sub:{}", round % 3)];
                        store.index(&id, &keys, HOUR).await.expect("index");
                    }
                    3 => {
                        store
                            .save_existing(&id, &session(&id), Duration::from_secs(round % 3))
                            .await
                            .expect("save_existing");
                    }
                    _ => store.delete(&id).await.expect("delete"),
                }
                let inner = store.read().expect("lock");
                assert!(inner.sessions.len() <= 8);
                assert_eq!(inner.sessions.len(), inner.by_use.len());
                assert_eq!(inner.sessions.len(), inner.by_expiry.len());
                for (key, ids) in inner.by_logout_key.entries() {
                    for id in ids {
                        let entry = inner.sessions.get(&id).expect("indexed");
                        assert!(entry.logout_keys.contains(&key));
                    }
                }
                for entry in inner.sessions.values() {
                    for key in &entry.logout_keys {
                        let filed = inner.by_logout_key.entries();
                        assert!(filed
                            .iter()
                            .any(|(k, ids)| k == key && ids.contains(&entry.id)));
                    }
                }
                for (id, entry) in &inner.sessions {
                    assert!(inner.by_use.contains(&(entry.filed_use, id.clone())));
                    assert!(entry.filed_use <= entry.last_used.load(Ordering::Relaxed));
                    assert!(inner.by_expiry.contains(&(entry.expires, id.clone())));
                }
            }
        });
    }

    #[test]
    fn sessions_are_kept_compact_and_decoded_once_while_in_use() {
        block(async {
            let store = MemoryStore::new(100);
            let mut alice = session("alice");
            alice.claims.insert("email".into(), "a@example.com".into());
            alice.access_token = Some("at".into());
            alice.user = Some(serde_json::json!({"id": 7}));
            store.save("a", &alice, HOUR).await.expect("save");
            let decoded = |store: &MemoryStore| store.read().expect("lock").decoded.len();
            assert_eq!(decoded(&store), 0);
            let first = store.load_now("a").expect("load").expect("found");
            let again = store.load_now("a").expect("load").expect("found");
            assert!(Arc::ptr_eq(&first, &again));
            assert_eq!(decoded(&store), 1);
            assert_eq!(first.claims, alice.claims);
            assert_eq!(first.access_token.as_deref(), Some("at"));
            assert_eq!(first.user, alice.user);
            // A new record replaces the decoded session; a deleted one takes it along.
            alice.user_id = "alice-2".into();
            store.save("a", &alice, HOUR).await.expect("save");
            assert_eq!(decoded(&store), 0);
            let replaced = store.load_now("a").expect("load").expect("found");
            assert_eq!(replaced.user_id, "alice-2");
            store.delete("a").await.expect("delete");
            assert_eq!(decoded(&store), 0);
            assert!(store.load_now("a").expect("load").is_none());
        });
    }

    #[test]
    fn a_full_set_of_decoded_sessions_is_dropped_and_sessions_stay() {
        block(async {
            let store = MemoryStore::new(100).with_decoded_sessions(2);
            for id in ["a", "b", "c"] {
                store.save(id, &session(id), HOUR).await.expect("save");
            }
            for id in ["a", "b", "c", "a"] {
                let loaded = store.load_now(id).expect("load").expect("found");
                assert_eq!(loaded.user_id, id);
            }
            assert!(store.read().expect("lock").decoded.len() <= 2);
            assert_eq!(store.len(), 3);
        });
    }

    #[test]
    fn a_conditional_save_keeps_the_logout_keys_and_never_revives_a_session() {
        block(async {
            let store = MemoryStore::new(10);
            let keys = ["sub:a".to_owned()];
            assert!(!store
                .save_existing("a", &session("a"), HOUR)
                .await
                .expect("save"));
            assert!(store.is_empty(), "nothing to replace, nothing saved");
            store.save("a", &session("a"), HOUR).await.expect("save");
            store.index("a", &keys, HOUR).await.expect("index");
            assert!(store
                .save_existing("a", &session("a2"), HOUR)
                .await
                .expect("save"));
            let loaded = store.load("a").await.expect("load").expect("kept");
            assert_eq!(loaded.user_id, "a2");
            assert_eq!(store.delete_indexed("sub:a").await.expect("logout"), 1);
            assert!(!store
                .save_existing("a", &session("a3"), HOUR)
                .await
                .expect("save"));
            assert!(store.is_empty(), "a logout is not undone");

            store
                .save("b", &session("b"), Duration::from_millis(10))
                .await
                .expect("save");
            tokio::time::sleep(Duration::from_millis(20)).await;
            assert!(!store
                .save_existing("b", &session("b"), HOUR)
                .await
                .expect("save"));
            assert!(store.load("b").await.expect("load").is_none());
        });
    }

    #[test]
    fn single_use_keys_are_kept_apart_from_sessions() {
        block(async {
            let store = MemoryStore::new(10);
            store.save("k", &session("k"), HOUR).await.expect("save");
            assert!(store.first_use("k", HOUR).await.expect("first use"));
            assert!(!store.first_use("k", HOUR).await.expect("second use"));
            assert!(store.load("k").await.expect("load").is_some());
            assert_eq!(store.len(), 1);
            let short = Duration::from_millis(10);
            assert!(store.first_use("short", short).await.expect("first use"));
            tokio::time::sleep(Duration::from_millis(20)).await;
            assert!(store.first_use("short", short).await.expect("expired"));
        });
    }

    #[test]
    fn loads_on_many_threads_share_the_store_while_it_changes() {
        let store = Arc::new(MemoryStore::new(64).with_idle_timeout(HOUR));
        block(async {
            for i in 0..16 {
                let id = format!("kept{i}");
                store.save(&id, &session(&id), HOUR).await.expect("save");
            }
        });
        let readers: Vec<_> = (0..4)
            .map(|_| {
                let store = Arc::clone(&store);
                std::thread::spawn(move || {
                    for round in 0..2_000 {
                        let id = format!("kept{}", round % 16);
                        let loaded = store.load_now(&id).expect("load");
                        let loaded = loaded.expect("kept sessions stay");
                        assert_eq!(loaded.user_id, id);
                    }
                })
            })
            .collect();
        block(async {
            for round in 0..2_000 {
                let id = format!("churn{}", round % 40);
                store
                    .save(&id, &session(&id), Duration::from_millis(round % 3))
                    .await
                    .expect("save");
                if round % 7 == 0 {
                    store.delete(&id).await.expect("delete");
                }
            }
        });
        for reader in readers {
            reader.join().expect("reader");
        }
        let inner = store.read().expect("lock");
        assert!(inner.sessions.len() <= 64);
        assert_eq!(inner.sessions.len(), inner.by_use.len());
        assert_eq!(inner.sessions.len(), inner.by_expiry.len());
    }
}
