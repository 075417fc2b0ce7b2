//! Decoded sessions by sealed cookie value, so the hot path skips decryption and parsing.

use std::collections::HashMap;
use std::hash::{BuildHasher, BuildHasherDefault, Hasher};
use std::sync::{Arc, RwLock};

use foldhash::fast::RandomState;

use super::codec::SealedChunks;
use super::SessionData;

struct Entry<V> {
    /// The whole sealed value, which a hit must equal. A digest of it would take less room
    /// (32 bytes for a cookie of a few kilobytes), but then every request would have to hash
    /// its value to be checked, and a digest an attacker cannot collide is a cryptographic
    /// hash: SHA-256 runs at about 1.2 GB/s with the CPU's SHA extensions, so 1.3 µs for a
    /// 1.5 KB cookie, twice what the whole cached lookup costs; a fast non-cryptographic
    /// hash would let anyone who learns a value's tag build a different value that hits.
    /// Comparing bytes reads them once at memory speed, and trusts no hash. The room it
    /// takes is bounded by the cache's capacity.
    sealed: Box<[u8]>,
    value: V,
}

/// What sealed cookie values opened to (a decoded session, or a store's session id), so a
/// value is decrypted and parsed once, not on every request. Bounded: when full it is
/// emptied, which costs one decryption per live session.
pub(crate) struct SessionCache<V = Arc<SessionData>> {
    entries: RwLock<HashMap<u64, Entry<V>, BuildHasherDefault<KeyHasher>>>,
    hasher: RandomState,
    capacity: usize,
}

impl<V: Clone> SessionCache<V> {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            entries: RwLock::new(HashMap::with_capacity_and_hasher(
                capacity.min(1024),
                BuildHasherDefault::default(),
            )),
            hasher: RandomState::default(),
            capacity,
        }
    }

    /// Keyed by the value's tail (AEAD tag bytes, which only this key's sealing produces
    /// and nobody can choose) and length, hashed with a per-process seed; a hit is
    /// confirmed by comparing the whole value, so a forged tail finds nothing.
    fn key(&self, chunks: &SealedChunks<'_>) -> u64 {
        self.hasher.hash_one((chunks.len(), chunks.tail()))
    }

    pub(crate) fn get(&self, chunks: &SealedChunks<'_>) -> Option<V> {
        let key = self.key(chunks);
        let entries = self.entries.read().ok()?;
        let entry = entries.get(&key)?;
        chunks.equals(&entry.sealed).then(|| entry.value.clone())
    }

    pub(crate) fn insert(&self, chunks: &SealedChunks<'_>, value: V) {
        let key = self.key(chunks);
        let Ok(mut entries) = self.entries.write() else {
            return;
        };
        if entries.len() >= self.capacity {
            entries.clear();
        }
        entries.insert(
            key,
            Entry {
                sealed: chunks.parts().concat().into_boxed_slice(),
                value,
            },
        );
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.entries.read().map_or(0, |entries| entries.len())
    }
}

/// The keys are hashes already: hashing them again would only cost time.
#[derive(Default)]
struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for byte in bytes {
            self.0 = (self.0 << 8) ^ u64::from(*byte);
        }
    }

    fn write_u64(&mut self, key: u64) {
        self.0 = key;
    }
}
