//! Verified bearer tokens, kept until they expire so repeat calls skip the signature check.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::sync::{Arc, RwLock};

use crate::session::SessionData;

/// The token itself (to confirm a hit) and what it proved.
type Entry = (Box<str>, Arc<SessionData>);

pub(crate) struct BearerCache {
    entries: RwLock<HashMap<u64, Entry>>,
    hasher: RandomState,
    capacity: usize,
}

impl BearerCache {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            entries: RwLock::new(HashMap::new()),
            hasher: RandomState::new(),
            capacity,
        }
    }

    /// Keyed by the token's last bytes (a JWT's signature) and its length: hashing a whole
    /// token, often a kilobyte, would cost more than the rest of a hit. Only verified tokens
    /// are inserted, and a hit is confirmed by comparing the whole token.
    fn key(&self, token: &str) -> u64 {
        let bytes = token.as_bytes();
        let tail = bytes.get(bytes.len().saturating_sub(64)..).unwrap_or(bytes);
        self.hasher.hash_one((tail, bytes.len()))
    }

    /// A hit is confirmed by comparing the whole token, and must not have expired.
    pub(crate) fn get(&self, token: &str, now: u64) -> Option<Arc<SessionData>> {
        let key = self.key(token);
        let entries = self.entries.read().ok()?;
        let (stored, session) = entries.get(&key)?;
        (**stored == *token && !session.is_expired(now)).then(|| Arc::clone(session))
    }

    pub(crate) fn insert(&self, token: &str, session: Arc<SessionData>, now: u64) {
        let key = self.key(token);
        let Ok(mut entries) = self.entries.write() else {
            return;
        };
        if entries.len() >= self.capacity {
            entries.retain(|_, (_, session)| !session.is_expired(now));
            if entries.len() >= self.capacity {
                entries.clear();
            }
        }
        entries.insert(key, (token.into(), session));
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.entries.read().map_or(0, |entries| entries.len())
    }
}
