//! A bounded in-process session store.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::store::{SessionStore, StoreError};
use super::SessionData;

/// Sessions in this process's memory: bounded in count, each with its time to live.
/// Sessions end when the process stops and are not shared between instances.
#[derive(Debug)]
pub struct MemoryStore {
    sessions: Mutex<HashMap<String, (SessionData, Instant)>>,
    /// Back-channel logout keys to session ids.
    index: Mutex<Index>,
    max_sessions: usize,
}

/// Ids of sessions that are gone stay in the index until a sweep, which runs once the
/// index has grown to twice its size after the previous one: the index stays bounded by a
/// small multiple of the sessions it points to, and each login pays a constant share of the
/// sweeps instead of a walk over every session.
#[derive(Debug, Default)]
struct Index {
    keys: HashMap<String, HashSet<String>>,
    /// Ids held, over all keys.
    entries: usize,
    /// `entries` at which the next sweep runs.
    sweep_at: usize,
}

/// The smallest index that is swept.
const MIN_SWEEP: usize = 1024;

impl Default for MemoryStore {
    fn default() -> Self {
        Self::new(100_000)
    }
}

impl MemoryStore {
    /// A store holding at most `max_sessions`; when full, expired sessions are dropped
    /// first, then the ones closest to expiry.
    #[must_use]
    pub fn new(max_sessions: usize) -> Self {
        Self {
            sessions: Mutex::new(HashMap::new()),
            index: Mutex::new(Index {
                sweep_at: MIN_SWEEP,
                ..Index::default()
            }),
            max_sessions: max_sessions.max(1),
        }
    }

    /// How many sessions are held, expired ones included until they are swept.
    #[must_use]
    pub fn len(&self) -> usize {
        self.sessions.lock().map_or(0, |sessions| sessions.len())
    }

    /// Whether no session is held.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn poisoned() -> StoreError {
    StoreError::new("memory store lock poisoned")
}

impl SessionStore for MemoryStore {
    async fn load(&self, id: &str) -> Result<Option<SessionData>, StoreError> {
        let mut sessions = self.sessions.lock().map_err(|_| poisoned())?;
        match sessions.get(id) {
            Some((_, expires)) if *expires <= Instant::now() => {
                sessions.remove(id);
                Ok(None)
            }
            Some((session, _)) => Ok(Some(session.clone())),
            None => Ok(None),
        }
    }

    async fn save(&self, id: &str, session: &SessionData, ttl: Duration) -> Result<(), StoreError> {
        let now = Instant::now();
        let mut sessions = self.sessions.lock().map_err(|_| poisoned())?;
        if sessions.len() >= self.max_sessions && !sessions.contains_key(id) {
            sessions.retain(|_, (_, expires)| *expires > now);
            if sessions.len() >= self.max_sessions {
                let soonest = sessions
                    .iter()
                    .min_by_key(|(_, (_, expires))| *expires)
                    .map(|(key, _)| key.clone());
                if let Some(key) = soonest {
                    sessions.remove(&key);
                }
            }
        }
        sessions.insert(id.to_owned(), (session.clone(), now + ttl));
        Ok(())
    }

    async fn delete(&self, id: &str) -> Result<(), StoreError> {
        self.sessions.lock().map_err(|_| poisoned())?.remove(id);
        Ok(())
    }

    async fn index(&self, id: &str, keys: &[String], _ttl: Duration) -> Result<(), StoreError> {
        let mut index = self.index.lock().map_err(|_| poisoned())?;
        if index.entries >= index.sweep_at {
            // Lock order: `index`, then `sessions`; nothing takes them the other way round.
            let sessions = self.sessions.lock().map_err(|_| poisoned())?;
            index.keys.retain(|_, ids| {
                ids.retain(|id| sessions.contains_key(id));
                !ids.is_empty()
            });
            drop(sessions);
            index.entries = index.keys.values().map(HashSet::len).sum();
            index.sweep_at = (2 * index.entries).max(MIN_SWEEP);
        }
        for key in keys {
            if index
                .keys
                .entry(key.clone())
                .or_default()
                .insert(id.to_owned())
            {
                index.entries += 1;
            }
        }
        Ok(())
    }

    async fn delete_indexed(&self, key: &str) -> Result<usize, StoreError> {
        let ids = {
            let mut index = self.index.lock().map_err(|_| poisoned())?;
            let ids = index.keys.remove(key).unwrap_or_default();
            index.entries = index.entries.saturating_sub(ids.len());
            ids
        };
        let mut sessions = self.sessions.lock().map_err(|_| poisoned())?;
        Ok(ids
            .iter()
            .filter(|id| sessions.remove(*id).is_some())
            .count())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session() -> SessionData {
        serde_json::from_value(serde_json::json!({
            "sid": "s", "user_id": "u", "claims": {}, "created_at": 0, "expires_at": u64::MAX,
        }))
        .expect("session")
    }

    #[tokio::test]
    async fn the_index_forgets_deleted_sessions_and_still_finds_live_ones() {
        let store = MemoryStore::new(100_000);
        let ttl = Duration::from_secs(60);
        for round in 0..10 {
            for n in 0..1000 {
                let id = format!("{round}-{n}");
                store.save(&id, &session(), ttl).await.expect("save");
                let keys = [format!("sid:{id}"), "sub:alice".to_owned()];
                store.index(&id, &keys, ttl).await.expect("index");
                if n % 10 != 0 {
                    store.delete(&id).await.expect("delete");
                }
            }
        }
        let entries = store.index.lock().expect("lock").entries;
        // 1,000 live sessions with two keys each, plus at most one sweep interval of dead ids.
        assert!(entries <= 2 * (2 * 1000) + MIN_SWEEP, "{entries}");
        assert_eq!(store.delete_indexed("sid:9-990").await, Ok(1));
        assert_eq!(store.delete_indexed("sid:9-991").await, Ok(0));
        assert_eq!(store.delete_indexed("sub:alice").await, Ok(999));
        assert!(store.is_empty());
    }
}
