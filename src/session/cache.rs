//! Decoded sessions by sealed cookie value, so the hot path skips decryption and parsing.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::sync::{Arc, RwLock};

use super::codec::SealedChunks;
use super::SessionData;

struct Entry {
    sealed: Box<str>,
    session: Arc<SessionData>,
}

/// Bounded: when full it is emptied, which costs one decryption per live session.
pub(crate) struct SessionCache {
    entries: RwLock<HashMap<u64, Entry>>,
    hasher: RandomState,
    capacity: usize,
}

impl SessionCache {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            entries: RwLock::new(HashMap::with_capacity(capacity.min(1024))),
            hasher: RandomState::new(),
            capacity,
        }
    }

    /// Keyed by the value's tail (the AEAD tag) and length; a hit is confirmed by comparing
    /// the whole value, so a forged tail finds nothing.
    fn key(&self, tail: &str, len: usize) -> u64 {
        self.hasher.hash_one((tail, len))
    }

    pub(crate) fn get(&self, chunks: &SealedChunks<'_>) -> Option<Arc<SessionData>> {
        let key = self.key(chunks.tail(), chunks.len());
        let entries = self.entries.read().ok()?;
        let entry = entries.get(&key)?;
        chunks
            .equals(&entry.sealed)
            .then(|| Arc::clone(&entry.session))
    }

    pub(crate) fn insert(&self, chunks: &SealedChunks<'_>, session: Arc<SessionData>) {
        let key = self.key(chunks.tail(), chunks.len());
        let Ok(mut entries) = self.entries.write() else {
            return;
        };
        if entries.len() >= self.capacity {
            entries.clear();
        }
        entries.insert(
            key,
            Entry {
                sealed: chunks.joined().into_boxed_str(),
                session,
            },
        );
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.entries.read().map_or(0, |entries| entries.len())
    }
}
