//! Verified bearer tokens, kept until they expire so repeat calls skip the signature check.

use std::collections::HashMap;
use std::hash::BuildHasher;
use std::sync::{Arc, RwLock};

use foldhash::fast::RandomState;

use crate::dpop::binding::{self, Binding};
use crate::session::SessionData;

struct Entry {
    /// The token itself, to confirm a hit.
    token: Box<str>,
    /// What it proved.
    session: Arc<SessionData>,
    /// Its claims bind it to no key, so it may be used as a plain bearer token.
    unbound: bool,
}

/// Only verified tokens are inserted, so nobody can choose the keys: a fast seeded hash
/// is enough.
pub(crate) struct BearerCache {
    entries: RwLock<HashMap<u64, Entry>>,
    hasher: RandomState,
    capacity: usize,
}

impl BearerCache {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            entries: RwLock::new(HashMap::new()),
            hasher: RandomState::default(),
            capacity,
        }
    }

    /// Keyed by the token's last bytes (a JWT's signature) and its length: hashing a whole
    /// token, often a kilobyte, would cost more than the rest of a hit. Only verified tokens
    /// are inserted, and a hit is confirmed by comparing the whole token.
    fn key(&self, bytes: &[u8]) -> u64 {
        let tail = bytes.get(bytes.len().saturating_sub(64)..).unwrap_or(bytes);
        self.hasher.hash_one((tail, bytes.len()))
    }

    /// A hit is confirmed by comparing the whole token, and must not have expired. Found by
    /// its bytes: a token from a request need not be read as text to be found.
    pub(crate) fn get<T>(&self, token: &T, now: u64) -> Option<Arc<SessionData>>
    where
        T: AsRef<[u8]> + ?Sized,
    {
        self.find(token.as_ref(), now, |_| true)
    }

    /// As [`get`](Self::get), for a token bound to no key only: one lookup for the most
    /// common bearer request, with the binding read from its claims once, at insertion.
    pub(crate) fn get_unbound<T>(&self, token: &T, now: u64) -> Option<Arc<SessionData>>
    where
        T: AsRef<[u8]> + ?Sized,
    {
        self.find(token.as_ref(), now, |entry| entry.unbound)
    }

    fn find(
        &self,
        token: &[u8],
        now: u64,
        wanted: impl Fn(&Entry) -> bool,
    ) -> Option<Arc<SessionData>> {
        let key = self.key(token);
        let entries = self.entries.read().ok()?;
        let entry = entries.get(&key)?;
        (entry.token.as_bytes() == token && !entry.session.is_expired(now) && wanted(entry))
            .then(|| Arc::clone(&entry.session))
    }

    pub(crate) fn insert(&self, token: &str, session: Arc<SessionData>, now: u64) {
        let key = self.key(token.as_bytes());
        let Ok(mut entries) = self.entries.write() else {
            return;
        };
        if entries.len() >= self.capacity {
            entries.retain(|_, entry| !entry.session.is_expired(now));
            if entries.len() >= self.capacity {
                entries.clear();
            }
        }
        let unbound = binding::of(&session.claims) == Binding::Unbound;
        let entry = Entry {
            token: token.into(),
            session,
            unbound,
        };
        entries.insert(key, entry);
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.entries.read().map_or(0, |entries| entries.len())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::test_support::session;

    #[test]
    fn key_bound_tokens_are_never_served_as_unbound() {
        let cache = BearerCache::new(10);
        let bound = session("svc", json!({"cnf": {"jkt": "thumbprint"}}));
        let typed = session("svc", json!({"token_type": "DPoP"}));
        cache.insert("bound.token", Arc::new(bound), 0);
        cache.insert("typed.token", Arc::new(typed), 0);
        cache.insert("plain.token", Arc::new(session("svc", json!({}))), 0);
        for token in ["bound.token", "typed.token"] {
            assert!(cache.get(token, 0).is_some(), "{token}");
            assert!(cache.get_unbound(token, 0).is_none(), "{token}");
        }
        assert!(cache.get_unbound("plain.token", 0).is_some());
        assert!(cache.get_unbound("plain.tokem", 0).is_none());
    }
}
