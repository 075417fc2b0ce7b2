//! Decoded sessions by sealed cookie value, so the hot path skips decryption and parsing.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::{Arc, RwLock};

use super::codec::SealedChunks;
use super::SessionData;

struct Entry<V> {
    sealed: Box<[u8]>,
    value: V,
}

/// What sealed cookie values opened to (a decoded session, or a store's session id), so a
/// value is decrypted and parsed once, not on every request. Bounded: when full it is
/// emptied, which costs one decryption per live session.
pub(crate) struct SessionCache<V = Arc<SessionData>> {
    entries: RwLock<HashMap<u64, Entry<V>, BuildHasherDefault<KeyHasher>>>,
    seed: u64,
    capacity: usize,
}

impl<V: Clone> SessionCache<V> {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            entries: RwLock::new(HashMap::with_capacity_and_hasher(
                capacity.min(1024),
                BuildHasherDefault::default(),
            )),
            seed: rand::random::<u64>() | 1,
            capacity,
        }
    }

    /// Keyed by the value's tail (AEAD tag bytes, which only this key's sealing produces
    /// and nobody can choose) and length, mixed with a per-process seed; a hit is confirmed
    /// by comparing the whole value, so a forged tail finds nothing.
    fn key(&self, chunks: &SealedChunks<'_>) -> u64 {
        let mut key = self.seed ^ chunks.len() as u64;
        for word in chunks.tail().chunks(8) {
            let mut bytes = [0u8; 8];
            if let Some(head) = bytes.get_mut(..word.len()) {
                head.copy_from_slice(word);
            }
            key = (key ^ u64::from_le_bytes(bytes))
                .wrapping_mul(0x9E37_79B9_7F4A_7C15)
                .rotate_left(29);
        }
        key
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

/// The keys are mixed already: hashing them again would only cost time.
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
