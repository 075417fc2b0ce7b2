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
    index: Mutex<HashMap<String, HashSet<String>>>,
    max_sessions: usize,
}

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
            index: Mutex::new(HashMap::new()),
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
        let live: HashSet<String> = {
            let sessions = self.sessions.lock().map_err(|_| poisoned())?;
            sessions.keys().cloned().collect()
        };
        let mut index = self.index.lock().map_err(|_| poisoned())?;
        // Entries of sessions that are gone are dropped here, so the index stays bounded by
        // the sessions it points to.
        index.retain(|_, ids| {
            ids.retain(|id| live.contains(id));
            !ids.is_empty()
        });
        for key in keys {
            index.entry(key.clone()).or_default().insert(id.to_owned());
        }
        Ok(())
    }

    async fn delete_indexed(&self, key: &str) -> Result<usize, StoreError> {
        let ids = self
            .index
            .lock()
            .map_err(|_| poisoned())?
            .remove(key)
            .unwrap_or_default();
        let mut sessions = self.sessions.lock().map_err(|_| poisoned())?;
        Ok(ids
            .iter()
            .filter(|id| sessions.remove(*id).is_some())
            .count())
    }
}
